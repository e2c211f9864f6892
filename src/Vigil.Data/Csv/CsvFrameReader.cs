using System.Globalization;
using System.IO.Compression;
using System.Text;
using Vigil.Data.Schema;

namespace Vigil.Data.Csv;

/// <summary>
/// Reads a CSV stream as frames: header, inference sample, then blocks of rows converted column by
/// column (in parallel when allowed). The schema is fixed after the sample; categorical dictionaries
/// grow across chunks and codes once given never change.
/// </summary>
internal sealed class CsvFrameReader : IDisposable
{
    private const int ParallelMinFields = 32_768;
    private const int SerialBlockFields = 8_192;
    private const int MaxValueShown = 100;

    private readonly CsvTokenizer _tokenizer;
    private readonly string? _source;
    private readonly CsvColumnParser[] _parsers;
    private readonly ParallelOptions? _parallel;
    private readonly bool _prefetch;
    private CsvBatch _batch;
    private Task<CsvBatch>? _next;
    private bool _exhausted;
    private readonly int _inferenceRows;
    private readonly BadValueHandling _onBadValue;
    private readonly Action<DataFormatException>? _rowSkipped;
    private readonly long? _streamLength;
    private int _pendingFrom;
    private int _pendingTo;
    private bool _yielded;

    public CsvFrameReader(Stream stream, string? source, CsvReadOptions? options, long? streamLength = null)
    {
        options ??= CsvReadOptions.Default;
        options.Validate();
        _source = source;
        _streamLength = streamLength;
        _inferenceRows = options.InferenceRows;
        _onBadValue = options.OnBadValue;
        _rowSkipped = options.RowSkipped;
        _tokenizer = new CsvTokenizer(stream, source, options.DelimiterByte);
        try
        {
            var header = _tokenizer.ReadHeader();
            var selected = SelectColumns(header, options);
            var batch = _batch = _tokenizer.ReadBatch(options.InferenceRows, growToFit: true);
            var sampleRows = _pendingTo = batch.RowCount;
            _exhausted = sampleRows == 0;
            var threads = options.MaxDegreeOfParallelism == -1 ? Environment.ProcessorCount : options.MaxDegreeOfParallelism;
            _parallel = threads > 1 && selected.Length > 1 ? new ParallelOptions { MaxDegreeOfParallelism = threads } : null;
            _prefetch = threads > 1;
            var kinds = new ColumnKind?[selected.Length];
            var inferred = new bool[selected.Length];
            for (var i = 0; i < selected.Length; i++)
            {
                var name = header[selected[i]];
                kinds[i] = options.Schema?.Find(name)?.Kind
                    ?? (options.CategoricalColumns?.Contains(name) == true ? ColumnKind.Categorical : (ColumnKind?)null);
                inferred[i] = kinds[i] is null;
            }

            // Columns are inferred independently (the sample is read-only), on every core: inference comes before the
            // first row is converted, so a short command waits for it.
            if (_parallel is not null && (long)sampleRows * selected.Length >= ParallelMinFields)
            {
                Parallel.For(0, selected.Length, _parallel, i => kinds[i] ??= Infer(batch, selected[i], sampleRows));
            }
            else
            {
                for (var i = 0; i < selected.Length; i++)
                {
                    kinds[i] ??= Infer(batch, selected[i], sampleRows);
                }
            }

            _parsers = new CsvColumnParser[selected.Length];
            var schema = new ColumnSchema[selected.Length];
            for (var i = 0; i < selected.Length; i++)
            {
                var name = header[selected[i]];
                var kind = kinds[i]!.Value;
                _parsers[i] = CsvColumnParser.Create(name, selected[i], kind, inferred[i]);
                schema[i] = new ColumnSchema(name, kind);
            }

            Schema = new FrameSchema(schema);
        }
        catch
        {
            _tokenizer.Dispose();
            throw;
        }
    }

    /// <summary>The schema of every frame this reader returns.</summary>
    public FrameSchema Schema { get; }

    /// <summary>Where chunks' float64 columns take storage the consumer has returned (<see cref="ReadChunk"/> only).</summary>
    internal ChunkRecycler? Recycler
    {
        set
        {
            foreach (var p in _parsers)
            {
                p.Recycler = value;
            }
        }
    }

    /// <summary>Opens a file (gzip when the name ends with .gz or the content starts with the gzip magic bytes).</summary>
    public static CsvFrameReader Open(string path, CsvReadOptions? options)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        try
        {
            var (stream, length) = Decompress(file, path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase));
            return new CsvFrameReader(stream, path, options, length);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Wraps <paramref name="stream"/> in a gzip decompressor when asked or when it starts with the gzip magic bytes.</summary>
    public static (Stream Stream, long? Length) Decompress(Stream stream, bool gzip)
    {
        if (!gzip)
        {
            Span<byte> magic = stackalloc byte[2];
            if (stream.CanSeek)
            {
                var start = stream.Position;
                var n = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
                stream.Position = start;
                gzip = n == 2 && magic[0] == 0x1F && magic[1] == 0x8B;
                if (!gzip)
                {
                    return (stream, stream.Length - start);
                }
            }
            else
            {
                var n = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
                var prefixed = new PrefixedStream(magic[..n].ToArray(), stream);
                if (n < 2 || magic[0] != 0x1F || magic[1] != 0x8B)
                {
                    return (prefixed, null);
                }

                return (new GZipStream(prefixed, CompressionMode.Decompress), null);
            }
        }

        return (new GZipStream(stream, CompressionMode.Decompress), null);
    }

