namespace Vigil.Tracking;

/// <summary>
/// The per-item results of one logged request (inference log v2), column by column: for item <c>i</c> of the
/// request, its status, score, label, the rule that decided it (if any) and the model's input values that were
/// actually used. Written by the server from the request's decisions; read back by <see cref="IInferenceLogReader"/>
/// implementations and <c>vigil logs export</c>. Arrays hold at least <see cref="Count"/> entries (they may be longer).
/// </summary>
public sealed class InferenceItems
{
    /// <summary>The number of items in the request.</summary>
    public required int Count { get; init; }

    /// <summary>Per item: 200 when it was decided (scored, or decided by a rule), 400 when it failed validation, 500 when it failed unexpectedly.</summary>
    public required int[] Status { get; init; }

    /// <summary>Per item: the detector's score, or NaN when the model did not score it (invalid item, or decided by a rule alone).</summary>
    public required double[] Score { get; init; }

    /// <summary>Per item: the decision's label (1 anomaly, 0 normal), or -1 when the item was not decided.</summary>
    public required sbyte[] Label { get; init; }

    /// <summary>Per item: the name of the pre-model rule that decided it, or null when the model decided (or nothing did).</summary>
    public required string?[] Rule { get; init; }

    /// <summary>The model's input features (in the model's input order) with their values per item.</summary>
    public required IReadOnlyList<InferenceFeatureColumn> Features { get; init; }

    [ThreadStatic]
    private static InferenceItemsCodec.Encoder? t_encoder;

    /// <summary>
    /// These items as one array in the inference log's encoding (what <see cref="InferenceRecord.ItemsEncoded"/> holds),
    /// or null when they are inconsistent (an array shorter than <see cref="Count"/>, a feature without values), which a
    /// log writer then reports for the row as it would for the item objects.
    /// </summary>
    public byte[]? TryEncode() =>
        InferenceItemsCodec.Problem(this) is null ? (t_encoder ??= new InferenceItemsCodec.Encoder()).EncodeChecked(this).ToArray() : null;
}

/// <summary>
/// One model input's values across the items of a request: <see cref="Numbers"/> for a numeric input (NaN = missing or
/// not read), <see cref="Texts"/> for a categorical one (null = missing or not read). Exactly one of the two is set.
/// </summary>
/// <param name="Name">The input column name.</param>
/// <param name="Numbers">Numeric values per item, or null for a categorical input.</param>
/// <param name="Texts">Categorical values per item, or null for a numeric input.</param>
public sealed record InferenceFeatureColumn(string Name, double[]? Numbers, string?[]? Texts)
{
    /// <summary>True for a categorical input.</summary>
    public bool IsText => Texts is not null;
}
