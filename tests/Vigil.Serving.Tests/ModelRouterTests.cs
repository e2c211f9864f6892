using System.Text.Json.Nodes;
using Vigil.Detectors;

namespace Vigil.Serving.Tests;

/// <summary>The model router: by name, alias (name@alias), version (name/3) and tenant.</summary>
public sealed class ModelRouterTests : IAsyncLifetime
{
    private ServerHarness _server = null!;

    public async ValueTask InitializeAsync() =>
        _server = await ServerHarness.StartAsync(o => o with { Models = [ModelSpec.Parse("fraud") with { Tenants = ["FISAU", "FIXNZ"] }, ModelSpec.Parse("fraud-ae"), ModelSpec.Parse("fraud-num/latest")] });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private async Task<(int Status, JsonNode Body)> PredictAsync(string? model, string? tenant)
    {
        var body = new JsonObject { ["instances"] = new JsonArray(ServerHarness.Instance(0)) };
        if (model is not null)
        {
            body["model"] = model;
        }

        if (tenant is not null)
        {
            body["tenant"] = tenant;
        }

        var (status, json, _) = await _server.PostJsonAsync("/v1/predict", body.ToJsonString());
        return (status, json);
    }

    [Theory]
    [InlineData("fraud", null, "fraud")]
    [InlineData("fraud@champion", null, "fraud")]
    [InlineData("fraud/1", null, "fraud")]
    [InlineData("models:/fraud/1", null, "fraud")]
    [InlineData("fraud", "FISAU", "fraud")]
    [InlineData(null, "FIXNZ", "fraud")]
    [InlineData("fraud-ae", "ANYONE", "fraud-ae")]
    [InlineData("fraud-ae@champion", null, "fraud-ae")]
    [InlineData("fraud-num/latest", null, "fraud-num")]
    [InlineData("fraud-num/1", null, "fraud-num")]
    public async Task Routes_by_name_alias_version_and_tenant(string? model, string? tenant, string expected)
    {
        var (status, body) = await PredictAsync(model, tenant);

        status.ShouldBe(200, body.ToJsonString());
        body["model"]!.GetValue<string>().ShouldBe(expected);
        body["version"]!.GetValue<int>().ShouldBe(1);
    }

    [Theory]
    [InlineData("fraud@challenger", null, 404, "model", "following @champion, not @challenger")]
    [InlineData("fraud/2", null, 404, "version", "serves version 1, not '2'")]
    [InlineData("fraud/Production", null, 404, "version", "serves version 1, not 'Production'")]
    [InlineData("fraud-num@champion", null, 404, "model", "following /latest, not @champion")]
    [InlineData("nope/1", null, 404, "model", "No model named 'nope'")]
    [InlineData("fraud", "OTHER", 400, "tenant", "does not serve tenant 'OTHER' (it serves FISAU, FIXNZ)")]
    [InlineData(null, "OTHER", 400, "tenant", "No served model serves tenant 'OTHER'")]
    public async Task Refuses_what_no_loaded_model_matches(string? model, string? tenant, int expectedStatus, string field, string detail)
    {
        var (status, body) = await PredictAsync(model, tenant);

        status.ShouldBe(expectedStatus);
        body["field"]!.GetValue<string>().ShouldBe(field);
        body["detail"]!.GetValue<string>().ShouldContain(detail);
    }

    [Fact]
    public async Task Mlflow_path_takes_an_alias_or_version_too()
    {
        var body = new JsonObject { ["dataframe_records"] = new JsonArray(ServerHarness.Instance(0)) }.ToJsonString();

        (await _server.PostJsonAsync("/models/fraud@champion/invocations", body)).Status.ShouldBe(200);
        (await _server.PostJsonAsync("/models/fraud/1/invocations", body)).Status.ShouldBe(404);
        var (status, problem, _) = await _server.PostJsonAsync("/models/fraud@challenger/invocations", body);
        status.ShouldBe(404);
        problem["error_code"]!.GetValue<string>().ShouldBe("RESOURCE_DOES_NOT_EXIST");
    }

    [Fact]
    public void Bundle_declares_its_tenants_in_the_tenants_parameter_and_config_overrides_them()
    {
        var bundle = TenantBundle("FISAU, FIXNZ");

        var fromBundle = new ServedModel(ModelSpec.Parse("fx"), 1, bundle, DateTimeOffset.UnixEpoch, "sha");
        var fromConfig = new ServedModel(ModelSpec.Parse("fx") with { Tenants = ["ONLY"] }, 1, bundle, DateTimeOffset.UnixEpoch, "sha");
        var undeclared = new ServedModel(ModelSpec.Parse("fx"), 1, TenantBundle(null), DateTimeOffset.UnixEpoch, "sha");

        fromBundle.Tenants.ShouldBe(["FISAU", "FIXNZ"]);
        fromBundle.Serves("FIXNZ").ShouldBeTrue();
        fromBundle.Serves("ONLY").ShouldBeFalse();
        fromConfig.Tenants.ShouldBe(["ONLY"]);
        fromConfig.Serves("FISAU").ShouldBeFalse();
        undeclared.Tenants.ShouldBeNull();
        undeclared.Serves("ANYONE").ShouldBeTrue();
    }

    /// <summary>A trained bundle saved with (or without) a <c>tenants</c> parameter in its manifest, loaded back.</summary>
    private static ModelBundle TenantBundle(string? tenants)
    {
        var folder = Path.Combine(Path.GetTempPath(), "vigil-tenant-bundle-" + Guid.NewGuid().ToString("N"));
        try
        {
            var data = ServerHarness.Data;
            ModelBundle.Train(data, new TrainSpec { Model = "iforest", Label = Vigil.Data.TransactionColumns.Label, IdColumn = Vigil.Data.TransactionColumns.TransactionId, Exclude = new HashSet<string>(Vigil.Data.TransactionColumns.LeakColumns), Forest = new IsolationForestOptions { Seed = 9, Estimators = 5 } }).Save(folder);
            if (tenants is not null)
            {
                var path = Path.Combine(folder, ModelBundle.ManifestFile);
                var manifest = JsonNode.Parse(File.ReadAllText(path))!;
                var parameters = manifest["parameters"] as JsonObject ?? throw new InvalidOperationException("bundle.json has no parameters object");
                parameters[ServedModel.TenantsParameter] = tenants;
                File.WriteAllText(path, manifest.ToJsonString());
            }

            return ModelBundle.Load(folder);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
