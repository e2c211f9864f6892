using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Spectre.Console;
using Vigil.Tracking;

namespace Vigil.Cli;

/// <summary>
/// <c>vigil models list|show|versions|history|alias set|stage set|rollback|sign|keygen</c>: the model registry, with every
/// alias and stage change recorded (who, when, from, to, why), and bundle signing.
/// </summary>
internal static class ModelsCommand
{
    public static Command Build()
    {
        var cmd = new Command("models", "Registered models: versions, aliases, stages and their audit history.");
        cmd.Subcommands.Add(BuildList());
        cmd.Subcommands.Add(BuildShow());
        cmd.Subcommands.Add(BuildVersions());
        cmd.Subcommands.Add(BuildHistory());
        var alias = new Command("alias", "Move or delete an alias such as champion.");
        alias.Subcommands.Add(BuildAliasSet());
        alias.Subcommands.Add(BuildAliasDelete());
        cmd.Subcommands.Add(alias);
        var stage = new Command("stage", "Move a version to a stage (None, Staging, Production, Archived).");
        stage.Subcommands.Add(BuildStageSet());
        cmd.Subcommands.Add(stage);
        cmd.Subcommands.Add(BuildRollback());
        cmd.Subcommands.Add(BuildSign());
        cmd.Subcommands.Add(BuildKeygen());
        return cmd;
    }

