using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Model;
using BertLab.Runtime;

namespace BertLab.Training;

/// <summary>Data section of a run configuration.</summary>
public sealed class DataSettings
{
    /// <summary>Corpus files, directories or globs; empty = the embedded default corpus (data/corpus).</summary>
    public List<string> Corpus { get; set; } = new();
    /// <summary>vocab.txt; null = bert-base-uncased (data/vocab).</summary>
    public string? Vocab { get; set; }
    public int SeqLen { get; set; } = 128;
    public double MlmProbability { get; set; } = 0.15;
    public bool WholeWordMasking { get; set; }
    /// <summary>Share of packed sequences held out for validation.</summary>
    public double ValidationFraction { get; set; } = 0.02;
    /// <summary>One document per line in .txt files (instead of blank-line separated).</summary>
    public bool LineDocs { get; set; }
    /// <summary>Where prepared shards are cached; null = &lt;run-dir&gt;/../.cache.</summary>
    public string? CacheDir { get; set; }
}

/// <summary>Run section: steps, batches, intervals, seed, device.</summary>
public sealed class RunSettings
{
    public int Steps { get; set; } = 300;
    public int BatchSize { get; set; } = 32;
    /// <summary>Micro-batches per optimiser step; batch_size is per micro-batch.</summary>
    public int Accumulation { get; set; } = 1;
    public int LogInterval { get; set; } = 10;
    public int EvalInterval { get; set; } = 100;
    public int EvalBatches { get; set; } = 16;
    public int CheckpointInterval { get; set; } = 100;
    /// <summary>Checkpoints kept besides the best one.</summary>
    public int KeepLast { get; set; } = 2;
    public long Seed { get; set; } = 42;
    public string Device { get; set; } = "cpu";
    /// <summary>fp32, bf16 or bf16-autocast mixed precision (bf16 matmuls, fp32 master weights; see MixedPrecision). For GPUs:
    /// CPUs without AVX512-BF16 run bf16 matmuls ~100× slower.</summary>
    public string Precision { get; set; } = "fp32";
    /// <summary>0 = all cores.</summary>
    public int Threads { get; set; }
    /// <summary>Compute the vocabulary projection only at masked positions (≈3× faster).</summary>
    public bool MaskedOnlyLogits { get; set; } = true;
    /// <summary>Divergence guard: stop when the loss stays above factor × its running mean for this many logged steps.</summary>
    public double DivergenceFactor { get; set; } = 3.0;
    /// <summary>Stop (as if interrupted) after this many steps, keeping the schedule of run.steps; 0 = run to the end. For tests and time-boxed sessions.</summary>
    public int StopAfter { get; set; }
    /// <summary>Start from this checkpoint's weights and configuration (continued pre-training) instead of a random init.</summary>
    public string? InitFrom { get; set; }
    public int DivergencePatience { get; set; } = 3;
}

/// <summary>
/// A training run's configuration: model, attention, data, optimizer, schedule, run. JSON with comments;
/// every key is checked on load (unknown keys, wrong types and impossible values name their key path and the
/// allowed values). Model presets: tiny, small, base.
/// </summary>
public sealed class RunConfig
{
    public string ModelPreset { get; set; } = "small";
    public BertConfig Model { get; set; } = ModelPresets.Create("small");
    public DataSettings Data { get; set; } = new();
    public OptimizerSettings Optimizer { get; set; } = new() { Lr = 5e-4 };
    public ScheduleSettings Schedule { get; set; } = new() { Name = "linear", WarmupSteps = 30 };
    public RunSettings Run { get; set; } = new();

