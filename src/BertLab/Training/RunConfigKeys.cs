using System.Linq.Expressions;
using System.Reflection;
using System.Text;
using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Model;
using BertLab.Runtime;

namespace BertLab.Training;

/// <summary>
/// The keys of a run configuration, each declared once: path, type, rule, help and the property it binds to. Reading
/// (<see cref="RunConfig.FromJson"/>), writing (<see cref="RunConfig.ToJson"/>, <see cref="RunConfig.DefaultJson"/>),
/// validation, <c>--set</c> and the documentation (<see cref="MarkdownTable"/>, printed by <c>bertlab config keys</c>
/// and kept in README.md) are derived from this table. A key's default is the initial value of its property in a new
/// <see cref="RunConfig"/> (the settings classes' initialisers), stated there once.
/// </summary>
public static class RunConfigKeys
{
    static readonly List<ConfigKey> Keys = new();
    static readonly Section<DataSettings> Data = new("data", c => c.Data);
    static readonly Section<OptimizerSettings> Optimizer = new("optimizer", c => c.Optimizer);
    static readonly Section<ScheduleSettings> Schedule = new("schedule", c => c.Schedule);
    static readonly Section<RunSettings> Run = new("run", c => c.Run);

    // The order here is the order of run_config.json and of the documentation.
    public static readonly ConfigKey Model = Add(new ModelKey());
    public static readonly ConfigKey Attention = Add(new AttentionKey());

    public static readonly ConfigKey<List<string>> DataCorpus = Data.List("corpus", d => d.Corpus, "Corpus files, directories or globs; [] = the embedded corpus (data/corpus)");
    public static readonly ConfigKey<string?> DataVocab = Data.Path("vocab", d => d.Vocab, "vocab.txt; null = bert-base-uncased (data/vocab)");
    public static readonly ConfigKey<int> DataSeqLen = Data.Int("seq_len", d => d.SeqLen, "≥ 8", "Tokens per sequence, [CLS] and [SEP] included; at most model.max_position_embeddings");
    public static readonly ConfigKey<double> DataMlmProbability = Data.Num("mlm_probability", d => d.MlmProbability, "(0, 1)", "Share of tokens selected for the masked-LM objective");
    public static readonly ConfigKey<bool> DataWholeWordMasking = Data.Bool("whole_word_masking", d => d.WholeWordMasking, "Select whole words (all their word pieces) for masking");
    public static readonly ConfigKey<double> DataValidationFraction = Data.Num("validation_fraction", d => d.ValidationFraction, "(0, 0.5)", "Share of documents held out for validation (chosen by document hash)");
    public static readonly ConfigKey<bool> DataLineDocs = Data.Bool("line_docs", d => d.LineDocs, "One document per line in .txt files (instead of blank-line separated)");
    public static readonly ConfigKey<string?> DataCacheDir = Data.Path("cache_dir", d => d.CacheDir, "Where prepared shards are cached; null = .cache in the run directory's parent");
    public static readonly ConfigKey<string> DataPacking = Data.Str("packing", d => d.Packing, ConfigRules.OneOf(BertLab.Data.PackingModes.Names),
        "packed (full sequences, documents back to back), sentence_pairs ([CLS] A [SEP] B [SEP], segments 0/1, natural lengths) or documents (one document per sequence, truncated); the last two pad each batch to its longest sequence, length-bucketed");
    public static readonly ConfigKey<string?> DataPrepared = Data.Path("prepared", d => d.Prepared,
        "A directory made by `bertlab data prepare` to train on instead of data.corpus (its sequence length and packing are the data's)");

    public static readonly ConfigKey<string?> DataSynthetic = Data.OptStr("synthetic", d => d.Synthetic, ConfigRules.SyntheticTaskSpec,
        "Train on a generated task instead of text: kind[:name=value,…], kind index, lookup, associative_recall or copy (e.g. index:keys=64,values=32,pairs=4-32); model.vocab_size must be the task's; null = text");
    public static readonly ConfigKey<List<string>> DataValidationCorpus = Data.List("validation_corpus", d => d.ValidationCorpus,
        "Validate on the held-out documents of these files (the same data.validation_fraction and document hashes) instead of data.corpus's; [] = data.corpus's own. Keep the two corpora's documents apart: a document in both is trained on and validated on");

