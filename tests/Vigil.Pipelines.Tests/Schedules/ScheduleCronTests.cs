using Vigil.Tracking;

namespace Vigil.Pipelines.Tests.Schedules;

public sealed class ScheduleCronTests
{
    // 2026-12-02 is a Wednesday; the next Monday is 2026-12-07 (Paris is UTC+1 in December).
    private static readonly DateTimeOffset Wednesday = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    private static FlowSchedule Schedule(string cron, string zone = "UTC") => new()
    {
        Name = "s",
        Flow = "retrain",
        Cron = ScheduleCron.ToQuartz(cron),
        CronText = cron,
        TimeZone = zone,
    };

    [Fact]
    public void Five_field_crontab_gets_seconds_first_and_keeps_its_meaning()
    {
        ScheduleCron.ToQuartz("0 5 * * MON").ShouldBe("0 0 5 ? * MON");
        ScheduleCron.NextFire(Schedule("0 5 * * MON"), Wednesday).ShouldBe(new DateTimeOffset(2026, 12, 7, 5, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public void Crontab_day_of_week_numbers_count_from_sunday_0()
    {
        // crontab: 1 = Monday, 0 and 7 = Sunday (Quartz itself numbers Sunday 1)
        ScheduleCron.NextFire(Schedule("30 4 * * 1"), Wednesday).ShouldBe(new DateTimeOffset(2026, 12, 7, 4, 30, 0, TimeSpan.Zero));
        ScheduleCron.NextFire(Schedule("0 0 * * 0"), Wednesday).ShouldBe(new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero));
        ScheduleCron.NextFire(Schedule("0 0 * * 7"), Wednesday).ShouldBe(new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero));
    }

    [Fact]
    public void Quartz_six_and_seven_field_forms_are_taken_as_they_are()
    {
        ScheduleCron.ToQuartz("*/2 * * * * ?").ShouldBe("*/2 * * * * ?");
        ScheduleCron.ToQuartz("0 0 5 ? * MON 2027").ShouldBe("0 0 5 ? * MON 2027");
        ScheduleCron.NextFire(Schedule("*/2 * * * * ?"), Wednesday.AddSeconds(1)).ShouldBe(Wednesday.AddSeconds(2));
    }

    [Fact]
    public void The_time_zone_moves_the_fire_time()
    {
        ScheduleCron.NextFire(Schedule("0 5 * * MON", "Europe/Paris"), Wednesday).ShouldBe(new DateTimeOffset(2026, 12, 7, 4, 0, 0, TimeSpan.Zero));
    }

    [Theory]
    [InlineData("* * *", "3 fields")]
    [InlineData("", "0 fields")]
    [InlineData("61 5 * * *", "--cron \"61 5 * * *\"")]
    [InlineData("0 5 * * FUNDAY", "--cron")]
    public void A_bad_cron_is_one_line_naming_it_and_the_accepted_forms(string cron, string fragment)
    {
        var e = Should.Throw<FlowException>(() => ScheduleCron.ToQuartz(cron));
        e.Message.ShouldContain(fragment);
        e.Message.ShouldContain("5 fields");
        e.Message.ShouldNotContain("\n");
    }

    [Fact]
    public void An_unknown_time_zone_is_refused()
    {
        Should.Throw<FlowException>(() => ScheduleCron.Zone("Mars/Olympus")).Message.ShouldContain("--timezone Mars/Olympus");
        ScheduleCron.Zone(null).ShouldBe(TimeZoneInfo.Utc);
    }

    [Fact]
    public void A_paused_schedule_has_no_next_fire()
    {
        ScheduleCron.NextFire(Schedule("* * * * *") with { Paused = true }, Wednesday).ShouldBeNull();
    }
}