    static readonly JsonDocumentOptions JsonOptions = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The defaults of `bertlab train` with no arguments: small model, cottention, embedded corpus, a few minutes on 2 cores.</summary>
    public static JsonObject DefaultJson() => new()
    {
        ["model"] = "small",
        ["attention"] = "cottention",
        ["data"] = new JsonObject { ["seq_len"] = 128 },
        ["optimizer"] = new JsonObject { ["name"] = "adamw", ["lr"] = 5e-4, ["weight_decay"] = 0.01, ["clip_norm"] = 1.0 },
        ["schedule"] = new JsonObject { ["name"] = "linear", ["warmup_steps"] = 30 },
        ["run"] = new JsonObject { ["steps"] = 300, ["batch_size"] = 32, ["seed"] = 42 },
    };

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

    /// <summary>--set a.b=value: value parsed as JSON when it is valid JSON, else taken as a string.</summary>
    public static void ApplyOverride(JsonObject json, string assignment)
    {
        int eq = assignment.IndexOf('=');
        if (eq <= 0) throw new BertLabException($"--set '{assignment}': expected key.path=value");
        var path = assignment[..eq].Split('.');
        var raw = assignment[(eq + 1)..];
        JsonNode? value;
        try { value = JsonNode.Parse(raw); } catch (JsonException) { value = JsonValue.Create(raw); }
        JsonObject node = json;
        for (int i = 0; i < path.Length - 1; i++)
        {
            if (node[path[i]] is JsonValue v && v.TryGetValue<string>(out var presetName) && path[i] is "model" or "attention")
                node[path[i]] = new JsonObject { ["preset"] = presetName };
            if (node[path[i]] is not JsonObject child) { child = new JsonObject(); node[path[i]] = child; }
            node = child;
        }
        node[path[^1]] = value;
    }

    static readonly string[] TopKeys = { "model", "attention", "data", "optimizer", "schedule", "run" };

