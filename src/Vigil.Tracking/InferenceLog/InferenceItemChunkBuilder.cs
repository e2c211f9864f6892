namespace Vigil.Tracking;

/// <summary>
/// Collects the items of consecutive requests of one model into <see cref="InferenceItemChunk"/>s: requests are
/// appended (decoded from the SQL stores' encoding, or row ranges of Parquet items files) while they share the
/// chunk's feature set; <see cref="Take"/> hands the chunk over and starts the next.
/// </summary>
internal sealed class InferenceItemChunkBuilder(string model, int targetItems = InferenceItemChunkBuilder.DefaultTargetItems)
{
    public const int DefaultTargetItems = 8_192; // arrays stay below the large object heap's 85,000 bytes

    private readonly InferenceItemsCodec.StringCache _strings = new();
    private byte[] _signature = [];
    private int _signatureLength = -1;
    private string[] _names = [];
    private bool[] _isText = [];
    private int _count;
    private int _capacity;
    private string[] _logId = [];
    private string[] _requestId = [];
    private int[] _item = [];
    private long[] _start = [];
    private int?[] _version = [];
    private int[] _status = [];
    private double[] _score = [];
    private sbyte[] _label = [];
    private string?[] _rule = [];
    private double[][] _numbers = [];
    private string?[][] _texts = [];

    /// <summary>The number of items collected so far.</summary>
    public int Count => _count;

    /// <summary>True when the chunk has reached its target size.</summary>
    public bool IsFull => _count >= targetItems;

    /// <summary>
    /// Appends the requests of one stored <c>inference_items</c> row (one request, or a run: see
    /// <see cref="InferenceItemRuns"/>) that started in [<paramref name="sinceUs"/>, <paramref name="untilUs"/>), from
    /// request <paramref name="resume"/> of the row on. Returns -1 when the rest of the row was appended, else the
    /// index of the first request not appended: the chunk is full, or that request has another feature set; take the
    /// chunk and call again with that index.
    /// </summary>
    /// <exception cref="InvalidDataException">The encoding is malformed.</exception>
    public int AppendRow(string logId, string requestId, long startUs, int? version, ReadOnlySpan<byte> encoded, long sinceUs, long untilUs, int resume = 0)
    {
        var row = new InferenceItemsCodec.RowReader(encoded, logId, requestId, startUs, version);
        while (row.Next(out var entry))
        {
            var index = row.Index - 1;
            if (index < resume || entry.StartUs < sinceUs || entry.StartUs >= untilUs)
            {
                continue;
            }
            if (IsFull || !TryAppend(entry.LogId, entry.RequestId, entry.StartUs, entry.Version, entry.Items))
            {
                return index;
            }
        }
        return -1;
    }

    /// <summary>
    /// Appends one request's encoded items, unless they have another feature set than the items collected so far
    /// (then returns false and appends nothing: take the chunk and append again).
    /// </summary>
    /// <exception cref="InvalidDataException">The encoding is malformed.</exception>
    public bool TryAppend(string logId, string requestId, long startUs, int? version, ReadOnlySpan<byte> encoded)
    {
        var reader = new InferenceItemsCodec.Reader(encoded);
        var header = reader.ReadHeader();
        var signature = reader.Slice(header.FeatureHeaderStart, header.FeatureHeaderEnd);
        if (_signatureLength < 0 || _count == 0)
        {
            if (_signatureLength != signature.Length || !signature.SequenceEqual(_signature.AsSpan(0, _signatureLength)))
            {
                StartFeatureSet(ref reader, header, signature);
            }
            else
            {
                reader.SkipFeatureNames(header.FeatureCount);
            }
        }
        else if (_signatureLength != signature.Length || !signature.SequenceEqual(_signature.AsSpan(0, _signatureLength)))
        {
            return false;
        }
        else
        {
            reader.SkipFeatureNames(header.FeatureCount);
        }

        var n = header.Count;
        Reserve(n);
        var at = _count;
        _logId.AsSpan(at, n).Fill(logId);
        _requestId.AsSpan(at, n).Fill(requestId);
        for (var i = 0; i < n; i++)
        {
            _item[at + i] = i;
        }
        _start.AsSpan(at, n).Fill(startUs);
        _version.AsSpan(at, n).Fill(version);
        reader.ReadStatuses(_status.AsSpan(at, n));
        reader.ReadDoubles(_score.AsSpan(at, n));
        reader.ReadLabels(_label.AsSpan(at, n));
        reader.ReadTexts(_rule.AsSpan(at, n), _strings);
        for (var f = 0; f < _names.Length; f++)
        {
            if (_isText[f])
            {
                reader.ReadTexts(_texts[f].AsSpan(at, n), _strings);
            }
            else
            {
                reader.ReadDoubles(_numbers[f].AsSpan(at, n));
            }
        }
        reader.EnsureEnd();
        _count += n;
        return true;
    }

