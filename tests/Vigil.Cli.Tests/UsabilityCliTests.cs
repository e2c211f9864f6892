using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Vigil.Data;

namespace Vigil.Cli.Tests;

/// <summary>Generated data and three tracked iforest runs registered as versions 1-3 of "ux", made once for these tests.</summary>
public sealed class UsabilityFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public UsabilityFixture()
    {
        Run("generate", "transactions", "--rows", "3000", "--seed", "7", "--out", "tx.csv").ShouldSucceed();
        RunIds = new string[3];
        for (var i = 0; i < 3; i++)
        {
            var r = Run("train", "--data", "tx.csv", "--label", "label", "--seed", (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--estimators", "20", "--experiment", "ux", "--register", "ux", "--json");
            r.ShouldSucceed();
            using var json = JsonDocument.Parse(r.StdOut);
            RunIds[i] = json.RootElement.GetProperty("run_id").GetString()!;
            TrainJson ??= r.StdOut;
            TrainStdErr ??= r.StdErr;
        }
    }

    public string Dir => _dir.Path;

    public string Home => _dir.File("home");

    public string[] RunIds { get; }

    /// <summary>The --json output and stderr of the first training.</summary>
    public string TrainJson { get; } = null!;

    public string TrainStdErr { get; } = null!;

    internal VigilResult Run(params string[] args) => VigilProcess.RunInProcess(_dir.Path, Home, args);

    internal VigilResult RunOnTerminal(int width, params string[] args) => VigilProcess.RunInProcess(_dir.Path, Home, width, args);

    public void Dispose() => _dir.Dispose();
}

/// <summary>Issue 15: guidance, output that fits, one vocabulary, --json, id-like columns, rollback.</summary>
public sealed class UsabilityCliTests(UsabilityFixture fx) : IClassFixture<UsabilityFixture>
{
    [Theory]
    [InlineData(new[] { "trian" }, "'trian' is not a vigil command; did you mean 'train'?")]
    [InlineData(new[] { "models", "lst" }, "'lst' is not a vigil models command; did you mean 'list'?")]
    [InlineData(new[] { "train", "--dat", "x.csv" }, "unknown option '--dat' for 'vigil train'; did you mean '--data'?")]
    [InlineData(new[] { "runs", "list", "--experment", "x" }, "did you mean '--experiment'?")]
    [InlineData(new[] { "models" }, "'vigil models' needs a command: list, show")]
    public void A_mistyped_command_or_option_is_named_with_the_nearest_one_and_exit_code_2(string[] args, string expected)
    {
        var r = fx.Run(args);
        r.ShouldFailWithOneLine(expected);
    }

    [Theory]
    [InlineData(new[] { "promote", "ux" }, "'vigil promote' needs --candidate, --data, --label (see 'vigil promote --help')")]
    [InlineData(new[] { "promote" }, "'vigil promote' needs NAME, --candidate, --data, --label")]
    [InlineData(new[] { "generate", "transactions", "--rows", "10" }, "'vigil generate transactions' needs --out")]
    [InlineData(new[] { "models", "alias", "set", "ux" }, "'vigil models alias set' needs ALIAS, VERSION")]
    public void Every_missing_required_option_and_argument_is_named_in_one_line(string[] args, string expected)
    {
        var r = fx.Run(args);
        r.ShouldFailWithOneLine(expected);
    }

    [Fact]
    public void A_word_far_from_every_command_lists_them_instead()
    {
        fx.Run("zzzzzz").ShouldFailWithOneLine("'zzzzzz' is not a vigil command; the commands are: generate, train, score");
    }

    [Theory]
    [InlineData("trian", "train")]
    [InlineData("sever", "serve")]
    [InlineData("modles", "models")]
    [InlineData("qiuckstart", "quickstart")]
    public void Nearest_uses_edit_distance_with_swaps(string word, string expected) =>
        Guidance.Nearest(word, ["generate", "train", "score", "serve", "models", "quickstart"]).ShouldBe(expected);

    [Fact]
    public void A_bad_version_number_says_what_is_expected_without_a_dotnet_type()
    {
        var r = fx.Run("models", "alias", "set", "ux", "champion", "latest");
        r.ShouldFailWithOneLine("VERSION must be a whole number");
        r.StdErr.ShouldNotContain("System.");
    }

    [Fact]
    public void Sanitize_removes_parameter_suffixes_and_type_names()
    {
        Guidance.Sanitize("the label column 'y' is not in the data (Parameter 'data')").ShouldBe("the label column 'y' is not in the data");
        Guidance.Sanitize("Cannot parse argument 'x' for command 'set' expected type 'System.Int32'.").ShouldBe("Cannot parse argument 'x' for command 'set' expected a whole number.");
        Guidance.Sanitize("value of System.Double out of range").ShouldBe("value of a number out of range");
        Guidance.Sanitize("IsolationForestOptions.MaxSamples must be at least 2. (Parameter 'MaxSamples')").ShouldBe("max-samples must be at least 2.");
    }

    /// <summary>
    /// Every exception type a user can see (a <see cref="VigilException"/>, or the argument, format and I/O exceptions the
    /// CLI reports as one line), found by reflection over the Vigil assemblies; then every throw site of those types in
    /// src/ is read, and the message text must not name .NET types, options records or parameters.
    /// </summary>
    [Fact]
    public void No_user_facing_exception_message_names_dotnet_types_or_parameters()
    {
        var assemblies = new[]
        {
            typeof(VigilException).Assembly, typeof(Vigil.Detectors.ModelBundle).Assembly, typeof(Vigil.Lifecycle.ModelLifecycle).Assembly,
            typeof(Vigil.Tracking.ITrackingStore).Assembly, typeof(Vigil.Serving.ServingConfigurationException).Assembly, typeof(CliApp).Assembly,
            typeof(Vigil.Fx.FxDataException).Assembly, typeof(Vigil.Monitoring.DriftException).Assembly,
        };
        var userFacing = new HashSet<string>(StringComparer.Ordinal)
        {
            nameof(ArgumentException), nameof(ArgumentOutOfRangeException), nameof(FormatException), nameof(InvalidDataException),
            nameof(IOException), nameof(KeyNotFoundException), nameof(FileNotFoundException), nameof(DirectoryNotFoundException),
        };
        foreach (var type in assemblies.SelectMany(a => a.GetTypes()).Where(t => typeof(Exception).IsAssignableFrom(t)))
        {
            if (typeof(VigilException).IsAssignableFrom(type) || typeof(ArgumentException).IsAssignableFrom(type) || typeof(IOException).IsAssignableFrom(type))
            {
                userFacing.Add(type.Name);
            }
        }

        userFacing.ShouldContain("BundleException");
        userFacing.ShouldContain("CliUsageException");
        var src = Path.Combine(RepoRoot(), "src");
        var throwSite = new Regex(@"throw\s+new\s+([A-Za-z.]+)\s*\((.*?)\);", RegexOptions.Singleline);
        var forbidden = new Regex(@"\(Parameter '|\bSystem\.[A-Z]|\b[A-Z][A-Za-z]*(Spec|Options|Policy|Quantiles)\.[A-Z]|\{nameof\([A-Za-z]+(Spec|Options)\.");
        var offenders = new List<string>();
        var sites = 0;
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains("/bin/", StringComparison.Ordinal) || file.Contains("/obj/", StringComparison.Ordinal))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            foreach (Match m in throwSite.Matches(text))
            {
                var type = m.Groups[1].Value.Split('.')[^1];
                if (!userFacing.Contains(type))
                {
                    continue;
                }

                sites++;
                foreach (var (literalText, holes) in Literals(m.Groups[2].Value))
                {
                    if (forbidden.IsMatch(literalText) || holes.Contains("nameof(", StringComparison.Ordinal) && forbidden.IsMatch("{" + holes))
                    {
                        var line = text[..m.Index].Count(c => c == '\n') + 1;
                        offenders.Add($"{Path.GetRelativePath(src, file)}:{line}: {literalText} {holes}");
                    }
                }
            }
        }

        sites.ShouldBeGreaterThan(200, "the scan found the throw sites");
        offenders.ShouldBeEmpty(string.Join(Environment.NewLine, offenders));
    }

    [Fact]
    public void An_unpackable_zip_entry_is_named()
    {
        using var dir = new TempDir();
        var zip = dir.File("model.zip");
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Create))
        {
            using var w = new StreamWriter(archive.CreateEntry("bundle.json").Open());
            w.Write("{}");
        }

        // Compression method 9 (Deflate64) in the local and central headers: .NET cannot unpack it.
        var bytes = File.ReadAllBytes(zip);
        for (var i = 0; i + 10 < bytes.Length; i++)
        {
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 0x03 && bytes[i + 3] == 0x04)
            {
                bytes[i + 8] = 9;
            }
            else if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 0x01 && bytes[i + 3] == 0x02)
            {
                bytes[i + 10] = 9;
            }
        }

        File.WriteAllBytes(zip, bytes);
        var r = VigilProcess.RunInProcess(dir.Path, dir.File("home"), "score", "--model", "model.zip", "--data", Path.Combine(fx.Dir, "tx.csv"), "--out", "s.csv");
        r.ShouldFailWithOneLine("model.zip", "bundle.json");
    }

    [Fact]
    public void Runs_list_fits_80_columns_with_short_unique_ids()
    {
        var r = fx.RunOnTerminal(80, "runs", "list", "--experiment", "ux");
        r.ShouldSucceed();
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var line in lines)
        {
            line.TrimEnd().Length.ShouldBeLessThanOrEqualTo(80, line);
        }

        r.StdOut.ShouldContain("╭");
        foreach (var id in fx.RunIds)
        {
            // the id shortened to 8 characters (unique here) sits whole on the run's row, with its status
            var row = lines.Single(l => l.Contains(id[..8], StringComparison.Ordinal));
            row.ShouldContain("FINISHED");
            r.StdOut.ShouldNotContain(id);
        }
    }

    [Fact]
    public void Piped_output_is_tab_separated_without_box_drawing()
    {
        var r = fx.Run("runs", "list", "--experiment", "ux");
        r.ShouldSucceed();
        r.StdOut.IndexOfAny(['│', '─', '╭', '┌', '|']).ShouldBe(-1);
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldStartWith("# runs in ");
        lines[1].Split('\t').ShouldBe(["run id", "experiment", "name", "status", "started", "took", "metrics"]);
        lines.Length.ShouldBe(2 + fx.RunIds.Length);
        foreach (var id in fx.RunIds)
        {
            lines.Count(l => l.Split('\t')[0] == id).ShouldBe(1, "piped output keeps whole ids");
        }
    }

    [Fact]
    public void Every_run_id_argument_takes_a_unique_prefix()
    {
        var id = fx.RunIds[1];
        var show = fx.Run("runs", "show", id[..8], "--json");
        show.ShouldSucceed();
        JsonDocument.Parse(show.StdOut).RootElement.GetProperty("run_id").GetString().ShouldBe(id);

        var compare = fx.Run("runs", "compare", fx.RunIds[0][..8], id[..6], "--json");
        compare.ShouldSucceed();
        JsonDocument.Parse(compare.StdOut).RootElement.GetProperty("runs")[1].GetProperty("run_id").GetString().ShouldBe(id);

        fx.Run("runs", "show", "0000ffff").ShouldFailWithOneLine("run '0000ffff' not found");
        fx.Run("runs", "show", "").ExitCode.ShouldBe(2);
    }

    [Fact]
    public void CliOutput_short_ids_grow_until_unique()
    {
        var ids = CliOutput.ShortIds(["abcdef0123456789", "abcdef0199999999", "ffffffff00000000"]);
        ids["abcdef0123456789"].ShouldBe("abcdef012");
        ids["abcdef0199999999"].ShouldBe("abcdef019");
        ids["ffffffff00000000"].ShouldBe("ffffffff");
    }

    [Fact]
    public void Train_json_has_run_version_paths_features_and_metrics()
    {
        using var json = JsonDocument.Parse(fx.TrainJson);
        var root = json.RootElement;
        root.GetProperty("run_id").GetString().ShouldBe(fx.RunIds[0]);
        root.GetProperty("experiment").GetString().ShouldBe("ux");
        root.GetProperty("model").GetProperty("name").GetString().ShouldBe("ux");
        root.GetProperty("model").GetProperty("version").GetInt32().ShouldBe(1);
        root.GetProperty("model").GetProperty("uri").GetString().ShouldBe("models:/ux/1");
        root.GetProperty("bundle").ValueKind.ShouldBe(JsonValueKind.Null);
        root.GetProperty("kind").GetString().ShouldBe("iforest");
        root.GetProperty("rows").GetInt32().ShouldBe(3000);
        root.GetProperty("threshold").ValueKind.ShouldBe(JsonValueKind.Number);
        root.GetProperty("metrics").GetProperty("train_auc_pr").GetDouble().ShouldBeInRange(0.0, 1.0);
        var features = root.GetProperty("features").EnumerateArray().Select(e => e.GetString()).ToList();
        features.ShouldContain("amount");
        features.ShouldNotContain("customer_id");
        features.ShouldNotContain("merchant_id");
        root.GetProperty("excluded_id_columns").EnumerateArray().Select(e => e.GetString()).ShouldBe(["customer_id", "merchant_id"]);
    }

    [Fact]
    public void Id_like_columns_are_left_out_with_one_line_and_include_keeps_one()
    {
        fx.TrainStdErr.ShouldContain("left out id-like columns customer_id, merchant_id");
        fx.TrainStdErr.ShouldContain("--include COL keeps one");

        using var dir = new TempDir();
        var r = VigilProcess.RunInProcess(dir.Path, dir.File("home"), "train", "--data", Path.Combine(fx.Dir, "tx.csv"), "--estimators", "10",
            "--include", "merchant_id", "--out", "m");
        r.ShouldSucceed();
        var features = r.StdOut.Split('\n').Single(l => l.StartsWith("features: ", StringComparison.Ordinal));
        features.ShouldContain("merchant_id");
        features.ShouldNotContain("customer_id");
        r.StdErr.ShouldContain("left out id-like column customer_id");
    }

    [Fact]
    public void Score_json_has_model_output_and_counts()
    {
        using var dir = new TempDir();
        var r = VigilProcess.RunInProcess(dir.Path, fx.Home, "score", "--model", "models:/ux/2", "--data", Path.Combine(fx.Dir, "tx.csv"), "--out", "s.csv", "--json");
        r.ShouldSucceed();
        using var json = JsonDocument.Parse(r.StdOut);
        var root = json.RootElement;
        root.GetProperty("model").GetProperty("name").GetString().ShouldBe("ux");
        root.GetProperty("model").GetProperty("version").GetInt32().ShouldBe(2);
        root.GetProperty("model").GetProperty("kind").GetString().ShouldBe("iforest");
        root.GetProperty("output").GetString().ShouldBe(dir.File("s.csv"));
        root.GetProperty("rows").GetInt64().ShouldBe(3000);
        root.GetProperty("flagged").GetInt64().ShouldBeInRange(1, 3000);
        root.GetProperty("seconds").ValueKind.ShouldBe(JsonValueKind.Number);
    }

    [Fact]
    public void Old_spellings_work_with_one_deprecation_line()
    {
        using var dir = new TempDir();
        var r = VigilProcess.RunInProcess(dir.Path, dir.File("home"), "train", "--data", Path.Combine(fx.Dir, "tx.csv"), "--model", "iforest",
            "--iterations", "10", "--out", "m", "--json");
        r.ShouldSucceed();
        r.StdErr.ShouldContain("vigil: warning: 'vigil train --model' is deprecated and will be removed; use --kind");
        r.StdErr.ShouldContain("use --estimators");
        JsonDocument.Parse(r.StdOut).RootElement.GetProperty("kind").GetString().ShouldBe("iforest");

        var list = fx.Run("runs", "list", "--max", "1");
        list.ShouldSucceed();
        list.StdErr.ShouldContain("'vigil runs list --max' is deprecated");
        list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length.ShouldBe(3);

        // the help shows the new spellings only
        var help = fx.Run("train", "--help");
        help.StdOut.ShouldContain("--kind");
        help.StdOut.ShouldNotContain("--model");
    }

    [Fact]
    public void Alias_and_stage_set_take_NAME_TARGET_VERSION_and_the_old_stage_order_with_a_warning()
    {
        var r = fx.Run("models", "stage", "set", "ux", "Staging", "1");
        r.ShouldSucceed();
        r.StdOut.ShouldContain("ux version 1:");
        var old = fx.Run("models", "stage", "set", "ux", "1", "None");
        old.ShouldSucceed();
        old.StdErr.ShouldContain("the order VERSION STAGE is deprecated");
    }

    [Fact]
    public void Rollback_walks_back_the_alias_history_one_step_per_call()
    {
        foreach (var v in new[] { "1", "2", "3" })
        {
            fx.Run("models", "alias", "set", "ux", "walk", v).ShouldSucceed();
        }

        var first = fx.Run("models", "rollback", "ux", "--alias", "walk");
        first.ShouldSucceed();
        first.StdOut.ShouldContain("rolled back ux@walk: version 3 -> version 2");
        var second = fx.Run("models", "rollback", "ux", "--alias", "walk");
        second.ShouldSucceed();
        second.StdOut.ShouldContain("rolled back ux@walk: version 2 -> version 1");
        fx.Run("models", "rollback", "ux", "--alias", "walk").ShouldFailWithOneLine("no previous version");
        var set = fx.Run("models", "alias", "set", "ux", "walk", "3", "--json");
        set.ShouldSucceed();
        using (var e = JsonDocument.Parse(set.StdOut))
        {
            (e.RootElement.GetProperty("action").GetString(), e.RootElement.GetProperty("from_version").GetInt32(), e.RootElement.GetProperty("to_version").GetInt32())
                .ShouldBe(("set-alias", 1, 3));
        }

        using var back = JsonDocument.Parse(fx.Run("models", "rollback", "ux", "--alias", "walk", "--json").StdOut);
        (back.RootElement.GetProperty("action").GetString(), back.RootElement.GetProperty("to_version").GetInt32()).ShouldBe(("rollback", 1));
    }

    [Fact]
    public void Grid_keys_and_params_accept_kebab_case_and_the_old_lightgbm_name()
    {
        var spec = new Vigil.Detectors.TrainSpec { Model = "lightgbm", Label = "label" };
        var applied = Vigil.Detectors.TrainParameters.Apply(spec, [new("iterations", "7"), new("learning-rate", "0.2"), new("min_rows_per_leaf", "5")]);
        var p = Vigil.Detectors.TrainParameters.Describe(applied);
        (p["estimators"], p["learningRate"], p["minRowsPerLeaf"]).ShouldBe(("7", "0.2", "5"));
    }

    [Fact]
    public void Completion_scripts_use_the_suggest_directive_and_it_answers()
    {
        var bash = fx.Run("completion", "bash");
        bash.ShouldSucceed();
        bash.StdOut.ShouldContain("[suggest:");
        bash.StdOut.ShouldContain("complete -o default -F _vigil_complete vigil");
        fx.Run("completion", "zsh").StdOut.ShouldContain("compdef _vigil vigil");

        var words = fx.Run("[suggest:3]", "tra");
        words.ShouldSucceed();
        words.StdOut.Split('\n', StringSplitOptions.TrimEntries).ShouldContain("train");
        fx.Run("[suggest:15]", "runs list --lim").StdOut.ShouldContain("--limit");
    }

    [Fact]
    public void Serve_refuses_a_model_that_was_never_registered_unless_told_to_wait()
    {
        var env = new Dictionary<string, string> { ["VIGIL_HOME"] = fx.Home };
        VigilProcess.Run(fx.Dir, env, "serve", "--port", "0", "--models", "nosuch")
            .ShouldFailWithOneLine("'nosuch' is not registered", "--wait-for-models");
        VigilProcess.Run(fx.Dir, env, "serve", "--port", "0", "--models", "ux,uxx")
            .ShouldFailWithOneLine("'uxx' is not registered", "did you mean 'ux'?");
    }

    [Fact]
    public void Logged_payloads_are_json_not_escaped_strings()
    {
        LogsCommand.Payload("{\"rows\":[{\"amount\":1.5}]}")!.ToJsonString().ShouldBe("{\"rows\":[{\"amount\":1.5}]}");
        LogsCommand.Payload("not json")!.GetValue<string>().ShouldBe("not json");
        LogsCommand.Payload("{truncated")!.GetValue<string>().ShouldBe("{truncated");
        LogsCommand.Payload(null).ShouldBeNull();
    }

    /// <summary>
    /// The string literals of C# code: for each, its text outside interpolation holes and the code inside its holes
    /// (quotes inside a hole, e.g. a format string, do not end the literal).
    /// </summary>
    private static List<(string Text, string Holes)> Literals(string code)
    {
        var result = new List<(string, string)>();
        var i = 0;
        while (i < code.Length)
        {
            if (code[i] == '\'')
            {
                i = code.IndexOf('\'', i + (code[i + 1] == '\\' ? 3 : 2)) + 1; // a char literal
                continue;
            }

            if (code[i] != '"')
            {
                i++;
                continue;
            }

            var interpolated = i > 0 && (code[i - 1] == '$' || (code[i - 1] == '@' && i > 1 && code[i - 2] == '$'));
            var text = new System.Text.StringBuilder();
            var holes = new System.Text.StringBuilder();
            i++;
            while (i < code.Length && code[i] != '"')
            {
                if (code[i] == '\\')
                {
                    text.Append(code, i, 2);
                    i += 2;
                }
                else if (interpolated && code[i] == '{' && i + 1 < code.Length && code[i + 1] == '{')
                {
                    text.Append('{');
                    i += 2;
                }
                else if (interpolated && code[i] == '{')
                {
                    var depth = 1;
                    i++;
                    while (i < code.Length && depth > 0)
                    {
                        if (code[i] == '"')
                        {
                            var end = code.IndexOf('"', i + 1);
                            if (end < 0)
                            {
                                return result;
                            }

                            holes.Append(code, i, end - i + 1);
                            i = end + 1;
                            continue;
                        }

                        depth += code[i] == '{' ? 1 : code[i] == '}' ? -1 : 0;
                        if (depth > 0)
                        {
                            holes.Append(code[i]);
                        }

                        i++;
                    }

                    holes.Append(' ');
                    text.Append("{}");
                }
                else
                {
                    text.Append(code[i]);
                    i++;
                }
            }

            i++;
            result.Add((text.ToString(), holes.ToString()));
        }

        return result;
    }

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Vigil.slnx")))
            {
                return d.FullName;
            }
        }

        throw new DirectoryNotFoundException("Vigil.slnx not found above " + AppContext.BaseDirectory);
    }
}
