using Vigil.Serving;

namespace Vigil.Deploy.Tests.K8s;

/// <summary>
/// What deploy/k8s must say beyond schema validity (eng/container.sh validate-k8s checks the schemas): probes on
/// /livez and /readyz, a non-root read-only container, a grace period that fits the inference-log drain, the
/// weekly retrain, and names that line up between the objects.
/// </summary>
public sealed class ManifestTests
{
    private static Node Deployment => DeployFiles.Manifest("deployment.yaml", "Deployment");

    private static Node CronJob => DeployFiles.Manifest("cronjob.yaml", "CronJob");

    private static Node ServerPod => Deployment["spec"]["template"]["spec"];

    private static Node RetrainPod => CronJob["spec"]["jobTemplate"]["spec"]["template"]["spec"];

    private static Node ServerContainer => ServerPod["containers"].Named("vigil");

    [Fact]
    public void Liveness_probe_gets_livez_on_the_http_port()
    {
        var probe = ServerContainer["livenessProbe"]["httpGet"];
        probe["path"].String.ShouldBe("/livez");
        probe["port"].String.ShouldBe("http");
    }

    [Fact]
    public void Readiness_probe_gets_readyz_on_the_http_port()
    {
        var probe = ServerContainer["readinessProbe"]["httpGet"];
        probe["path"].String.ShouldBe("/readyz");
        probe["port"].String.ShouldBe("http");
    }

    [Fact]
    public void Startup_probe_gets_livez_so_a_slow_model_load_is_not_killed()
    {
        ServerContainer["startupProbe"]["httpGet"]["path"].String.ShouldBe("/livez");
    }

    [Fact]
    public void Http_port_is_8080_as_the_image_exposes()
    {
        var port = ServerContainer["ports"].Named("http");
        port["containerPort"].Int.ShouldBe(8080);
        ServerContainer["env"].Named("VIGIL_PORT")["value"].String.ShouldBe("8080");
        ServerContainer["env"].Named("VIGIL_HOST")["value"].String.ShouldBe("0.0.0.0");
    }

    public static TheoryData<string> Workloads => ["server", "retrain"];

    private static Node PodOf(string workload) => workload == "server" ? ServerPod : RetrainPod;

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Pod_runs_as_the_non_root_user_of_the_image(string workload)
    {
        var pod = PodOf(workload);
        pod["securityContext"]["runAsNonRoot"].Bool.ShouldBeTrue();
        pod["securityContext"]["runAsUser"].Int.ShouldBe(10001);
        pod["securityContext"]["runAsGroup"].Int.ShouldBe(10001);
        foreach (var container in pod["containers"].Items)
        {
            var sc = container["securityContext"];
            sc["runAsNonRoot"].Bool.ShouldBeTrue(sc.Path);
            sc["runAsUser"].Int.ShouldNotBe(0, sc.Path);
            sc["allowPrivilegeEscalation"].Bool.ShouldBeFalse(sc.Path);
            sc["capabilities"]["drop"].Items.Select(i => i.String).ShouldContain("ALL", sc.Path);
        }
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Root_file_system_is_read_only_with_state_in_the_home_volume_and_tmp(string workload)
    {
        var pod = PodOf(workload);
        foreach (var container in pod["containers"].Items)
        {
            container["securityContext"]["readOnlyRootFilesystem"].Bool.ShouldBeTrue(container.Path);
            var mounts = container["volumeMounts"].Items.ToDictionary(m => m["mountPath"].String, m => m["name"].String, StringComparer.Ordinal);
            mounts.ShouldContainKey("/var/lib/vigil", "VIGIL_HOME of the image");
            mounts.ShouldContainKey("/tmp");
            pod["volumes"].Named(mounts["/tmp"])["emptyDir"].Exists.ShouldBeTrue("/tmp is an emptyDir");
            pod["volumes"].Named(mounts["/var/lib/vigil"])["persistentVolumeClaim"]["claimName"].String
                .ShouldBe(DeployFiles.Manifest("pvc.yaml", "PersistentVolumeClaim")["metadata"]["name"].String);
        }
    }

    [Fact]
    public void Grace_period_covers_the_pre_stop_sleep_and_the_log_drain()
    {
        var grace = ServerPod["terminationGracePeriodSeconds"].Int;
        var preStop = ServerContainer["lifecycle"]["preStop"]["sleep"]["seconds"].Int;
        var drain = DeployFiles.Manifest("configmap.yaml", "ConfigMap")["data"]["VIGIL_SHUTDOWN_SECONDS"].Int;
        preStop.ShouldBeGreaterThan(0, "the pod leaves the Service's endpoints before SIGTERM");
        drain.ShouldBeGreaterThan(0);
        grace.ShouldBeGreaterThanOrEqualTo(preStop + drain + 5, "SIGKILL must not cut the inference-log drain short");
    }

    [Fact]
    public void Retrain_runs_flow_retrain_every_monday_at_0500_utc_one_at_a_time()
    {
        var spec = CronJob["spec"];
        spec["schedule"].String.ShouldBe("0 5 * * 1");
        spec["timeZone"].String.ShouldBe("Etc/UTC");
        spec["concurrencyPolicy"].String.ShouldBe("Forbid");
        RetrainPod["containers"][0]["args"].Items.Select(a => a.String).ShouldBe(["flow", "run", "retrain"]);
    }

    [Theory]
    [MemberData(nameof(Workloads))]
    public void Settings_come_from_the_config_map_and_the_secret(string workload)
    {
        var envFrom = PodOf(workload)["containers"][0]["envFrom"].Items;
        envFrom.Select(e => e["configMapRef"]["name"].Value).ShouldContain(DeployFiles.Manifest("configmap.yaml", "ConfigMap")["metadata"]["name"].String);
        envFrom.Select(e => e["secretRef"]["name"].Value).ShouldContain(DeployFiles.Manifest("secret.yaml", "Secret")["metadata"]["name"].String);
    }

    [Fact]
    public void Secret_holds_the_store_uri_and_the_api_keys()
    {
        var data = DeployFiles.Manifest("secret.yaml", "Secret")["stringData"].Map;
        data.Keys.ShouldBe(["VIGIL_STORE", "VIGIL_API_KEYS"], ignoreOrder: true);
        data["VIGIL_STORE"].String.ShouldStartWith("postgres://");
    }

    [Fact]
    public void Config_map_secret_and_deployment_settings_are_valid_server_settings()
    {
        // The same check `vigil serve` makes at start-up: every value parses, and every name is a setting it reads.
        var env = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in DeployFiles.Manifest("configmap.yaml", "ConfigMap")["data"].Map)
        {
            env[name] = value.String;
        }

        foreach (var (name, value) in DeployFiles.Manifest("secret.yaml", "Secret")["stringData"].Map)
        {
            env[name] = value.String;
        }

        foreach (var item in ServerContainer["env"].Items)
        {
            env[item["name"].String] = item["value"].String;
        }

        env.Keys.Where(k => !ServingConfiguration.EnvironmentVariables.Contains(k)).ShouldBeEmpty("names `vigil serve` does not read");
        var options = ServingConfiguration.Load(null, env, new Dictionary<string, string?>());
        options.Host.ShouldBe("0.0.0.0");
        options.Port.ShouldBe(8080);
        options.Models.ShouldNotBeEmpty();
    }