    public static readonly ConfigKey<string> OptimizerName = Optimizer.Str("name", o => o.Name, ConfigRules.OneOf(OptimizerSettings.Names),
        "adamw (decoupled weight decay), adam (weight decay as an L2 penalty in the gradient), sgd (with momentum)");
    public static readonly ConfigKey<double> OptimizerLr = Optimizer.Num("lr", o => o.Lr, "> 0", "Peak learning rate");
    public static readonly ConfigKey<double> OptimizerBeta1 = Optimizer.Num("beta1", o => o.Beta1, "[0, 1)", "Adam β1");
    public static readonly ConfigKey<double> OptimizerBeta2 = Optimizer.Num("beta2", o => o.Beta2, "[0, 1)", "Adam β2");
    public static readonly ConfigKey<double> OptimizerEps = Optimizer.Num("eps", o => o.Eps, "> 0", "Adam ε");
    public static readonly ConfigKey<double> OptimizerWeightDecay = Optimizer.Num("weight_decay", o => o.WeightDecay, "≥ 0", "Weight decay (decoupled for adamw, L2 for adam and sgd)");
    public static readonly ConfigKey<double> OptimizerMomentum = Optimizer.Num("momentum", o => o.Momentum, "[0, 1)", "SGD momentum");
    public static readonly ConfigKey<double> OptimizerClipNorm = Optimizer.Num("clip_norm", o => o.ClipNorm, "≥ 0", "Clip the global gradient norm to this value; 0 = no clipping");
    public static readonly ConfigKey<string> OptimizerImplementation = Optimizer.Str("implementation", o => o.Implementation, ConfigRules.OneOf(OptimizerSettings.Implementations),
        "auto (flat AdamW for adamw on every device, TorchSharp's for adam and sgd), flat (AdamW over one buffer: one fused SIMD pass on CPU, a few kernels on CUDA) or torch (per-tensor)");
    public static readonly ConfigKey<List<string>> OptimizerNoDecay = Optimizer.List("no_decay", o => o.NoDecay,
        "Parameters without weight decay: names containing any of these; [] decays everything");

    public static readonly ConfigKey<string> ScheduleName = Schedule.Str("name", s => s.Name, ConfigRules.OneOf(ScheduleSettings.Names),
        "constant (after warmup), linear (warmup, then linear decay to 0), cosine (warmup, then cosine to min_ratio), inverse_sqrt");
    public static readonly ConfigKey<int> ScheduleWarmupSteps = Schedule.Int("warmup_steps", s => s.WarmupSteps, "≥ 0", "Steps of linear warmup from 0 to the peak learning rate");
    public static readonly ConfigKey<double> ScheduleMinRatio = Schedule.Num("min_ratio", s => s.MinRatio, "[0, 1]", "Final learning rate as a fraction of the peak, for cosine");

    public static readonly ConfigKey<int> RunSteps = Run.Int("steps", r => r.Steps, "≥ 1", "Optimiser steps (with --resume: the new total)");
    public static readonly ConfigKey<int> RunBatchSize = Run.Int("batch_size", r => r.BatchSize, "≥ 1", "Sequences per micro-batch");
    public static readonly ConfigKey<int> RunAccumulation = Run.Int("accumulation", r => r.Accumulation, "≥ 1", "Micro-batches per optimiser step");
    public static readonly ConfigKey<int> RunLogInterval = Run.Int("log_interval", r => r.LogInterval, "≥ 1", "Steps between training records (metrics.jsonl, console)");
    public static readonly ConfigKey<int> RunEvalInterval = Run.Int("eval_interval", r => r.EvalInterval, "≥ 1", "Steps between validations");
    public static readonly ConfigKey<int> RunEvalBatches = Run.Int("eval_batches", r => r.EvalBatches, "≥ 0", "Batches per validation; 0 = the whole validation set (studies use it)");
    public static readonly ConfigKey<int> RunCheckpointInterval = Run.Int("checkpoint_interval", r => r.CheckpointInterval, "≥ 1", "Steps between checkpoints");
    public static readonly ConfigKey<int> RunKeepLast = Run.Int("keep_last", r => r.KeepLast, "≥ 1", "Checkpoints kept besides the best one");
    public static readonly ConfigKey<long> RunSeed = Run.Long("seed", r => r.Seed, "Seed for initialisation, data order, masking and dropout");
    public static readonly ConfigKey<string> RunDevice = Run.Str("device", r => r.Device, ConfigRules.OneOf(new[] { "cpu", "cuda" }), "Where to train");
    public static readonly ConfigKey<int> RunThreads = Run.Int("threads", r => r.Threads, "≥ 0", "CPU threads; 0 = all cores");
    public static readonly ConfigKey<bool> RunMaskedOnlyLogits = Run.Bool("masked_only_logits", r => r.MaskedOnlyLogits, "Compute the vocabulary projection only at masked positions (≈3× faster)");
    public static readonly ConfigKey<string> RunPrecision = Run.Str("precision", r => r.Precision, ConfigRules.OneOf(MixedPrecision.Names, IsPrecision),
        "fp32; for GPUs bf16 (bf16 matmuls and activations, fp32 master weights) or bf16-autocast (fp32 activations, as torch.autocast). CPUs without AVX512-BF16 run bf16 matmuls ~100× slower");
    public static readonly ConfigKey<double> RunDivergenceFactor = Run.Num("divergence_factor", r => r.DivergenceFactor, "> 1",
        "Divergence guard, checked every step: the run stops when the loss stays above this factor × its lowest running mean for divergence_patience consecutive steps");
    public static readonly ConfigKey<int> RunDivergencePatience = Run.Int("divergence_patience", r => r.DivergencePatience, "≥ 1",
        "Consecutive steps (every step, not only logged ones) the divergence guard and the return-to-uniform rule wait");
    public static readonly ConfigKey<string?> RunInitFrom = Run.Path("init_from", r => r.InitFrom,
        "Start from this checkpoint's weights and model configuration (continued pre-training) instead of a random initialisation");

