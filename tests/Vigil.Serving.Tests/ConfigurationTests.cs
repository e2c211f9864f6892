using Microsoft.Extensions.Configuration;

namespace Vigil.Serving.Tests;

public sealed class ConfigurationTests
{
    private static readonly Dictionary<string, string?> None = [];

    private static IConfiguration AppSettings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>("Vigil:" + v.Key, v.Value))).Build();

    [Fact]
    public void Defaults_are_loopback_8080_store_log_full_payloads_back_pressure()
    {
        var o = ServingConfiguration.Load(null, None, None);
        o.Host.ShouldBe("127.0.0.1");
        o.Port.ShouldBe(8080);
        o.MaxBodyBytes.ShouldBe(10L * 1024 * 1024);
        o.InferenceLog.ShouldBe(InferenceLogDestination.Store);
        o.InferenceLogPayloads.ShouldBe(PayloadMode.Full);
        o.InferenceLogWhenFull.ShouldBe(QueueFullMode.Wait);
        o.RateLimitPerSecond.ShouldBe(0);
        o.ScoringKeys.ShouldBeEmpty();
    }

    [Fact]
    public void Scoring_keys_come_comma_separated_from_VIGIL_SCORING_KEYS_or_appsettings()
    {
        var env = new Dictionary<string, string?> { ["VIGIL_SCORING_KEYS"] = " k1, k2 ,,k3 " };
        ServingConfiguration.Load(null, env, None).ScoringKeys.ShouldBe(["k1", "k2", "k3"]);
        ServingConfiguration.Load(AppSettings(("ScoringKeys", "a,b")), None, None).ScoringKeys.ShouldBe(["a", "b"]);
        ServingConfiguration.EnvironmentVariables.ShouldContain("VIGIL_SCORING_KEYS");
    }

    [Fact]
    public void Command_line_beats_environment_beats_appsettings()
    {
        var app = AppSettings(("Port", "7000"), ("Models", "a"), ("LogLevel", "Debug"));
        var env = new Dictionary<string, string?> { ["VIGIL_PORT"] = "7001", ["VIGIL_MODELS"] = "b@challenger" };
        var cli = new Dictionary<string, string?> { ["--port"] = "7002" };

        var o = ServingConfiguration.Load(app, env, cli);

        o.Port.ShouldBe(7002);
        o.Models.Single().ToString().ShouldBe("b@challenger");
        o.LogLevel.ShouldBe(Microsoft.Extensions.Logging.LogLevel.Debug);
    }

    [Theory]
    [InlineData("VIGIL_PORT", "70000")]
    [InlineData("VIGIL_LOG_LEVEL", "loud")]
    [InlineData("VIGIL_MODELS", "a,a")]
    [InlineData("VIGIL_MODELS", "models:/x/notastage")]
    [InlineData("VIGIL_RATE_LIMIT", "-3")]
    [InlineData("VIGIL_INFERENCE_LOG_PAYLOADS", "some")]
    [InlineData("VIGIL_CORS_ORIGINS", "ftp://x.example.com")]
    public void An_invalid_value_names_its_setting(string variable, string value)
    {
        var e = Should.Throw<ServingConfigurationException>(() => ServingConfiguration.Load(null, new Dictionary<string, string?> { [variable] = value }, None));
        e.Setting.ShouldBe(variable);
        e.Message.ShouldContain(value);
    }

    [Fact]
    public void Appsettings_errors_name_the_key_and_file()
    {
        Should.Throw<ServingConfigurationException>(() => ServingConfiguration.Load(AppSettings(("Port", "x")), None, None))
            .Setting.ShouldBe("appsettings.json Vigil:Port");
        Should.Throw<ServingConfigurationException>(() => ServingConfiguration.Load(AppSettings(("Portt", "1")), None, None))
            .Message.ShouldContain("unknown setting");
    }

    [Fact]
    public void Model_specs_follow_champion_an_alias_a_stage_or_a_version()
    {
        var specs = ModelSpec.ParseList("fraud, fx@challenger, cards/Production, aml/3");
        specs.Select(s => s.Follows).ShouldBe(["@champion", "@challenger", "/Production", "/3"]);
        specs.Select(s => s.Name).ShouldBe(["fraud", "fx", "cards", "aml"]);
    }

    [Fact]
    public void Batch_defaults_to_the_capacity_when_the_capacity_is_smaller_but_an_explicit_larger_batch_is_an_error()
    {
        ServingConfiguration.Load(null, new Dictionary<string, string?> { ["VIGIL_INFERENCE_LOG_CAPACITY"] = "64" }, None).InferenceLogBatch.ShouldBe(64);
        Should.Throw<ServingConfigurationException>(() => ServingConfiguration.Load(null,
            new Dictionary<string, string?> { ["VIGIL_INFERENCE_LOG_CAPACITY"] = "64", ["VIGIL_INFERENCE_LOG_BATCH"] = "128" }, None));
    }
}
