using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Data;
using BertLab.Model;
using BertLab.Runtime;

namespace BertLab.Training;

// The settings classes hold the configuration's values; each property's initial value is its key's default. What each
// key means, its JSON name and its allowed values: RunConfigKeys.

/// <summary>Data section of a run configuration.</summary>
public sealed class DataSettings
{
    public List<string> Corpus { get; set; } = new();
    public string? Vocab { get; set; }
    public int SeqLen { get; set; } = 128;
    public double MlmProbability { get; set; } = 0.15;
    public bool WholeWordMasking { get; set; }
    public double ValidationFraction { get; set; } = PrepareOptions.DefaultValidationFraction;
    public bool LineDocs { get; set; }
    public string? CacheDir { get; set; }
    public string Packing { get; set; } = "packed";
    public string? Prepared { get; set; }
    public string? Synthetic { get; set; }
    public List<string> ValidationCorpus { get; set; } = new();
}

/// <summary>Run section: steps, batches, intervals, seed, device.</summary>
public sealed class RunSettings
{
    public int Steps { get; set; } = 300;
    public int BatchSize { get; set; } = 32;
    public int Accumulation { get; set; } = 1;
    public int LogInterval { get; set; } = 10;
    public int EvalInterval { get; set; } = 100;
    public int EvalBatches { get; set; } = 16;
    public int CheckpointInterval { get; set; } = 100;
    public int KeepLast { get; set; } = 2;
    public long Seed { get; set; } = 42;
    public string Device { get; set; } = "cpu";
    public string Precision { get; set; } = "fp32";
    public int Threads { get; set; }
    public bool MaskedOnlyLogits { get; set; } = true;
    public double DivergenceFactor { get; set; } = 3.0;
    public string? InitFrom { get; set; }
    public int DivergencePatience { get; set; } = 3;
}

/// <summary>
/// A training run's configuration: model, attention, data, optimizer, schedule, run. JSON with comments;
/// every key is checked on load (unknown keys, wrong types and impossible values name their key path and the
/// allowed values). The keys, their types, rules and help: <see cref="RunConfigKeys"/>; their defaults: the initial
/// values of the properties here and in the settings classes.
/// </summary>
public sealed class RunConfig
{
    public const string DefaultModelPreset = "small";
    public const string DefaultAttentionPreset = "cottention";

    public string ModelPreset { get; set; } = DefaultModelPreset;
    public BertConfig Model { get; set; } = PresetModel(DefaultModelPreset, DefaultAttentionPreset);
    public DataSettings Data { get; set; } = new();
    public OptimizerSettings Optimizer { get; set; } = new();
    public ScheduleSettings Schedule { get; set; } = new();
    public RunSettings Run { get; set; } = new();

    static BertConfig PresetModel(string model, string attention)
    {
        var c = ModelPresets.Create(model);
        c.Attention = AttentionConfig.FromPreset(attention);
        return c;
    }

    static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The defaults of `bertlab train` with no arguments (small model, cottention, embedded corpus, a few minutes on
    /// 2 cores): every key, model and attention as preset names.</summary>
    public static JsonObject DefaultJson()
    {
        var defaults = new RunConfig();
        var json = new JsonObject();
        foreach (var key in RunConfigKeys.All) SectionOf(json, key)[key.Name] = key.WriteDefault(defaults);
        return json;
    }

    /// <summary>The JSON object that holds <paramref name="key"/> (created when missing): the section, or the root for "model" and "attention".</summary>
    static JsonObject SectionOf(JsonObject json, ConfigKey key)
    {
        if (key.Path == key.Section) return json;
        if (json[key.Section] is not JsonObject section) json[key.Section] = section = new JsonObject();
        return section;
    }

    public static JsonObject ParseJson(string text, string source)
    {
        try
        {
            return JsonNode.Parse(text, documentOptions: JsonOptions) as JsonObject
                   ?? throw new BertLabException($"{source}: the configuration must be a JSON object");
        }
        catch (JsonException e) { throw new BertLabException($"{source}: invalid JSON: {e.Message}"); }
    }

    /// <summary>Reads a file on top of the defaults (a file's sections replace keys of the defaults' sections).</summary>
    public static JsonObject LoadJson(string? path)
    {
        var json = DefaultJson();
        if (path is null) return json;
        if (!File.Exists(path)) throw new BertLabException($"configuration file not found: {path}");
        var file = ParseJson(File.ReadAllText(path), path);
        Merge(json, file);
        return json;
    }

    static void Merge(JsonObject target, JsonObject source)
    {
        foreach (var (k, v) in source.ToList())
        {
            if (v is JsonObject so && target[k] is JsonObject to && k != "attention" && k != "model") Merge(to, so);
            else target[k] = v?.DeepClone();
        }
    }

    /// <summary>--set a.b=value: for a key of <see cref="RunConfigKeys"/>, the value is read as its type asks (a string key
    /// takes the text as it is); elsewhere (model.*, attention.*) as JSON when it is valid JSON, else as a string.</summary>
    public static void ApplyOverride(JsonObject json, string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) throw new BertLabException($"--set '{assignment}': expected key.path=value");
        var path = assignment[..eq];
        var raw = assignment[(eq + 1)..];
        ApplyOverride(json, path, RunConfigKeys.Find(path) is ConfigKey key ? key.ParseText(raw) : ConfigKey.ParseJsonOrString(raw));
    }