    /// <summary>The kind of file column <paramref name="index"/> inferred from the first <paramref name="rows"/> rows of <paramref name="batch"/>.</summary>
    private static ColumnKind Infer(CsvBatch batch, int index, int rows)
    {
        var inference = new ColumnKindInference(rows);
        for (var r = 0; r < rows && !inference.Settled; r++)
        {
            // Empty fields, quoted ("") or not, say nothing about the kind.
            var field = batch.Field(r, index);
            if (!field.IsEmpty)
            {
                inference.Add(field);
            }
        }

        return inference.Result;
    }

    /// <summary>Reads up to <paramref name="maxRows"/> rows; null once the data is exhausted (one empty frame when there are no rows at all).</summary>
    public Frame? ReadChunk(int maxRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRows, 1);
        var rows = ReadRows(maxRows);
        if (rows == 0 && _yielded)
        {
            return null;
        }

        _yielded = true;
        return Build();
    }

    /// <summary>Reads every remaining row into one frame.</summary>
    public Frame ReadAll()
    {
        var estimate = 1 << 16;
        if (_streamLength is long length && _pendingTo > 0 && _tokenizer.DataBytes > 0)
        {
            var bytesPerRow = (double)_tokenizer.DataBytes / _pendingTo;
            estimate = (int)Math.Clamp((length / bytesPerRow * 1.02) + 64, 64, Array.MaxLength);
        }

        foreach (var p in _parsers)
        {
            p.EnsureCapacity(estimate, Array.MaxLength);
        }

        ReadRows(int.MaxValue);
        _yielded = true;
        return Build();
    }

    private Frame Build()
    {
        var columns = new Column[_parsers.Length];
        for (var i = 0; i < columns.Length; i++)
        {
            columns[i] = _parsers[i].Build();
        }

        return new Frame(columns);
    }

    private int ReadRows(int maxRows)
    {
        var rows = 0;
        StartPrefetch();
        while (rows < maxRows)
        {
            if (_pendingFrom == _pendingTo)
            {
                if (_exhausted)
                {
                    break;
                }

                _batch = NextBatch();
                _pendingFrom = 0;
                _pendingTo = _batch.RowCount;
                if (_pendingTo == 0)
                {
                    _exhausted = true;
                    break;
                }

                StartPrefetch();
            }

            var batch = _batch;
            var take = Math.Min(_pendingTo - _pendingFrom, maxRows - rows);
            if ((long)rows + take > Array.MaxLength)
            {
                throw new DataFormatException(_source, batch.Lines[_pendingFrom], null, 0,
                    "the file has more rows than one frame can hold; read it in chunks (CsvFile.ReadChunks)");
            }

            foreach (var p in _parsers)
            {
                p.EnsureCapacity(rows + take, maxRows);
            }

            if (_onBadValue == BadValueHandling.Skip)
            {
                ConvertSkipping(batch, _pendingFrom, _pendingFrom + take);
            }
            else
            {
                Convert(batch, _pendingFrom, _pendingFrom + take);
            }

            _pendingFrom += take;
            rows += take;
        }

        return rows;
    }

    /// <summary>Tokenizes the next block on another thread while the current one converts (the tokenizer alternates two buffers).</summary>
    private void StartPrefetch()
    {
        if (_prefetch && _next is null && !_exhausted)
        {
            _next = Task.Run(() => _tokenizer.ReadBatch(int.MaxValue, growToFit: false));
        }
    }

    private CsvBatch NextBatch()
    {
        if (_next is null)
        {
            return _tokenizer.ReadBatch(int.MaxValue, growToFit: false);
        }

        var next = _next;
        _next = null;
        return next.GetAwaiter().GetResult();
    }

    private void Convert(CsvBatch batch, int from, int to)
    {
        var parsers = _parsers;
        var ok = true;
        if (_parallel is not null && (long)(to - from) * parsers.Length >= ParallelMinFields)
        {
            Parallel.For(0, parsers.Length, _parallel, i =>
            {
                if (!parsers[i].Parse(batch, from, to))
                {
                    ok = false;
                }
            });
        }
        else
        {
            // Row blocks small enough that a block's bytes and field offsets stay in the core's cache while every
            // column converts it (a whole block, column after column, would fetch them again for each column). The
            // first block with a bad value ends it; its earliest bad row is the file's first.
            var blockRows = Math.Max(64, SerialBlockFields / parsers.Length);
            for (var block = from; block < to && ok; block += blockRows)
            {
                var end = Math.Min(to, block + blockRows);
                for (var i = 0; i < parsers.Length; i++)
                {
                    ok &= parsers[i].Parse(batch, block, end);
                }
            }
        }

        if (!ok)
        {
            throw FirstError(batch);
        }
    }

    /// <summary>Converts rows [from, to) but those with a bad value, reporting each dropped row.</summary>
    private void ConvertSkipping(CsvBatch batch, int from, int to)
    {
        var start = from;
        for (var r = from; r < to; r++)
        {
            CsvColumnParser? bad = null;
            foreach (var p in _parsers)
            {
                if (!p.Accepts(batch, r))
                {
                    bad = p;
                    break;
                }
            }

            if (bad is null)
            {
                continue;
            }

            if (start < r)
            {
                Convert(batch, start, r);
            }

            _rowSkipped?.Invoke(Error(batch, r, bad, null));
            start = r + 1;
        }

        if (start < to)
        {
            Convert(batch, start, to);
        }
    }

    private DataFormatException FirstError(CsvBatch batch)
    {
        CsvColumnParser? worst = null;
        foreach (var p in _parsers)
        {
            if (p.ErrorRow >= 0 && (worst is null || p.ErrorRow < worst.ErrorRow || (p.ErrorRow == worst.ErrorRow && p.FileIndex < worst.FileIndex)))
            {
                worst = p;
            }
        }

        return Error(batch, worst!.ErrorRow, worst, worst.ErrorDetail);
    }

    private DataFormatException Error(CsvBatch batch, int row, CsvColumnParser worst, string? errorDetail)
    {
        var field = batch.Field(row, worst.FileIndex);
        var text = Encoding.UTF8.GetString(field);
        if (text.Length > MaxValueShown)
        {
            text = string.Concat(text.AsSpan(0, MaxValueShown), "…");
        }

        var kind = worst.Kind.ToString().ToLowerInvariant();
        var detail = errorDetail ?? string.Create(CultureInfo.InvariantCulture, $"cannot parse \"{text}\" as {kind}");
        if (worst.Inferred && errorDetail is null && _onBadValue == BadValueHandling.Error)
        {
            detail += string.Create(CultureInfo.InvariantCulture,
                $" (the kind {kind} was inferred from the first {_inferenceRows} rows, where most values are {(worst.Kind == ColumnKind.Timestamp ? "timestamps" : "numbers")}; fix the value, drop such rows with --on-bad-value skip, or give an explicit schema, for example --schema '{worst.Name}:string')");
        }

        return new DataFormatException(_source, batch.LineOf(row, worst.FileIndex), worst.Name, worst.FileIndex + 1, detail);
    }

    private int[] SelectColumns(string[] header, CsvReadOptions options)
    {
        var index = new Dictionary<string, int>(header.Length, StringComparer.Ordinal);
        for (var i = 0; i < header.Length; i++)
        {
            index[header[i]] = i;
        }

        void Require(string name, string where)
        {
            if (!index.ContainsKey(name))
            {
                throw new DataFormatException(_source, 1, name, 0,
                    $"column '{name}' named in {where} is not in the header; the header has: {string.Join(", ", header)}");
            }
        }

        if (options.Schema is not null)
        {
            foreach (var c in options.Schema.Columns)
            {
                Require(c.Name, "the schema");
            }
        }

        if (options.CategoricalColumns is not null)
        {
            foreach (var c in options.CategoricalColumns)
            {
                Require(c, "the categorical columns");
            }
        }

        if (options.Columns is null)
        {
            var all = new int[header.Length];
            for (var i = 0; i < all.Length; i++)
            {
                all[i] = i;
            }

            return all;
        }

        var selected = new int[options.Columns.Count];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < selected.Length; i++)
        {
            var name = options.Columns[i];
            Require(name, "the selected columns");
            if (!seen.Add(name))
            {
                throw new ArgumentException($"Column '{name}' is selected more than once.", nameof(options));
            }

            selected[i] = index[name];
        }

        return selected;
    }

    public void Dispose()
    {
        if (_next is not null)
        {
            // The block read ahead is not needed; wait so the tokenizer is idle before it is closed.
            try
            {
                _next.Wait();
            }
            catch (AggregateException)
            {
                // Its error (if any) concerns rows nobody asked for any more.
            }

            _next = null;
        }

        _tokenizer.Dispose();
    }
}

/// <summary>A read-only stream that first returns a few already-read bytes, then the rest of another stream.</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : Stream
{
    private int _prefixPos;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_prefixPos < prefix.Length)
        {
            var n = Math.Min(buffer.Length, prefix.Length - _prefixPos);
            prefix.AsSpan(_prefixPos, n).CopyTo(buffer);
            _prefixPos += n;
            return n;
        }

        return inner.Read(buffer);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
