using System.Globalization;
using System.Net;
using System.Text;

namespace Vigil.Monitoring;

/// <summary>
/// Renders a <see cref="MonitoringReport"/> as one self-contained HTML file: inline CSS and hand-made inline SVG charts,
/// no script, no external resource (it opens offline). Sections: summary, the drift table sorted by severity,
/// the score distribution, alert rate and performance over time (estimated values dashed and labelled
/// "estimated"), one window/batch table, and reference-vs-current histograms per feature. Laid out for a laptop
/// screen (max width 1200 px, charts in a responsive grid).
/// </summary>
public static class HtmlReport
{
    private const string ReferenceColor = "#5b7db1";
    private const string CurrentColor = "#e07b39";
    private static readonly string[] SeriesColors = ["#2b8a3e", "#c92a2a", "#5f3dc4", "#1971c2", "#e8590c", "#0b7285"];

    /// <summary>The HTML text of <paramref name="report"/>.</summary>
    public static string Render(MonitoringReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var h = new StringBuilder(64 * 1024);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
            .Append("<title>").Append(E(report.Title)).Append("</title><style>").Append(Css).Append("</style></head><body><main>");
        h.Append("<h1>").Append(E(report.Title)).Append("</h1>");
        h.Append("<p class=\"meta\">reference: <b>").Append(E(report.Reference)).Append("</b> &middot; current: <b>")
            .Append(E(report.Current)).Append("</b> &middot; made ")
            .Append(E(report.Created.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture))).Append("</p>");
        foreach (var note in report.Notes)
        {
            h.Append("<p class=\"note\">").Append(E(note)).Append("</p>");
        }

        Summary(h, report);
        if (report.Drift is { } drift)
        {
            DriftTable(h, drift);
        }

        if (report.Scores is { } scores)
        {
            h.Append("<section><h2>Score distribution</h2><div class=\"wide\">")
                .Append(BarChart(scores, 1100, 260)).Append("</div>");
            if (report.Drift?.Prediction is { } p)
            {
                h.Append("<p>").Append(E(p.StatTest)).Append(" = ").Append(N(p.Score)).Append(" (threshold ").Append(N(p.StatThreshold))
                    .Append(p.Drift ? ", <span class=\"bad\">drift</span>" : ", no drift").Append("); alert rate at the model's threshold ")
                    .Append(N(p.ModelThreshold)).Append(": reference ").Append(P(p.AlertRateReference)).Append(", current ")
                    .Append(P(p.AlertRateCurrent)).Append("</p>");
            }

            h.Append("</section>");
        }

        if (report.Windows.Count > 0)
        {
            OverTime(h, report.Windows);
        }

        if (report.Histograms.Count > 0)
        {
            h.Append("<section><h2>Feature distributions (reference vs current)</h2><div class=\"grid\">");
            foreach (var pair in Ordered(report))
            {
                var f = report.Drift?.Features.FirstOrDefault(x => x.Name == pair.Name);
                h.Append("<figure><figcaption><b>").Append(E(pair.Name)).Append("</b> ");
                if (f is not null)
                {
                    h.Append(E(f.StatTest)).Append(" = ").Append(N(f.Score))
                        .Append(f.Drift ? " <span class=\"bad\">drift</span>" : " <span class=\"ok\">ok</span>");
                }

                h.Append("</figcaption>").Append(BarChart(pair, 540, 220)).Append("</figure>");
            }

            h.Append("</div></section>");
        }

