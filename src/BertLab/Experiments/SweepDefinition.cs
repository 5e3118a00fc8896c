using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Training;

namespace BertLab.Experiments;

/// <summary>A named variant of the base configuration: <c>{"name": "cosine-clip", "set": {"optimizer.clip_norm": 1.0}}</c>.</summary>
public sealed record NamedRun(string Name, IReadOnlyList<KeyValuePair<string, JsonNode?>> Set)
{
    /// <summary>This run's seeds instead of the sweep's (a built-in study's calibration arm runs more); null: the sweep's.</summary>
    public IReadOnlyList<long>? Seeds { get; init; }
    /// <summary>Continue an earlier run instead of starting from step 0: for a seed, the directory of the run whose last
    /// checkpoint this run resumes from (a longer horizon of the same configuration: with a constant lr after warmup the
    /// continued run is the longer run). Null: start afresh.</summary>
    public Func<long?, string?>? StartFrom { get; init; }
}

/// <summary>A file a sweep's runs read that the sweep makes once, before any run (a built-in study's vocabulary learnt from
/// its corpus, a transformed copy of the corpus): built when missing, under the sweep's setup lock, written atomically.</summary>
public sealed record SweepArtifact(string Path, string What, Action<Action<string>> Build);

/// <summary>
/// A sweep file: a base run configuration, axes over configuration key paths (their cartesian product), an explicit list
/// of named runs, or both (runs × axes), and seeds as an axis shortcut. JSON with comments:
/// <code>{"name": "lr-scan", "base": {"model": "tiny"}, "axes": {"attention": ["softmax", "cottention"], "optimizer.lr": [1e-4, 1e-3]},
///  "runs": [{"name": "clip", "set": {"optimizer.clip_norm": 1.0}}], "seeds": [1, 2]}</code>
/// Each grid point's configuration is the defaults of <c>bertlab train</c>, then base, then the axis values, then the run's
/// <c>set</c> (so a run can refine an axis value, e.g. attention.token_dropout on every attention preset), then the seed.
/// </summary>
public sealed class SweepDefinition
{
    public required string Name { get; init; }
    public string? Description { get; init; }
    public JsonObject Base { get; init; } = new();
    public IReadOnlyList<KeyValuePair<string, IReadOnlyList<JsonNode?>>> Axes { get; init; } = Array.Empty<KeyValuePair<string, IReadOnlyList<JsonNode?>>>();
    public IReadOnlyList<NamedRun> Runs { get; init; } = Array.Empty<NamedRun>();
    public IReadOnlyList<long> Seeds { get; init; } = Array.Empty<long>();
    /// <summary>Set for built-in sweeps ("research-log"): the report adds its findings section.</summary>
    public string? Builtin { get; init; }
    public string? Budget { get; init; }
    /// <summary>Files to make before the first run (<see cref="SweepArtifact"/>), in order.</summary>
    public IReadOnlyList<SweepArtifact> Setup { get; init; } = Array.Empty<SweepArtifact>();

    static readonly string[] TopKeys = { "name", "description", "base", "axes", "runs", "seeds" };
    static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    public static SweepDefinition Load(string path)
    {
        if (!File.Exists(path)) throw new BertLabException($"sweep file not found: {path}");
        return Parse(File.ReadAllText(path), path, Path.GetFileNameWithoutExtension(path));
    }

