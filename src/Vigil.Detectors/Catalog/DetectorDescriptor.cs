namespace Vigil.Detectors;

/// <summary>
/// One detector kind as a registered component (see <see cref="DetectorCatalog"/>): its name and help, its tunable
/// settings under their one set of names, how it is fitted on a transformed matrix, how its weights are written to and
/// read from bundle files, and how its threshold changes. A bundle names its kind as a string; loading maps that string
/// to the registered descriptor and never instantiates a type named by the file.
/// </summary>
public abstract class DetectorDescriptor
{
    /// <summary>The kind as stored in <c>bundle.json</c> and given to <c>vigil train --model</c>, e.g. <c>iforest</c>.</summary>
    public abstract string Name { get; }

    /// <summary>One line of help for <c>vigil train --help</c>.</summary>
    public abstract string Description { get; }

    /// <summary>True when fitting needs the 0/1 labels (<see cref="TrainSpec.Label"/>).</summary>
    public virtual bool Supervised => false;

    /// <summary>
    /// True when the kind's weights are learned from the training rows. False for models trained elsewhere (ONNX): the
    /// trainer then only checks the model on the data and, where asked, sets the threshold from its scores.
    /// </summary>
    public virtual bool LearnsFromData => true;

    /// <summary>The tunable settings, in a fixed order (the names of <see cref="TrainParameters"/>, run params and search grids).</summary>
    public abstract IReadOnlyList<TrainParameter> Parameters { get; }

    /// <summary>The bundle files holding the weights, in a fixed order; the first is the main one named in messages.</summary>
    public abstract IReadOnlyList<string> WeightFiles { get; }

    /// <summary>Checks that the kind's settings in <paramref name="spec"/> fit together.</summary>
    /// <exception cref="ArgumentException">They do not (the message names the setting).</exception>
    public virtual void Validate(TrainSpec spec)
    {
    }

    /// <summary>
    /// A transform fixed by the model itself (ONNX: the schema's features passed through), or null when the
    /// transform is fitted on the data like for every kind Vigil trains.
    /// </summary>
    public virtual FeatureTransform? FixedTransform(TrainSpec spec) => null;

    /// <summary>Fits the detector on the transformed training matrix; records what training resolved in <see cref="DetectorFitContext.Resolved"/>.</summary>
    public abstract IDetectorModel Fit(DetectorFitContext context);

    /// <summary>Writes the weights of <paramref name="detector"/> (a model of this kind) under <see cref="WeightFiles"/>.</summary>
    public abstract void Write(IDetectorModel detector, IDictionary<string, byte[]> files);

    /// <summary>Reads the weights from the bundle's verified files (every name of <see cref="WeightFiles"/> is present).</summary>
    /// <exception cref="InvalidDataException">A file is malformed (the message starts with what is wrong, without the file name).</exception>
    /// <exception cref="BundleException">A file is malformed, naming the file itself.</exception>
    public abstract IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath);

    /// <summary>A copy of <paramref name="detector"/> (a model of this kind) with another threshold.</summary>
    public abstract IDetectorModel WithThreshold(IDetectorModel detector, double threshold);

    /// <summary>
    /// Checks a read model against the bundle's transform beyond the feature count (ONNX: the schema's feature names
    /// against the transform's inputs).
    /// </summary>
    /// <exception cref="BundleException">They do not fit; the message names the file.</exception>
    public virtual void CheckTransform(IDetectorModel detector, FeatureTransform transform, string bundlePath)
    {
    }

    /// <summary>True when its models give per-feature reasons (implement <see cref="IExplainableDetector"/>).</summary>
    public virtual bool GivesReasons => true;

    /// <summary>Parameters recorded in the manifest besides the settings, for a model built without training (e.g. imported).</summary>
    public virtual void DescribeModel(IDetectorModel detector, IDictionary<string, string> parameters)
    {
    }

    /// <summary>The model cast to <typeparamref name="TModel"/>, or an error naming both kinds.</summary>
    protected TModel Expect<TModel>(IDetectorModel detector)
        where TModel : class, IDetectorModel
    {
        ArgumentNullException.ThrowIfNull(detector);
        return detector as TModel
            ?? throw new ArgumentException($"The '{Name}' descriptor got a '{detector.Kind}' model.", nameof(detector));
    }
}

/// <summary>What <see cref="DetectorDescriptor.Fit"/> gets: the spec, the transformed training rows and, for supervised kinds, the labels.</summary>
public sealed class DetectorFitContext
{
    private readonly FeatureTransform _transform;

    internal DetectorFitContext(TrainSpec spec, FeatureTransform transform, TrainingFeatures features, int[]? labels, IDictionary<string, string> resolved)
    {
        Spec = spec;
        _transform = transform;
        TrainingRows = features;
        Labels = labels;
        Resolved = resolved;
    }

    /// <summary>What to train.</summary>
    public TrainSpec Spec { get; }

    /// <summary>The transformed training rows (one column per <see cref="FeatureTransform.OutputColumns"/>), transformed on first use.</summary>
    public FeatureMatrix Features => TrainingRows.All;

    /// <summary>The training rows, for a detector that reads only some of them (<see cref="TrainingFeatures.Take"/>).</summary>
    internal TrainingFeatures TrainingRows { get; }

    /// <summary>The 0/1 labels of the training rows (set for <see cref="DetectorDescriptor.Supervised"/> kinds).</summary>
    public IReadOnlyList<int>? Labels { get; }

    /// <summary>Labels as an array, for fitting code that takes a span; null when unsupervised.</summary>
    internal int[]? LabelArray => Labels as int[];

    /// <summary>Parameters that training resolved (e.g. <c>maxSamplesResolved</c>), recorded in the manifest after the settings.</summary>
    public IDictionary<string, string> Resolved { get; }

    /// <summary>
    /// The group of each output feature: a categorical column's one-hot slots share the column's name, every numeric
    /// output is in <paramref name="numericGroup"/> (the autoencoder weights groups equally).
    /// </summary>
    public IReadOnlyList<string> FeatureGroups(string numericGroup) => _transform.OutputGroups(numericGroup);
}