        h.Append("<footer>Vigil monitoring report &middot; <span class=\"swatch\" style=\"background:").Append(ReferenceColor)
            .Append("\"></span> reference <span class=\"swatch\" style=\"background:").Append(CurrentColor)
            .Append("\"></span> current</footer></main></body></html>\n");
        return h.ToString();
    }

    /// <summary>Writes the report to <paramref name="path"/> (UTF-8, no BOM).</summary>
    public static void Write(MonitoringReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { } dir)
        {
            Directory.CreateDirectory(dir);
        }

        File.WriteAllText(full, Render(report), new UTF8Encoding(false));
    }

    private static IEnumerable<HistogramPair> Ordered(MonitoringReport report)
    {
        if (report.Drift is null)
        {
            return report.Histograms;
        }

        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        var sorted = report.Drift.BySeverity();
        for (var i = 0; i < sorted.Count; i++)
        {
            order[sorted[i].Name] = i;
        }

        return report.Histograms.OrderBy(p => order.GetValueOrDefault(p.Name, int.MaxValue));
    }

    private static void Summary(StringBuilder h, MonitoringReport report)
    {
        h.Append("<section class=\"cards\">");
        if (report.Drift is { } d)
        {
            var drifted = d.Features.Count(f => f.Drift);
            Card(h, "dataset drift", d.DatasetDrift ? "yes" : "no", d.DatasetDrift,
                $"{drifted} of {d.Features.Count} features drifted ({P(d.DriftShare)}; dataset drift at {P(d.ThresholdShare)})");
            if (d.Prediction is { } p)
            {
                Card(h, "prediction drift", p.Drift ? "yes" : "no", p.Drift, $"{p.StatTest} = {N(p.Score)} (threshold {N(p.StatThreshold)})");
                Card(h, "alert rate", P(p.AlertRateCurrent), false, $"reference {P(p.AlertRateReference)} at threshold {N(p.ModelThreshold)}; {p.CurrentCount.ToString("N0", CultureInfo.InvariantCulture)} scored");
            }
        }

        if (report.Windows.Count > 0)
        {
            var last = report.Windows[^1];
            Card(h, "windows", report.Windows.Count.ToString(CultureInfo.InvariantCulture), false,
                $"last: {last.Label}, {last.Predictions.ToString("N0", CultureInfo.InvariantCulture)} predictions, {P(last.LabelledShare)} labelled");
        }

        h.Append("</section>");
    }

    private static void Card(StringBuilder h, string title, string value, bool bad, string detail) =>
        h.Append("<div class=\"card\"><div class=\"k\">").Append(E(title)).Append("</div><div class=\"v")
            .Append(bad ? " bad" : "").Append("\">").Append(E(value)).Append("</div><div class=\"d\">").Append(E(detail)).Append("</div></div>");

    private static void DriftTable(StringBuilder h, DriftReport drift)
    {
        h.Append("<section><h2>Data drift by feature</h2><table><thead><tr><th>feature</th><th>type</th><th>stattest</th>")
            .Append("<th class=\"n\">score</th><th class=\"n\">threshold</th><th>drift</th><th class=\"n\">missing ref</th><th class=\"n\">missing cur</th></tr></thead><tbody>");
        foreach (var f in drift.BySeverity())
        {
            h.Append("<tr").Append(f.Drift ? " class=\"drift\"" : "").Append("><td>").Append(E(f.Name)).Append("</td><td>").Append(E(f.Type))
                .Append("</td><td>").Append(E(f.StatTest)).Append("</td><td class=\"n\">").Append(N(f.Score)).Append("</td><td class=\"n\">")
                .Append(N(f.Threshold)).Append("</td><td>").Append(f.Drift ? "<span class=\"bad\">DRIFT</span>" : "no")
                .Append("</td><td class=\"n\">").Append(P(f.MissingShareReference)).Append("</td><td class=\"n\">").Append(P(f.MissingShareCurrent))
                .Append("</td></tr>");
        }

        h.Append("</tbody></table></section>");
    }

    private static void OverTime(StringBuilder h, IReadOnlyList<ReportWindow> windows)
    {
        var labels = windows.Select(w => w.Label).ToArray();
        h.Append("<section><h2>Over time</h2><div class=\"grid\">");
        h.Append("<figure><figcaption><b>alert rate</b></figcaption>")
            .Append(LineChart(labels, [new Series("alert rate", windows.Select(w => w.AlertRate).ToArray(), false)], 540, 240, percent: true))
            .Append("</figure>");
        var metricNames = new SortedSet<string>(StringComparer.Ordinal);
        var estimatedNames = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var w in windows)
        {
            metricNames.UnionWith(w.Realized.Keys);
            estimatedNames.UnionWith(w.Estimated.Keys);
        }

        // Columns: the headline metrics with their estimate beside them, then the other realized and estimated ones.
        var columns = new List<(string Metric, bool Estimated)>();
        foreach (var m in HeadlineMetrics)
        {
            if (metricNames.Contains(m))
            {
                columns.Add((m, false));
            }

            if (estimatedNames.Contains(m))
            {
                columns.Add((m, true));
            }
        }

        columns.AddRange(metricNames.Where(m => !HeadlineMetrics.Contains(m)).Select(m => (m, false)));
        columns.AddRange(estimatedNames.Where(m => !HeadlineMetrics.Contains(m)).Select(m => (m, true)));

        // The chart: rates only (counts such as labelled_positives would flatten it), the headline ones when present.
        var charted = columns.Where(c => HeadlineMetrics.Contains(c.Metric)).ToList();
        if (charted.Count == 0)
        {
            charted = columns.Where(c => !c.Metric.EndsWith("_positives", StringComparison.Ordinal)).ToList();
        }

        if (charted.Count > 0)
        {
            var series = new List<Series>();
            foreach (var (m, estimated) in charted)
            {
                series.Add(estimated
                    ? new Series(Header(m) + " (estimated)", windows.Select(w => w.Estimated.GetValueOrDefault(m, double.NaN)).ToArray(), true)
                    : new Series(Header(m), windows.Select(w => w.Realized.GetValueOrDefault(m, double.NaN)).ToArray(), false));
            }

            h.Append("<figure><figcaption><b>performance</b> (solid: realized from labels; dashed: <i>estimated</i> before labels, CBPE)</figcaption>")
                .Append(LineChart(labels, series, 540, 240, percent: false)).Append("</figure>");
        }

        if (windows.Any(w => w.Drift is not null))
        {
            h.Append("<figure><figcaption><b>share of drifted features</b></figcaption>")
                .Append(LineChart(labels, [new Series("drift share", windows.Select(w => w.Drift?.DriftShare ?? double.NaN).ToArray(), false)], 540, 240, percent: true))
                .Append("</figure>");
        }

        h.Append("</div><table><thead><tr><th>window</th><th class=\"n\">predictions</th><th class=\"n\">alert rate</th><th class=\"n\">labelled</th>");
        foreach (var (m, estimated) in columns)
        {
            h.Append(estimated ? "<th class=\"n est\"><i>" : "<th class=\"n\">").Append(E(Header(m))).Append(estimated ? " (est.)</i></th>" : "</th>");
        }

        var withDrift = windows.Any(w => w.Drift is not null);
        if (withDrift)
        {
            h.Append("<th class=\"n\">drift share</th><th>dataset drift</th><th>prediction drift</th>");
        }

        h.Append("</tr></thead><tbody>");
        foreach (var w in windows)
        {
            h.Append("<tr><td>").Append(E(w.Label)).Append("</td><td class=\"n\">").Append(w.Predictions.ToString("N0", CultureInfo.InvariantCulture))
                .Append("</td><td class=\"n\">").Append(P(w.AlertRate)).Append("</td><td class=\"n\">").Append(P(w.LabelledShare)).Append("</td>");
            foreach (var (m, estimated) in columns)
            {
                if (estimated)
                {
                    h.Append("<td class=\"n est\"><i>").Append(w.Estimated.TryGetValue(m, out var e) ? N(e) : "").Append("</i></td>");
                }
                else
                {
                    h.Append("<td class=\"n\">").Append(w.Realized.TryGetValue(m, out var r) ? N(r) : "").Append("</td>");
                }
            }

            if (withDrift)
            {
                h.Append("<td class=\"n\">").Append(w.Drift is null ? "" : P(w.Drift.DriftShare)).Append("</td><td>")
                    .Append(w.Drift is null ? "" : w.Drift.DatasetDrift ? "<span class=\"bad\">yes</span>" : "no").Append("</td><td>")
                    .Append(w.Drift?.Prediction is null ? "" : w.Drift.Prediction.Drift ? "<span class=\"bad\">yes</span>" : "no").Append("</td>");
            }

            h.Append("</tr>");
        }

        h.Append("</tbody></table>");
        if (estimatedNames.Count > 0)
        {
            h.Append("<p class=\"legend\"><i>(est.)</i>: <b>estimated</b> by CBPE from the model's calibrated probabilities over all the window's predictions, before labels arrive: an expectation, not a measurement; realized columns come from the labels.</p>");
        }

        h.Append("</section>");
    }

    /// <summary>The metrics shown first, each with its estimate beside it, and charted.</summary>
    private static readonly string[] HeadlineMetrics = ["auc_pr", "recall_at_threshold", "precision_at_threshold"];

    /// <summary>A metric's column header: AUC-PR, recall@thr, ... (the JSON name otherwise).</summary>
    internal static string Header(string metric) => metric switch
    {
        "auc_pr" => "AUC-PR",
        "auc_roc" => "AUC-ROC",
        "recall_at_threshold" => "recall@thr",
        "precision_at_threshold" => "precision@thr",
        "expected_positives" => "expected positives",
        "labelled_positives" => "labelled positives",
        _ => metric,
    };

    private sealed record Series(string Name, double[] Values, bool Dashed);

    private static string LineChart(string[] labels, IReadOnlyList<Series> series, int width, int height, bool percent)
    {
        const int left = 84, right = 12, top = 12, bottom = 56;
        var plotW = width - left - right;
        var plotH = height - top - bottom - (series.Count > 1 ? 18 : 0);
        double max = 0;
        foreach (var s in series)
        {
            foreach (var v in s.Values)
            {
                if (double.IsFinite(v))
                {
                    max = Math.Max(max, v);
                }
            }
        }

        max = max <= 0 ? 1 : NiceMax(max);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\">");
        Axes(svg, left, top, plotW, plotH, max, percent);
        var n = labels.Length;
        double X(int i) => left + (n == 1 ? plotW / 2.0 : plotW * i / (double)(n - 1));
        double Y(double v) => top + plotH - (plotH * v / max);
        var step = Math.Max(1, (int)Math.Ceiling(n / 10.0));
        for (var i = 0; i < n; i += step)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(i):F1}\" y=\"{top + plotH + 14}\" class=\"xl\" text-anchor=\"end\" transform=\"rotate(-30 {X(i):F1} {top + plotH + 14})\">{E(Short(labels[i]))}</text>");
        }

        for (var s = 0; s < series.Count; s++)
        {
            var color = SeriesColors[s % SeriesColors.Length];
            var path = new StringBuilder();
            var pen = false;
            for (var i = 0; i < n; i++)
            {
                var v = series[s].Values[i];
                if (!double.IsFinite(v))
                {
                    pen = false;
                    continue;
                }

                path.Append(CultureInfo.InvariantCulture, $"{(pen ? 'L' : 'M')}{X(i):F1},{Y(v):F1} ");
                pen = true;
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(i):F1}\" cy=\"{Y(v):F1}\" r=\"2.5\" fill=\"{color}\"><title>{E(series[s].Name)} {E(labels[i])}: {N(v)}</title></circle>");
            }

            if (path.Length > 0)
            {
                svg.Append("<path d=\"").Append(path.ToString().TrimEnd()).Append("\" fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"2\"")
                    .Append(series[s].Dashed ? " stroke-dasharray=\"6 4\"" : "").Append("/>");
            }
        }

        if (series.Count > 1)
        {
            var x = left;
            foreach (var (s, i) in series.Select((s, i) => (s, i)))
            {
                var color = SeriesColors[i % SeriesColors.Length];
                svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x}\" y1=\"{height - 8}\" x2=\"{x + 16}\" y2=\"{height - 8}\" stroke=\"{color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"4 3\"" : "")}/>")
                    .Append(CultureInfo.InvariantCulture, $"<text x=\"{x + 20}\" y=\"{height - 4}\" class=\"xl\">{E(s.Name)}</text>");
                x += 28 + (s.Name.Length * 6);
            }
        }

        return svg.Append("</svg>").ToString();
    }

    private static string BarChart(HistogramPair pair, int width, int height)
    {
        const int left = 44, right = 8, top = 10, bottom = 58;
        var plotW = width - left - right;
        var plotH = height - top - bottom;
        double max = 0;
        for (var i = 0; i < pair.Bins.Count; i++)
        {
            max = Math.Max(max, Math.Max(pair.Reference[i], pair.Current[i]));
        }

        max = max <= 0 ? 1 : NiceMax(max);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\">");
        Axes(svg, left, top, plotW, plotH, max, percent: true);
        var n = Math.Max(1, pair.Bins.Count);
        var slot = plotW / (double)n;
        var bar = Math.Max(1, (slot - 2) / 2);
        var step = Math.Max(1, (int)Math.Ceiling(n / (plotW / 34.0)));
        for (var i = 0; i < pair.Bins.Count; i++)
        {
            var x = left + (slot * i) + 1;
            var rh = plotH * pair.Reference[i] / max;
            var ch = plotH * pair.Current[i] / max;
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x:F1}\" y=\"{top + plotH - rh:F1}\" width=\"{bar:F1}\" height=\"{rh:F1}\" fill=\"{ReferenceColor}\"><title>{E(pair.Bins[i])} reference {P(pair.Reference[i])}</title></rect>")
                .Append(CultureInfo.InvariantCulture, $"<rect x=\"{x + bar:F1}\" y=\"{top + plotH - ch:F1}\" width=\"{bar:F1}\" height=\"{ch:F1}\" fill=\"{CurrentColor}\"><title>{E(pair.Bins[i])} current {P(pair.Current[i])}</title></rect>");
            if (i % step == 0)
            {
                var lx = x + bar;
                svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{lx:F1}\" y=\"{top + plotH + 12}\" class=\"xl\" text-anchor=\"end\" transform=\"rotate(-35 {lx:F1} {top + plotH + 12})\">{E(Short(pair.Bins[i]))}</text>");
            }
        }

        return svg.Append("</svg>").ToString();
    }

    private static void Axes(StringBuilder svg, int left, int top, int plotW, int plotH, double max, bool percent)
    {
        for (var t = 0; t <= 4; t++)
        {
            var v = max * t / 4;
            var y = top + plotH - (plotH * t / 4.0);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{y:F1}\" x2=\"{left + plotW}\" y2=\"{y:F1}\" class=\"g\"/>")
                .Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{y + 4:F1}\" class=\"yl\" text-anchor=\"end\">{(percent ? P(v) : N(v))}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{top + plotH}\" x2=\"{left + plotW}\" y2=\"{top + plotH}\" class=\"a\"/>");
    }

    private static double NiceMax(double max)
    {
        var exp = Math.Pow(10, Math.Floor(Math.Log10(max)));
        foreach (var m in new[] { 1.0, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10 })
        {
            if (m * exp >= max)
            {
                return m * exp;
            }
        }

        return 10 * exp;
    }

    private static string Short(string s) => s.Length <= 18 ? s : string.Concat(s.AsSpan(0, 17), "…");

    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string N(double v) => double.IsFinite(v) ? v.ToString("G4", CultureInfo.InvariantCulture) : "n/a";

    private static string P(double v) => double.IsFinite(v) ? (v * 100).ToString(v < 0.001 && v > 0 ? "G2" : "0.0#", CultureInfo.InvariantCulture) + "%" : "n/a";

    private const string Css = """
        body{margin:0;background:#f6f7f9;color:#1d2330;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
        main{max-width:1200px;margin:0 auto;padding:16px 20px 32px}
        h1{font-size:22px;margin:4px 0}h2{font-size:17px;margin:22px 0 8px}
        .meta{color:#555;margin:2px 0 8px}.note{background:#fff8db;border-left:3px solid #f08c00;padding:4px 8px;margin:4px 0}
        section{background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:10px 14px;margin:12px 0}
        section.cards{display:flex;flex-wrap:wrap;gap:10px;background:none;border:none;padding:0}
        .card{flex:1 1 220px;background:#fff;border:1px solid #e3e6eb;border-radius:6px;padding:8px 12px}
        .card .k{color:#666;font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:24px;font-weight:600}
        .card .d{color:#555;font-size:12px}
        .bad{color:#c92a2a;font-weight:600}.ok{color:#2b8a3e}
        table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eceef2;text-align:left}
        th{background:#f1f3f5;position:sticky;top:0}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
        tr.drift td{background:#fff5f5}td.est,th.est{background:#f3f0ff;color:#5f3dc4}.legend{color:#555;font-size:12px;margin:6px 0 0}
        .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
        figure{margin:0}figcaption{font-size:13px;margin:2px 0}svg{width:100%;height:auto;display:block}
        .g{stroke:#eceef2}.a{stroke:#888}.xl,.yl{font-size:10px;fill:#555}
        footer{color:#777;font-size:12px;margin-top:16px}.swatch{display:inline-block;width:10px;height:10px;margin:0 3px 0 8px}
        """;
}
