using System.IO.Compression;

namespace Vigil.Detectors;

/// <summary>Reads named files from a bundle directory or zip, never more than a given size.</summary>
internal abstract class BundleSource : IDisposable
{
    public static BundleSource Open(string path)
    {
        if (Directory.Exists(path))
        {
            return new DirectorySource(path);
        }

        if (!File.Exists(path))
        {
            throw new BundleException(path, null, "no bundle directory or zip file exists at this path");
        }

        try
        {
            return new ZipSource(ZipFile.OpenRead(path), path);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new BundleException(path, null, $"is not a readable zip archive ({e.Message})", e);
        }
    }

    /// <summary>The file's bytes, or null when absent. Reads at most <paramref name="limit"/> + 1 bytes.</summary>
    public abstract byte[]? Read(string name, long limit);

    /// <summary>The file's length in bytes (a zip entry's uncompressed length), or null when absent.</summary>
    public abstract long? Length(string name);

    public virtual void Dispose()
    {
    }

    protected static byte[] ReadBounded(Stream stream, long limit)
    {
        using var memory = new MemoryStream();
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while (total <= limit && (read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, limit + 1 - total))) > 0)
        {
            memory.Write(buffer, 0, read);
            total += read;
        }

        return memory.ToArray();
    }

    private sealed class DirectorySource(string root) : BundleSource
    {
        public override long? Length(string name)
        {
            var file = new FileInfo(Path.Combine(root, name));
            return file.Exists ? file.Length : null;
        }

        public override byte[]? Read(string name, long limit)
        {
            var file = Path.Combine(root, name);
            if (!File.Exists(file))
            {
                return null;
            }

            using var stream = File.OpenRead(file);
            return ReadBounded(stream, limit);
        }
    }

    private sealed class ZipSource(ZipArchive zip, string path) : BundleSource
    {
        public override long? Length(string name) => zip.GetEntry(name)?.Length;

        public override byte[]? Read(string name, long limit)
        {
            var entry = zip.GetEntry(name);
            if (entry is null)
            {
                return null;
            }

            try
            {
                using var stream = entry.Open();
                return ReadBounded(stream, limit);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
            {
                // e.g. an entry compressed with a method .NET cannot unpack (Deflate64 from some zip tools): name the file
                throw new BundleException(path, name, $"{name} inside the zip cannot be unpacked ({e.Message}); re-create the zip with standard Deflate compression", e);
            }
        }

        public override void Dispose() => zip.Dispose();
    }
}
