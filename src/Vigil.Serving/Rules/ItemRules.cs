using Vigil.Detectors;

namespace Vigil.Serving;

/// <summary>
/// A pre-model rule: it reads an item's raw values (strings, numbers, dates, including fields that are not model
/// features) after validation and may decide the item alone, with a label and a reason, before the model scores it.
/// An item a rule decides is not scored by the detector. Rules of a served model run in order; the first that decides
/// wins. A rule must be thread-safe (one instance serves concurrent requests); an exception it throws fails only its
/// item (status 500), never the item's neighbours.
/// </summary>
public interface IItemRule
{
    /// <summary>The rule's stable name (logged with every item it decides, and shown in responses).</summary>
    string Name { get; }

    /// <summary>Decides <paramref name="row"/> alone (returns true with the verdict), or leaves it to the next rule and the model.</summary>
    bool TryDecide(in RawRow row, out RuleVerdict verdict);
}

/// <summary>A rule's decision for one item.</summary>
/// <param name="Label">1 anomaly, 0 normal.</param>
/// <param name="Reason">Why, for an operator, e.g. <c>counterparty CBA never traded USD/AUD</c>.</param>
public readonly record struct RuleVerdict(int Label, string Reason);

/// <summary>
/// Supplies the pre-model rules of each served model version, called once when a version is loaded (so rules can
/// come from the bundle, e.g. its rule tables). Register one in the server's services; without one every model has
/// no rules (today's models).
/// </summary>
public interface IItemRuleProvider
{
    /// <summary>The rules of model <paramref name="spec"/> loaded from <paramref name="bundle"/>, in evaluation order (empty for none).</summary>
    IReadOnlyList<IItemRule> GetRules(ModelSpec spec, ModelBundle bundle);
}
