namespace Vigil.Tracking.Tests;

/// <summary>
/// The store contract: every store backend runs these same tests (<see cref="SqliteStoreTests"/>,
/// <see cref="PostgresStoreTests"/>). Each test gets an empty store.
/// </summary>
public abstract class StoreContractTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Bundle1 = "bundle one"u8.ToArray();
    private static readonly byte[] Bundle2 = "bundle two"u8.ToArray();
    private static readonly string Sha1 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Bundle1));
    private static readonly string Sha2 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Bundle2));

    private readonly TempDir _home = new();

    private protected ManualTime Time { get; } = new(T0);

    protected string Home => _home.Path;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The store spec of this test's empty store (skips or fails when the backend is unavailable).</summary>
    protected abstract Task<string> StoreSpecAsync();

    /// <summary>Opens this test's store; its artifact store holds the bundles <see cref="Sha1"/> and <see cref="Sha2"/>.</summary>
    protected async Task<ITrackingStore> OpenAsync()
    {
        var store = await StoreFactory.OpenAsync(await StoreSpecAsync(), Home, Time, Ct);
        await store.Artifacts.PutAsync(new MemoryStream(Bundle1), Ct);
        await store.Artifacts.PutAsync(new MemoryStream(Bundle2), Ct);
        return store;
    }

    internal async Task<SqlTrackingStore> OpenAtSchemaVersionAsync(int? version) =>
        await StoreFactory.OpenSqlAsync(await StoreSpecAsync(), Home, Time, version, Ct);

    public void Dispose()
    {
        _home.Dispose();
        GC.SuppressFinalize(this);
    }

    private static MetricPoint Point(string key, double value, long step, int second = 0) =>
        new(key, value, step, T0.AddSeconds(second));

    private static NewModelVersion Bundle(string? sha = null, string? runId = null) => new()
    {
        BundleSha256 = sha ?? Sha1,
        FeatureSchema = "amount:float64,country:categorical",
        SourceRunId = runId,
        Metrics = new Dictionary<string, double> { ["auc_pr"] = 0.61, ["auc_roc"] = 0.97 },
        Description = "isolation forest",
    };

    private static async Task<ModelVersion> RegisterWithVersionsAsync(ITrackingStore store, string name, int versions)
    {
        ModelVersion last = null!;
        for (var i = 0; i < versions; i++)
        {
            last = await store.CreateModelVersionAsync(name, Bundle(), Ct);
        }
        return last;
    }

    // ------------------------------------------------------------------ schema

    [Fact]
    public async Task Opening_applies_every_migration_once()
    {
        await using (var first = await OpenAsync())
        {
            first.SchemaVersion.ShouldBe(StoreFactory.SupportedSchemaVersion);
            ((SqlTrackingStore)first).SupportedSchemaVersion.ShouldBe(StoreFactory.SupportedSchemaVersion);
        }
        await using var again = await OpenAsync();
        again.SchemaVersion.ShouldBe(StoreFactory.SupportedSchemaVersion);
        (await again.ListExperimentsAsync(Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Opening_an_older_store_upgrades_it_and_keeps_its_data()
    {
        string runId;
        await using (var old = await OpenAtSchemaVersionAsync(1))
        {
            old.SchemaVersion.ShouldBe(1);
            var run = await old.CreateRunAsync("legacy", "old-run", cancellationToken: Ct);
            await old.LogMetricsAsync(run.RunId, [Point("loss", 0.5, 1)], Ct);
            runId = run.RunId;
            await Should.ThrowAsync<Exception>(() => old.CreateRegisteredModelAsync("fraud", cancellationToken: Ct)); // no registry tables yet
        }

        await using var upgraded = await OpenAsync();
        upgraded.SchemaVersion.ShouldBe(StoreFactory.SupportedSchemaVersion);
        var kept = await upgraded.GetRunAsync(runId, Ct);
        kept.Name.ShouldBe("old-run");
        kept.LatestMetrics["loss"].Value.ShouldBe(0.5);
        var v = await upgraded.CreateModelVersionAsync("fraud", Bundle(runId: runId), Ct);
        v.Version.ShouldBe(1);
    }

    [Fact]
    public async Task A_store_written_by_a_newer_Vigil_is_refused_with_a_clear_message()
    {
        await using (var store = await OpenAtSchemaVersionAsync(null))
        {
            await store.ExecuteRawAsync("INSERT INTO schema_version (version, applied_us) VALUES (99, 0)", Ct);
        }
        var error = await Should.ThrowAsync<TrackingException>(OpenAsync);
        error.Message.ShouldStartWith($"store schema version 99 is newer than this Vigil (supports {StoreFactory.SupportedSchemaVersion}); upgrade Vigil");
    }

    // ------------------------------------------------------------------ experiments and runs

    [Fact]
    public async Task Experiments_are_created_once_by_name()
    {
        await using var store = await OpenAsync();
        var a = await store.GetOrCreateExperimentAsync("fraud-iforest", Ct);
        var b = await store.GetOrCreateExperimentAsync("fraud-iforest", Ct);
        await store.GetOrCreateExperimentAsync("another", Ct);

        b.Id.ShouldBe(a.Id);
        a.CreatedUtc.ShouldBe(T0);
        (await store.FindExperimentAsync("missing", Ct)).ShouldBeNull();
        (await store.ListExperimentsAsync(Ct)).Select(e => e.Name).ShouldBe(["another", "fraud-iforest"]);
    }

    [Fact]
    public async Task A_new_run_is_running_with_its_start_time_tags_and_code_version()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", "baseline", new Dictionary<string, string> { ["team"] = "fx" }, "0123456789abcdef0123456789abcdef01234567", cancellationToken: Ct);

        run.RunId.Length.ShouldBe(32);
        run.ExperimentName.ShouldBe("exp");
        run.Name.ShouldBe("baseline");
        run.Status.ShouldBe(RunStatus.Running);
        run.StartTimeUtc.ShouldBe(T0);
        run.EndTimeUtc.ShouldBeNull();
        run.Tags["team"].ShouldBe("fx");
        run.CodeVersion.ShouldBe("0123456789abcdef0123456789abcdef01234567");
        run.ProcessId.ShouldBe(Environment.ProcessId);
        run.ParentRunId.ShouldBeNull();
        (await store.CreateRunAsync("exp", cancellationToken: Ct)).Name.ShouldStartWith("run-");
    }

    [Fact]
    public async Task Child_runs_record_their_parent_and_are_listed_by_it()
    {
        await using var store = await OpenAsync();
        var search = await store.CreateRunAsync("search", "search-iforest", cancellationToken: Ct);
        var other = await store.CreateRunAsync("search", "unrelated", cancellationToken: Ct);
        var a = await store.CreateRunAsync("search", "trial-001", parentRunId: search.RunId, cancellationToken: Ct);
        Time.Advance(TimeSpan.FromSeconds(1));
        var b = await store.CreateRunAsync("search", "trial-002", parentRunId: search.RunId, cancellationToken: Ct);
        await store.CreateRunAsync("search", "grandchild", parentRunId: a.RunId, cancellationToken: Ct);

        a.ParentRunId.ShouldBe(search.RunId);
        (await store.GetRunAsync(b.RunId, Ct)).ParentRunId.ShouldBe(search.RunId);
        (await store.GetRunAsync(other.RunId, Ct)).ParentRunId.ShouldBeNull();
        var children = await store.ListRunsAsync("search", new RunFilter { ParentRunId = search.RunId }, Ct);
        children.Select(r => r.Name).ShouldBe(["trial-002", "trial-001"]);
        (await store.ListRunsAsync(null, new RunFilter { ParentRunId = other.RunId }, Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_child_of_an_unknown_run_is_refused()
    {
        await using var store = await OpenAsync();
        var missing = new string('a', 32);
        var error = await Should.ThrowAsync<TrackingException>(() => store.CreateRunAsync("search", parentRunId: missing, cancellationToken: Ct));
        error.Message.ShouldStartWith($"parent run '{missing}' not found");
        (await store.ListRunsAsync(null, cancellationToken: Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task Runs_of_a_store_upgraded_to_parent_runs_have_no_parent()
    {
        string runId;
        await using (var old = await OpenAtSchemaVersionAsync(3))
        {
            var run = await old.CreateRunAsync("legacy", "old-run", cancellationToken: Ct);
            run.ParentRunId.ShouldBeNull();
            await Should.ThrowAsync<TrackingException>(() => old.CreateRunAsync("legacy", parentRunId: run.RunId, cancellationToken: Ct));
            runId = run.RunId;
        }

        await using var upgraded = await OpenAsync();
        (await upgraded.GetRunAsync(runId, Ct)).ParentRunId.ShouldBeNull();
        var child = await upgraded.CreateRunAsync("legacy", "new-child", parentRunId: runId, cancellationToken: Ct);
        (await upgraded.ListRunsAsync("legacy", new RunFilter { ParentRunId = runId }, Ct)).Single().RunId.ShouldBe(child.RunId);
    }

    [Fact]
    public async Task Ending_a_run_records_status_and_end_time_once()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        Time.Advance(TimeSpan.FromMinutes(5));

        await store.EndRunAsync(run.RunId, RunStatus.Finished, Ct);

        var ended = await store.GetRunAsync(run.RunId, Ct);
        ended.Status.ShouldBe(RunStatus.Finished);
        ended.EndTimeUtc.ShouldBe(T0.AddMinutes(5));
        var again = await Should.ThrowAsync<TrackingException>(() => store.EndRunAsync(run.RunId, RunStatus.Killed, Ct));
        again.Message.ShouldContain("already FINISHED");
    }

    [Fact]
    public async Task A_run_left_running_can_be_marked_failed()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        Time.Advance(TimeSpan.FromSeconds(30));

        await store.SetRunStatusAsync(run.RunId, RunStatus.Failed, Ct);

        var failed = await store.GetRunAsync(run.RunId, Ct);
        failed.Status.ShouldBe(RunStatus.Failed);
        failed.EndTimeUtc.ShouldBe(T0.AddSeconds(30));
    }

    [Fact]
    public async Task Runs_of_a_process_that_died_are_marked_failed_and_live_runs_are_kept()
    {
        var spec = await StoreSpecAsync();
        await using var store = await OpenAsync();
        var mine = await store.CreateRunAsync("exp", "alive", cancellationToken: Ct);
        var (exit, stdout, stderr) = await Worker.RunAsync(Ct, "create-run", spec, Home, "exp");
        exit.ShouldBe(3, stderr);
        var crashedId = stdout.Trim();

        var failed = await store.FailOrphanedRunsAsync(Ct);

        failed.ShouldBe([crashedId]);
        (await store.GetRunAsync(crashedId, Ct)).Status.ShouldBe(RunStatus.Failed);
        (await store.GetRunAsync(mine.RunId, Ct)).Status.ShouldBe(RunStatus.Running);
    }

    [Fact]
    public async Task Unknown_runs_are_reported_by_id()
    {
        await using var store = await OpenAsync();
        var error = await Should.ThrowAsync<TrackingException>(() => store.GetRunAsync("feedface", Ct));
        error.Message.ShouldContain("run 'feedface' not found");
        (await Should.ThrowAsync<TrackingException>(() => store.LogMetricsAsync("feedface", [Point("m", 1, 0)], Ct)))
            .Message.ShouldContain("feedface");
        (await Should.ThrowAsync<TrackingException>(() => store.LogParamsAsync("feedface", new Dictionary<string, string> { ["a"] = "1" }, Ct)))
            .Message.ShouldContain("feedface");
    }

    [Fact]
    public async Task Params_are_immutable_and_tags_can_change()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        await store.LogParamsAsync(run.RunId, new Dictionary<string, string> { ["trees"] = "200", ["sample"] = "256" }, Ct);
        await store.LogParamsAsync(run.RunId, new Dictionary<string, string> { ["trees"] = "200" }, Ct); // same value: fine
        await store.SetTagsAsync(run.RunId, new Dictionary<string, string> { ["stage"] = "draft" }, Ct);
        await store.SetTagsAsync(run.RunId, new Dictionary<string, string> { ["stage"] = "final" }, Ct);

        var error = await Should.ThrowAsync<TrackingException>(() =>
            store.LogParamsAsync(run.RunId, new Dictionary<string, string> { ["trees"] = "300" }, Ct));

        error.Message.ShouldContain("param 'trees'");
        error.Message.ShouldContain("'200'");
        var saved = await store.GetRunAsync(run.RunId, Ct);
        saved.Params.ShouldBe(new Dictionary<string, string> { ["sample"] = "256", ["trees"] = "200" });
        saved.Tags["stage"].ShouldBe("final");
    }

    [Fact]
    public async Task Invalid_keys_are_rejected_with_the_key_in_the_message()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        var error = await Should.ThrowAsync<TrackingException>(() => store.LogMetricsAsync(run.RunId, [Point("bad\nkey", 1, 0)], Ct));
        error.Message.ShouldContain("invalid metric key");
    }

    [Fact]
    public async Task Metric_series_keep_every_point_in_step_order_and_the_latest_point_per_key()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        await store.LogMetricsAsync(run.RunId, [Point("loss", 0.9, 0, 0), Point("loss", 0.5, 2, 2), Point("auc", 0.8, 0, 0)], Ct);
        await store.LogMetricsAsync(run.RunId, [Point("loss", 0.7, 1, 3), Point("loss", double.NaN, 3, 4), Point("loss", double.PositiveInfinity, 3, 5)], Ct);

        var loss = await store.GetMetricHistoryAsync(run.RunId, "loss", Ct);

        loss.Select(p => p.Step).ShouldBe([0L, 1, 2, 3, 3]);
        loss[0].ShouldBe(Point("loss", 0.9, 0, 0));
        loss[1].ShouldBe(Point("loss", 0.7, 1, 3));
        double.IsNaN(loss[3].Value).ShouldBeTrue();
        loss[4].Value.ShouldBe(double.PositiveInfinity);
        var latest = (await store.GetRunAsync(run.RunId, Ct)).LatestMetrics;
        latest["loss"].ShouldBe(Point("loss", double.PositiveInfinity, 3, 5));
        latest["auc"].Value.ShouldBe(0.8);
        (await store.GetMetricHistoryAsync(run.RunId, "missing", Ct)).ShouldBeEmpty();
    }

    [Fact]
    public async Task A_late_point_with_a_lower_step_does_not_replace_the_latest_metric()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        await store.LogMetricsAsync(run.RunId, [Point("loss", 0.2, 10, 10)], Ct);
        await store.LogMetricsAsync(run.RunId, [Point("loss", 0.9, 1, 20)], Ct);

        (await store.GetRunAsync(run.RunId, Ct)).LatestMetrics["loss"].Value.ShouldBe(0.2);
    }

    [Fact]
    public async Task Runs_are_listed_newest_first_and_filtered()
    {
        await using var store = await OpenAsync();
        var a = await store.CreateRunAsync("exp", "iforest-a", new Dictionary<string, string> { ["detector"] = "iforest" }, cancellationToken: Ct);
        Time.Advance(TimeSpan.FromSeconds(1));
        var b = await store.CreateRunAsync("exp", "iforest-b", new Dictionary<string, string> { ["detector"] = "iforest" }, cancellationToken: Ct);
        Time.Advance(TimeSpan.FromSeconds(1));
        var c = await store.CreateRunAsync("exp", "autoencoder", new Dictionary<string, string> { ["detector"] = "ae" }, cancellationToken: Ct);
        await store.CreateRunAsync("other", "elsewhere", cancellationToken: Ct);
        await store.EndRunAsync(b.RunId, cancellationToken: Ct);
        await store.LogParamsAsync(a.RunId, new Dictionary<string, string> { ["trees"] = "100" }, Ct);

        (await store.ListRunsAsync("exp", cancellationToken: Ct)).Select(r => r.RunId).ShouldBe([c.RunId, b.RunId, a.RunId]);
        (await store.ListRunsAsync(cancellationToken: Ct)).Count.ShouldBe(4);
        (await store.ListRunsAsync("exp", new RunFilter { Status = RunStatus.Finished }, Ct)).Single().RunId.ShouldBe(b.RunId);
        (await store.ListRunsAsync("exp", new RunFilter { NameContains = "iforest" }, Ct)).Select(r => r.Name).ShouldBe(["iforest-b", "iforest-a"]);
        (await store.ListRunsAsync("exp", new RunFilter { Tags = new Dictionary<string, string> { ["detector"] = "ae" } }, Ct)).Single().RunId.ShouldBe(c.RunId);
        var limited = await store.ListRunsAsync("exp", new RunFilter { MaxResults = 1 }, Ct);
        limited.Single().RunId.ShouldBe(c.RunId);
        (await store.ListRunsAsync("exp", new RunFilter { NameContains = "-a" }, Ct)).Single().Params["trees"].ShouldBe("100");
        (await Should.ThrowAsync<TrackingException>(() => store.ListRunsAsync("nope", cancellationToken: Ct))).Message.ShouldContain("experiment 'nope' not found");
    }

    [Fact]
    public async Task Dataset_fingerprints_are_recorded_per_name_and_replaced()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        await store.SetDatasetFingerprintAsync(run.RunId, new DatasetFingerprint("train", Sha1, "amount:float64", 1000, "train.csv"), Ct);
        await store.SetDatasetFingerprintAsync(run.RunId, new DatasetFingerprint("test", Sha2, "amount:float64", 200), Ct);
        await store.SetDatasetFingerprintAsync(run.RunId, new DatasetFingerprint("train", Sha2, "amount:float64", 1001, "train2.csv"), Ct);

        var datasets = (await store.GetRunAsync(run.RunId, Ct)).Datasets;

        datasets.ShouldBe([
            new DatasetFingerprint("test", Sha2, "amount:float64", 200),
            new DatasetFingerprint("train", Sha2, "amount:float64", 1001, "train2.csv"),
        ]);
    }

    // ------------------------------------------------------------------ artifacts

    [Fact]
    public async Task A_logged_artifact_reads_back_verified_and_is_listed_on_the_run()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        var bytes = "scores,labels\n0.9,1\n"u8.ToArray();

        var artifact = await store.LogArtifactAsync(run.RunId, "reports/scores.csv", new MemoryStream(bytes), Ct);

        artifact.SizeBytes.ShouldBe(bytes.Length);
        artifact.Sha256.ShouldBe(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)));
        await using (var read = await store.OpenArtifactAsync(run.RunId, "reports/scores.csv", Ct))
        {
            var copy = new MemoryStream();
            await read.CopyToAsync(copy, Ct);
            copy.ToArray().ShouldBe(bytes);
        }
        (await store.GetRunAsync(run.RunId, Ct)).Artifacts.Single().ShouldBe(artifact);
    }

    [Fact]
    public async Task A_corrupted_or_missing_artifact_is_reported_with_its_run()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);
        var artifact = await store.LogArtifactAsync(run.RunId, "model.zip", new MemoryStream([1, 2, 3, 4]), Ct);
        var path = ((ArtifactStore)store.Artifacts).GetPath(artifact.Sha256);

        await File.WriteAllBytesAsync(path, [1, 2, 3, 5], Ct);
        var corrupted = await Should.ThrowAsync<TrackingException>(() => store.OpenArtifactAsync(run.RunId, "model.zip", Ct));
        File.Delete(path);
        var missing = await Should.ThrowAsync<TrackingException>(() => store.OpenArtifactAsync(run.RunId, "model.zip", Ct));

        corrupted.Message.ShouldStartWith($"artifact 'model.zip' of run '{run.RunId}'");
        corrupted.Message.ShouldContain("corrupted");
        missing.Message.ShouldStartWith($"artifact 'model.zip' of run '{run.RunId}'");
        missing.Message.ShouldContain("missing");
        (await Should.ThrowAsync<TrackingException>(() => store.OpenArtifactAsync(run.RunId, "nope.bin", Ct))).Message.ShouldContain("no artifact named 'nope.bin'");
    }

    // ------------------------------------------------------------------ registry

    [Fact]
    public async Task Registering_a_model_is_idempotent()
    {
        await using var store = await OpenAsync();
        var first = await store.CreateRegisteredModelAsync("fraud", "card fraud", Ct);
        Time.Advance(TimeSpan.FromHours(1));
        var second = await store.CreateRegisteredModelAsync("fraud", "ignored", Ct);

        second.ShouldBeEquivalentTo(first);
        second.Description.ShouldBe("card fraud");
        second.LatestVersion.ShouldBe(0);
        (await store.ListRegisteredModelsAsync(Ct)).Single().Name.ShouldBe("fraud");
        var nope = (await Should.ThrowAsync<TrackingException>(() => store.GetRegisteredModelAsync("nope", Ct))).Message;
        nope.ShouldContain("'nope' not found");
        nope.ShouldNotContain("did you mean");
        (await Should.ThrowAsync<TrackingException>(() => store.CreateRegisteredModelAsync("bad name!", cancellationToken: Ct))).Message.ShouldContain("invalid model name");
    }

    [Fact]
    public async Task A_mistyped_model_name_is_answered_with_the_nearest_registered_one()
    {
        await using var store = await OpenAsync();
        await store.CreateRegisteredModelAsync("fraud", null, Ct);
        await store.CreateRegisteredModelAsync("fx-FISAU", null, Ct);
        (await Should.ThrowAsync<TrackingException>(() => store.GetRegisteredModelAsync("fruad", Ct))).Message.ShouldEndWith("; did you mean 'fraud'?");
        (await Should.ThrowAsync<TrackingException>(() => store.ListModelVersionsAsync("fx-FISUA", Ct))).Message.ShouldEndWith("; did you mean 'fx-FISAU'?");
        (await Should.ThrowAsync<TrackingException>(() => store.GetModelVersionAsync("frau", 1, Ct))).Message.ShouldEndWith("; did you mean 'fraud'?");
    }

    [Fact]
    public async Task Model_versions_are_numbered_and_keep_their_source_run_schema_and_metrics()
    {
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("exp", cancellationToken: Ct);

        var v1 = await store.CreateModelVersionAsync("fraud", Bundle(Sha1, run.RunId), Ct);
        var v2 = await store.CreateModelVersionAsync("fraud", Bundle(Sha2), Ct);

        v1.Version.ShouldBe(1);
        v2.Version.ShouldBe(2);
        var read = await store.GetModelVersionAsync("fraud", 1, Ct);
        read.Version.ShouldBe(v1.Version);
        read.Description.ShouldBe("isolation forest");
        read.Aliases.ShouldBeEmpty();
        read.SourceRunId.ShouldBe(run.RunId);
        read.BundleSha256.ShouldBe(Sha1);
        read.FeatureSchema.ShouldBe("amount:float64,country:categorical");
        read.Metrics["auc_pr"].ShouldBe(0.61);
        read.Stage.ShouldBe(ModelStage.None);
        read.CreatedUtc.ShouldBe(T0);
        (await store.ListModelVersionsAsync("fraud", Ct)).Select(v => v.Version).ShouldBe([1, 2]);
        (await store.GetRegisteredModelAsync("fraud", Ct)).LatestVersion.ShouldBe(2);
        (await Should.ThrowAsync<TrackingException>(() => store.GetModelVersionAsync("fraud", 9, Ct)))
            .Message.ShouldBe("model 'fraud' has no version 9 (versions 1 to 2 exist)");
        (await Should.ThrowAsync<TrackingException>(() => store.CreateModelVersionAsync("fraud", Bundle(runId: "cafebabe"), Ct)))
            .Message.ShouldContain("run 'cafebabe' not found");
        (await store.GetRegisteredModelAsync("fraud", Ct)).LatestVersion.ShouldBe(2); // failed attempts use no number
    }

    [Fact]
    public async Task A_version_cannot_be_registered_without_its_bundle_in_the_artifact_store()
    {
        await using var store = await OpenAsync();
        var absent = new string('a', 64);

        var error = await Should.ThrowAsync<TrackingException>(() => store.CreateModelVersionAsync("fraud", Bundle(absent), Ct));

        error.Message.ShouldStartWith($"bundle of a new version of model 'fraud': artifact sha256:{absent} is missing");
        await Should.ThrowAsync<TrackingException>(() => store.GetRegisteredModelAsync("fraud", Ct));
    }

    [Fact]
    public async Task Concurrent_version_creation_assigns_distinct_consecutive_numbers()
    {
        var stores = new List<ITrackingStore>();
        for (var i = 0; i < 4; i++)
        {
            stores.Add(await OpenAsync());
        }
        try
        {
            var tasks = Enumerable.Range(0, 24).Select(i => Task.Run(() => stores[i % stores.Count].CreateModelVersionAsync("fraud", Bundle(), Ct), Ct));
            var versions = await Task.WhenAll(tasks);
            versions.Select(v => v.Version).Order().ShouldBe(Enumerable.Range(1, 24));
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Alias_moves_are_recorded_with_who_when_from_to_and_why()
    {
        await using var store = await OpenAsync();
        await RegisterWithVersionsAsync(store, "fraud", 3);

        var created = await store.SetAliasAsync("fraud", "champion", 1, "alice", "first model", Ct);
        Time.Advance(TimeSpan.FromDays(1));
        var moved = await store.SetAliasAsync("fraud", "champion", 3, "api-key:deployer", "better AUC-PR", Ct);

        created.ShouldBe(new RegistryHistoryEntry(created.Id, "fraud", RegistryAction.SetAlias, "champion", null, 1, null, "alice", "first model", T0));
        moved.ShouldBe(new RegistryHistoryEntry(moved.Id, "fraud", RegistryAction.SetAlias, "champion", 1, 3, null, "api-key:deployer", "better AUC-PR", T0.AddDays(1)));
        moved.Id.ShouldBeGreaterThan(created.Id);
        (await store.GetHistoryAsync("fraud", cancellationToken: Ct)).ShouldBe([created, moved]);
        (await store.GetRegisteredModelAsync("fraud", Ct)).Aliases.ShouldBe(new Dictionary<string, int> { ["champion"] = 3 });
        (await store.GetModelVersionAsync("fraud", 3, Ct)).Aliases.ShouldBe(["champion"]);
        (await Should.ThrowAsync<TrackingException>(() => store.SetAliasAsync("fraud", "champion", 4, "alice", null, Ct)))
            .Message.ShouldContain("has no version 4");
        (await Should.ThrowAsync<TrackingException>(() => store.SetAliasAsync("fraud", "champion", 2, " ", null, Ct)))
            .Message.ShouldContain("actor is empty");
    }

    [Fact]
    public async Task Deleting_an_alias_records_it_and_the_alias_no_longer_resolves()
    {
        await using var store = await OpenAsync();
        await RegisterWithVersionsAsync(store, "fraud", 2);
        await store.SetAliasAsync("fraud", "challenger", 2, "alice", null, Ct);

        var deleted = await store.DeleteAliasAsync("fraud", "challenger", "bob", "experiment over", Ct);

        deleted.Action.ShouldBe(RegistryAction.DeleteAlias);
        deleted.FromVersion.ShouldBe(2);
        deleted.ToVersion.ShouldBeNull();
        (await Should.ThrowAsync<TrackingException>(() => store.ResolveAsync(ModelUri.Parse("models:/fraud@challenger"), Ct)))
            .Message.ShouldBe("models:/fraud@challenger: model 'fraud' has no alias 'challenger'");
        (await Should.ThrowAsync<TrackingException>(() => store.DeleteAliasAsync("fraud", "challenger", "bob", null, Ct)))
            .Message.ShouldContain("has no alias 'challenger'");
    }

    [Fact]
    public async Task Rollback_points_the_alias_back_to_its_previous_version_and_records_it()
    {
        await using var store = await OpenAsync();
        await RegisterWithVersionsAsync(store, "fraud", 3);
        await store.SetAliasAsync("fraud", "champion", 1, "alice", null, Ct);
        await store.SetAliasAsync("fraud", "champion", 2, "alice", null, Ct);
        await store.SetAliasAsync("fraud", "challenger", 3, "alice", null, Ct);

        var rollback = await store.RollbackAliasAsync("fraud", "champion", "bob", "v2 drifts", Ct);

        rollback.Action.ShouldBe(RegistryAction.Rollback);
        rollback.FromVersion.ShouldBe(2);
        rollback.ToVersion.ShouldBe(1);
        rollback.Actor.ShouldBe("bob");
        rollback.Reason.ShouldBe("v2 drifts");
        (await store.ResolveAsync(ModelUri.Parse("models:/fraud@champion"), Ct)).Version.ShouldBe(1);
        var history = await store.GetHistoryAsync("fraud", "champion", Ct);
        history.Select(h => (h.Action, h.FromVersion, h.ToVersion)).ShouldBe([
            (RegistryAction.SetAlias, (int?)null, (int?)1),
            (RegistryAction.SetAlias, 1, 2),
            (RegistryAction.Rollback, 2, 1),
        ]);
        (await Should.ThrowAsync<TrackingException>(() => store.RollbackAliasAsync("fraud", "challenger", "bob", null, Ct)))
            .Message.ShouldContain("alias 'challenger' has no previous version");
        (await Should.ThrowAsync<TrackingException>(() => store.RollbackAliasAsync("fraud", "nope", "bob", null, Ct)))
            .Message.ShouldContain("has no alias 'nope'");
    }

    [Fact]
    public async Task Rollback_walks_back_the_history_one_step_per_call_instead_of_toggling()
    {
        await using var store = await OpenAsync();
        await RegisterWithVersionsAsync(store, "fraud", 3);
        foreach (var v in new[] { 1, 2, 3 })
        {
            await store.SetAliasAsync("fraud", "champion", v, "alice", null, Ct);
        }

        (await store.RollbackAliasAsync("fraud", "champion", "bob", null, Ct)).ToVersion.ShouldBe(2);
        (await store.RollbackAliasAsync("fraud", "champion", "bob", null, Ct)).ToVersion.ShouldBe(1); // not back to 3
        (await Should.ThrowAsync<TrackingException>(() => store.RollbackAliasAsync("fraud", "champion", "bob", null, Ct)))
            .Message.ShouldContain("has no previous version");

        // a new move after rollbacks starts from where the alias is: 1 -> 3, then rollback goes to 1
        await store.SetAliasAsync("fraud", "champion", 3, "alice", null, Ct);
        (await store.RollbackAliasAsync("fraud", "champion", "bob", null, Ct)).ToVersion.ShouldBe(1);
        // a deleted alias starts a new history
        await store.DeleteAliasAsync("fraud", "champion", "alice", null, Ct);
        await store.SetAliasAsync("fraud", "champion", 2, "alice", null, Ct);
        (await Should.ThrowAsync<TrackingException>(() => store.RollbackAliasAsync("fraud", "champion", "bob", null, Ct)))
            .Message.ShouldContain("has no previous version");
    }

    [Fact]
    public async Task Stage_changes_are_recorded_and_archive_existing_moves_the_old_production_version()
    {
        await using var store = await OpenAsync();
        await RegisterWithVersionsAsync(store, "fraud", 3);
        await store.SetStageAsync("fraud", 1, ModelStage.Production, "alice", "go live", cancellationToken: Ct);

        var entries = await store.SetStageAsync("fraud", 2, ModelStage.Production, "bob", "retrained", archiveExisting: true, Ct);

        entries.Count.ShouldBe(2);
        entries[0].ShouldBe(new RegistryHistoryEntry(entries[0].Id, "fraud", RegistryAction.SetStage, "Production", 1, 2, ModelStage.None, "bob", "retrained", T0));
        entries[1].Target.ShouldBe("Archived");
        entries[1].ToVersion.ShouldBe(1);
        entries[1].FromStage.ShouldBe(ModelStage.Production);
        (await store.GetModelVersionAsync("fraud", 1, Ct)).Stage.ShouldBe(ModelStage.Archived);
        (await store.ResolveAsync(ModelUri.Parse("models:/fraud/Production"), Ct)).Version.ShouldBe(2);
        (await store.GetHistoryAsync("fraud", "Production", Ct)).Count.ShouldBe(2);
        (await Should.ThrowAsync<TrackingException>(() => store.ResolveAsync(ModelUri.Parse("models:/fraud/Staging"), Ct)))
            .Message.ShouldBe("models:/fraud/Staging: model 'fraud' has no version in stage Staging");
    }

    [Fact]
    public async Task Model_uris_resolve_by_alias_version_stage_and_latest()
    {
        await using var store = await OpenAsync();
        await RegisterWithVersionsAsync(store, "fraud", 3);
        await store.SetAliasAsync("fraud", "champion", 2, "alice", null, Ct);
        await store.SetStageAsync("fraud", 1, ModelStage.Staging, "alice", cancellationToken: Ct);

        var champion = await store.ResolveAsync(ModelUri.Parse("models:/fraud@champion"), Ct);
        champion.Version.ShouldBe(2);
        champion.Aliases.ShouldBe(["champion"]);
        (await store.ResolveAsync(ModelUri.Parse("models:/fraud/3"), Ct)).Version.ShouldBe(3);
        (await store.ResolveAsync(ModelUri.Parse("models:/fraud/staging"), Ct)).Version.ShouldBe(1);
        (await store.ResolveAsync(ModelUri.Parse("models:/fraud/latest"), Ct)).Version.ShouldBe(3);
        (await Should.ThrowAsync<TrackingException>(() => store.ResolveAsync(ModelUri.Parse("models:/other@champion"), Ct)))
            .Message.ShouldContain("models:/other@champion: registered model 'other' not found");
    }

    [Fact]
    public async Task A_corrupted_bundle_is_reported_with_its_model_and_version()
    {
        await using var store = await OpenAsync();
        var stored = await store.Artifacts.PutAsync(new MemoryStream([9, 8, 7]), Ct);
        var version = await store.CreateModelVersionAsync("fraud", Bundle(stored.Sha256), Ct);
        (await store.GetVerifiedBundlePathAsync(version, Ct)).ShouldBe(((ArtifactStore)store.Artifacts).GetPath(stored.Sha256));

        await File.WriteAllBytesAsync(((ArtifactStore)store.Artifacts).GetPath(stored.Sha256), [9, 8], Ct);

        var error = await Should.ThrowAsync<TrackingException>(() => store.GetVerifiedBundlePathAsync(version, Ct));
        error.Message.ShouldStartWith("bundle of model 'fraud' version 1: artifact sha256:");
        error.Message.ShouldContain("corrupted");
    }

    // ------------------------------------------------------------------ concurrency

    [Fact]
    public async Task Eight_processes_logging_1000_points_each_into_one_run_store_8000_points()
    {
        var spec = await StoreSpecAsync();
        await using var store = await OpenAsync();
        var run = await store.CreateRunAsync("concurrency", cancellationToken: Ct);

        var workers = Enumerable.Range(0, 8)
            .Select(w => Worker.RunAsync(Ct, "log-metrics", spec, Home, run.RunId, "1000", "50", w.ToString(System.Globalization.CultureInfo.InvariantCulture)))
            .ToArray();
        var results = await Task.WhenAll(workers);

        foreach (var (exit, _, stderr) in results)
        {
            exit.ShouldBe(0, stderr);
        }
        var history = await store.GetMetricHistoryAsync(run.RunId, "m", Ct);
        history.Count.ShouldBe(8000);
        history.Select(p => p.Step).ShouldBe(Enumerable.Range(0, 8000).Select(i => (long)i));
        history.All(p => p.Value == p.Step).ShouldBeTrue();
        (await store.GetRunAsync(run.RunId, Ct)).LatestMetrics["m"].Step.ShouldBe(7999);
    }

    [Fact]
    public async Task A_hundred_concurrent_alias_moves_give_a_hundred_chained_history_entries()
    {
        var stores = new List<ITrackingStore>();
        for (var i = 0; i < 8; i++)
        {
            stores.Add(await OpenAsync());
        }
        try
        {
            await RegisterWithVersionsAsync(stores[0], "fraud", 5);
            var moves = Enumerable.Range(0, 100).Select(i => Task.Run(() =>
                stores[i % stores.Count].SetAliasAsync("fraud", "champion", (i % 5) + 1, $"actor-{i}", $"move {i}", Ct), Ct));
            var entries = await Task.WhenAll(moves);

            var history = await stores[0].GetHistoryAsync("fraud", "champion", Ct);
            history.Count.ShouldBe(100);
            history.Select(h => h.Reason).Distinct().Count().ShouldBe(100);
            history[0].FromVersion.ShouldBeNull();
            for (var i = 1; i < history.Count; i++)
            {
                history[i].FromVersion.ShouldBe(history[i - 1].ToVersion); // serialised: each move saw the previous one
            }
            entries.Select(e => e.Id).Order().ShouldBe(history.Select(h => h.Id));
            var alias = await stores[0].ResolveAsync(ModelUri.ForAlias("fraud", "champion"), Ct);
            alias.Version.ShouldBe(history[^1].ToVersion!.Value);
        }
        finally
        {
            foreach (var s in stores)
            {
                await s.DisposeAsync();
            }
        }
    }
}
