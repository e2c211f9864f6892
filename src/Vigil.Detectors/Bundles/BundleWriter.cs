using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using static Vigil.Detectors.ModelBundle;

namespace Vigil.Detectors;

/// <summary>
/// Writes bundles: <see cref="Assemble"/> turns a manifest, transform, detector and profile into files with their
/// SHA-256 (the current format version, <see cref="BundleManifest.CurrentFormatVersion"/>); <see cref="Save"/> writes
/// them as a directory or zip, beside the target first and renamed into place.
/// </summary>
internal static class BundleWriter
{
    /// <summary>
    /// The bundle of <paramref name="detector"/> with every file serialised and listed in the manifest with its size
    /// and SHA-256, in the current format version.
    /// </summary>
    public static ModelBundle Assemble(BundleManifest manifest, FeatureTransform transform, IDetectorModel detector, DetectorDescriptor descriptor, ReferenceProfile? profile)
    {
        var transformBytes = JsonSerializer.SerializeToUtf8Bytes(transform.ToDocument(), BundleJsonContext.Default.TransformDocument);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [TransformFile] = transformBytes };
        descriptor.Write(detector, files);
        if (profile is not null)
        {
            files[ProfileFile] = profile.ToJson();
        }

        var hashes = new Dictionary<string, BundleFile>(StringComparer.Ordinal);
        foreach (var (name, bytes) in files)
        {
            hashes[name] = new BundleFile(Sha256Hex(bytes), bytes.LongLength);
        }

        var full = manifest with
        {
            FormatVersion = BundleManifest.CurrentFormatVersion,
            FeatureSchema = [.. transform.InputSchema],
            Transform = new TransformSummary
            {
                Scaling = transform.Scaling,
                MissingPolicy = transform.MissingPolicy,
                MaxCategories = transform.MaxCategories,
                OutputColumns = [.. transform.OutputColumns],
            },
            Threshold = detector.Threshold,
            Files = hashes,
        };
        return new ModelBundle(full, transform, detector, descriptor, profile, files);
    }

    public static void Save(ModelBundle bundle, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var manifestBytes = JsonSerializer.SerializeToUtf8Bytes(bundle.Manifest, BundleJsonContext.Default.BundleManifest);
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full) ?? ".";
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(parent);
            if (full.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                using (var zip = ZipFile.Open(temp, ZipArchiveMode.Create))
                {
                    WriteEntry(zip, ManifestFile, manifestBytes);
                    foreach (var (name, bytes) in bundle.Files)
                    {
                        WriteEntry(zip, name, bytes);
                    }
                }

                File.Move(temp, full, overwrite: true);
                return;
            }

            if (File.Exists(full))
            {
                throw new BundleException(path, null, "a file exists at this path; a bundle directory (or a path ending in .zip) is needed");
            }

            Directory.CreateDirectory(temp);
            File.WriteAllBytes(Path.Combine(temp, ManifestFile), manifestBytes);
            foreach (var (name, bytes) in bundle.Files)
            {
                File.WriteAllBytes(Path.Combine(temp, name), bytes);
            }

            if (Directory.Exists(full))
            {
                var old = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
                Directory.Move(full, old);
                Directory.Move(temp, full);
                Directory.Delete(old, recursive: true);
            }
            else
            {
                Directory.Move(temp, full);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BundleException(path, null, $"cannot write the bundle: {e.Message}", e);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
            else if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var stream = entry.Open();
        stream.Write(bytes);
    }

    internal static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
