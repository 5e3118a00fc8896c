using System.Text.Json.Nodes;
using BertLab.Data;
using BertLab.Tests.EndToEnd;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Training;

/// <summary>The key table (<see cref="RunConfigKeys"/>) and what is derived from it: reading, writing, validation, --set, README.</summary>
public class RunConfigKeysTests
{
    /// <summary>Every key at a value other than its default, written here by hand (not produced by the code under test).</summary>
    const string EveryKeyChanged = """
    {
      "model": {"preset": "tiny", "num_hidden_layers": 3, "max_position_embeddings": 256},
      "attention": {"preset": "cosine", "scaling": "n"},
      "data": {"corpus": ["a.txt", "b/*.txt"], "vocab": "my/vocab.txt", "seq_len": 64, "mlm_probability": 0.2,
               "whole_word_masking": true, "validation_fraction": 0.05, "line_docs": true, "cache_dir": "/tmp/cache"},
      "optimizer": {"name": "adam", "lr": 0.003, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1,
                    "momentum": 0.5, "clip_norm": 0, "implementation": "flat", "no_decay": ["bias"]},
      "schedule": {"name": "cosine", "warmup_steps": 7, "min_ratio": 0.1},
      "run": {"steps": 11, "batch_size": 5, "accumulation": 2, "log_interval": 3, "eval_interval": 4, "eval_batches": 6,
              "checkpoint_interval": 8, "keep_last": 9, "seed": 9007199254740993, "device": "cuda", "threads": 1,
              "masked_only_logits": false, "precision": "bf16", "divergence_factor": 2.5, "divergence_patience": 12}
    }
    """;

    static RunConfig Changed() => RunConfig.FromJson(RunConfig.ParseJson(EveryKeyChanged, "test"));

    [Fact]
    public void EveryKey_IsReadIntoItsProperty()
    {
        var c = Changed();
        Assert.Equal(("tiny", 3, 128, 256), (c.ModelPreset, c.Model.NumHiddenLayers, c.Model.HiddenSize, c.Model.MaxPositionEmbeddings));
        Assert.Equal(("cosine", "n"), (c.Model.Attention.Similarity, c.Model.Attention.Scaling));
        Assert.Equal(new[] { "a.txt", "b/*.txt" }, c.Data.Corpus);
        Assert.Equal(("my/vocab.txt", 64, 0.2, true, 0.05, true, "/tmp/cache"),
            (c.Data.Vocab, c.Data.SeqLen, c.Data.MlmProbability, c.Data.WholeWordMasking, c.Data.ValidationFraction, c.Data.LineDocs, c.Data.CacheDir));
        Assert.Equal(("adam", 0.003, 0.8, 0.99, 1e-6, 0.1, 0.5, 0.0, "flat"),
            (c.Optimizer.Name, c.Optimizer.Lr, c.Optimizer.Beta1, c.Optimizer.Beta2, c.Optimizer.Eps, c.Optimizer.WeightDecay, c.Optimizer.Momentum,
             c.Optimizer.ClipNorm, c.Optimizer.Implementation));
        Assert.Equal(new[] { "bias" }, c.Optimizer.NoDecay);
        Assert.Equal(("cosine", 7, 0.1), (c.Schedule.Name, c.Schedule.WarmupSteps, c.Schedule.MinRatio));
        Assert.Equal((11, 5, 2, 3, 4, 6, 8, 9), (c.Run.Steps, c.Run.BatchSize, c.Run.Accumulation, c.Run.LogInterval, c.Run.EvalInterval,
            c.Run.EvalBatches, c.Run.CheckpointInterval, c.Run.KeepLast));
        Assert.Equal(9007199254740993L, c.Run.Seed); // 2^53 + 1: read as a long, not through a double or an int
        Assert.Equal(("cuda", 1, false, "bf16", 2.5, 12), (c.Run.Device, c.Run.Threads, c.Run.MaskedOnlyLogits, c.Run.Precision,
            c.Run.DivergenceFactor, c.Run.DivergencePatience));
    }

    [Fact]
    public void ToJson_ThenFromJson_GivesTheSameConfiguration()
    {
        var first = Changed().ToJson();
        var again = RunConfig.FromJson(first.DeepClone().AsObject()).ToJson();
        Assert.True(JsonNode.DeepEquals(first, again), $"{first}\n≠\n{again}");
        // every key of the table is written, and every written value is the one read
        var input = RunConfig.ParseJson(EveryKeyChanged, "test");
        foreach (var section in new[] { "data", "optimizer", "schedule", "run" })
        foreach (var (k, v) in input[section]!.AsObject())
            Assert.True(JsonNode.DeepEquals(v, first[section]![k]), $"{section}.{k}: wrote {first[section]![k]?.ToJsonString()}, read {v?.ToJsonString()}");
        Assert.Equal(RunConfigKeys.All.Count, first.AsObject().Sum(s => s.Value is JsonObject o && s.Key is not ("model" or "attention") ? o.Count : 1));
    }

