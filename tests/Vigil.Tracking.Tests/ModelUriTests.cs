namespace Vigil.Tracking.Tests;

public class ModelUriTests
{
    [Theory]
    [InlineData("models:/fraud@champion", "fraud", ModelUriKind.Alias, "champion", null, null)]
    [InlineData("models:/fraud-fx.v2/3", "fraud-fx.v2", ModelUriKind.Version, null, 3, null)]
    [InlineData("models:/fraud/Production", "fraud", ModelUriKind.Stage, null, null, ModelStage.Production)]
    [InlineData("models:/fraud/staging", "fraud", ModelUriKind.Stage, null, null, ModelStage.Staging)]
    [InlineData("models:/fraud/latest", "fraud", ModelUriKind.Latest, null, null, null)]
    public void Parse_reads_every_form(string text, string name, ModelUriKind kind, string? alias, int? version, ModelStage? stage)
    {
        var uri = ModelUri.Parse(text);

        uri.Name.ShouldBe(name);
        uri.Kind.ShouldBe(kind);
        uri.Alias.ShouldBe(alias);
        uri.Version.ShouldBe(version);
        uri.Stage.ShouldBe(stage);
    }

    [Theory]
    [InlineData("models:/fraud@champion")]
    [InlineData("models:/fraud/12")]
    [InlineData("models:/fraud/Archived")]
    [InlineData("models:/fraud/latest")]
    public void ToString_gives_back_the_canonical_text(string text) => ModelUri.Parse(text).ToString().ShouldBe(text);

    [Theory]
    [InlineData("fraud@champion", "must start with 'models:/'")]
    [InlineData("models:/fraud", "names no version")]
    [InlineData("models:/@champion", "empty model name")]
    [InlineData("models:/fraud@", "empty alias")]
    [InlineData("models:/fraud/", "empty version or stage")]
    [InlineData("models:/fraud/0", "version '0' is not a whole number")]
    [InlineData("models:/fraud/99999999999", "version '99999999999' is not a whole number")]
    [InlineData("models:/fraud/None", "'None' is neither a version number")]
    [InlineData("models:/fraud/Prod", "'Prod' is neither a version number")]
    [InlineData("models:/fraud@9lives", "invalid alias '9lives'")]
    [InlineData("models:/fr aud@champion", "invalid model name 'fr aud'")]
    [InlineData("", "empty model URI")]
    public void Parse_rejects_malformed_uris_saying_what_is_wrong(string text, string message)
    {
        var error = Should.Throw<FormatException>(() => ModelUri.Parse(text));
        error.Message.ShouldContain(message);
        ModelUri.TryParse(text, out var uri, out var tryError).ShouldBeFalse();
        uri.ShouldBeNull();
        tryError.ShouldBe(error.Message);
    }

    [Fact]
    public void Latest_is_reserved_and_cannot_be_an_alias() =>
        Should.Throw<TrackingException>(() => ModelUri.ForAlias("fraud", "latest")).Message.ShouldContain("'latest' is reserved");

    [Fact]
    public void A_model_version_knows_its_uri() =>
        new ModelVersion { ModelName = "fraud", Version = 4, BundleSha256 = "x", FeatureSchema = "a:float64", CreatedUtc = DateTimeOffset.UnixEpoch }
            .Uri.ToString().ShouldBe("models:/fraud/4");
}
