using System.Text;

namespace Vigil.Data.Tests.Csv;

/// <summary>A temporary directory removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vigil-csv-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Writes <paramref name="text"/> as UTF-8 bytes exactly (no BOM, no newline conversion).</summary>
    public string Write(string name, string text)
    {
        var path = File(name);
        System.IO.File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>SplitMix64: a tiny deterministic generator, the same on every machine and runtime.</summary>
internal sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    public int Next(int maxExclusive) => (int)(Next() % (ulong)maxExclusive);

    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}

internal static class FrameAssert
{
    /// <summary>Asserts equal schemas and equal values (bit-equal doubles, NaN = NaN; categorical by value).</summary>
    public static void Equal(Frame expected, Frame actual)
    {
        actual.Schema.ToString().ShouldBe(expected.Schema.ToString());
        actual.RowCount.ShouldBe(expected.RowCount);
        for (var c = 0; c < expected.Columns.Count; c++)
        {
            var e = expected.Columns[c];
            var a = actual.Columns[c];
            for (var r = 0; r < expected.RowCount; r++)
            {
                var ev = Value(e, r);
                var av = Value(a, r);
                if (!Equals(ev, av))
                {
                    throw new ShouldAssertException($"Column '{e.Name}' row {r}: expected {Show(ev)} but was {Show(av)}.");
                }
            }
        }
    }

    public static object? Value(Column column, int row) => column switch
    {
        Float64Column f => BitConverter.DoubleToInt64Bits(double.IsNaN(f[row]) ? double.NaN : f[row]),
        Float32Column f => BitConverter.SingleToInt32Bits(float.IsNaN(f[row]) ? float.NaN : f[row]),
        TimestampColumn t => t.UnixMicros[row],
        CategoricalColumn k => k[row],
        StringColumn s => s[row],
        _ => throw new ArgumentOutOfRangeException(nameof(column)),
    };

    private static string Show(object? v) => v switch
    {
        null => "<missing>",
        string s => "\"" + s.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"",
        _ => v.ToString() ?? "",
    };
}