    /// <summary>Sets a typed value, checked against the key's rule, without a detour through text (the CLI's --steps, --seed, ...).</summary>
    public static void ApplyOverride<T>(JsonObject json, ConfigKey<T> key, T value)
    {
        key.Check(value);
        ApplyOverride(json, key.Path, key.ToJson(value));
    }

    /// <summary>Sets the JSON value at a dotted path; a preset name on the way ("model": "tiny") becomes {"preset": "tiny"}.</summary>
    public static void ApplyOverride(JsonObject json, string path, JsonNode? value)
    {
        var parts = path.Split('.');
        JsonObject node = json;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            if (node[parts[i]] is JsonValue v && v.TryGetValue<string>(out var presetName) && parts[i] is "model" or "attention")
                node[parts[i]] = new JsonObject { ["preset"] = presetName };
            if (node[parts[i]] is not JsonObject child) { child = new JsonObject(); node[parts[i]] = child; }
            node = child;
        }
        node[parts[^1]] = value;
    }

    public static RunConfig FromJson(JsonObject json)
    {
        foreach (var (k, _) in json)
            if (!RunConfigKeys.Sections.Contains(k)) throw new BertLabException($"config: unknown key '{k}'; allowed: {string.Join(", ", RunConfigKeys.Sections)}");
        var c = new RunConfig();
        foreach (var section in RunConfigKeys.Sections)
        {
            if (json[section] is not JsonNode node) continue; // absent or null: the defaults
            var keys = RunConfigKeys.All.Where(k => k.Section == section).ToList();
            if (keys is [var whole] && whole.Path == section) { whole.Read(c, node); continue; }
            if (node is not JsonObject o) throw new BertLabException($"config: '{section}' must be an object");
            foreach (var (name, value) in o)
            {
                var key = keys.FirstOrDefault(k => k.Name == name)
                          ?? throw new BertLabException($"config: unknown key '{section}.{name}'; allowed: {string.Join(", ", keys.Select(k => k.Name))}");
                if (value is not null) key.Read(c, value); // null: the default
            }
        }
        if (c.Run.InitFrom is not null)
        {
            var attention = c.Model.Attention;
            c.Model = BertCheckpoint.LoadConfig(c.Run.InitFrom);
            if (json["attention"] is not null) c.Model.Attention = attention;
            c.ModelPreset = "init_from";
        }

        c.Validate();
        return c;
    }

    /// <summary>Checks every key against its rule, then the rules between keys.</summary>
    public void Validate()
    {
        foreach (var key in RunConfigKeys.All) key.Check(this);
        if (Data.SeqLen > Model.MaxPositionEmbeddings)
            throw new BertLabException($"config: data.seq_len ({Data.SeqLen}) exceeds model.max_position_embeddings ({Model.MaxPositionEmbeddings})");
        if (Data.Synthetic is string spec)
        {
            var task = BertLab.Data.Synthetic.SyntheticTask.Parse(spec);
            if (Data.Prepared is not null) throw new BertLabException("config: data.synthetic and data.prepared are two data sources; set one of them");
            if (Data.ValidationCorpus.Count > 0) throw new BertLabException("config: data.validation_corpus applies to text; a generated task (data.synthetic) brings its own validation set");
            if (task.VocabSize != Model.VocabSize)
                throw new BertLabException($"config: the synthetic task '{spec}' has a vocabulary of {task.VocabSize} tokens but model.vocab_size is {Model.VocabSize}; set model.vocab_size {task.VocabSize}");
            if (task.MaxLength > Data.SeqLen)
                throw new BertLabException($"config: the synthetic task '{spec}' makes sequences of up to {task.MaxLength} tokens, more than data.seq_len ({Data.SeqLen}); raise data.seq_len or lower pairs");
        }
    }

    /// <summary>The resolved configuration, as saved in the run directory (loadable with --config).</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject();
        foreach (var key in RunConfigKeys.All) SectionOf(json, key)[key.Name] = key.Write(this);
        return json;
    }
}
