using System.Text.Json;

namespace Vigil.Monitoring;

/// <summary>The JSON forms of drift reports and monitoring reports.</summary>
public static class ReportJson
{
    /// <summary>
    /// A drift report as <c>{"dataset_drift", "drift_share", "threshold_share", "features": [{"name", "type", "stattest",
    /// "score", "threshold", "drift", "missing_share_reference", "missing_share_current"}], "prediction": {"stattest",
    /// "score", "drift", "alert_rate_reference", "alert_rate_current"}}</c>; "prediction" only when a model was given. A
    /// score that is not a number (a side with no values) is null.
    /// </summary>
    public static void WriteDrift(Utf8JsonWriter w, DriftReport report)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(report);
        w.WriteStartObject();
        w.WriteBoolean("dataset_drift", report.DatasetDrift);
        w.WriteNumber("drift_share", report.DriftShare);
        w.WriteNumber("threshold_share", report.ThresholdShare);
        w.WriteStartArray("features");
        foreach (var f in report.Features)
        {
            w.WriteStartObject();
            w.WriteString("name", f.Name);
            w.WriteString("type", f.Type);
            w.WriteString("stattest", f.StatTest);
            Number(w, "score", f.Score);
            w.WriteNumber("threshold", f.Threshold);
            w.WriteBoolean("drift", f.Drift);
            w.WriteNumber("missing_share_reference", f.MissingShareReference);
            w.WriteNumber("missing_share_current", f.MissingShareCurrent);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (report.Prediction is { } p)
        {
            w.WriteStartObject("prediction");
            w.WriteString("stattest", p.StatTest);
            Number(w, "score", p.Score);
            w.WriteBoolean("drift", p.Drift);
            Number(w, "alert_rate_reference", p.AlertRateReference);
            Number(w, "alert_rate_current", p.AlertRateCurrent);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    /// <summary>A drift report as one line of JSON (see <see cref="WriteDrift(Utf8JsonWriter, DriftReport)"/>).</summary>
    public static string Drift(DriftReport report)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            WriteDrift(w, report);
        }

        return System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length);
    }

    /// <summary>
    /// Report windows as a JSON array: <c>[{"window", "start", "end", "predictions", "alert_rate", "labelled_share",
    /// "realized": {...}, "estimated": {...}, "drift": {drift report} }]</c>; estimated metrics sit only under
    /// "estimated".
    /// </summary>
    public static void WriteWindows(Utf8JsonWriter w, string name, IReadOnlyList<ReportWindow> windows)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(windows);
        w.WriteStartArray(name);
        foreach (var win in windows)
        {
            WriteWindow(w, win);
        }

        w.WriteEndArray();
    }

    /// <summary>One window as a JSON object (see <see cref="WriteWindows"/>).</summary>
    public static void WriteWindow(Utf8JsonWriter w, ReportWindow win)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(win);
        w.WriteStartObject();
        w.WriteString("window", win.Label);
        w.WriteString("start", Iso(win.StartUs));
        w.WriteString("end", Iso(win.EndUs));
        w.WriteNumber("predictions", win.Predictions);
        Number(w, "alert_rate", win.AlertRate);
        Number(w, "labelled_share", win.LabelledShare);
        Metrics(w, "realized", win.Realized);
        Metrics(w, "estimated", win.Estimated);
        if (win.Drift is { } d)
        {
            w.WritePropertyName("drift");
            WriteDrift(w, d);
        }

        w.WriteEndObject();
    }

    private static void Metrics(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, double> metrics)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in metrics)
        {
            Number(w, k, v);
        }

        w.WriteEndObject();
    }

    internal static string Iso(long us) =>
        DateTimeOffset.UnixEpoch.AddTicks(us * TimeSpan.TicksPerMicrosecond).UtcDateTime
            .ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static void Number(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }
}