    public static SweepDefinition Parse(string text, string source, string defaultName = "sweep")
    {
        JsonObject o;
        try { o = JsonNode.Parse(text, documentOptions: JsonOptions) as JsonObject ?? throw new BertLabException($"{source}: a sweep must be a JSON object"); }
        catch (JsonException e) { throw new BertLabException($"{source}: invalid JSON: {e.Message}"); }
        foreach (var (k, _) in o)
            if (!TopKeys.Contains(k)) throw new BertLabException($"{source}: unknown key '{k}'; allowed: {string.Join(", ", TopKeys)}");

        string name = o["name"] is JsonNode n ? Str(n, source, "name") : defaultName;
        if (string.IsNullOrWhiteSpace(name)) throw new BertLabException($"{source}: name must not be empty");
        string? description = o["description"] is JsonNode d ? Str(d, source, "description") : null;
        var baseConfig = o["base"] switch
        {
            null => new JsonObject(),
            JsonObject b => (JsonObject)b.DeepClone(),
            _ => throw new BertLabException($"{source}: base must be a run configuration object (the format of `bertlab train --config`)"),
        };

        var axes = new List<KeyValuePair<string, IReadOnlyList<JsonNode?>>>();
        if (o["axes"] is JsonNode axesNode)
        {
            if (axesNode is not JsonObject ao) throw new BertLabException($"{source}: axes must be an object of \"key.path\": [values]");
            foreach (var (key, values) in ao)
            {
                CheckKeyPath(key, source, $"axes.{key}");
                if (values is not JsonArray arr || arr.Count == 0)
                    throw new BertLabException($"{source}: axes.{key} must be a non-empty array of values");
                axes.Add(new(key, arr.Select(v => v?.DeepClone()).ToList()));
            }
        }

        var runs = new List<NamedRun>();
        if (o["runs"] is JsonNode runsNode)
        {
            if (runsNode is not JsonArray ra || ra.Count == 0) throw new BertLabException($"{source}: runs must be a non-empty array of {{\"name\": ..., \"set\": {{...}}}}");
            for (int i = 0; i < ra.Count; i++)
            {
                string at = $"runs[{i}]";
                if (ra[i] is not JsonObject ro) throw new BertLabException($"{source}: {at} must be an object {{\"name\": ..., \"set\": {{...}}}}");
                foreach (var (k, _) in ro)
                    if (k is not ("name" or "set")) throw new BertLabException($"{source}: {at}: unknown key '{k}'; allowed: name, set");
                if (ro["name"] is not JsonNode rn) throw new BertLabException($"{source}: {at}.name is required");
                string runName = Str(rn, source, at + ".name");
                if (string.IsNullOrWhiteSpace(runName)) throw new BertLabException($"{source}: {at}.name must not be empty");
                if (runs.Any(r => r.Name == runName)) throw new BertLabException($"{source}: {at}.name '{runName}' is used twice; run names must be unique");
                var set = new List<KeyValuePair<string, JsonNode?>>();
                if (ro["set"] is JsonNode sn)
                {
                    if (sn is not JsonObject so) throw new BertLabException($"{source}: {at}.set must be an object of \"key.path\": value");
                    foreach (var (k, v) in so) { CheckKeyPath(k, source, $"{at}.set.{k}"); set.Add(new(k, v?.DeepClone())); }
                }
                runs.Add(new NamedRun(runName, set));
            }
        }

        var seeds = new List<long>();
        if (o["seeds"] is JsonNode seedsNode)
        {
            if (seedsNode is not JsonArray sa || sa.Count == 0) throw new BertLabException($"{source}: seeds must be a non-empty array of integers");
            foreach (var s in sa)
            {
                if (!JsonNumbers.TryGetDouble(s, out var v) || v != Math.Floor(v) || v < 0 || v > int.MaxValue)
                    throw new BertLabException($"{source}: seeds: {s?.ToJsonString() ?? "null"} is not a non-negative integer");
                if (seeds.Contains((long)v)) throw new BertLabException($"{source}: seeds: {v} appears twice");
                seeds.Add((long)v);
            }
            if (axes.Any(a => a.Key == "run.seed")) throw new BertLabException($"{source}: give seeds either as \"seeds\" or as the axis \"run.seed\", not both");
        }

        var def = new SweepDefinition { Name = name, Description = description, Base = baseConfig, Axes = axes, Runs = runs, Seeds = seeds };
        def.Expand(source); // validates every grid point now, with key-path errors
        return def;
    }

    static void CheckKeyPath(string key, string source, string at)
    {
        if (key.Length == 0 || key.Split('.').Any(p => p.Length == 0))
            throw new BertLabException($"{source}: {at}: '{key}' is not a key path (expected e.g. optimizer.lr)");
        string top = key.Split('.')[0];
        string[] allowed = { "model", "attention", "data", "optimizer", "schedule", "run" };
        if (!allowed.Contains(top))
            throw new BertLabException($"{source}: {at}: unknown configuration key '{key}'; key paths start with one of {string.Join(", ", allowed)}");
    }

    static string Str(JsonNode n, string source, string path) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new BertLabException($"{source}: {path} must be a string, got {n.ToJsonString()}");

