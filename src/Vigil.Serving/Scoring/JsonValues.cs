using System.Buffers;
using System.Text;
using System.Text.Json;
using Vigil.Data;

namespace Vigil.Serving;

/// <summary>Reads JSON feature values into a <see cref="FeatureBatch"/> without allocating per value.</summary>
internal static class JsonValues
{
    private const int StackChars = 256;

    /// <summary>
    /// Reads one instance object (<paramref name="reader"/> on its StartObject) as <c>{"feature": value, ...}</c>.
    /// Properties that are not model features are ignored. Leaves the reader on the EndObject.
    /// </summary>
    public static void ReadObject(ref Utf8JsonReader reader, FeatureBatch batch)
    {
        var model = batch.Model;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var input = FindInput(ref reader, model);
            var extra = input < 0 && batch.KeepsExtras ? reader.GetString() : null;
            reader.Read();
            if (extra is not null)
            {
                ReadExtra(ref reader, batch, extra);
                continue;
            }

            if (input < 0 || batch.ItemFailed)
            {
                reader.Skip();
                continue;
            }

            ReadValue(ref reader, batch, input);
        }
    }

    /// <summary>
    /// Keeps the value under the reader as field <paramref name="field"/> of the current item, which is not a model
    /// feature (for the model's rules): a string, a number or null; a boolean as <c>true</c>/<c>false</c>; containers are skipped.
    /// </summary>
    public static void ReadExtra(ref Utf8JsonReader reader, FeatureBatch batch, string field)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                batch.SetExtraText(field, reader.GetString()!);
                break;
            case JsonTokenType.Number when reader.TryGetDouble(out var number):
                batch.SetExtraNumber(field, number);
                break;
            case JsonTokenType.True:
            case JsonTokenType.False:
                batch.SetExtraText(field, reader.TokenType == JsonTokenType.True ? "true" : "false");
                break;
            default:
                reader.Skip();
                break;
        }
    }

    /// <summary>Reads the value under the reader into input <paramref name="input"/> of the current item; skips containers.</summary>
    public static void ReadValue(ref Utf8JsonReader reader, FeatureBatch batch, int input)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                if (batch.Model.Bundle.Transform.InputSchema[input].Kind == ColumnKind.Categorical)
                {
                    ReadRawAsText(ref reader, batch, input);
                }
                else if (reader.TryGetDouble(out var value))
                {
                    batch.SetNumber(input, value);
                }
                else
                {
                    batch.Fail(batch.Model.InputNames[input], "is a number outside the range of a double");
                }

                break;
            case JsonTokenType.String:
                ReadText(ref reader, batch, input);
                break;
            case JsonTokenType.Null:
                batch.SetMissing(input);
                break;
            case JsonTokenType.True:
            case JsonTokenType.False:
                batch.Fail(batch.Model.InputNames[input], Expected(batch, input, "a boolean"));
                break;
            default:
                batch.Fail(batch.Model.InputNames[input], Expected(batch, input, reader.TokenType == JsonTokenType.StartArray ? "an array" : "an object"));
                reader.Skip();
                break;
        }
    }

    /// <summary>The index of the feature named by the property under the reader, or -1.</summary>
    public static int FindInput(ref Utf8JsonReader reader, ServedModel model)
    {
        for (var i = 0; i < model.InputCount; i++)
        {
            if (reader.ValueTextEquals(model.Utf8Input(i)))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>"expected a number, got a boolean" for the kind of input <paramref name="input"/>.</summary>
    public static string Expected(FeatureBatch batch, int input, string got) =>
        batch.Model.Bundle.Transform.InputSchema[input].Kind == ColumnKind.Categorical
            ? $"expected a string category, got {got}"
            : $"expected a number, got {got}";

    private static void ReadText(ref Utf8JsonReader reader, FeatureBatch batch, int input)
    {
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        char[]? rented = null;
        var chars = length <= StackChars ? stackalloc char[StackChars] : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            var written = reader.CopyString(chars);
            batch.SetText(input, chars[..written]);
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader does not validate string contents while reading: invalid UTF-8 or a lone surrogate escape.
            batch.Fail(batch.Model.InputNames[input], "is not valid text (invalid UTF-8 or a lone \\u surrogate escape)");
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private static void ReadRawAsText(ref Utf8JsonReader reader, FeatureBatch batch, int input)
    {
        var raw = reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan;
        Span<char> chars = stackalloc char[StackChars];
        if (raw.Length > StackChars)
        {
            batch.Fail(batch.Model.InputNames[input], "is a number too long to be a category");
            return;
        }

        var written = Encoding.ASCII.GetChars(raw, chars);
        batch.SetText(input, chars[..written]);
    }
}
