using Vigil.Serving;

namespace Vigil.Deploy.Tests.Compose;

/// <summary>deploy/compose.yaml: two read-only server replicas on the PostgreSQL store, sharing VIGIL_HOME.</summary>
public sealed class ComposeTests
{
    private static Node Services => DeployFiles.Documents("compose.yaml")[0]["services"];

    public static TheoryData<string> Replicas => ["vigil-1", "vigil-2"];

    [Theory]
    [MemberData(nameof(Replicas))]
    public void Replica_serves_read_only_from_the_shared_home_on_the_postgres_store(string replica)
    {
        var service = Services[replica];
        service["read_only"].Bool.ShouldBeTrue();
        service["tmpfs"].Items.Select(i => i.String).ShouldContain("/tmp");
        service["volumes"].Items.Select(i => i.String).ShouldContain("vigil-home:/var/lib/vigil");
        service["environment"]["VIGIL_STORE"].String.ShouldStartWith("postgres://");
        service["environment"]["VIGIL_STORE"].String.ShouldContain("@postgres:5432/");
        service["depends_on"].Items.Select(i => i.String).ShouldContain("postgres");
        service["command"].Items.Select(i => i.String).ShouldBe(["serve"]);
    }

    [Theory]
    [MemberData(nameof(Replicas))]
    public void Replica_settings_are_server_settings(string replica)
    {
        Services[replica]["environment"].Map.Keys.Where(k => !ServingConfiguration.EnvironmentVariables.Contains(k)).ShouldBeEmpty();
    }

    [Fact]
    public void Replicas_publish_on_loopback_only_each_on_its_own_port()
    {
        var ports = Replicas.Select(r => Services[(string)r.Data]["ports"][0].String).ToList();
        ports.ShouldAllBe(p => p.StartsWith("127.0.0.1:", StringComparison.Ordinal) && p.EndsWith(":8080", StringComparison.Ordinal));
        ports.Distinct(StringComparer.Ordinal).Count().ShouldBe(2);
    }

    [Fact]
    public void Postgres_keeps_its_data_in_a_volume()
    {
        Services["postgres"]["volumes"].Items.Select(i => i.String).ShouldContain("pg-data:/var/lib/postgresql/data");
    }
}
