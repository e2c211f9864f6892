using System.Globalization;
using System.Text;

namespace Vigil.Evaluation;

/// <summary>The comparison of a <see cref="GateCondition"/>.</summary>
public enum GateOperator
{
    /// <summary><c>&gt;=</c></summary>
    GreaterOrEqual,

    /// <summary><c>&gt;</c></summary>
    Greater,

    /// <summary><c>&lt;=</c></summary>
    LessOrEqual,

    /// <summary><c>&lt;</c></summary>
    Less,
}

/// <summary>
/// One condition of a <see cref="PromotionGate"/>: <c>metric OP rhs</c> where rhs is <c>champion</c>,
/// <c>champion+X</c>, <c>champion-X</c> or a number.
/// </summary>
/// <param name="Metric">The metric name, e.g. <c>auc_pr</c>.</param>
/// <param name="Operator">The comparison.</param>
/// <param name="RelativeToChampion">True when the right-hand side is the champion's value plus <paramref name="Value"/>.</param>
/// <param name="Value">The offset added to the champion's value, or the absolute bound.</param>
/// <param name="Text">The condition as written (whitespace removed).</param>
public sealed record GateCondition(string Metric, GateOperator Operator, bool RelativeToChampion, double Value, string Text)
{
    /// <summary>The operator's symbol.</summary>
    public string Symbol => Operator switch
    {
        GateOperator.GreaterOrEqual => ">=",
        GateOperator.Greater => ">",
        GateOperator.LessOrEqual => "<=",
        _ => "<",
    };
}

/// <summary>How one condition came out.</summary>
public enum GateOutcome
{
    /// <summary>The condition holds.</summary>
    Passed,

    /// <summary>The condition does not hold (or the candidate's value is missing or NaN).</summary>
    Failed,

    /// <summary>The condition compares with the champion and there is none.</summary>
    Skipped,
}

/// <summary>The outcome of one <see cref="GateCondition"/> with the values it compared.</summary>
/// <param name="Condition">The condition.</param>
/// <param name="Candidate">The candidate's value (NaN when the metric is missing).</param>
/// <param name="Champion">The champion's value; null without a champion.</param>
/// <param name="Bound">The right-hand side's value; null when skipped.</param>
/// <param name="Outcome">Passed, failed or skipped.</param>
public sealed record GateCheck(GateCondition Condition, double Candidate, double? Champion, double? Bound, GateOutcome Outcome)
{
    /// <summary>
    /// The check with its values, e.g. <c>auc_pr 0.7100&gt;=0.6900+0.01</c>, <c>recall_at_fpr_0.05 0.5000&lt;0.6000</c>
    /// or <c>auc_pr&gt;=champion+0.01 skipped (no champion)</c>.
    /// </summary>
    public override string ToString()
    {
        var c = Condition;
        if (Outcome == GateOutcome.Skipped)
        {
            return $"{c.Text} skipped (no champion)";
        }

        var rhs = c.RelativeToChampion
            ? F(Champion!.Value) + (c.Value == 0 ? "" : (c.Value > 0 ? "+" : "-") + Math.Abs(c.Value).ToString(CultureInfo.InvariantCulture))
            : c.Value.ToString(CultureInfo.InvariantCulture);
        var symbol = Outcome == GateOutcome.Passed ? c.Symbol : Negated(c.Operator);
        return $"{c.Metric} {F(Candidate)}{symbol}{rhs}";
    }

    private static string F(double v) => double.IsNaN(v) ? "NaN" : v.ToString("F4", CultureInfo.InvariantCulture);

    private static string Negated(GateOperator op) => op switch
    {
        GateOperator.GreaterOrEqual => "<",
        GateOperator.Greater => "<=",
        GateOperator.LessOrEqual => ">",
        _ => ">=",
    };
}

