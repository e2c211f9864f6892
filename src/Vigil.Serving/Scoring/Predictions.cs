using System.Text.Json;
using Vigil.Detectors;

namespace Vigil.Serving;

/// <summary>The scored items of a batch with their reasons, ready to be written in any protocol.</summary>
internal sealed class Predictions
{
    private Predictions(FeatureBatch batch, IReadOnlyList<FeatureContribution>?[] reasons)
    {
        Batch = batch;
        Reasons = reasons;
    }

    public FeatureBatch Batch { get; }

    /// <summary>Per item: its top reasons, or null (invalid item, reasons off, or a detector without reasons).</summary>
    public IReadOnlyList<FeatureContribution>?[] Reasons { get; }

    /// <summary>Computes the reasons of every valid item (the batch must be scored).</summary>
    public static Predictions Build(FeatureBatch batch, int reasons)
    {
        var result = new IReadOnlyList<FeatureContribution>?[batch.Items];
        if (reasons > 0 && batch.Model.Bundle.CanExplain)
        {
            for (var i = 0; i < batch.Items; i++)
            {
                if (batch.ErrorOf(i) is null)
                {
                    result[i] = batch.Model.Bundle.ExplainFeatures(batch.FeaturesOf(i), reasons);
                }
            }
        }

        return new Predictions(batch, result);
    }

    /// <summary>The <c>/v1/predict</c> response.</summary>
    public static void WriteV1(Utf8JsonWriter w, ServedModel model, Predictions p)
    {
        var batch = p.Batch;
        var threshold = model.Bundle.Threshold;
        w.WriteStartObject();
        w.WriteString("model"u8, model.Name);
        w.WriteNumber("version"u8, model.Version);
        w.WriteNumber("threshold"u8, threshold);
        w.WriteStartArray("predictions"u8);
        for (var i = 0; i < batch.Items; i++)
        {
            w.WriteStartObject();
            if (batch.ErrorOf(i) is { } error)
            {
                w.WriteNumber("status"u8, 400);
                w.WriteString("field"u8, error.Field);
                w.WriteString("error"u8, error.Field + " " + error.Detail);
            }
            else
            {
                var score = batch.ScoreOf(i);
                w.WriteNumber("score"u8, score);
                w.WriteNumber("label"u8, score > threshold ? 1 : 0);
                w.WriteStartArray("reasons"u8);
                if (p.Reasons[i] is { } reasons)
                {
                    foreach (var r in reasons)
                    {
                        w.WriteStartObject();
                        w.WriteString("feature"u8, r.Feature);
                        w.WriteNumber("contribution"u8, r.Contribution);
                        w.WriteEndObject();
                    }
                }

                w.WriteEndArray();
                w.WriteNumber("status"u8, 200);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
