namespace Vigil.Detectors;

/// <summary>
/// The shared shape of the built-in kinds Vigil trains itself: settings in one typed options record of
/// <see cref="TrainSpec"/>, weights in one binary file, and a model that can copy itself with another threshold.
/// A subclass gives its name, help, settings and <see cref="DetectorDescriptor.Fit"/>; the rest is done once here.
/// </summary>
internal abstract class SingleFileDescriptor<TModel, TOptions> : DetectorDescriptor
    where TModel : class, IDetectorModel
    where TOptions : class
{
    private readonly string _name;
    private readonly Func<TrainSpec, TOptions> _optionsOf;
    private readonly Func<TrainSpec, TOptions, TrainSpec> _withOptions;
    private readonly Action<TOptions> _validate;
    private readonly WeightsCodec _codec;

    protected SingleFileDescriptor(string name, string weightsFile, Func<TrainSpec, TOptions> optionsOf, Func<TrainSpec, TOptions, TrainSpec> withOptions,
        Action<TOptions> validate, WeightsCodec codec)
    {
        _name = name;
        WeightFiles = [weightsFile];
        _optionsOf = optionsOf;
        _withOptions = withOptions;
        _validate = validate;
        _codec = codec;
    }

    /// <summary>How a model becomes its weights file and back, and how it changes threshold.</summary>
    internal sealed record WeightsCodec(Func<TModel, byte[]> ToBytes, Func<byte[], TModel> Read, Func<TModel, double, TModel> WithThreshold);

    public sealed override string Name => _name;

    public sealed override IReadOnlyList<string> WeightFiles { get; }

    public sealed override void Validate(TrainSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var options = _optionsOf(spec) ?? throw new ArgumentException($"TrainSpec has no {typeof(TOptions).Name}.", nameof(spec));
        _validate(options);
    }

    public sealed override void Write(IDetectorModel detector, IDictionary<string, byte[]> files) => files[WeightFiles[0]] = _codec.ToBytes(Expect<TModel>(detector));

    public sealed override IDetectorModel Read(IReadOnlyDictionary<string, byte[]> files, string bundlePath) => _codec.Read(files[WeightFiles[0]]);

    public sealed override IDetectorModel WithThreshold(IDetectorModel detector, double threshold) => _codec.WithThreshold(Expect<TModel>(detector), threshold);

    /// <summary>The options record of <paramref name="spec"/>.</summary>
    protected TOptions OptionsOf(TrainSpec spec) => _optionsOf(spec);

    /// <summary>A setting of this kind stored in its options record.</summary>
    protected TrainParameter Setting(string name, string expects, Func<TOptions, string> get, Func<TOptions, string, TOptions> set) =>
        new(_name, name, expects, s => get(_optionsOf(s)), (s, v) => _withOptions(s, set(_optionsOf(s), v)));
}