/// <summary>The outcome of <see cref="PromotionGate.Evaluate"/>: every check, and whether all passed.</summary>
public sealed class GateResult
{
    internal GateResult(IReadOnlyList<GateCheck> checks, bool hasChampion)
    {
        Checks = checks;
        HasChampion = hasChampion;
        var failed = new List<GateCheck>();
        foreach (var c in checks)
        {
            if (c.Outcome == GateOutcome.Failed)
            {
                failed.Add(c);
            }
        }

        Failures = failed;
    }

    /// <summary>Every condition's check, in gate order.</summary>
    public IReadOnlyList<GateCheck> Checks { get; }

    /// <summary>The checks that failed, in gate order.</summary>
    public IReadOnlyList<GateCheck> Failures { get; }

    /// <summary>True when no condition failed (conditions on a missing champion are skipped).</summary>
    public bool Passed => Failures.Count == 0;

    /// <summary>Whether there was a champion to compare with.</summary>
    public bool HasChampion { get; }

    /// <summary>
    /// One line for the alias history and run tags, e.g.
    /// <c>gate passed: auc_pr 0.7100&gt;=0.6900+0.01; recall_at_fpr_0.05 0.8000&gt;=0.7900</c> or
    /// <c>gate failed: auc_pr 0.6500&lt;0.6900+0.01</c> (only the failed conditions). Conditions skipped for want of
    /// a champion are left out: <c>gate passed (no champion yet)</c>.
    /// </summary>
    public string Reason
    {
        get
        {
            var sb = new StringBuilder(Passed ? "gate passed" : "gate failed");
            if (!HasChampion)
            {
                sb.Append(" (no champion yet)");
            }

            var shown = Passed ? Checks.Where(c => c.Outcome == GateOutcome.Passed).ToList() : Failures;
            if (shown.Count > 0)
            {
                sb.Append(": ").AppendJoin("; ", shown);
            }

            return sb.ToString();
        }
    }
}

/// <summary>A gate text that does not parse; the message names the condition.</summary>
public sealed class PromotionGateException(string message) : Vigil.Data.VigilException(message);

/// <summary>
/// A promotion gate: comma-separated conditions <c>metric OP rhs</c>, OP one of <c>&gt;=</c>, <c>&gt;</c>,
/// <c>&lt;=</c>, <c>&lt;</c>, rhs <c>champion</c>, <c>champion+X</c>, <c>champion-X</c> or a number, e.g.
/// <c>auc_pr&gt;=champion+0.01,recall_at_fpr_0.05&gt;=champion</c>. A candidate passes when every condition holds
/// for its metrics against the champion's (measured on the same data). Comparisons allow 1e-12 of rounding.
/// </summary>
public sealed class PromotionGate
{
    private const double Tolerance = 1e-12;

    private PromotionGate(IReadOnlyList<GateCondition> conditions) => Conditions = conditions;

    /// <summary>The conditions in the order written.</summary>
    public IReadOnlyList<GateCondition> Conditions { get; }

    /// <summary>True when some condition compares with the champion.</summary>
    public bool ComparesWithChampion => Conditions.Any(c => c.RelativeToChampion);

    /// <summary>Parses a gate; metric names must be in <paramref name="knownMetrics"/> (default <see cref="MetricSet.StandardNames"/>).</summary>
    /// <exception cref="PromotionGateException">Empty gate, bad syntax or unknown metric; the message names the condition.</exception>
    public static PromotionGate Parse(string text, IReadOnlyCollection<string>? knownMetrics = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        knownMetrics ??= MetricSet.StandardNames;
        var parts = text.Split(',');
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new PromotionGateException("the gate has no condition; write e.g. 'auc_pr>=champion+0.01,recall_at_fpr_0.05>=champion'");
        }

        var conditions = new List<GateCondition>(parts.Length);
        for (var i = 0; i < parts.Length; i++)
        {
            conditions.Add(ParseCondition(parts[i], i + 1, knownMetrics));
        }

