using System.Buffers;
using System.Text;
using System.Text.Json;
using Vigil.Fx;

namespace Vigil.Serving.Tests;

/// <summary>
/// The FX answer writer: deals it formats as one raw value each must give the same bytes as the writer's property calls,
/// whatever their texts (escapes, non-ASCII, long reasons), legs and statuses.
/// </summary>
public sealed class FxAnswerWriterTests
{
    private static readonly string[] Texts =
    [
        "FISAU", "", "FX.EVAL.FISAU.200005", "with \"quotes\"", "back\\slash", "tab\there", "line\nbreak", "<html> & 'x' +1",
        "FaceValue 48,500,000 USD is above the usual 0.5M–12M for 0-GLOBAL/CBA/USD", "café", "emoji 🙂", "\u0001control", new string('x', 300),
        new string('é', 200),
    ];

    private static readonly double?[] Legs = [null, 0, 1, -0.0, 2.5, 1e15, 123456789012, -3];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Raw_objects_give_the_bytes_of_the_property_calls(bool wrap)
    {
        var random = new Random(11);
        var n = 600;
        var deals = new FxRawDeal[n];
        var decisions = new FxDecision[n];
        for (var i = 0; i < n; i++)
        {
            deals[i] = new FxRawDeal
            {
                Client = random.Next(10) == 0 ? Pick(random) : "FISAU",
                UniqueId = random.Next(8) == 0 ? Pick(random) : $"FX.EVAL.FISAU.{200000 + i}",
                ContLeg = Legs[random.Next(Legs.Length)],
            };
            decisions[i] = random.Next(6) switch
            {
                0 => new FxDecision(400, false, string.Empty, null, double.NaN, Pick(random)),
                1 => new FxDecision(500, false, string.Empty, null, double.NaN, "internal error: " + Pick(random)),
                2 or 3 => new FxDecision(200, true, Pick(random), FxAnomalyKinds.Amount, 1.5, null),
                _ => new FxDecision(200, false, string.Empty, null, 0.2, null),
            };
        }

        deals[0] = deals[0] with { Client = null };
        Answer(deals, decisions, wrap, plain: true).ShouldBe(Answer(deals, decisions, wrap, plain: false));
    }

    [Fact]
    public void The_usual_answer_is_the_contract_shape()
    {
        FxRawDeal[] deals = [new() { Client = "FISAU", UniqueId = "FX.FWD.Request.100097", ContLeg = 0 }];
        FxDecision[] decisions = [new(200, false, string.Empty, null, 0.1, null)];
        Answer(deals, decisions, wrap: false, plain: true)
            .ShouldBe("""[{"Client":"FISAU","UniqueId":"FX.FWD.Request.100097","ContLeg":0,"Anomaly":"No","Reason":"","status_code":200}]""");
    }

    private static string Pick(Random random) => Texts[random.Next(Texts.Length)];

    private static string Answer(FxRawDeal[] deals, FxDecision[] decisions, bool wrap, bool plain)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, ScoringExchange.WriterOptions))
        {
            FxApi.Write(writer, deals, decisions, wrap, plain);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