    public static RunConfig FromJson(JsonObject json)
    {
        foreach (var (k, _) in json)
            if (!TopKeys.Contains(k)) throw new BertLabException($"config: unknown key '{k}'; allowed: {string.Join(", ", TopKeys)}");
        var c = new RunConfig();
        // model: a preset name, or {"preset": name, <Hugging Face config fields>}
        var modelNode = json["model"] ?? JsonValue.Create("small");
        if (modelNode is JsonValue mv && mv.TryGetValue<string>(out var presetName))
        {
            c.ModelPreset = presetName;
            c.Model = ModelPresets.Create(presetName);
        }
        else if (modelNode is JsonObject mo)
        {
            c.ModelPreset = mo["preset"] is JsonValue pv ? pv.GetValue<string>() : "small";
            var merged = ModelPresets.Json(c.ModelPreset);
            foreach (var (k, v) in mo)
            {
                if (k == "preset") continue;
                if (!ModelPresets.AllowedKeys.Contains(k))
                    throw new BertLabException($"config: unknown key 'model.{k}'; allowed: preset, {string.Join(", ", ModelPresets.AllowedKeys)}");
                merged[k] = v?.DeepClone();
            }
            try { c.Model = BertConfig.FromJson(merged.ToJsonString()); }
            catch (BertLabException e) { throw new BertLabException($"config: model: {e.Message}"); }
        }
        else throw new BertLabException("config: 'model' must be a preset name (tiny, small, base) or an object");

        if (json["attention"] is JsonNode att) c.Model.Attention = AttentionConfig.FromJson(att, "attention");

        var data = Section(json, "data");
        c.Data.Corpus = data.Take("corpus", n => n is JsonArray a ? a.Select(x => Str(x!, "data.corpus")).ToList() : new List<string> { Str(n, "data.corpus") }, c.Data.Corpus);
        c.Data.Vocab = data.Take("vocab", n => (string?)Str(n, "data.vocab"), c.Data.Vocab);
        c.Data.SeqLen = data.Int("seq_len", c.Data.SeqLen);
        c.Data.MlmProbability = data.Num("mlm_probability", c.Data.MlmProbability);
        c.Data.WholeWordMasking = data.Bool("whole_word_masking", c.Data.WholeWordMasking);
        c.Data.ValidationFraction = data.Num("validation_fraction", c.Data.ValidationFraction);
        c.Data.LineDocs = data.Bool("line_docs", c.Data.LineDocs);
        c.Data.CacheDir = data.Take("cache_dir", n => (string?)Str(n, "data.cache_dir"), c.Data.CacheDir);
        data.RejectUnknown();

        var opt = Section(json, "optimizer");
        c.Optimizer.Name = opt.Take("name", n => Str(n, "optimizer.name"), c.Optimizer.Name);
        c.Optimizer.Lr = opt.Num("lr", c.Optimizer.Lr);
        c.Optimizer.Beta1 = opt.Num("beta1", c.Optimizer.Beta1);
        c.Optimizer.Beta2 = opt.Num("beta2", c.Optimizer.Beta2);
        c.Optimizer.Eps = opt.Num("eps", c.Optimizer.Eps);
        c.Optimizer.WeightDecay = opt.Num("weight_decay", c.Optimizer.WeightDecay);
        c.Optimizer.Momentum = opt.Num("momentum", c.Optimizer.Momentum);
        c.Optimizer.ClipNorm = opt.Num("clip_norm", c.Optimizer.ClipNorm);
        c.Optimizer.Implementation = opt.Take("implementation", n => Str(n, "optimizer.implementation"), c.Optimizer.Implementation);
        c.Optimizer.NoDecay = opt.Take("no_decay", n => n is JsonArray a ? a.Select(x => Str(x!, "optimizer.no_decay")).ToList()
            : throw new BertLabException("optimizer.no_decay must be an array of name patterns"), c.Optimizer.NoDecay);
        opt.RejectUnknown();

        var sch = Section(json, "schedule");
        c.Schedule.Name = sch.Take("name", n => Str(n, "schedule.name"), c.Schedule.Name);
        c.Schedule.WarmupSteps = sch.Int("warmup_steps", c.Schedule.WarmupSteps);
        c.Schedule.MinRatio = sch.Num("min_ratio", c.Schedule.MinRatio);
        sch.RejectUnknown();

        var run = Section(json, "run");
        c.Run.Steps = run.Int("steps", c.Run.Steps);
        c.Run.BatchSize = run.Int("batch_size", c.Run.BatchSize);
        c.Run.Accumulation = run.Int("accumulation", c.Run.Accumulation);
        c.Run.LogInterval = run.Int("log_interval", c.Run.LogInterval);
        c.Run.EvalInterval = run.Int("eval_interval", c.Run.EvalInterval);
        c.Run.EvalBatches = run.Int("eval_batches", c.Run.EvalBatches);
        c.Run.CheckpointInterval = run.Int("checkpoint_interval", c.Run.CheckpointInterval);
        c.Run.KeepLast = run.Int("keep_last", c.Run.KeepLast);
        c.Run.Seed = run.Int("seed", (int)c.Run.Seed);
        c.Run.Device = run.Take("device", n => Str(n, "run.device"), c.Run.Device);
        c.Run.Threads = run.Int("threads", c.Run.Threads);
        c.Run.MaskedOnlyLogits = run.Bool("masked_only_logits", c.Run.MaskedOnlyLogits);
        c.Run.Precision = run.Take("precision", n => Str(n, "run.precision"), c.Run.Precision);
        c.Run.DivergenceFactor = run.Num("divergence_factor", c.Run.DivergenceFactor);
        c.Run.DivergencePatience = run.Int("divergence_patience", c.Run.DivergencePatience);
        c.Run.InitFrom = run.Take("init_from", n => (string?)Str(n, "run.init_from"), c.Run.InitFrom);
        run.RejectUnknown();
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

    public void Validate()
    {
        Model.Validate();
        Optimizer.Validate("optimizer");
        Schedule.Validate("schedule");
        void Positive(string key, int v) { if (v <= 0) throw new BertLabException($"config: {key} must be a positive integer, got {v}"); }
        Positive("run.steps", Run.Steps);
        Positive("run.batch_size", Run.BatchSize);
        Positive("run.accumulation", Run.Accumulation);
        Positive("run.log_interval", Run.LogInterval);
        Positive("run.eval_interval", Run.EvalInterval);
        Positive("run.eval_batches", Run.EvalBatches);
        Positive("run.checkpoint_interval", Run.CheckpointInterval);
        if (Run.KeepLast < 1) throw new BertLabException($"config: run.keep_last must be ≥ 1, got {Run.KeepLast}");
        if (Run.Threads < 0) throw new BertLabException($"config: run.threads must be ≥ 0 (0 = all cores), got {Run.Threads}");
        if (Run.Device is not ("cpu" or "cuda")) throw new BertLabException($"config: run.device '{Run.Device}' is not allowed; allowed: cpu, cuda");
        MixedPrecision.Parse(Run.Precision, "config: run.precision");
        if (!(Run.DivergenceFactor > 1)) throw new BertLabException($"config: run.divergence_factor must be > 1, got {Run.DivergenceFactor}");
        Positive("run.divergence_patience", Run.DivergencePatience);
        if (Data.SeqLen < 8) throw new BertLabException($"config: data.seq_len must be ≥ 8, got {Data.SeqLen}");
        if (Data.SeqLen > Model.MaxPositionEmbeddings)
            throw new BertLabException($"config: data.seq_len ({Data.SeqLen}) exceeds model.max_position_embeddings ({Model.MaxPositionEmbeddings})");
        if (Data.MlmProbability is <= 0 or >= 1) throw new BertLabException($"config: data.mlm_probability must be in (0, 1), got {Data.MlmProbability}");
        if (Data.ValidationFraction is <= 0 or >= 0.5) throw new BertLabException($"config: data.validation_fraction must be in (0, 0.5), got {Data.ValidationFraction}");
    }

    /// <summary>The resolved configuration, as saved in the run directory (loadable with --config).</summary>
    public JsonObject ToJson()
    {
        var model = JsonNode.Parse(Model.ToJson())!.AsObject();
        var modelOut = new JsonObject { ["preset"] = ModelPresets.Names.Contains(ModelPreset) ? ModelPreset : "small" };
        foreach (var k in ModelPresets.AllowedKeys) if (model[k] is JsonNode v) modelOut[k] = v.DeepClone();
        return new JsonObject
        {
            ["model"] = modelOut,
            ["attention"] = Model.Attention.ToJson(),
            ["data"] = new JsonObject
            {
                ["corpus"] = new JsonArray(Data.Corpus.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
                ["vocab"] = Data.Vocab, ["seq_len"] = Data.SeqLen, ["mlm_probability"] = Data.MlmProbability,
                ["whole_word_masking"] = Data.WholeWordMasking, ["validation_fraction"] = Data.ValidationFraction,
                ["line_docs"] = Data.LineDocs, ["cache_dir"] = Data.CacheDir,
            },
            ["optimizer"] = new JsonObject
            {
                ["name"] = Optimizer.Name, ["lr"] = Optimizer.Lr, ["beta1"] = Optimizer.Beta1, ["beta2"] = Optimizer.Beta2,
                ["eps"] = Optimizer.Eps, ["weight_decay"] = Optimizer.WeightDecay, ["momentum"] = Optimizer.Momentum,
                ["clip_norm"] = Optimizer.ClipNorm, ["implementation"] = Optimizer.Implementation,
                ["no_decay"] = new JsonArray(Optimizer.NoDecay.Select(x => (JsonNode?)JsonValue.Create(x)).ToArray()),
            },
            ["schedule"] = new JsonObject { ["name"] = Schedule.Name, ["warmup_steps"] = Schedule.WarmupSteps, ["min_ratio"] = Schedule.MinRatio },
            ["run"] = new JsonObject
            {
                ["steps"] = Run.Steps, ["batch_size"] = Run.BatchSize, ["accumulation"] = Run.Accumulation,
                ["log_interval"] = Run.LogInterval, ["eval_interval"] = Run.EvalInterval, ["eval_batches"] = Run.EvalBatches,
                ["checkpoint_interval"] = Run.CheckpointInterval, ["keep_last"] = Run.KeepLast, ["seed"] = Run.Seed,
                ["device"] = Run.Device, ["threads"] = Run.Threads, ["masked_only_logits"] = Run.MaskedOnlyLogits, ["precision"] = Run.Precision,
                ["divergence_factor"] = Run.DivergenceFactor, ["divergence_patience"] = Run.DivergencePatience,
                ["init_from"] = Run.InitFrom,
            },
        };
    }

    static SectionReader Section(JsonObject json, string name)
    {
        var node = json[name];
        if (node is null) return new SectionReader(name, new JsonObject());
        if (node is not JsonObject o) throw new BertLabException($"config: '{name}' must be an object");
        return new SectionReader(name, o);
    }

    static string Str(JsonNode n, string path) =>
        n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new BertLabException($"config: {path} must be a string, got {n.ToJsonString()}");

    sealed class SectionReader
    {
        readonly string _name;
        readonly JsonObject _o;
        readonly HashSet<string> _seen = new();
        public SectionReader(string name, JsonObject o) { _name = name; _o = o; }

        public T Take<T>(string key, Func<JsonNode, T> read, T dflt)
        {
            _seen.Add(key);
            var n = _o[key];
            return n is null ? dflt : read(n);
        }

        public int Int(string key, int dflt) => Take(key, n =>
            JsonNumbers.TryGetDouble(n, out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue ? (int)d
                : throw new BertLabException($"config: {_name}.{key} must be an integer, got {n.ToJsonString()}"), dflt);

        public double Num(string key, double dflt) => Take(key, n =>
            JsonNumbers.TryGetDouble(n, out var d) ? d
                : throw new BertLabException($"config: {_name}.{key} must be a number, got {n.ToJsonString()}"), dflt);

        public bool Bool(string key, bool dflt) => Take(key, n =>
            n is JsonValue v && v.TryGetValue<bool>(out var b) ? b
                : throw new BertLabException($"config: {_name}.{key} must be true or false, got {n.ToJsonString()}"), dflt);

        public void RejectUnknown()
        {
            foreach (var (k, _) in _o)
                if (!_seen.Contains(k))
                    throw new BertLabException($"config: unknown key '{_name}.{k}'; allowed: {string.Join(", ", _seen)}");
        }
    }
}

/// <summary>Named model shapes: tiny (tests, seconds), small (BERT-small 4×256, the default), base (BERT-base 12×768).</summary>
public static class ModelPresets
{
    public static readonly string[] Names = { "tiny", "small", "base" };

    public static readonly string[] AllowedKeys =
    {
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
        "initializer_range", "layer_norm_eps", "pad_token_id", "tie_word_embeddings",
    };

    public static JsonObject Json(string name)
    {
        (int layers, int hidden, int heads, int ffn) = name switch
        {
            "tiny" => (2, 128, 2, 512),
            "small" => (4, 256, 4, 1024),
            "base" => (12, 768, 12, 3072),
            _ => throw new BertLabException($"config: unknown model preset '{name}'; allowed: {string.Join(", ", Names)}"),
        };
        return new JsonObject
        {
            ["vocab_size"] = 30522, ["hidden_size"] = hidden, ["num_hidden_layers"] = layers, ["num_attention_heads"] = heads,
            ["intermediate_size"] = ffn, ["hidden_act"] = "gelu", ["hidden_dropout_prob"] = 0.1, ["attention_probs_dropout_prob"] = 0.1,
            ["max_position_embeddings"] = 512, ["type_vocab_size"] = 2, ["initializer_range"] = 0.02, ["layer_norm_eps"] = 1e-12,
            ["pad_token_id"] = 0, ["tie_word_embeddings"] = true, ["model_type"] = "bert",
        };
    }

    public static BertConfig Create(string name) => BertConfig.FromJson(Json(name).ToJsonString());
}