        return new PromotionGate(conditions);
    }

    /// <summary>Checks every condition of the candidate's metrics against the champion's (null: no champion yet).</summary>
    public GateResult Evaluate(IReadOnlyDictionary<string, double> candidate, IReadOnlyDictionary<string, double>? champion)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        var checks = new List<GateCheck>(Conditions.Count);
        foreach (var c in Conditions)
        {
            var value = candidate.TryGetValue(c.Metric, out var v) ? v : double.NaN;
            double? championValue = champion is not null && champion.TryGetValue(c.Metric, out var cv) ? cv : null;
            if (c.RelativeToChampion && championValue is null)
            {
                checks.Add(new GateCheck(c, value, null, null, champion is null ? GateOutcome.Skipped : GateOutcome.Failed));
                continue;
            }

            var bound = c.RelativeToChampion ? championValue!.Value + c.Value : c.Value;
            var holds = !double.IsNaN(value) && !double.IsNaN(bound) && c.Operator switch
            {
                GateOperator.GreaterOrEqual => value >= bound - Tolerance,
                GateOperator.Greater => value > bound + Tolerance,
                GateOperator.LessOrEqual => value <= bound + Tolerance,
                _ => value < bound - Tolerance,
            };
            checks.Add(new GateCheck(c, value, championValue, bound, holds ? GateOutcome.Passed : GateOutcome.Failed));
        }

        return new GateResult(checks, champion is not null);
    }

    /// <summary>The gate as written, without whitespace.</summary>
    public override string ToString() => string.Join(",", Conditions.Select(c => c.Text));

    private static GateCondition ParseCondition(string raw, int index, IReadOnlyCollection<string> knownMetrics)
    {
        var text = string.Concat(raw.Where(ch => !char.IsWhiteSpace(ch)));
        var where = $"gate condition {index.ToString(CultureInfo.InvariantCulture)} '{raw.Trim()}'";
        if (text.Length == 0)
        {
            throw new PromotionGateException($"{where}: empty; separate conditions with single commas");
        }

        var at = text.IndexOfAny(['<', '>']);
        if (at <= 0)
        {
            throw new PromotionGateException($"{where}: expected 'metric OP rhs' with OP one of >=, >, <=, <");
        }

        var metric = text[..at];
        var orEqual = at + 1 < text.Length && text[at + 1] == '=';
        var op = (text[at], orEqual) switch
        {
            ('>', true) => GateOperator.GreaterOrEqual,
            ('>', false) => GateOperator.Greater,
            ('<', true) => GateOperator.LessOrEqual,
            _ => GateOperator.Less,
        };
        var rhs = text[(at + (orEqual ? 2 : 1))..];
        if (!knownMetrics.Contains(metric, StringComparer.Ordinal))
        {
            throw new PromotionGateException($"{where}: unknown metric '{metric}'; known metrics: {string.Join(", ", knownMetrics)}");
        }

        const string Champion = "champion";
        bool relative;
        double value;
        if (rhs.StartsWith(Champion, StringComparison.Ordinal))
        {
            relative = true;
            var rest = rhs[Champion.Length..];
            if (rest.Length == 0)
            {
                value = 0;
            }
            else if ((rest[0] is '+' or '-') && TryNumber(rest[1..], out var offset))
            {
                value = rest[0] == '-' ? -offset : offset;
            }
            else
            {
                throw BadRhs(where);
            }
        }
        else if (TryNumber(rhs, out value))
        {
            relative = false;
        }
        else
        {
            throw BadRhs(where);
        }

        return new GateCondition(metric, op, relative, value, text);
    }

    private static PromotionGateException BadRhs(string where) =>
        new($"{where}: the right-hand side must be 'champion', 'champion+X', 'champion-X' or a number");

    private static bool TryNumber(string s, out double value)
    {
        value = 0;
        if (s.Length == 0 || !(char.IsAsciiDigit(s[0]) || s[0] is '.' or '-' or '+'))
        {
            return false; // no "NaN", "Infinity" or leading letters
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }
}