    private void StartFeatureSet(ref InferenceItemsCodec.Reader reader, InferenceItemsCodec.Header header, ReadOnlySpan<byte> signature)
    {
        _signature = signature.ToArray();
        _signatureLength = _signature.Length;
        _names = new string[header.FeatureCount];
        _isText = new bool[header.FeatureCount];
        reader.ReadFeatureNames(_names, _isText);
        _numbers = new double[_names.Length][];
        _texts = new string?[_names.Length][];
        for (var f = 0; f < _names.Length; f++)
        {
            _numbers[f] = _isText[f] ? [] : new double[_capacity];
            _texts[f] = _isText[f] ? new string?[_capacity] : [];
        }
    }

    private void Reserve(int more)
    {
        var needed = _count + more;
        if (needed <= _capacity)
        {
            return;
        }
        // a bounded chunk gets its full size at once (no regrowth); an unbounded one (a Parquet batch) doubles
        var capacity = targetItems < int.MaxValue && _capacity == 0
            ? Math.Max(needed, targetItems)
            : Math.Max(needed, Math.Max(256, _capacity < int.MaxValue / 2 ? _capacity * 2 : needed));
        Array.Resize(ref _logId, capacity);
        Array.Resize(ref _requestId, capacity);
        Array.Resize(ref _item, capacity);
        Array.Resize(ref _start, capacity);
        Array.Resize(ref _version, capacity);
        Array.Resize(ref _status, capacity);
        Array.Resize(ref _score, capacity);
        Array.Resize(ref _label, capacity);
        Array.Resize(ref _rule, capacity);
        for (var f = 0; f < _names.Length; f++)
        {
            if (_isText[f])
            {
                Array.Resize(ref _texts[f], capacity);
            }
            else
            {
                Array.Resize(ref _numbers[f], capacity);
            }
        }
        _capacity = capacity;
    }

    /// <summary>Hands over the items collected so far (arrays trimmed to their count) and starts an empty chunk of the same feature set.</summary>
    public InferenceItemChunk Take()
    {
        var n = _count;
        var features = new InferenceFeatureColumn[_names.Length];
        for (var f = 0; f < features.Length; f++)
        {
            features[f] = _isText[f]
                ? new InferenceFeatureColumn(_names[f], null, Trim(ref _texts[f], n))
                : new InferenceFeatureColumn(_names[f], Trim(ref _numbers[f], n), null);
        }
        var chunk = new InferenceItemChunk
        {
            Count = n,
            Model = model,
            LogId = Trim(ref _logId, n),
            RequestId = Trim(ref _requestId, n),
            Item = Trim(ref _item, n),
            StartUs = Trim(ref _start, n),
            Version = Trim(ref _version, n),
            Status = Trim(ref _status, n),
            Score = Trim(ref _score, n),
            Label = Trim(ref _label, n),
            Rule = Trim(ref _rule, n),
            Features = features,
        };
        _count = 0;
        _capacity = 0;
        return chunk;
    }

    /// <summary>The array cut to <paramref name="n"/> entries; the builder lets go of it (the next chunk gets new arrays).</summary>
    private static T[] Trim<T>(ref T[] array, int n)
    {
        var result = array.Length == n ? array : array[..n];
        array = [];
        return result;
    }
}
