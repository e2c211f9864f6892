using System.IO.Compression;
using System.Text.Json;
using static Vigil.Detectors.ModelBundle;

namespace Vigil.Detectors;

/// <summary>
/// Writes bundles: <see cref="Assemble"/> turns a manifest, transform, detector and profile into files with their
/// SHA-256 (the current format version, <see cref="BundleManifest.CurrentFormatVersion"/>); <see cref="Save"/> writes
/// them as a directory or zip, beside the target first and renamed into place, never over anything but a Vigil bundle.
/// </summary>
internal static class BundleWriter
{
    /// <summary>
    /// The bundle of <paramref name="detector"/> with every file serialised and listed in the manifest with its size
    /// and SHA-256, in the current format version.
    /// </summary>
    public static ModelBundle Assemble(BundleManifest manifest, FeatureTransform transform, IDetectorModel detector, DetectorDescriptor descriptor, ReferenceProfile? profile, IsotonicCalibrator? calibrator = null)
    {
        var transformBytes = BundleJson.WriteTransform(transform.ToDocument());
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [TransformFile] = transformBytes };
        descriptor.Write(detector, files);
        if (profile is not null)
        {
            files[ProfileFile] = profile.ToJson();
        }

        if (calibrator is not null)
        {
            files[CalibrationFile] = calibrator.ToJson();
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
        return new ModelBundle(full, transform, detector, descriptor, profile, files, calibrator);
    }

    public static void Save(ModelBundle bundle, string path, bool overwrite)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var manifestBytes = BundleJson.WriteManifest(bundle.Manifest);
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full) ?? ".";
        var zip = full.EndsWith(".zip", StringComparison.OrdinalIgnoreCase);
        var existing = CheckTarget(path, full, zip, overwrite);
        var temp = Path.Combine(parent, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(parent);
            if (zip)
            {
                using (var archive = ZipFile.Open(temp, ZipArchiveMode.Create))
                {
                    WriteEntry(archive, ManifestFile, manifestBytes);
                    foreach (var (name, bytes) in bundle.Files)
                    {
                        WriteEntry(archive, name, bytes);
                    }
                }

                File.Move(temp, full, overwrite: existing is not null); // one atomic rename over the old bundle zip
                return;
            }

            Directory.CreateDirectory(temp);
            File.WriteAllBytes(Path.Combine(temp, ManifestFile), manifestBytes);
            foreach (var (name, bytes) in bundle.Files)
            {
                File.WriteAllBytes(Path.Combine(temp, name), bytes);
            }

            if (existing is null)
            {
                Directory.Move(temp, full);
                return;
            }

            // Swap: the old bundle (or empty folder) moves aside, the new one takes its name, then only the files the
            // old bundle consisted of are deleted and its folder removed when empty.
            var old = Path.Combine(parent, $".{Path.GetFileName(full)}.old-{Guid.NewGuid():N}");
            Directory.Move(full, old);
            try
            {
                Directory.Move(temp, full);
            }
            catch
            {
                Directory.Move(old, full);
                throw;
            }

            foreach (var name in existing)
            {
                File.Delete(Path.Combine(old, name));
            }

            if (!Directory.EnumerateFileSystemEntries(old).Any())
            {
                Directory.Delete(old, recursive: false);
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
                // Only this call's own temporary folder, holding only the files it wrote.
                foreach (var file in Directory.EnumerateFiles(temp))
                {
                    File.Delete(file);
                }

                Directory.Delete(temp, recursive: false);
            }
        }
    }

    /// <summary>
    /// What the target path holds, checked before anything is written: null when nothing is there; otherwise the
    /// names of the files an overwrite would remove (none for an empty folder). Refuses a target that holds anything
    /// but a Vigil bundle, and an existing bundle unless <paramref name="overwrite"/>.
    /// </summary>
    internal static string[]? CheckTarget(string path, string full, bool zip, bool overwrite)
    {
        const string ForceHint = "pass --force to replace it";
        if (zip)
        {
            if (Directory.Exists(full))
            {
                throw new BundleException(path, null, "a folder exists at this path; a bundle zip is written only over a bundle zip");
            }

            if (!File.Exists(full))
            {
                return null;
            }

            if (!IsBundleZip(full))
            {
                throw new BundleException(path, null, "a file that is not a Vigil bundle zip exists at this path; Vigil does not replace it (choose another path)");
            }

            return overwrite ? [] : throw new BundleException(path, null, $"a model bundle already exists at this path; {ForceHint}");
        }

        if (File.Exists(full))
        {
            throw new BundleException(path, null, "a file exists at this path; a bundle directory (or a path ending in .zip) is needed");
        }

        if (!Directory.Exists(full))
        {
            return null;
        }

        var entries = Directory.GetFileSystemEntries(full);
        if (entries.Length == 0)
        {
            return [];
        }

        var owned = BundleFilesIn(full);
        if (owned is null)
        {
            Array.Sort(entries, StringComparer.Ordinal);
            var shown = string.Join(", ", entries.Take(5).Select(Path.GetFileName)) + (entries.Length > 5 ? ", ..." : string.Empty);
            throw new BundleException(path, null,
                $"the folder exists and is not a Vigil model bundle (it holds {shown}); Vigil never writes a bundle over other files: choose a new or empty folder");
        }

        return overwrite ? [.. owned] : throw new BundleException(path, null, $"a model bundle already exists in this folder; {ForceHint}");
    }

    /// <summary>
    /// The names of the entries of <paramref name="folder"/> when it is a Vigil bundle: a readable manifest, and every
    /// entry a plain file that is the manifest, a file the manifest lists, or the signature. Null otherwise.
    /// </summary>
    private static List<string>? BundleFilesIn(string folder)
    {
        var manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath) || new FileInfo(manifestPath).Length > BundleReader.MaxManifestBytes)
        {
            return null;
        }

        // Only the detector kind and the file names are needed: a JsonDocument reads them without the serializer's
        // metadata (whose first use costs a short-lived `vigil train --force` tens of milliseconds).
        var listed = new List<string>();
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("detectorKind", out var kind) || kind.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(kind.GetString())
                || !root.TryGetProperty("files", out var files) || files.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (var file in files.EnumerateObject())
            {
                listed.Add(file.Name);
            }
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var names = new HashSet<string>(StringComparer.Ordinal) { ManifestFile };
        foreach (var name in listed)
        {
            if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name is "." or "..")
            {
                return null;
            }

            names.Add(name);
        }

        if (File.Exists(Path.Combine(folder, SignatureFile)))
        {
            names.Add(SignatureFile);
        }

        var present = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder))
        {
            var name = Path.GetFileName(entry);
            if (!names.Contains(name) || !File.Exists(entry))
            {
                return null;
            }

            present.Add(name);
        }

        return present;
    }

    private static bool IsBundleZip(string file)
    {
        try
        {
            using var archive = ZipFile.OpenRead(file);
            return archive.GetEntry(ManifestFile) is not null;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void WriteEntry(ZipArchive zip, string name, byte[] bytes)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        using var stream = entry.Open();
        stream.Write(bytes);
    }

    /// <summary>The lowercase hex SHA-256 of a bundle file (managed: see <see cref="Sha256"/>).</summary>
    internal static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(Sha256.Hash(bytes));
}
