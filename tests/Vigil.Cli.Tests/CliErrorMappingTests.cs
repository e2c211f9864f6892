using Vigil.Data;
using Vigil.Lifecycle;
using Vigil.Tracking;

namespace Vigil.Cli.Tests;

/// <summary>Which exceptions are a user's error (exit 2, their message) and which are bugs (exit 1, "internal error").</summary>
public sealed class CliErrorMappingTests
{
    [Theory]
    [InlineData("Label", "--label")]
    [InlineData("TimeColumn", "--time-column")]
    [InlineData("OotDays", "--oot-days")]
    [InlineData("IdColumn", "--id")]
    [InlineData("Keep", "--keep")]
    public void A_lifecycle_option_is_named_as_its_flag(string option, string flag)
    {
        CliErrors.TryDescribe(new LifecycleException(option, "x: no such column in d.csv"), out var message).ShouldBeTrue();
        message.ShouldBe($"{flag} x: no such column in d.csv");
    }

    [Fact]
    public void Every_vigil_exception_is_a_user_error_with_its_message()
    {
        foreach (Exception e in new Exception[]
        {
            new TrackingException("model 'm' not found"),
            new DataFormatException("d.csv", 3, "b", 2, "cannot parse \"x\" as float64"),
            new Vigil.Evaluation.PromotionGateException("gate condition 1 'x': unknown metric"),
            new LifecycleException("fraud version 1 is already the champion; nothing to promote"),
        })
        {
            e.ShouldBeAssignableTo<VigilException>();
            CliErrors.TryDescribe(e, out var message).ShouldBeTrue();
            message.ShouldBe(e.Message);
        }
    }

    [Fact]
    public void A_bug_is_not_described_as_a_user_error()
    {
        CliErrors.TryDescribe(new InvalidOperationException("sequence contains no elements"), out _).ShouldBeFalse();
        CliErrors.TryDescribe(new NullReferenceException(), out _).ShouldBeFalse();
    }

    [Fact]
    public void A_bad_out_of_time_window_exits_2_naming_the_flag()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("d.csv"), "a,label\n" + string.Join('\n', Enumerable.Range(0, 50).Select(i => $"{i},{(i % 10 == 0 ? 1 : 0)}")) + "\n");
        var r = VigilProcess.RunInProcess(dir.Path, null, "promote", "fraud", "--candidate", "1", "--data", "d.csv", "--label", "label", "--time-column", "a", "--oot-days", "2");
        r.ShouldFailWithOneLine("--time-column a: not a timestamp column");
    }
}
