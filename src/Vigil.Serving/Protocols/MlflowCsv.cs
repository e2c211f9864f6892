using System.Buffers;
using System.Globalization;
using System.Text;

namespace Vigil.Serving;

/// <summary>
/// The <c>text/csv</c> body of MLflow's <c>/invocations</c>: a header row of column names, then one row per item
/// (RFC 4180: quoted fields may hold commas, line breaks and doubled quotes; LF or CRLF line ends; blank lines are
/// skipped). An empty unquoted field is a missing value. Columns that are not features are ignored.
/// </summary>
internal static class MlflowCsv
{
    private const int StackChars = 256;

    /// <summary>Reads the body into <paramref name="batch"/>; returns the problem of the first bad row, if any.</summary>
    public static InputProblem? Read(ScoringExchange exchange, FeatureBatch batch)
    {
        var body = exchange.Body;
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> data;
            if (body.IsSingleSegment)
            {
                data = body.FirstSpan;
            }
            else
            {
                rented = ArrayPool<byte>.Shared.Rent(checked((int)body.Length));
                body.CopyTo(rented);
                data = rented.AsSpan(0, (int)body.Length);
            }

            return Read(data, exchange, batch);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static InputProblem? Read(ReadOnlySpan<byte> data, ScoringExchange exchange, FeatureBatch batch)
    {
        if (data.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            data = data[3..];
        }

        var cursor = new CsvCursor(data);
        var model = batch.Model;
        cursor.SkipBlankLines();
        if (cursor.AtEnd)
        {
            return InputProblem.Malformed("The CSV body is empty: send a header row of column names, then one row per item.");
        }

        var columns = new List<int>(model.InputCount);
        var extras = batch.KeepsExtras ? new List<string?>(model.InputCount) : null;
        var scratch = new byte[64];
        while (true)
        {
            var field = cursor.Next(out var error);
            if (error is not null)
            {
                return Malformed(error);
            }

            var name = field.Unescape(ref scratch);
            var input = model.InputIndex(name);
            columns.Add(input);
            extras?.Add(input < 0 ? Encoding.UTF8.GetString(name) : null);
            if (field.EndsRow)
            {
                break;
            }
        }

        exchange.Parsed();
        var width = columns.Count;
        var index = 0;
        cursor.SkipBlankLines();
        while (!cursor.AtEnd)
        {
            var line = cursor.Line;
            batch.BeginItem();
            var count = 0;
            while (true)
            {
                var field = cursor.Next(out var error);
                if (error is not null)
                {
                    return Malformed(error);
                }

                var feature = count < width ? columns[count] : -1;
                if (feature >= 0 && !batch.ItemFailed)
                {
                    SetValue(batch, feature, field, ref scratch);
                }
                else if (feature < 0 && count < width && extras?[count] is { } extra && !field.IsEmpty)
                {
                    batch.SetExtraText(extra, Encoding.UTF8.GetString(field.Unescape(ref scratch)));
                }

                count++;
                if (field.EndsRow)
                {
                    break;
                }
            }

            if (count != width)
            {
                batch.Fail($"rows[{index}]", $"has {count} fields but the header has {width}");
            }

            batch.EndItem();
            if (batch.ErrorOf(index) is { } bad)
            {
                exchange.Transformed();
                var field = model.InputIndex(bad.Field) < 0 ? bad.Field : $"rows[{index}].{bad.Field}";
                return new InputProblem("Invalid input", $"{field} (CSV line {line}) {bad.Detail}. MLflow rejects the whole request when one row is invalid.", field, Problems.InvalidParameterValue);
            }

            index++;
            cursor.SkipBlankLines();
        }

        exchange.Transformed();
        return index > 0 ? null : InputProblem.Malformed("The CSV body has a header but no rows: send at least one row.");
    }

    private static InputProblem Malformed(string error) => InputProblem.Malformed("The CSV body is malformed: " + error + ".");

    private static void SetValue(FeatureBatch batch, int feature, CsvField field, ref byte[] scratch)
    {
        if (field.IsEmpty)
        {
            if (!field.Quoted || !batch.Model.IsCategorical(feature))
            {
                batch.SetMissing(feature);
                return;
            }
        }

        var bytes = field.Unescape(ref scratch);
        if (!batch.Model.IsCategorical(feature))
        {
            if (double.TryParse(bytes, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                batch.SetNumber(feature, value);
            }
            else
            {
                batch.Fail(batch.Model.InputNames[feature], $"expected a number, got '{ProtocolSupport.Clip(Encoding.UTF8.GetString(bytes))}'");
            }

            return;
        }

        char[]? rented = null;
        var chars = bytes.Length <= StackChars ? stackalloc char[StackChars] : (rented = ArrayPool<char>.Shared.Rent(bytes.Length));
        try
        {
            var written = Encoding.UTF8.GetChars(bytes, chars);
            batch.SetText(feature, chars[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    /// <summary>One field: its raw content (inside the quotes, doubled quotes not yet collapsed).</summary>
    private readonly ref struct CsvField(ReadOnlySpan<byte> raw, bool quoted, bool escaped, bool endsRow)
    {
        private readonly ReadOnlySpan<byte> _raw = raw;

        public bool Quoted { get; } = quoted;

        public bool EndsRow { get; } = endsRow;

        public bool IsEmpty => _raw.IsEmpty;

        private bool Escaped { get; } = escaped;

        /// <summary>The content with doubled quotes collapsed (into <paramref name="scratch"/> only when needed).</summary>
        public ReadOnlySpan<byte> Unescape(ref byte[] scratch)
        {
            if (!Escaped)
            {
                return _raw;
            }

            if (scratch.Length < _raw.Length)
            {
                scratch = new byte[Math.Max(_raw.Length, scratch.Length * 2)];
            }

            var written = 0;
            for (var i = 0; i < _raw.Length; i++)
            {
                scratch[written++] = _raw[i];
                if (_raw[i] == (byte)'"')
                {
                    i++;
                }
            }

            return scratch.AsSpan(0, written);
        }
    }

    /// <summary>Walks RFC 4180 fields over a span.</summary>
    private ref struct CsvCursor(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        /// <summary>The 1-based line where the next field starts.</summary>
        public int Line { get; private set; } = 1;

        public readonly bool AtEnd => _position >= _data.Length;

        public void SkipBlankLines()
        {
            while (_position < _data.Length)
            {
                if (_data[_position] == (byte)'\n')
                {
                    _position++;
                    Line++;
                }
                else if (_data[_position] == (byte)'\r' && _position + 1 < _data.Length && _data[_position + 1] == (byte)'\n')
                {
                    _position += 2;
                    Line++;
                }
                else
                {
                    return;
                }
            }
        }

        /// <summary>The next field; <paramref name="error"/> says what is malformed (with the line), else null.</summary>
        public CsvField Next(out string? error)
        {
            error = null;
            var rest = _data[_position..];
            if (!rest.IsEmpty && rest[0] == (byte)'"')
            {
                var start = Line;
                var escaped = false;
                var i = 1;
                while (true)
                {
                    var quote = rest[i..].IndexOf((byte)'"');
                    if (quote < 0)
                    {
                        error = $"the quoted field starting on line {start} is never closed";
                        _position = _data.Length;
                        return default;
                    }

                    Line += rest.Slice(i, quote).Count((byte)'\n');
                    i += quote + 1;
                    if (i < rest.Length && rest[i] == (byte)'"')
                    {
                        escaped = true;
                        i++;
                        continue;
                    }

                    break;
                }

                var content = rest[1..(i - 1)];
                _position += i;
                var endsRow = Terminate(out var bad);
                if (bad)
                {
                    error = $"line {Line}: a closing quote must be followed by a comma or the end of the line";
                    _position = _data.Length;
                    return default;
                }

                return new CsvField(content, quoted: true, escaped, endsRow);
            }

            var end = rest.IndexOfAny((byte)',', (byte)'\n', (byte)'\r');
            var field = end < 0 ? rest : rest[..end];
            _position += field.Length;
            var ends = Terminate(out var invalid);
            if (invalid)
            {
                error = $"line {Line}: a carriage return must be followed by a line feed";
                _position = _data.Length;
                return default;
            }

            return new CsvField(field, quoted: false, escaped: false, ends);
        }

        /// <summary>Consumes the delimiter after a field: true at the end of a row.</summary>
        private bool Terminate(out bool invalid)
        {
            invalid = false;
            if (_position >= _data.Length)
            {
                return true;
            }

            switch (_data[_position])
            {
                case (byte)',':
                    _position++;
                    return false;
                case (byte)'\n':
                    _position++;
                    Line++;
                    return true;
                case (byte)'\r' when _position + 1 < _data.Length && _data[_position + 1] == (byte)'\n':
                    _position += 2;
                    Line++;
                    return true;
                default:
                    invalid = true;
                    return true;
            }
        }
    }
}
