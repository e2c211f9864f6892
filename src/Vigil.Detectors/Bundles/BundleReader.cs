using System.Globalization;
using System.Text.Json;
using static Vigil.Detectors.ModelBundle;

namespace Vigil.Detectors;

/// <summary>
/// Reads bundles with one loader per format version (ML.NET's versioned loaders are the model): the manifest's
/// <c>formatVersion</c> picks the loader before anything else is interpreted, the detector kind picks the reader from
/// <see cref="DetectorCatalog"/> (data only: never a type named by the file), and every file is verified by size and
/// SHA-256 before it is parsed. Version 1: manifest, transform and weights. Version 2: the same plus an optional
/// reference profile (<c>profile.json</c>) and an optional score calibrator (<c>calibration.json</c>, CBPE). Every version ever written stays readable (golden bundles in the tests).
/// </summary>
internal static class BundleReader
{
    internal const long MaxManifestBytes = 64L << 20;

    /// <summary>
    /// The loader of each format version this build reads, version v at index v - 1 (an array: a sorted dictionary's
    /// generic code over <c>int</c> is not precompiled, and cost every process that loads a bundle some twenty JIT
    /// compilations).
    /// </summary>
    private static readonly Func<LoadContext, ModelBundle>[] Loaders = [LoadV1, LoadV2];