    private static Command BuildSign()
    {
        var target = new Argument<string>("BUNDLE") { Description = "A bundle directory or .zip (signed in place), or a registered version models:/NAME/VERSION (signed into a new version)." };
        var key = new Option<string>("--key") { Description = "The ECDSA P-256 private key, PEM (as 'vigil models keygen' writes it).", Required = true };
        var cmd = new Command("sign", "Sign a bundle: signature.json (ECDSA P-256, SHA-256) over bundle.json, which holds every file's SHA-256. Servers and commands with VIGIL_TRUSTED_KEYS load only bundles signed by a trusted key.")
        {
            target, key,
        };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var what = parse.GetRequiredValue(target);
            using var signingKey = Vigil.Detectors.BundleSigner.ReadPrivateKey(parse.GetRequiredValue(key));
            if (!CliLifecycle.IsRegistryUri(what))
            {
                var keyId = Vigil.Detectors.BundleSigner.Sign(what, signingKey);
                Terminal.Out.WriteLine($"signed {what} with key {keyId}");
                return CliApp.Ok;
            }

            await using var lifecycle = await CliLifecycle.OpenReadingAsync(storeArgs, parse, withStore: true, ct).ConfigureAwait(false);
            var signed = await lifecycle.Operations.SignVersionAsync(what, signingKey, ct).ConfigureAwait(false);
            Terminal.Out.WriteLine(
                $"signed {signed.Source.Uri} with key {signed.KeyId} as {signed.Signed.ModelName} version {signed.Signed.Version.ToString(CultureInfo.InvariantCulture)} ({signed.Signed.Uri}); aliases and stages did not move (run {signed.RunId})");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildKeygen()
    {
        var output = new Option<string>("--out", "-o") { Description = "Folder for the key pair (created if needed; existing key files are never replaced).", Required = true };
        var cmd = new Command("keygen", "Make an ECDSA P-256 signing key pair: vigil-signing-key.pem (private, owner-only) and vigil-signing-key.pub.pem (public, for VIGIL_TRUSTED_KEYS).")
        {
            output,
        };
        cmd.SetAction(parse =>
        {
            var (privateKey, publicKey, keyId) = Vigil.Detectors.BundleSigner.GenerateKeyPair(parse.GetRequiredValue(output));
            Terminal.Out.WriteLine($"private key: {privateKey}");
            Terminal.Out.WriteLine($"public key:  {publicKey}");
            Terminal.Out.WriteLine($"key id:      {keyId}");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Argument<string> NameArgument() => new("NAME") { Description = "The registered model name." };

    private static Option<bool> JsonOption() => new("--json") { Description = "Print JSON instead of a table." };

    private static Option<string?> ReasonOption() => new("--reason") { Description = "Why, for the audit history." };

    private static Command BuildList()
    {
        var json = JsonOption();
        var cmd = new Command("list", "List registered models.") { json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var models = await store.ListRegisteredModelsAsync(ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var array = new JsonArray();
                foreach (var m in models)
                {
                    array.Add(ToJson(m));
                }

                TrackingFormat.WriteJson(array);
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"models in {Markup.Escape(store.Location)}");
            foreach (var c in new[] { "name", "latest version", "aliases", "created" })
            {
                table.AddColumn(c);
            }

            foreach (var m in models)
            {
                table.AddRow(Markup.Escape(m.Name), TrackingFormat.Int(m.LatestVersion), Markup.Escape(Aliases(m)), TrackingFormat.Time(m.CreatedUtc));
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildShow()
    {
        var name = NameArgument();
        var json = JsonOption();
        var cmd = new Command("show", "Show a model: description, latest version, aliases and stages.") { name, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var m = await store.GetRegisteredModelAsync(parse.GetRequiredValue(name), ct).ConfigureAwait(false);
            var versions = await store.ListModelVersionsAsync(m.Name, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var o = ToJson(m);
                var stages = new JsonObject();
                foreach (var v in versions.Where(v => v.Stage != ModelStage.None))
                {
                    stages[TrackingFormat.Int(v.Version)] = v.Stage.ToString();
                }

                o["stages"] = stages;
                TrackingFormat.WriteJson(o);
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"model {Markup.Escape(m.Name)}");
            table.AddColumn("field");
            table.AddColumn("value");
            table.AddRow("description", Markup.Escape(m.Description ?? ""));
            table.AddRow("created", TrackingFormat.Time(m.CreatedUtc));
            table.AddRow("latest version", TrackingFormat.Int(m.LatestVersion));
            table.AddRow("versions", TrackingFormat.Int(versions.Count));
            foreach (var (alias, v) in m.Aliases.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                table.AddRow("alias " + Markup.Escape(alias), $"{TrackingFormat.Int(v)} (models:/{Markup.Escape(m.Name)}@{Markup.Escape(alias)})");
            }

            foreach (var v in versions.Where(v => v.Stage != ModelStage.None))
            {
                table.AddRow("stage " + v.Stage, TrackingFormat.Int(v.Version));
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildVersions()
    {
        var name = NameArgument();
        var json = JsonOption();
        var cmd = new Command("versions", "List a model's versions with their stage, aliases, source run and metrics.") { name, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var versions = await store.ListModelVersionsAsync(parse.GetRequiredValue(name), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var array = new JsonArray();
                foreach (var v in versions)
                {
                    array.Add(new JsonObject
                    {
                        ["name"] = v.ModelName,
                        ["version"] = v.Version,
                        ["uri"] = v.Uri.ToString(),
                        ["stage"] = v.Stage.ToString(),
                        ["aliases"] = new JsonArray([.. v.Aliases.Select(a => (JsonNode?)JsonValue.Create(a))]),
                        ["source_run_id"] = v.SourceRunId,
                        ["bundle_sha256"] = v.BundleSha256,
                        ["feature_schema"] = v.FeatureSchema,
                        ["description"] = v.Description,
                        ["created"] = TrackingFormat.Iso(v.CreatedUtc),
                        ["metrics"] = TrackingFormat.Map(v.Metrics),
                    });
                }

                TrackingFormat.WriteJson(array);
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"versions of {Markup.Escape(parse.GetRequiredValue(name))}");
            foreach (var c in new[] { "version", "stage", "aliases", "source run", "created", "metrics" })
            {
                table.AddColumn(c);
            }

            var shortIds = CliOutput.ShortIds(versions.Where(v => v.SourceRunId is not null).Select(v => v.SourceRunId!));
            foreach (var v in versions)
            {
                table.AddRow(
                    TrackingFormat.Int(v.Version), v.Stage.ToString(), Markup.Escape(string.Join(", ", v.Aliases)), Markup.Escape(v.SourceRunId is null ? "" : CliOutput.Id(v.SourceRunId, shortIds)),
                    TrackingFormat.Time(v.CreatedUtc),
                    Markup.Escape(string.Join(" ", v.Metrics.OrderBy(kv => kv.Key, StringComparer.Ordinal).Take(3).Select(kv => $"{kv.Key}={TrackingFormat.Number(kv.Value)}"))));
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildHistory()
    {
        var name = NameArgument();
        var target = new Option<string?>("--target") { Description = "Only changes of this alias or stage." };
        var json = JsonOption();
        var cmd = new Command("history", "Every alias and stage change of a model: who, when, from-version, to-version, reason.") { name, target, json };
        var storeArgs = new StoreArgs().AddTo(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenExistingAsync(parse, ct).ConfigureAwait(false);
            var entries = await store.GetHistoryAsync(parse.GetRequiredValue(name), parse.GetValue(target), ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                var array = new JsonArray();
                foreach (var e in entries)
                {
                    array.Add(ToJson(e));
                }

                TrackingFormat.WriteJson(array);
                return CliApp.Ok;
            }

            var table = new Table().Border(TableBorder.Rounded).Title($"history of {Markup.Escape(parse.GetRequiredValue(name))}");
            foreach (var c in new[] { "when", "who", "action", "target", "from", "to", "reason" })
            {
                table.AddColumn(c);
            }

            foreach (var e in entries)
            {
                table.AddRow(
                    TrackingFormat.Time(e.TimestampUtc), Markup.Escape(e.Actor), Action(e.Action), Markup.Escape(e.Target),
                    TrackingFormat.Int(e.FromVersion), TrackingFormat.Int(e.ToVersion), Markup.Escape(e.Reason ?? ""));
            }

            CliOutput.Write(table);
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildAliasSet()
    {
        var name = NameArgument();
        var alias = new Argument<string>("ALIAS") { Description = "The alias, e.g. champion." };
        var version = new Argument<string>("VERSION") { Description = "The version the alias points to (a whole number)." };
        var reason = ReasonOption();
        var json = CliOutput.JsonOption("Print the recorded history entry as JSON.");
        var cmd = new Command("set", "Point an alias at a version (recorded in the history): models alias set NAME ALIAS VERSION.") { name, alias, version, reason, json };
        var storeArgs = new StoreArgs().AddTo(cmd, withUser: true);
        cmd.SetAction(async (parse, ct) =>
        {
            var (target, number) = TargetAndVersion(parse.GetRequiredValue(alias), parse.GetRequiredValue(version), "ALIAS", "models alias set NAME ALIAS VERSION");
            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var e = await store.SetAliasAsync(parse.GetRequiredValue(name), target, number, storeArgs.Actor(parse), parse.GetValue(reason), ct)
                .ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(ToJson(e));
                return CliApp.Ok;
            }

            Terminal.Out.WriteLine($"{e.ModelName}@{e.Target}: {Move(e)} (by {e.Actor})");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildAliasDelete()
    {
        var name = NameArgument();
        var alias = new Argument<string>("ALIAS") { Description = "The alias to remove." };
        var reason = ReasonOption();
        var json = CliOutput.JsonOption("Print the recorded history entry as JSON.");
        var cmd = new Command("delete", "Remove an alias (recorded in the history).") { name, alias, reason, json };
        var storeArgs = new StoreArgs().AddTo(cmd, withUser: true);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var e = await store.DeleteAliasAsync(parse.GetRequiredValue(name), parse.GetRequiredValue(alias), storeArgs.Actor(parse), parse.GetValue(reason), ct)
                .ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                TrackingFormat.WriteJson(ToJson(e));
                return CliApp.Ok;
            }

            Terminal.Out.WriteLine($"{e.ModelName}@{e.Target} deleted (was version {TrackingFormat.Int(e.FromVersion)}; by {e.Actor})");
            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildStageSet()
    {
        var name = NameArgument();
        var stage = new Argument<string>("STAGE") { Description = "None, Staging, Production or Archived." };
        var version = new Argument<string>("VERSION") { Description = "The version to move (a whole number)." };
        var reason = ReasonOption();
        var archive = new Option<bool>("--archive-existing") { Description = "Move the other versions in that stage to Archived." };
        var stageJson = CliOutput.JsonOption("Print the recorded history entries as a JSON array.");
        var cmd = new Command("set", "Move a version to a stage (recorded in the history): models stage set NAME STAGE VERSION, the order of 'models alias set'.")
        {
            name, stage, version, reason, archive, stageJson,
        };
        var storeArgs = new StoreArgs().AddTo(cmd, withUser: true);
        cmd.SetAction(async (parse, ct) =>
        {
            var (stageText, number) = TargetAndVersion(parse.GetRequiredValue(stage), parse.GetRequiredValue(version), "STAGE", "models stage set NAME STAGE VERSION");
            if (!Enum.TryParse<ModelStage>(stageText, ignoreCase: true, out var target) || !Enum.IsDefined(target) || char.IsAsciiDigit(stageText[0]))
            {
                throw new CliUsageException($"STAGE must be None, Staging, Production or Archived, got '{stageText}'");
            }

            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var entries = await store.SetStageAsync(parse.GetRequiredValue(name), number, target, storeArgs.Actor(parse), parse.GetValue(reason), parse.GetValue(archive), ct)
                .ConfigureAwait(false);
            if (parse.GetValue(stageJson))
            {
                TrackingFormat.WriteJson(new JsonArray([.. entries.Select(e => (JsonNode?)ToJson(e))]));
                return CliApp.Ok;
            }

            foreach (var e in entries)
            {
                Terminal.Out.WriteLine($"{e.ModelName} version {TrackingFormat.Int(e.ToVersion ?? e.FromVersion)}: {e.FromStage?.ToString() ?? "?"} -> {e.Target} (by {e.Actor})");
            }

            return CliApp.Ok;
        });
        return cmd;
    }

    private static Command BuildRollback()
    {
        var name = NameArgument();
        var alias = new Option<string>("--alias") { Description = "The alias to point back at its previous version.", DefaultValueFactory = _ => "champion" };
        var reason = ReasonOption();
        var rollbackJson = CliOutput.JsonOption("Print the recorded history entry as JSON (from_version, to_version).");
        var cmd = new Command("rollback",
            "Point an alias back one step in its history (recorded): each call walks back once more (3 -> 2 -> 1), as an undo of 'models alias set'.")
        {
            name, alias, reason, rollbackJson,
        };
        var storeArgs = new StoreArgs().AddTo(cmd, withUser: true);
        cmd.SetAction(async (parse, ct) =>
        {
            await using var store = await storeArgs.OpenAsync(parse, ct).ConfigureAwait(false);
            var e = await store.RollbackAliasAsync(parse.GetRequiredValue(name), parse.GetRequiredValue(alias), storeArgs.Actor(parse), parse.GetValue(reason), ct)
                .ConfigureAwait(false);
            if (parse.GetValue(rollbackJson))
            {
                TrackingFormat.WriteJson(ToJson(e));
                return CliApp.Ok;
            }

            Terminal.Out.WriteLine($"rolled back {e.ModelName}@{e.Target}: {Move(e)} (by {e.Actor}); 'models history {e.ModelName}' lists the moves");
            return CliApp.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// The target (alias or stage) and version of <c>set NAME TARGET VERSION</c>; the old order of <c>stage set</c>
    /// (<c>NAME VERSION STAGE</c>) is accepted with a deprecation line.
    /// </summary>
    internal static (string Target, int Version) TargetAndVersion(string target, string version, string targetName, string usage)
    {
        if (TryVersion(version, out var v))
        {
            return (target, v);
        }

        if (TryVersion(target, out v) && !TryVersion(version, out _))
        {
            Terminal.Note($"vigil: warning: the order VERSION {targetName} is deprecated and will be removed; use {usage}");
            return (version, v);
        }

        throw new CliUsageException($"VERSION must be a whole number >= 1, got '{version}' (usage: {usage})");
    }

    private static bool TryVersion(string text, out int version) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out version) && version >= 1;

    private static string Move(RegistryHistoryEntry e) =>
        e.FromVersion is null
            ? $"-> version {TrackingFormat.Int(e.ToVersion)}"
            : $"version {TrackingFormat.Int(e.FromVersion)} -> version {TrackingFormat.Int(e.ToVersion)}";

    private static string Action(RegistryAction a) => a switch
    {
        RegistryAction.SetAlias => "set-alias",
        RegistryAction.DeleteAlias => "delete-alias",
        RegistryAction.Rollback => "rollback",
        _ => "set-stage",
    };

    private static string Aliases(RegisteredModel m) =>
        string.Join(", ", m.Aliases.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.ToString(CultureInfo.InvariantCulture)}"));

    private static JsonObject ToJson(RegisteredModel m)
    {
        var aliases = new JsonObject();
        foreach (var (k, v) in m.Aliases.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            aliases[k] = v;
        }

        return new JsonObject
        {
            ["name"] = m.Name,
            ["description"] = m.Description,
            ["created"] = TrackingFormat.Iso(m.CreatedUtc),
            ["latest_version"] = m.LatestVersion,
            ["aliases"] = aliases,
        };
    }

    private static JsonObject ToJson(RegistryHistoryEntry e) => new()
    {
        ["id"] = e.Id,
        ["model"] = e.ModelName,
        ["action"] = Action(e.Action),
        ["target"] = e.Target,
        ["from_version"] = e.FromVersion,
        ["to_version"] = e.ToVersion,
        ["from_stage"] = e.FromStage?.ToString(),
        ["actor"] = e.Actor,
        ["reason"] = e.Reason,
        ["timestamp"] = TrackingFormat.Iso(e.TimestampUtc),
    };
}