    /// <summary>Every key, in the order of run_config.json.</summary>
    public static IReadOnlyList<ConfigKey> All => Keys;

    /// <summary>The top-level names of a configuration: model, attention, data, optimizer, schedule, run.</summary>
    public static IReadOnlyList<string> Sections { get; } = Keys.Select(k => k.Section).Distinct().ToArray();

    /// <summary>The key at <paramref name="path"/> ("run.steps", "model"), or null.</summary>
    public static ConfigKey? Find(string path) => Keys.FirstOrDefault(k => k.Path == path);

    /// <summary>Checks every key of one section object on its own, e.g. the <see cref="OptimizerSettings"/> of fine-tuning.</summary>
    public static void Validate<TSection>(TSection section, string sectionPath)
    {
        foreach (var k in Keys.OfType<ISectionKey<TSection>>()) k.Check(section, sectionPath);
    }

    /// <summary>The Markdown table of every key: path, type, default, allowed values, meaning (README.md holds a copy, kept equal by a test).</summary>
    public static string MarkdownTable()
    {
        var defaults = new RunConfig();
        var sb = new StringBuilder();
        sb.Append("| key | type | default | allowed | meaning |\n");
        sb.Append("| --- | --- | --- | --- | --- |\n");
        foreach (var k in Keys)
        {
            string dflt = k.WriteDefault(defaults)?.ToJsonString() ?? "null";
            sb.Append($"| `{k.Path}` | {k.TypeName} | `{dflt}` | {Cell(k.Allowed)} | {Cell(k.Help)} |\n");
        }
        return sb.ToString();
    }

    static string Cell(string text) => text.Replace("|", "\\|");

    static bool IsPrecision(string name)
    {
        try { MixedPrecision.Parse(name); return true; }
        catch (BertLabException) { return false; }
    }

    static T Add<T>(T key) where T : ConfigKey
    {
        Keys.Add(key);
        return key;
    }

    /// <summary>A section of the configuration held by one settings object; its methods declare (and register) one key each.</summary>
    sealed class Section<TS>(string name, Func<RunConfig, TS> get)
    {
        public ConfigKey<int> Int(string key, Expression<Func<TS, int>> property, string range, string help) =>
            Key(key, property, ConfigTypes.Integer, ConfigRules.Range<int>(range), help);
        public ConfigKey<long> Long(string key, Expression<Func<TS, long>> property, string help) =>
            Key(key, property, ConfigTypes.Long, ConfigRule<long>.Any, help);
        public ConfigKey<double> Num(string key, Expression<Func<TS, double>> property, string range, string help) =>
            Key(key, property, ConfigTypes.Number, ConfigRules.Range<double>(range), help);
        public ConfigKey<bool> Bool(string key, Expression<Func<TS, bool>> property, string help) =>
            Key(key, property, ConfigTypes.Boolean, ConfigRule<bool>.Any, help);
        public ConfigKey<string> Str(string key, Expression<Func<TS, string>> property, ConfigRule<string> rule, string help) =>
            Key(key, property, ConfigTypes.String, rule, help);
        public ConfigKey<string?> Path(string key, Expression<Func<TS, string?>> property, string help) =>
            Key(key, property, ConfigTypes.OptionalString, ConfigRule<string?>.Any, help);
        public ConfigKey<string?> OptStr(string key, Expression<Func<TS, string?>> property, ConfigRule<string?> rule, string help) =>
            Key(key, property, ConfigTypes.OptionalString, rule, help);
        public ConfigKey<List<string>> List(string key, Expression<Func<TS, List<string>>> property, string help) =>
            Key(key, property, ConfigTypes.StringList, ConfigRule<List<string>>.Any, help);