    public static ModelBundle Load(string path, BundleLoadOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        using var source = BundleSource.Open(path);
        byte[]? manifestBytes;
        try
        {
            manifestBytes = source.Read(ManifestFile, MaxManifestBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} cannot be read: {e.Message}", e);
        }

        if (manifestBytes is null)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} is missing; this is not a model bundle");
        }

        if (manifestBytes.LongLength > MaxManifestBytes)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} is larger than {MaxManifestBytes} bytes");
        }

        // The signature covers the manifest bytes; it is checked before the manifest is interpreted.
        options.TrustedKeys?.Verify(path, manifestBytes, ReadSignature(source, path));
        var manifest = ReadManifest(path, manifestBytes);
        if (!DetectorCatalog.TryGet(manifest.DetectorKind, out var descriptor))
        {
            throw new BundleException(path, ManifestFile,
                $"{ManifestFile} names the unknown detector kind '{manifest.DetectorKind}'; this Vigil reads: {string.Join(", ", DetectorCatalog.Kinds)}");
        }

        foreach (var name in (string[])[TransformFile, .. descriptor.WeightFiles])
        {
            if (!manifest.Files.ContainsKey(name))
            {
                throw new BundleException(path, ManifestFile, $"{ManifestFile} does not list {name}, which a '{manifest.DetectorKind}' bundle needs");
            }
        }

        CheckSizes(source, path, manifest, options, manifestBytes.LongLength);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (name, expected) in manifest.Files)
        {
            files[name] = ReadVerified(source, path, name, expected);
        }

        return Loaders[manifest.FormatVersion - 1](new LoadContext(path, manifest, descriptor, files));
    }

    /// <summary>The bytes of <c>signature.json</c>, or null when the bundle has none.</summary>
    private static byte[]? ReadSignature(BundleSource source, string path)
    {
        byte[]? bytes;
        try
        {
            bytes = source.Read(SignatureFile, BundleSignatureDocument.MaxBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new BundleException(path, SignatureFile, $"{SignatureFile} cannot be read: {e.Message}", e);
        }

        if (bytes is not null && bytes.LongLength > BundleSignatureDocument.MaxBytes)
        {
            throw new BundleException(path, SignatureFile, $"{SignatureFile} is larger than {BundleSignatureDocument.MaxBytes} bytes");
        }

        return bytes;
    }

    /// <summary>
    /// Refuses, before any file is read, a file whose declared size or actual length is over
    /// <see cref="BundleLoadOptions.MaxFileBytes"/>, and a bundle whose declared or actual total is over
    /// <see cref="BundleLoadOptions.MaxBundleBytes"/>.
    /// </summary>
    private static void CheckSizes(BundleSource source, string path, BundleManifest manifest, BundleLoadOptions options, long manifestBytes)
    {
        var fileCap = Math.Min(options.MaxFileBytes, Array.MaxLength);
        long declared = manifestBytes, actual = manifestBytes;
        foreach (var (name, expected) in manifest.Files)
        {
            if (expected is null)
            {
                continue; // reported by ReadVerified
            }

            long length;
            try
            {
                length = source.Length(name) ?? 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                throw new BundleException(path, name, $"{name} cannot be read: {e.Message}", e);
            }

            foreach (var (size, what) in (ReadOnlySpan<(long, string)>)[(expected.Size, $"{ManifestFile} declares {name} as"), (length, $"{name} is")])
            {
                if (size > fileCap)
                {
                    throw new BundleException(path, name, string.Create(CultureInfo.InvariantCulture,
                        $"{what} {size} bytes, over the limit of {fileCap} bytes per file ({BundleLoadOptions.MaxFileBytesVariable}); nothing was read"));
                }
            }

            declared += Math.Max(0, expected.Size);
            actual += length;
        }

        foreach (var (total, what) in (ReadOnlySpan<(long, string)>)[(declared, $"{ManifestFile} declares"), (actual, "the files hold")])
        {
            if (total > options.MaxBundleBytes)
            {
                throw new BundleException(path, null, string.Create(CultureInfo.InvariantCulture,
                    $"{what} {total} bytes in all, over the limit of {options.MaxBundleBytes} bytes per bundle ({BundleLoadOptions.MaxBundleBytesVariable}); nothing was read"));
            }
        }
    }

    /// <summary>Version 1: transform and weights; a profile file is not part of this version.</summary>
    private static ModelBundle LoadV1(LoadContext context)
    {
        if (context.Files.ContainsKey(ProfileFile))
        {
            throw new BundleException(context.Path, ManifestFile, $"{ManifestFile} lists {ProfileFile}, which format version 1 does not have");
        }

        if (context.Files.ContainsKey(CalibrationFile))
        {
            throw new BundleException(context.Path, ManifestFile, $"{ManifestFile} lists {CalibrationFile}, which format version 1 does not have");
        }

        return LoadCore(context, profile: null, calibrator: null);
    }

    /// <summary>
    /// Version 2: version 1 plus the reference profile when the bundle was trained on data, and the score calibrator when
    /// a supervised bundle was trained with validation rows (bundles without one load with no calibrator).
    /// </summary>
    private static ModelBundle LoadV2(LoadContext context)
    {
        ReferenceProfile? profile = null;
        if (context.Files.TryGetValue(ProfileFile, out var bytes))
        {
            try
            {
                profile = ReferenceProfile.FromJson(bytes);
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or NotSupportedException)
            {
                throw new BundleException(context.Path, ProfileFile, $"{ProfileFile} is malformed ({e.Message})", e);
            }
        }

        IsotonicCalibrator? calibrator = null;
        if (context.Files.TryGetValue(CalibrationFile, out var calibration))
        {
            try
            {
                calibrator = IsotonicCalibrator.FromJson(calibration);
            }
            catch (InvalidDataException e)
            {
                throw new BundleException(context.Path, CalibrationFile, $"{CalibrationFile} {e.Message}", e);
            }
        }

        return LoadCore(context, profile, calibrator);
    }

    private static ModelBundle LoadCore(LoadContext context, ReferenceProfile? profile, IsotonicCalibrator? calibrator)
    {
        var (path, manifest, descriptor, files) = context;
        var transform = ReadTransform(path, files[TransformFile]);
        var weightsFile = descriptor.WeightFiles[0];
        IDetectorModel detector;
        try
        {
            detector = descriptor.Read(files, path);
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(path, weightsFile, $"{weightsFile} {e.Message}", e);
        }

        try
        {
            CheckConsistency(path, manifest, descriptor, transform, detector);
        }
        catch (BundleException)
        {
            (detector as IDisposable)?.Dispose();
            throw;
        }

        return new ModelBundle(manifest, transform, detector, descriptor, profile, files, calibrator);
    }

    private readonly record struct LoadContext(string Path, BundleManifest Manifest, DetectorDescriptor Descriptor, Dictionary<string, byte[]> Files);

    private static void CheckConsistency(string path, BundleManifest manifest, DetectorDescriptor descriptor, FeatureTransform transform, IDetectorModel detector)
    {
        if (detector.FeatureCount != transform.OutputCount)
        {
            var weightsFile = descriptor.WeightFiles[0];
            throw new BundleException(path, weightsFile,
                $"{weightsFile} expects {detector.FeatureCount} features but {TransformFile} produces {transform.OutputCount}");
        }

        descriptor.CheckTransform(detector, transform, path);
        var schema = transform.InputSchema;
        var listed = manifest.FeatureSchema;
        var same = listed.Count == schema.Count;
        for (var i = 0; same && i < schema.Count; i++)
        {
            same = listed[i] is not null && listed[i].Equals(schema[i]);
        }

        if (!same)
        {
            throw new BundleException(path, ManifestFile, $"the featureSchema in {ManifestFile} does not match the inputs of {TransformFile}");
        }

        if (BitConverter.DoubleToInt64Bits(manifest.Threshold) != BitConverter.DoubleToInt64Bits(detector.Threshold))
        {
            throw new BundleException(path, ManifestFile,
                string.Create(CultureInfo.InvariantCulture, $"the threshold in {ManifestFile} ({manifest.Threshold:R}) differs from the one in the detector weights ({detector.Threshold:R}); use ModelBundle.WithThreshold to change it"));
        }
    }

    private static BundleManifest ReadManifest(string path, byte[] bytes)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} is not valid JSON ({e.Message})", e);
        }

        BundleManifest? manifest;
        using (doc)
        {
            // The version is checked before anything else is interpreted.
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("formatVersion", out var version)
                || version.ValueKind != JsonValueKind.Number)
            {
                throw new BundleException(path, ManifestFile, $"{ManifestFile} has no numeric formatVersion; this is not a Vigil model bundle");
            }

            if (!version.TryGetInt32(out var v) || v < 1 || v > Loaders.Length)
            {
                throw new BundleException(path, ManifestFile,
                    $"{ManifestFile} has format version {version.GetRawText()}; this Vigil reads versions {string.Join(", ", Enumerable.Range(1, Loaders.Length))}");
            }

            try
            {
                manifest = BundleJson.ReadManifest(doc.RootElement);
            }
            catch (JsonException e)
            {
                throw new BundleException(path, ManifestFile, $"{ManifestFile} is malformed ({e.Message})", e);
            }
        }

        if (manifest is null || string.IsNullOrEmpty(manifest.DetectorKind) || manifest.Files is null
            || manifest.FeatureSchema is null || manifest.Transform is null || manifest.Metrics is null || manifest.Parameters is null)
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} lacks detectorKind, files, featureSchema, transform, metrics or parameters");
        }

        return manifest;
    }

    private static byte[] ReadVerified(BundleSource source, string path, string name, BundleFile expected)
    {
        if (!IsSafeFileName(name) || string.Equals(name, ManifestFile, StringComparison.Ordinal))
        {
            throw new BundleException(path, ManifestFile, $"{ManifestFile} lists the invalid file name '{name}'");
        }

        if (expected is null || expected.Size < 0 || expected.Sha256 is null)
        {
            throw new BundleException(path, name, $"{ManifestFile} has no size or SHA-256 for {name}");
        }

        byte[]? bytes;
        try
        {
            bytes = source.Read(name, expected.Size);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new BundleException(path, name, $"{name} cannot be read: {e.Message}", e);
        }

        if (bytes is null)
        {
            throw new BundleException(path, name, $"{name} is missing (listed in {ManifestFile})");
        }

        if (bytes.LongLength != expected.Size)
        {
            throw new BundleException(path, name,
                string.Create(CultureInfo.InvariantCulture, $"{name} has {bytes.LongLength}{(bytes.LongLength > expected.Size ? "+" : string.Empty)} bytes but {ManifestFile} says {expected.Size}; the bundle was truncated, modified or corrupted"));
        }

        var actual = BundleWriter.Sha256Hex(bytes);
        if (!string.Equals(actual, expected.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new BundleException(path, name,
                $"{name} SHA-256 mismatch ({ManifestFile} says {expected.Sha256}, file is {actual}); the bundle was modified or corrupted");
        }

        return bytes;
    }

    private static FeatureTransform ReadTransform(string path, byte[] bytes)
    {
        try
        {
            var doc = BundleJson.ReadTransform(bytes)
                ?? throw new InvalidDataException("is empty");
            return FeatureTransform.FromDocument(doc);
        }
        catch (JsonException e)
        {
            throw new BundleException(path, TransformFile, $"{TransformFile} is not valid JSON ({e.Message})", e);
        }
        catch (InvalidDataException e)
        {
            throw new BundleException(path, TransformFile, $"{TransformFile} {e.Message}", e);
        }
    }

    private static bool IsSafeFileName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 128 || name is "." or "..")
        {
            return false;
        }

        foreach (var ch in name)
        {
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