    /// <summary>All grid points, in order: runs (outermost), then the axes in file order (first axis slowest), then seeds.</summary>
    public List<SweepPoint> Expand(string? source = null)
    {
        source ??= Name;
        var runs = Runs.Count > 0 ? Runs : new[] { new NamedRun("", Array.Empty<KeyValuePair<string, JsonNode?>>()) };
        var combos = new List<List<KeyValuePair<string, JsonNode?>>> { new() };
        foreach (var (key, values) in Axes)
            combos = combos.SelectMany(c => values.Select(v => c.Append(new KeyValuePair<string, JsonNode?>(key, v)).ToList())).ToList();
        List<long?> SeedsOf(NamedRun run) => (run.Seeds ?? Seeds) is { Count: > 0 } list ? list.Select(s => (long?)s).ToList() : new List<long?> { null };

        var points = new List<SweepPoint>();
        foreach (var run in runs)
        foreach (var combo in combos)
        foreach (var seed in SeedsOf(run))
        {
            int index = points.Count;
            var settings = new List<KeyValuePair<string, JsonNode?>>();
            var json = RunConfig.DefaultJson();
            MergeBase(json, Base);
            foreach (var (k, v) in combo) { Set(json, k, v); settings.Add(new(k, v)); }
            foreach (var (k, v) in run.Set) { Set(json, k, v); settings.Add(new(k, v)); }
            if (seed is long s) { Set(json, "run.seed", JsonValue.Create(s)); settings.Add(new("run.seed", JsonValue.Create(s))); }

            var labelParts = new List<string>();
            if (run.Name.Length > 0) labelParts.Add(run.Name);
            labelParts.AddRange(combo.Select(kv => AxisLabel(kv.Key, kv.Value)));
            if (seed is long s2) labelParts.Add($"seed{s2}");
            string name = labelParts.Count > 0 ? string.Join(" ", labelParts) : Name;

            RunConfig config;
            try { config = RunConfig.FromJson(json); }
            catch (BertLabException e)
            {
                throw new BertLabException($"{source}: grid point {index} ({name}): {e.Message}");
            }
            points.Add(new SweepPoint(index, name, Slug(name), settings, config.ToJson()) { StartFrom = run.StartFrom?.Invoke(seed) });
        }
        if (points.Count > 10000) throw new BertLabException($"{source}: the grid has {points.Count} points; at most 10000 are allowed");
        return points;
    }

    /// <summary>The sections of base replace keys of the defaults' sections; attention and model are replaced whole (as `train --config` does).</summary>
    public static void MergeBase(JsonObject target, JsonObject source)
    {
        foreach (var (k, v) in source.ToList())
        {
            if (v is JsonObject so && target[k] is JsonObject to && k != "attention" && k != "model")
                foreach (var (ik, iv) in so) to[ik] = iv?.DeepClone();
            else target[k] = v?.DeepClone();
        }
    }

    static void Set(JsonObject json, string key, JsonNode? value) => RunConfig.ApplyOverride(json, key, value?.DeepClone());

    /// <summary>"attention=cosine" → "cosine"; "optimizer.lr=1e-4" → "lr=1e-4".</summary>
    public static string AxisLabel(string key, JsonNode? value)
    {
        string v = FormatValue(value);
        return key is "attention" or "attention.preset" ? v : $"{key.Split('.')[^1]}={v}";
    }

    public static string FormatValue(JsonNode? value)
    {
        if (value is null) return "null";
        if (value is JsonValue jv && jv.TryGetValue<string>(out var s)) return s;
        if (JsonNumbers.TryGetDouble(value, out var d)) return FormatNumber(d);
        return value.ToJsonString();
    }

    /// <summary>Short, exact number text: 0.0001 → "1e-4", 0.1 → "0.1", 400 → "400".</summary>
    public static string FormatNumber(double d)
    {
        if (d == Math.Floor(d) && Math.Abs(d) < 1e9) return d.ToString("0", CultureInfo.InvariantCulture);
        if (Math.Abs(d) >= 1e-3 && Math.Abs(d) < 1e6) return d.ToString("0.######", CultureInfo.InvariantCulture);
        var e = d.ToString("0.###e0", CultureInfo.InvariantCulture);
        return e;
    }

    public static string Slug(string name)
    {
        var sb = new StringBuilder();
        foreach (char c in name.ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') sb.Append(c);
            else if (c == '=') continue;
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }
        var slug = sb.ToString().Trim('-', '.');
        if (slug.Length > 80) slug = slug[..80].TrimEnd('-', '.');
        return slug.Length == 0 ? "run" : slug;
    }
}

/// <summary>One grid point: its index (the SLURM array index), a readable name, the key paths it sets and its resolved configuration.</summary>
public sealed record SweepPoint(int Index, string Name, string Slug, IReadOnlyList<KeyValuePair<string, JsonNode?>> Settings, JsonObject Config)
{
    /// <summary>The run directory whose last checkpoint this point continues (<see cref="NamedRun.StartFrom"/>), or null.</summary>
    public string? StartFrom { get; init; }

    /// <summary>runs/&lt;index&gt;-&lt;slug&gt; (index zero-padded to the width of the grid's largest index).</summary>
    public string DirName(int count) => $"{Index.ToString(new string('0', Math.Max(2, (count - 1).ToString(CultureInfo.InvariantCulture).Length)), CultureInfo.InvariantCulture)}-{Slug}";
}
