namespace Vigil.Tracking;

/// <summary>
/// A run of logged items of one model, column by column, as <see cref="IInferenceLogReader.ReadItemsAsync"/> streams
/// them: entry <c>i</c> of every array describes one item (<see cref="Item"/> is its index in its request). All
/// items of a chunk share one feature set (<see cref="Features"/>, in the model's input order); a new chunk starts
/// when the feature set changes (e.g. another model version) or the chunk is full (about 8,192 items from the SQL stores; one Parquet row group). Arrays hold exactly
/// <see cref="Count"/> entries and belong to the caller.
/// </summary>
public sealed class InferenceItemChunk
{
    /// <summary>The number of items.</summary>
    public required int Count { get; init; }

    /// <summary>The model name (the same for every item).</summary>
    public required string Model { get; init; }

    /// <summary>Per item: the log id of its request row.</summary>
    public required string[] LogId { get; init; }

    /// <summary>Per item: the request id.</summary>
    public required string[] RequestId { get; init; }

    /// <summary>Per item: its index in the request (0-based).</summary>
    public required int[] Item { get; init; }

    /// <summary>Per item: when its request started (unix microseconds, UTC).</summary>
    public required long[] StartUs { get; init; }

    /// <summary>Per item: the model version that handled the request, or null when none did.</summary>
    public required int?[] Version { get; init; }

    /// <summary>Per item: 200 decided, 400 invalid, 500 failed (see <see cref="InferenceItems.Status"/>).</summary>
    public required int[] Status { get; init; }

    /// <summary>Per item: the score, NaN when not scored.</summary>
    public required double[] Score { get; init; }

    /// <summary>Per item: the label (1 anomaly, 0 normal), -1 when not decided.</summary>
    public required sbyte[] Label { get; init; }

    /// <summary>Per item: the rule that decided it, null when the model did (or nothing did).</summary>
    public required string?[] Rule { get; init; }

    /// <summary>The input features with their values per item (NaN / null = missing).</summary>
    public required IReadOnlyList<InferenceFeatureColumn> Features { get; init; }
}
