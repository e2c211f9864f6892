using System.Globalization;
using Vigil.Data;

namespace Vigil.Detectors;

/// <summary>
/// The estimator of a bundle (ML.NET's estimator → Fit → transformer): given a <see cref="TrainSpec"/>, <see cref="Fit"/>
/// fits the feature transform and the detector of the spec's kind (looked up in <see cref="DetectorCatalog"/>) on
/// training rows and returns an immutable <see cref="ModelBundle"/> with its reference profile.
/// </summary>
public sealed class BundleTrainer
{
    private readonly TimeProvider _time;

    /// <summary>Creates a trainer for <paramref name="spec"/>.</summary>
    /// <param name="spec">What to train.</param>
    /// <param name="time">Clock for <see cref="BundleManifest.CreatedUtc"/>; the system clock when null.</param>
    /// <exception cref="ArgumentException">The kind is not registered.</exception>
    public BundleTrainer(TrainSpec spec, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        Descriptor = DetectorCatalog.Get(spec.Model);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>What is trained.</summary>
    public TrainSpec Spec { get; }

    /// <summary>The registered kind of <see cref="TrainSpec.Model"/>.</summary>
    public DetectorDescriptor Descriptor { get; }

    /// <summary>
    /// Fits the transform and the detector on <paramref name="data"/>; the label, the id column and the spec's excluded
    /// columns are never features. The reference profile is computed from <paramref name="data"/> and, when given, the
    /// <paramref name="validation"/> rows (held out from fitting, same columns). For a supervised kind whose validation rows
    /// carry the label with both classes, the bundle's scores of those rows are calibrated (<see cref="IsotonicCalibrator"/>)
    /// and the calibrator is stored in the bundle, for performance estimation before labels arrive (CBPE); unsupervised
    /// kinds never get one.
    /// </summary>
    /// <exception cref="ArgumentException">The spec does not fit the data or its options are invalid.</exception>
    /// <exception cref="FeatureDataException">A value cannot be turned into a feature.</exception>
    public ModelBundle Fit(Frame data, Frame? validation = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var spec = Spec;
        var descriptor = Descriptor;
        descriptor.Validate(spec);
        if (descriptor.LearnsFromData)
        {
            foreach (var (role, column) in new[] { ("Label", spec.Label), ("IdColumn", spec.IdColumn) })
            {
                if (column is not null && !data.Contains(column))
                {
                    throw new ArgumentException($"the {(role == "Label" ? "label" : "id")} column '{column}' is not in the data", nameof(data));
                }
            }
        }

        int[]? labels = null;
        if (descriptor.Supervised)
        {
            if (spec.Label is null)
            {
                throw new ArgumentException($"the '{descriptor.Name}' model is supervised: it needs the 0/1 label column", nameof(data));
            }

            labels = TrainingLabels.Read(data, spec.Label);
        }

        var transform = descriptor.FixedTransform(spec) ?? FeatureTransform.Fit(data, TransformOptions(spec));
        var profiling = ReferenceProfile.Start(transform, data, validation); // overlaps the fit below
        var x = new TrainingFeatures(transform, data); // every value checked; rows transformed as the detector asks

        // The settable parameters under their one name set (TrainParameters), then what training resolved.
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["model"] = descriptor.Name };
        foreach (var (name, value) in TrainParameters.Describe(spec))
        {
            parameters[name] = value;
        }

        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        var detector = descriptor.Fit(new DetectorFitContext(spec, transform, x, labels, resolved));
        descriptor.DescribeModel(detector, parameters);
        foreach (var (name, value) in resolved)
        {
            parameters[name] = value;
        }

        parameters["trainRows"] = Invariant(data.RowCount);
        parameters["featureCount"] = Invariant(x.Columns);
        if (spec.Label is not null)
        {
            parameters["label"] = spec.Label;
        }

        if (spec.IdColumn is not null)
        {
            parameters["idColumn"] = spec.IdColumn;
        }

        var profile = profiling.Finish(detector, x);
        var manifest = new BundleManifest
        {
            DetectorKind = descriptor.Name,
            CreatedUtc = _time.GetUtcNow(),
            TrainingRunId = spec.TrainingRunId,
            Parameters = parameters,
        };
        var bundle = BundleWriter.Assemble(manifest, transform, detector, descriptor, profile);
        if (descriptor.Supervised && validation is not null && spec.Label is { } label && validation.RowCount > 0)
        {
            if (!validation.Contains(label))
            {
                throw new ArgumentException($"the label column '{label}' is not in the validation rows", nameof(validation));
            }

            var validationLabels = TrainingLabels.Read(validation, label);
            var positives = 0;
            foreach (var l in validationLabels)
            {
                positives += l;
            }

            if (positives > 0 && positives < validationLabels.Length)
            {
                bundle = bundle.WithCalibrator(IsotonicCalibrator.Fit(bundle.Score(validation), validationLabels));
            }
        }

        return bundle;
    }

    private static FeatureTransformOptions TransformOptions(TrainSpec spec)
    {
        var exclude = new HashSet<string>(spec.Exclude ?? new HashSet<string>(), StringComparer.Ordinal);
        exclude.UnionWith(spec.Transform?.Exclude ?? new HashSet<string>());
        if (spec.Label is not null)
        {
            exclude.Add(spec.Label);
        }

        if (spec.IdColumn is not null)
        {
            exclude.Add(spec.IdColumn);
        }

        return (spec.Transform ?? new FeatureTransformOptions()) with
        {
            Features = spec.Features ?? spec.Transform?.Features,
            Exclude = exclude,
        };
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
