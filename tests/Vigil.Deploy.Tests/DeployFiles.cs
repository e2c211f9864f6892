using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace Vigil.Deploy.Tests;

/// <summary>The files of deploy/ (copied beside the tests) parsed into plain maps and lists.</summary>
internal static class DeployFiles
{
    public static string PathOf(string relative) => Path.Combine(AppContext.BaseDirectory, "deploy", relative);

    public static string Text(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>Every YAML document of a file, each a map.</summary>
    public static IReadOnlyList<Node> Documents(string relative)
    {
        var deserializer = new DeserializerBuilder().Build();
        // MergingParser: compose.yaml shares the replicas' settings through a YAML merge key (<<: *vigil)
        var parser = new MergingParser(new Parser(new StringReader(Text(relative))));
        parser.Consume<YamlDotNet.Core.Events.StreamStart>();
        var docs = new List<Node>();
        while (parser.Accept<YamlDotNet.Core.Events.DocumentStart>(out _))
        {
            var doc = deserializer.Deserialize<object?>(parser);
            if (doc is not null)
            {
                docs.Add(new Node(doc, relative));
            }
        }

        return docs;
    }

    /// <summary>The single document of a Kubernetes manifest, checked to be of <paramref name="kind"/>.</summary>
    public static Node Manifest(string file, string kind)
    {
        var docs = Documents(Path.Combine("k8s", file));
        docs.Count.ShouldBe(1, $"{file} holds one object");
        docs[0]["kind"].String.ShouldBe(kind, $"{file} kind");
        return docs[0];
    }

    /// <summary>All Kubernetes manifests of deploy/k8s.</summary>
    public static IReadOnlyList<Node> AllManifests() =>
        Directory.GetFiles(PathOf("k8s"), "*.yaml").Order(StringComparer.Ordinal)
            .SelectMany(f => Documents(Path.Combine("k8s", Path.GetFileName(f)))).ToList();
}

/// <summary>A YAML value with its path, for readable failures: <c>node["spec"]["template"]</c>.</summary>
internal sealed class Node(object? value, string path)
{
    public object? Value { get; } = value;

    public string Path { get; } = path;

    public bool Exists => Value is not null;

    public Node this[string key] =>
        new(Value is Dictionary<object, object?> map && map.TryGetValue(key, out var v) ? v : null, $"{Path}.{key}");

    public Node this[int index] =>
        new(Value is List<object?> list && index < list.Count ? list[index] : null, $"{Path}[{index}]");

    public IReadOnlyList<Node> Items =>
        Value is List<object?> list ? list.Select((v, i) => new Node(v, $"{Path}[{i}]")).ToList() : [];

    public IReadOnlyDictionary<string, Node> Map =>
        Value is Dictionary<object, object?> map
            ? map.ToDictionary(kv => (string)kv.Key, kv => new Node(kv.Value, $"{Path}.{kv.Key}"), StringComparer.Ordinal)
            : new Dictionary<string, Node>(StringComparer.Ordinal);

    public string String => Value as string ?? throw new ShouldAssertException($"{Path} is not a string (it is {Value ?? "missing"})");

    public int Int => int.Parse(String, NumberStyles.Integer, CultureInfo.InvariantCulture);

    public bool Bool => String switch
    {
        "true" => true,
        "false" => false,
        _ => throw new ShouldAssertException($"{Path} is not true or false (it is {String})"),
    };

    /// <summary>The item of a list whose <c>name</c> is <paramref name="name"/>.</summary>
    public Node Named(string name) =>
        Items.SingleOrDefault(i => i["name"].Value as string == name)
        ?? throw new ShouldAssertException($"{Path} has no item named {name}");

    public override string ToString() => $"{Path} = {Value}";
}
