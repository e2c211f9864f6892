namespace Vigil.Detectors.Tests;

public sealed class Sha256Tests
{
    [Fact]
    public void Digests_are_the_standard_ones_for_every_length_around_the_block_edges()
    {
        var rng = new Random(5);
        var lengths = Enumerable.Range(0, 260).Concat([1_000, 4_095, 4_096, 65_537, 206_956]);
        foreach (var length in lengths)
        {
            var data = new byte[length];
            rng.NextBytes(data);
            Sha256.Hash(data).ShouldBe(System.Security.Cryptography.SHA256.HashData(data), $"length {length}");
        }
    }

    [Fact]
    public void The_empty_message_and_abc_have_the_published_digests()
    {
        Convert.ToHexStringLower(Sha256.Hash([])).ShouldBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        Convert.ToHexStringLower(Sha256.Hash("abc"u8)).ShouldBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