    [Fact]
    public void Defaults_AreThoseOfTrainWithNoArguments()
    {
        // README: small, cottention, seq 128, batch 32, AdamW lr 5e-4, 30 warmup steps, linear decay, 300 steps, seed 42
        foreach (var c in new[] { new RunConfig(), RunConfig.FromJson(RunConfig.DefaultJson()), RunConfig.FromJson(new JsonObject()) })
        {
            Assert.Equal(("small", 4, 256, "cottention"), (c.ModelPreset, c.Model.NumHiddenLayers, c.Model.HiddenSize, c.Model.Attention.Preset));
            Assert.Equal((128, 32, 300, 42L), (c.Data.SeqLen, c.Run.BatchSize, c.Run.Steps, c.Run.Seed));
            Assert.Equal(("adamw", 5e-4, "linear", 30), (c.Optimizer.Name, c.Optimizer.Lr, c.Schedule.Name, c.Schedule.WarmupSteps));
            Assert.Equal(0.02, c.Data.ValidationFraction);
        }
        Assert.Equal(0.02, new PrepareOptions().ValidationFraction); // `data prepare` holds out the same share by default
        Assert.True(JsonNode.DeepEquals(new RunConfig().ToJson(), RunConfig.FromJson(RunConfig.DefaultJson()).ToJson()));
    }

    /// <summary>A value of the wrong JSON type for each key: text for numbers and booleans, a number for strings and lists.</summary>
    static JsonNode WrongType(ConfigKey key) => key.TypeName switch
    {
        "integer" or "number" => JsonValue.Create("many"),
        "boolean" => JsonValue.Create(1),
        "string" => JsonValue.Create(true),
        "list of strings" => JsonValue.Create(3),
        _ => JsonValue.Create(42),
    };

    [Fact]
    public void EveryKey_RejectsAWrongType_NamingItsPath()
    {
        Assert.True(RunConfigKeys.All.Count >= 38);
        foreach (var key in RunConfigKeys.All)
        {
            var json = RunConfig.DefaultJson();
            RunConfig.ApplyOverride(json, key.Path, WrongType(key));
            var e = Assert.Throws<BertLabException>(() => RunConfig.FromJson(json));
            Assert.Contains(key.Path, e.Message);
        }
    }

    [Theory]
    [InlineData("run.steps=1.5", "run.steps must be an integer")]
    [InlineData("run.seed=1.5", "run.seed must be an integer")]
    [InlineData("run.keep_last=0", "run.keep_last must be a positive integer, got 0")]
    [InlineData("run.threads=-1", "run.threads must be ≥ 0")]
    [InlineData("run.divergence_factor=1", "run.divergence_factor must be > 1")]
    [InlineData("data.seq_len=7", "data.seq_len must be ≥ 8")]
    [InlineData("data.mlm_probability=1", "data.mlm_probability must be in (0, 1)")]
    [InlineData("data.validation_fraction=0.5", "data.validation_fraction must be in (0, 0.5)")]
    [InlineData("optimizer.beta1=1", "optimizer.beta1 must be in [0, 1)")]
    [InlineData("optimizer.clip_norm=-1", "optimizer.clip_norm must be ≥ 0")]
    [InlineData("schedule.min_ratio=1.5", "schedule.min_ratio must be in [0, 1]")]
    [InlineData("run.device=gpu", "allowed: cpu, cuda")]
    [InlineData("run.precision=fp16", "allowed: fp32, bf16, bf16-autocast")]
    [InlineData("schedule.name=step", "allowed: constant, linear, cosine, inverse_sqrt")]
    [InlineData("optimizer.implementation=fast", "allowed: auto, flat, torch")]
    [InlineData("run.masked_only_logits=yes", "run.masked_only_logits must be true or false")]
    public void ImpossibleValues_AreErrorsThatNameTheKeyAndWhatIsAllowed(string assignment, string message)
    {
        var json = RunConfig.DefaultJson();
        RunConfig.ApplyOverride(json, assignment);
        var e = Assert.Throws<BertLabException>(() => RunConfig.FromJson(json));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("optimizer.lr=1e400")]
    [InlineData("optimizer.lr=-1e400")]
    [InlineData("optimizer.weight_decay=1e999")]
    [InlineData("run.divergence_factor=1e400")]
    [InlineData("data.mlm_probability=NaN")]
    public void NonFiniteNumbers_AreErrorsNamingTheKey(string assignment)
    {
        string path = assignment[..assignment.IndexOf('=')];
        var json = RunConfig.DefaultJson();
        RunConfig.ApplyOverride(json, assignment);
        var e = Assert.Throws<BertLabException>(() => RunConfig.FromJson(json));
        Assert.Contains($"config: {path} must be a", e.Message);
    }