        ConfigKey<T> Key<T>(string key, Expression<Func<TS, T>> property, ConfigType<T> type, ConfigRule<T> rule, string help)
        {
            var p = (PropertyInfo)((MemberExpression)property.Body).Member;
            return Add(new SectionKey<TS, T>($"{name}.{key}", get, p.GetMethod!.CreateDelegate<Func<TS, T>>(),
                p.SetMethod!.CreateDelegate<Action<TS, T>>(), type, rule, help));
        }
    }

    /// <summary>"model": a preset name, or {"preset": name, &lt;Hugging Face config fields&gt;} replacing the preset's.</summary>
    sealed class ModelKey() : ConfigKey("model",
        "Model shape: a preset (tiny 2×128, small 4×256, base 12×768), or an object of a preset and Hugging Face config keys that replace the preset's")
    {
        public override string TypeName => "preset or object";
        public override string Allowed => $"{string.Join(", ", ModelPresets.Names)}; object keys: preset, {string.Join(", ", ModelPresets.AllowedKeys)}";

        public override JsonNode? Write(RunConfig config)
        {
            var model = JsonNode.Parse(config.Model.ToJson())!.AsObject();
            var o = new JsonObject { ["preset"] = ModelPresets.Names.Contains(config.ModelPreset) ? config.ModelPreset : RunConfig.DefaultModelPreset };
            foreach (var k in ModelPresets.AllowedKeys) if (model[k] is JsonNode v) o[k] = v.DeepClone();
            return o;
        }

        public override JsonNode? WriteDefault(RunConfig defaults) => JsonValue.Create(defaults.ModelPreset);

        public override void Read(RunConfig config, JsonNode node)
        {
            var attention = config.Model.Attention; // the "attention" key's, not the preset's
            if (node is JsonValue v && v.TryGetValue<string>(out var presetName))
            {
                config.ModelPreset = presetName;
                config.Model = ModelPresets.Create(presetName);
            }
            else if (node is JsonObject o)
            {
                config.ModelPreset = o["preset"] is not JsonNode pn ? RunConfig.DefaultModelPreset
                    : pn is JsonValue pv && pv.TryGetValue<string>(out var p) ? p
                    : throw new BertLabException($"config: model.preset must be a string, got {pn.ToJsonString()}");
                var merged = ModelPresets.Json(config.ModelPreset);
                foreach (var (k, value) in o)
                {
                    if (k == "preset") continue;
                    if (!ModelPresets.AllowedKeys.Contains(k))
                        throw new BertLabException($"config: unknown key 'model.{k}'; allowed: preset, {string.Join(", ", ModelPresets.AllowedKeys)}");
                    merged[k] = value?.DeepClone();
                }
                try { config.Model = BertConfig.FromJson(merged.ToJsonString()); }
                catch (BertLabException e) { throw new BertLabException($"config: model: {e.Message}"); }
            }
            else throw new BertLabException($"config: 'model' must be a preset name ({string.Join(", ", ModelPresets.Names)}) or an object");
            config.Model.Attention = attention;
        }

        public override void Check(RunConfig config) => config.Model.Validate();
    }

    /// <summary>"attention": a preset name of ATTENTION.md §2, or an object (see <see cref="AttentionConfig.FromJson"/>).</summary>
    sealed class AttentionKey() : ConfigKey("attention",
        "Attention: a preset of ATTENTION.md §2, or an object such as {\"preset\": \"cosine\", \"scaling\": \"n\", \"normalize\": [\"v\"]}")
    {
        public override string TypeName => "preset or object";
        public override string Allowed => string.Join(", ", AttentionConfig.PresetNames) + "; or an object (ATTENTION.md)";
        public override JsonNode? Write(RunConfig config) => config.Model.Attention.ToJson();
        public override JsonNode? WriteDefault(RunConfig defaults) => JsonValue.Create(defaults.Model.Attention.Preset);
        public override void Read(RunConfig config, JsonNode node) => config.Model.Attention = AttentionConfig.FromJson(node, "attention");
        public override void Check(RunConfig config) => config.Model.Attention.Validate("attention");
    }
}
