namespace Vigil.Lifecycle;

/// <summary>
/// A progress event of a lifecycle operation: the stage it is in and how far it got. Operations report through an
/// <see cref="IProgress{T}"/> the caller passes; they call <see cref="IProgress{T}.Report"/> on the thread that did the
/// work, so a caller that needs ordered events passes a synchronous implementation (not <see cref="Progress{T}"/>).
/// </summary>
/// <param name="Stage">What is being done: one of the <see cref="LifecycleStages"/> names.</param>
/// <param name="Done">Units done in this stage (rows, candidates, models).</param>
/// <param name="Total">Units in this stage when known, else null.</param>
public sealed record LifecycleProgress(string Stage, long Done, long? Total)
{
    /// <summary>One human-readable line about this event, when there is something to say.</summary>
    public string? Message { get; init; }

    /// <summary>The tracked run the event is about, when there is one.</summary>
    public string? RunId { get; init; }
}

/// <summary>The stage names of <see cref="LifecycleProgress"/>.</summary>
public static class LifecycleStages
{
    /// <summary>A model reference was resolved (registry URI to version); the message says to what.</summary>
    public const string Model = "model";

    /// <summary>Reading the data.</summary>
    public const string Read = "read";

    /// <summary>The features were chosen; the message says what was left out and why.</summary>
    public const string Features = "features";

    /// <summary>Fitting a detector.</summary>
    public const string Fit = "fit";

    /// <summary>Scoring rows; <see cref="LifecycleProgress.Done"/> counts rows scored so far.</summary>
    public const string Score = "score";

    /// <summary>Logging the run and registering the model.</summary>
    public const string Track = "track";

    /// <summary>A search started (Done 0, Total candidates; the message describes the split and the run is the search run).</summary>
    public const string Search = "search";

    /// <summary>One search candidate finished (Done candidates finished of Total; the message has its metric or its error).</summary>
    public const string Candidate = "candidate";

    /// <summary>Models compared so far on the same rows.</summary>
    public const string Compare = "compare";
}