    [Fact]
    public void NonFiniteNumbers_SetInCode_AreRejected()
    {
        var json = RunConfig.DefaultJson();
        var e = Assert.Throws<BertLabException>(() => RunConfig.ApplyOverride(json, RunConfigKeys.OptimizerLr, double.PositiveInfinity));
        Assert.Contains("optimizer.lr must be a finite number", e.Message);
        var c = new RunConfig();
        c.Run.DivergenceFactor = double.NaN;
        Assert.Contains("run.divergence_factor must be a finite number", Assert.Throws<BertLabException>(c.Validate).Message);
        Assert.Contains("optimizer.lr", Assert.Throws<BertLabException>(() => new OptimizerSettings { Lr = double.NaN }.Validate("optimizer")).Message);
    }

    [Fact]
    public void TypedOverrides_SetTheKeyWithoutText()
    {
        var json = RunConfig.DefaultJson();
        RunConfig.ApplyOverride(json, RunConfigKeys.RunSteps, 7);
        RunConfig.ApplyOverride(json, RunConfigKeys.RunSeed, long.MaxValue);
        RunConfig.ApplyOverride(json, RunConfigKeys.DataCorpus, new List<string> { "x.txt" });
        RunConfig.ApplyOverride(json, RunConfigKeys.RunPrecision, "bf16-autocast");
        var c = RunConfig.FromJson(json);
        Assert.Equal((7, long.MaxValue, "bf16-autocast"), (c.Run.Steps, c.Run.Seed, c.Run.Precision));
        Assert.Equal(new[] { "x.txt" }, c.Data.Corpus);
        var e = Assert.Throws<BertLabException>(() => RunConfig.ApplyOverride(json, RunConfigKeys.RunSteps, 0));
        Assert.Contains("run.steps must be a positive integer", e.Message);
    }

    [Fact]
    public void SetText_IsReadAsTheKeysType()
    {
        var json = RunConfig.DefaultJson();
        RunConfig.ApplyOverride(json, "data.vocab=123");           // a string key takes the text as it is
        RunConfig.ApplyOverride(json, "data.corpus=my.txt");       // a list of one
        RunConfig.ApplyOverride(json, "run.seed=-5");
        RunConfig.ApplyOverride(json, "data.cache_dir=\"quoted\""); // JSON text is JSON
        var c = RunConfig.FromJson(json);
        Assert.Equal(("123", -5L, "quoted"), (c.Data.Vocab, c.Run.Seed, c.Data.CacheDir));
        Assert.Equal(new[] { "my.txt" }, c.Data.Corpus);
        RunConfig.ApplyOverride(json, "data.vocab=null");          // null: the default
        Assert.Null(RunConfig.FromJson(json).Data.Vocab);
    }

    [Fact]
    public void OptimizerSettings_OnTheirOwn_AreCheckedByTheSameRules()
    {
        new OptimizerSettings { Lr = 2e-5 }.Validate("optimizer");
        var e = Assert.Throws<BertLabException>(() => new OptimizerSettings { Beta2 = 1 }.Validate("optimizer"));
        Assert.Contains("optimizer.beta2 must be in [0, 1)", e.Message);
        Assert.Contains("schedule.warmup_steps", Assert.Throws<BertLabException>(() => new ScheduleSettings { WarmupSteps = -1 }.Validate("schedule")).Message);
    }

    static string RepositoryFile(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BertLab.slnx"))) return Path.Combine(dir.FullName, name);
        throw new FileNotFoundException("no BertLab.slnx above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void ReadmeKeyTable_IsTheGeneratedOne()
    {
        var lines = File.ReadAllLines(RepositoryFile("README.md"));
        int begin = Array.FindIndex(lines, l => l.StartsWith("<!-- config-keys:begin"));
        int end = Array.FindIndex(lines, l => l.StartsWith("<!-- config-keys:end"));
        Assert.True(begin >= 0 && end > begin, "README.md has no <!-- config-keys:begin --> … <!-- config-keys:end --> block");
        var readme = string.Join("\n", lines[(begin + 1)..end]);
        var generated = RunConfigKeys.MarkdownTable().TrimEnd('\n');
        Assert.True(readme == generated, "README.md's configuration table differs from the key table; replace the lines between the " +
                                         "config-keys markers with the output of `./bertlab config keys`.\n" + generated);
    }

    [Fact]
    public void ConfigKeysVerb_PrintsTheTable()
    {
        var (code, output) = CliProcess.Run(new[] { "config", "keys" }, AppContext.BaseDirectory, TimeSpan.FromMinutes(1));
        Assert.Equal(0, code);
        Assert.Equal(RunConfigKeys.MarkdownTable(), output.Replace("\r\n", "\n"));
    }
}
