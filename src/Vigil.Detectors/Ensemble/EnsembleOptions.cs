using System.Globalization;

namespace Vigil.Detectors;

/// <summary>
/// Settings of the <c>ensemble</c> kind: an isolation forest and a dense autoencoder fitted on the same rows, each
/// score turned into its rank among the training rows' scores, and the two ranks averaged. The members take their
/// other settings from <see cref="TrainSpec.Forest"/> and <see cref="TrainSpec.Autoencoder"/>, with this seed.
/// </summary>
public sealed record EnsembleOptions
{
    /// <summary>
    /// Expected share of anomalies in (0, 0.5]: the threshold is the <c>(1 - Contamination)</c> quantile (linear
    /// interpolation) of the training rows' ensemble scores. Default 0.1, as the autoencoder's.
    /// </summary>
    public double Contamination { get; init; } = 0.1;

    /// <summary>Seed of both members (the forest's trees, the autoencoder's weights, split and shuffling).</summary>
    public ulong Seed { get; init; }

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">A setting is out of range (the message names it).</exception>
    public void Validate()
    {
        if (!(Contamination > 0 && Contamination <= 0.5))
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"EnsembleOptions.{nameof(Contamination)} must be in (0, 0.5] (was {Contamination})."), nameof(Contamination));
        }
    }
}
