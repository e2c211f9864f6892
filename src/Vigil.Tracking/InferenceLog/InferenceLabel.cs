namespace Vigil.Tracking;

/// <summary>A delayed label (e.g. a chargeback) joined to one logged prediction: item <paramref name="Item"/> of request <paramref name="RequestId"/>.</summary>
/// <param name="RequestId">The logged request id.</param>
/// <param name="Item">The item's index in its request (0-based).</param>
/// <param name="Label">1 fraud/anomaly, 0 normal.</param>
/// <param name="LabelUs">When the label was known (unix microseconds, UTC), or null.</param>
public sealed record InferenceLabel(string RequestId, int Item, int Label, long? LabelUs);
