using Vigil.Monitoring.Statistics;

namespace Vigil.Monitoring.Tests.Statistics;

public sealed class NumpyRandomTests
{
    [Fact]
    public void Permutation_equals_numpys_legacy_permutation_after_seed_0()
    {
        // np.random.seed(0); np.random.permutation(10) -> [2 8 4 9 1 6 7 3 0 5]
        var perm = new int[10];
        new NumpyRandom(0).Permutation(perm);
        perm.ShouldBe([2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
    }

    [Fact]
    public void Raw_outputs_equal_mt19937_seeded_0()
    {
        // np.random.seed(0); np.random.randint(2**31) twice -> 209652396, 398764591 (the low 31 bits of each draw: masked rejection)
        var rng = new NumpyRandom(0);
        (rng.NextUInt32() & 0x7fffffffu).ShouldBe(209652396u);
        (rng.NextUInt32() & 0x7fffffffu).ShouldBe(398764591u);
    }

    [Fact]
    public void Second_permutation_continues_the_stream()
    {
        // np.random.seed(0); np.random.permutation(800); np.random.permutation(800)[:5]
        var rng = new NumpyRandom(0);
        var perm = new int[800];
        rng.Permutation(perm);
        rng.Permutation(perm);
        perm[..5].ShouldBe(Expected800);
    }

    private static readonly int[] Expected800 = [604, 18, 233, 663, 271];
}
