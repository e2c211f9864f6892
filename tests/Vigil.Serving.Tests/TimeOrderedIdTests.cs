using System.Collections.Concurrent;
using System.Globalization;
using Xunit;

namespace Vigil.Serving.Tests;

public sealed class TimeOrderedIdTests
{
    [Fact]
    public void Ids_are_uuid_v7_in_the_N_format_with_the_given_time()
    {
        var ms = DateTimeOffset.Parse("2026-12-02T14:00:00.123Z", CultureInfo.InvariantCulture).ToUnixTimeMilliseconds();
        var id = TimeOrderedId.New(ms);
        var expected = Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(ms)).ToString("N");

        Assert.Equal(32, id.Length);
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(expected[..12], id[..12]);                 // the same 48-bit big-endian milliseconds as .NET's own UUIDv7
        var guid = Guid.ParseExact(id, "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0b1000, guid.Variant & 0b1100);            // RFC 9562 variant 10xx
        Assert.Equal(id, guid.ToString("N"));
    }

    [Fact]
    public void Ids_do_not_repeat_across_threads_and_buffer_refills()
    {
        var seen = new ConcurrentDictionary<string, byte>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 5_000; i++) // 5,000 per thread: about 20 refills of each thread's random buffer
            {
                Assert.True(seen.TryAdd(TimeOrderedId.New(), 0));
            }
        });
        Assert.Equal(20_000, seen.Count);
    }
}