    [Fact]
    public void Service_pdb_and_hpa_select_the_server_pods()
    {
        var podLabels = Deployment["spec"]["template"]["metadata"]["labels"].Map;
        var selector = Deployment["spec"]["selector"]["matchLabels"].Map;
        foreach (var (key, value) in selector)
        {
            podLabels[key].String.ShouldBe(value.String, $"pod label {key}");
        }

        void SelectsServerPods(IReadOnlyDictionary<string, Node> labels, string what)
        {
            labels.ShouldNotBeEmpty(what);
            foreach (var (key, value) in labels)
            {
                podLabels.Keys.ShouldContain(key, what);
                podLabels[key].String.ShouldBe(value.String, what);
            }
        }

        var service = DeployFiles.Manifest("service.yaml", "Service");
        SelectsServerPods(service["spec"]["selector"].Map, "Service selector");
        service["spec"]["ports"].Named("http")["targetPort"].String.ShouldBe("http");
        SelectsServerPods(DeployFiles.Manifest("pdb.yaml", "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].Map, "PDB selector");

        var hpa = DeployFiles.Manifest("hpa.yaml", "HorizontalPodAutoscaler")["spec"];
        hpa["scaleTargetRef"]["kind"].String.ShouldBe("Deployment");
        hpa["scaleTargetRef"]["name"].String.ShouldBe(Deployment["metadata"]["name"].String);
        hpa["minReplicas"].Int.ShouldBeGreaterThanOrEqualTo(2, "the PDB keeps one of at least two");
        hpa["metrics"].Items.ShouldContain(m => m["resource"]["name"].Value as string == "cpu");
        hpa["metrics"].Items.ShouldContain(m => m["pods"]["metric"]["name"].Value as string == "vigil_http_requests_per_second");
    }

    [Fact]
    public void Every_manifest_is_labelled_part_of_vigil()
    {
        var manifests = DeployFiles.AllManifests();
        manifests.Count.ShouldBeGreaterThanOrEqualTo(8);
        foreach (var m in manifests)
        {
            m["metadata"]["labels"]["app.kubernetes.io/part-of"].String.ShouldBe("vigil", m.Path);
        }
    }
}
