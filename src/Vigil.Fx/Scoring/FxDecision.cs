namespace Vigil.Fx;

/// <summary>
/// The decision for one deal. <see cref="StatusCode"/> 200: decided (<see cref="Anomaly"/>, <see cref="Reason"/> empty
/// when not an anomaly, <see cref="Check"/> the rule or threshold check that decided); 400: the deal is invalid or its
/// client is not served (<see cref="Error"/> names the field or the client); 500: an unexpected failure of this deal only.
/// </summary>
/// <param name="StatusCode">200, 400 or 500.</param>
/// <param name="Anomaly">True when the deal is an anomaly (only with 200).</param>
/// <param name="Reason">Why it is an anomaly: the rule's reason, or the check, the value and the usual range; empty when not.</param>
/// <param name="Check">The stable id of the rule or check that decided (<see cref="FxAnomalyKinds"/>), or null when no check fired.</param>
/// <param name="Score">The largest input-group reconstruction error relative to its threshold (above 1 = the pattern check fired); NaN when the autoencoder did not run.</param>
/// <param name="Error">What is wrong with the deal (400) or what failed (500); null with 200.</param>
public readonly record struct FxDecision(int StatusCode, bool Anomaly, string Reason, string? Check, double Score, string? Error)
{
    /// <summary>The response's <c>Anomaly</c> text: <c>Yes</c> or <c>No</c>.</summary>
    public string AnomalyText => Anomaly ? "Yes" : "No";

    internal static FxDecision Invalid(string error) => new(400, false, string.Empty, null, double.NaN, error);

    internal static FxDecision Failed(string error) => new(500, false, string.Empty, null, double.NaN, error);

    internal static FxDecision Rule(string id, string reason) => new(200, true, reason, id, double.NaN, null);
}

/// <summary>When the multi-input autoencoder ran within one <see cref="FxScorer.Decide(ReadOnlySpan{FxRawDeal}, Span{FxDecision}, out FxStageTimes)"/> call.</summary>
/// <param name="AutoencoderStart">The <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> before the autoencoder ran, or 0 when no deal reached it.</param>
/// <param name="AutoencoderEnd">The timestamp after it ran, or 0.</param>
/// <param name="AutoencoderRows">The number of deals it reconstructed.</param>
public readonly record struct FxStageTimes(long AutoencoderStart, long AutoencoderEnd, int AutoencoderRows);
