using BertLab.Data;
using System.Text.Json.Nodes;
using BertLab.Model;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Training;

public class TrainerTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-train-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    static RunConfig TinyConfig(Action<JsonObject>? change = null)
    {
        var json = RunConfig.DefaultJson();
        json["model"] = new JsonObject { ["preset"] = "tiny", ["vocab_size"] = 200, ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0, ["max_position_embeddings"] = 64 };
        json["attention"] = "softmax";
        json["data"] = new JsonObject { ["seq_len"] = 32 };
        json["run"] = new JsonObject { ["steps"] = 4, ["batch_size"] = 8, ["log_interval"] = 1, ["eval_interval"] = 100, ["checkpoint_interval"] = 100, ["threads"] = 2 };
        change?.Invoke(json);
        return RunConfig.FromJson(json);
    }

    static List<JsonObject> TrainRecords(string dir) => TrainingPlots.ReadMetrics(dir).Where(m => m["loss"] is not null).ToList();

    [Theory]
    [InlineData("torch")]
    [InlineData("flat")]
    public void AdamWTrajectory_IsReproducedThroughTheTrainer(string implementation)
    {
        using var scope = NewDisposeScope();
        var expected = TrajectoryFixture.LoadFixture();
        var g = SafetensorsFile.Load(Path.Combine(Fixtures.HfModel("tiny-bert-mlm"), "golden.safetensors"));
        var json = RunConfig.DefaultJson();
        json.Remove("attention");
        json["data"] = new JsonObject { ["seq_len"] = 16 };
        json["optimizer"] = new JsonObject { ["name"] = "adamw", ["lr"] = 1e-3, ["weight_decay"] = 0.01, ["clip_norm"] = 1.0, ["no_decay"] = new JsonArray("bias", "LayerNorm"), ["implementation"] = implementation };
        json["schedule"] = new JsonObject { ["name"] = "linear", ["warmup_steps"] = 2 };
        json["run"] = new JsonObject { ["steps"] = 6, ["batch_size"] = 3, ["log_interval"] = 1, ["eval_interval"] = 100, ["checkpoint_interval"] = 100,
            ["init_from"] = Fixtures.HfModel("tiny-bert-mlm"), ["threads"] = 2 };
        var config = RunConfig.FromJson(json);
        var source = new FixedBatchSource(g["input.input_ids"], g["input.attention_mask"], g["input.token_type_ids"], g["input.labels"]);
        var dir = Path.Combine(_tmp, "trajectory");
        var summary = new Trainer(config, dir, source).Run();
        Assert.Equal(RunStatus.Completed, summary.Status);
        var records = TrainRecords(dir);
        var model = BertCheckpoint.LoadMaskedLM(Path.Combine(dir, "model"));
        TrajectoryFixture.AssertMatches(expected,
            records.Select(r => r["loss"]!.GetValue<double>()).ToList(),
            records.Select(r => r["lr"]!.GetValue<double>()).ToList(),
            records.Select(r => r["grad_norm"]!.GetValue<double>()).ToList(), model);
    }

    [Fact]
    public void Accumulating4x8_EqualsOneBatchOf32()
    {
        using var scope = NewDisposeScope();
        // SGD with lr 1 and no momentum/decay/clipping: the parameter change of one step is exactly −gradient.
        void Sgd(JsonObject j)
        {
            j["optimizer"] = new JsonObject { ["name"] = "sgd", ["lr"] = 1.0, ["momentum"] = 0.0, ["weight_decay"] = 0.0, ["clip_norm"] = 0.0 };
            j["schedule"] = new JsonObject { ["name"] = "constant", ["warmup_steps"] = 0 };
        }
        var big = TinyConfig(j => { Sgd(j); j["run"]!["steps"] = 1; j["run"]!["batch_size"] = 32; });
        var acc = TinyConfig(j => { Sgd(j); j["run"]!["steps"] = 1; j["run"]!["batch_size"] = 8; j["run"]!["accumulation"] = 4; });
        var d1 = Path.Combine(_tmp, "big"); var d2 = Path.Combine(_tmp, "acc");
        new Trainer(big, d1, FixedBatchSource.Random(32, 32, 200, 7)).Run();
        new Trainer(acc, d2, FixedBatchSource.Random(32, 32, 200, 7)).Run();
        double l1 = TrainRecords(d1)[0]["loss"]!.GetValue<double>(), l2 = TrainRecords(d2)[0]["loss"]!.GetValue<double>();
        Assert.True(Math.Abs(l1 - l2) <= 1e-6 * Math.Abs(l1), $"loss {l1} vs {l2}");
        double n1 = TrainRecords(d1)[0]["grad_norm"]!.GetValue<double>(), n2 = TrainRecords(d2)[0]["grad_norm"]!.GetValue<double>();
        Assert.True(Math.Abs(n1 - n2) <= 1e-6 * n1, $"grad norm {n1} vs {n2}");
    }

    [Theory]
    [InlineData(0.0, "float32", 1e-6)]
    [InlineData(0.1, "float64", 1e-12)] // with the output penalty: its per-micro-batch weighting, checked without fp32 noise
    public void AccumulatedGradients_EqualTheLargeBatchGradients(double penalty, string dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig(j => j["attention"] = new JsonObject { ["preset"] = "softmax", ["output_penalty"] = penalty });
        var source = FixedBatchSource.Random(32, 32, 200, 11);
        torch.manual_seed(1);
        var model = new BertForMaskedLM(config.Model.Clone());
        if (dtype == "float64") model.to(ScalarType.Float64);
        var big = source.NextTrain(32);
        var small = Enumerable.Range(0, 4).Select(_ => source.NextTrain(8)).ToList();
        Dictionary<string, Tensor> Grads(IReadOnlyList<MlmBatch> batches, out double loss)
        {
            model.zero_grad();
            loss = Trainer.AccumulateGradients(model, batches, maskedOnly: true).Loss.to_type(ScalarType.Float64).item<double>();
            return model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        }
        var g1 = Grads(new[] { big }, out double l1);
        var g4 = Grads(small, out double l4);
        Assert.True(Math.Abs(l1 - l4) <= Math.Max(tolerance, 1e-7) * Math.Abs(l1), $"loss {l1} vs {l4}");
        // fp32: each tensor's error within 1e-6 of the model's gradient scale (the largest |gradient|): summing the same
        // terms in another order moves a small tensor's gradient by ~1e-6 of its own size. float64: 1e-12 per tensor.
        double global = g1.Values.Max(g => g.abs().max().to_type(ScalarType.Float64).item<double>());
        foreach (var (name, g) in g1)
        {
            double err = (g - g4[name]).abs().max().to_type(ScalarType.Float64).item<double>();
            // float64: relative to the tensor's own size, but never below 1e-6 of the model's scale: the key bias's gradient
            // is analytically 0 under softmax (a constant shift of a row's scores), so its own "size" is ~1e-21 of rounding noise.
            double scale = dtype == "float32" ? global : Math.Max(g.abs().max().to_type(ScalarType.Float64).item<double>(), 1e-6 * global);
            Assert.True(err <= tolerance * scale, $"gradient of {name}: max abs error {err:E3} > {tolerance:E0} × {scale:E3}");
        }
    }

    [Fact]
    public void LearningRate10_EndsAsDiverged_NotACrash()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig(j =>
        {
            j["optimizer"] = new JsonObject { ["name"] = "adamw", ["lr"] = 10.0, ["clip_norm"] = 0.0 };
            j["schedule"] = new JsonObject { ["name"] = "constant", ["warmup_steps"] = 0 };
            j["run"]!["steps"] = 100; j["run"]!["checkpoint_interval"] = 20;
        });
        var dir = Path.Combine(_tmp, "diverge");
        var summary = new Trainer(config, dir, FixedBatchSource.Random(8, 32, 200, 3)).Run();
        Assert.Equal(RunStatus.Diverged, summary.Status);
        Assert.True(summary.DivergedAtStep < 100);
        Assert.False(string.IsNullOrEmpty(summary.Reason));
        var disk = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        Assert.Equal("diverged", disk["status"]!.GetValue<string>());
        // the last good checkpoint stays loadable
        var last = Trainer.LatestCheckpoint(dir);
        if (last is not null) BertCheckpoint.LoadMaskedLM(last);
    }

    [Theory]
    [InlineData("torch")]
    [InlineData("flat")]
    public void ResumeFromCheckpoint_GivesTheUninterruptedLossSequence(string implementation)
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig(j =>
        {
            j["model"]!["hidden_dropout_prob"] = 0.1; // dropout draws from the RNG: its state must resume too
            j["run"]!["steps"] = 8; j["run"]!["checkpoint_interval"] = 3; j["run"]!["eval_interval"] = 4;
            j["optimizer"]!["implementation"] = implementation;
        });
        var full = Path.Combine(_tmp, "full");
        new Trainer(config, full, FixedBatchSource.Random(32, 32, 200, 5)).Run();

        var cut = Path.Combine(_tmp, "cut");
        // killed after 5 steps of an 8-step schedule, then resumed (from the checkpoint at step 3)
        KilledAfter(5, config, cut, FixedBatchSource.Random(32, 32, 200, 5));
        new Trainer(config, cut, FixedBatchSource.Random(32, 32, 200, 5)).Run(resume: true);

        // metrics.jsonl: one line per logged step, each with step and loss; validation on the evaluation steps
        var lines = TrainingPlots.ReadMetrics(full);
        Assert.Equal(Enumerable.Range(1, 8), lines.Select(m => m["step"]!.GetValue<int>()));
        Assert.All(lines, m => Assert.NotNull(m["loss"]));
        Assert.Equal(new[] { 4, 8 }, lines.Where(m => m["val_loss"] is not null).Select(m => m["step"]!.GetValue<int>()));
        var a = TrainRecords(full).Select(r => r["loss"]!.GetValue<double>()).ToList();
        var b = TrainRecords(cut).Select(r => r["loss"]!.GetValue<double>()).ToList();
        Assert.Equal(a, b);
        var stateFile = implementation == "flat" ? TrainingOptimizer.FlatStateFile : TrainingOptimizer.TorchStateFile;
        Assert.True(File.Exists(Path.Combine(Trainer.LatestCheckpoint(cut)!, stateFile)));
    }

    [Fact]
    public void ResumingWithTheOtherOptimizerImplementation_SaysHowToResume()
    {
        using var scope = NewDisposeScope();
        var flat = TinyConfig(j => { j["run"]!["steps"] = 4; j["run"]!["checkpoint_interval"] = 2; j["optimizer"]!["implementation"] = "flat"; });
        var dir = Path.Combine(_tmp, "switch");
        KilledAfter(3, flat, dir, FixedBatchSource.Random(32, 32, 200, 5));
        var torchConfig = RunConfig.FromJson(flat.ToJson());
        torchConfig.Optimizer.Implementation = "torch";
        var e = Assert.Throws<BertLabException>(() => new Trainer(torchConfig, dir, FixedBatchSource.Random(32, 32, 200, 5)).Run(resume: true));
        Assert.Contains("optimizer.implementation=flat", e.Message);
    }

    /// <summary>A run that dies after <paramref name="steps"/> steps as a killed process would: its files as they were then
    /// (metrics up to that step, the checkpoints before it), no checkpoint or model for the step reached.</summary>
    static void KilledAfter(int steps, RunConfig config, string dir, IBatchSource data)
    {
        var e = Assert.Throws<Killed>(() => new Trainer(config, dir, data, observer: new KillAfter(steps)).Run());
        Assert.Equal(steps, e.Step);
    }

    sealed class Killed(int step) : Exception($"killed after step {step}") { public int Step { get; } = step; }

    /// <summary>Throws once the metrics line of <paramref name="step"/> is written (every step is logged in these tests).</summary>
    sealed class KillAfter(int step) : ITrainingObserver
    {
        public void OnLog(StepRecord record, int totalSteps)
        {
            if (record.Step == step) throw new Killed(step);
        }
    }

    [Fact]
    public void ACheckpointStateWithoutStabilityDiagnostics_StillResumesToTheUninterruptedLosses()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig(j => { j["run"]!["steps"] = 6; j["run"]!["checkpoint_interval"] = 3; });
        var full = Path.Combine(_tmp, "full-old");
        new Trainer(config, full, FixedBatchSource.Random(32, 32, 200, 5)).Run();
        var cut = Path.Combine(_tmp, "cut-old");
        KilledAfter(4, config, cut, FixedBatchSource.Random(32, 32, 200, 5));
        // the state file as trainers wrote it before the stability diagnostics travelled with checkpoints
        var statePath = Path.Combine(Trainer.LatestCheckpoint(cut)!, RunDirectory.StateFile);
        var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        Assert.NotNull(state["stability"]);
        state.Remove("stability");
        File.WriteAllText(statePath, state.ToJsonString());
        var summary = new Trainer(config, cut, FixedBatchSource.Random(32, 32, 200, 5)).Run(resume: true);
        Assert.Equal(RunStatus.Completed, summary.Status);
        Assert.Equal(TrainRecords(full).Select(r => r["loss"]!.GetValue<double>()), TrainRecords(cut).Select(r => r["loss"]!.GetValue<double>()));
    }

    [Fact]
    public void RunsOneAfterAnotherInOneProcess_AreIndependent_AndATrainerRunsOnce()
    {
        using var scope = NewDisposeScope();
        var config = TinyConfig(j => { j["run"]!["steps"] = 3; j["run"]!["eval_interval"] = 1; });
        var (a, b) = (Path.Combine(_tmp, "first"), Path.Combine(_tmp, "second"));
        var first = new Trainer(config, a, FixedBatchSource.Random(32, 32, 200, 5));
        var sa = first.Run();
        var sb = new Trainer(config, b, FixedBatchSource.Random(32, 32, 200, 5)).Run();
        // per-run state (sequence lengths, the unigram baseline, the divergence guard) starts afresh for the second run
        Assert.Equal(sa.Lengths!.ToJsonString(), sb.Lengths!.ToJsonString());
        Assert.Equal(3L * 8, sb.Lengths!["sequences"]!.GetValue<long>());
        Assert.Equal(sa.Validation, sb.Validation);
        Assert.Equal(sa.Stability!.ToJsonString(), sb.Stability!.ToJsonString());
        Assert.Equal(File.ReadAllLines(Path.Combine(a, "metrics.jsonl")).Select(Stable), File.ReadAllLines(Path.Combine(b, "metrics.jsonl")).Select(Stable));
        Assert.Throws<InvalidOperationException>(() => first.Run());

        // the values of a metrics line that do not depend on timing or memory
        static string Stable(string line)
        {
            var o = JsonNode.Parse(line)!.AsObject();
            foreach (var k in new[] { "tokens_per_s", "model_tflops", "elapsed_s", "rss_mb", "managed_mb", "live_tensors", "created_outside_scope" }) o.Remove(k);
            return o.ToJsonString();
        }
    }

    [Theory]
    [InlineData("{\"run\": {\"stepz\": 3}}", "run.stepz")]
    [InlineData("{\"colour\": 1}", "colour")]
    [InlineData("{\"run\": {\"steps\": \"many\"}}", "run.steps")]
    [InlineData("{\"run\": {\"batch_size\": 0}}", "run.batch_size")]
    [InlineData("{\"model\": {\"preset\": \"tiny\", \"hidden_size\": 100, \"num_attention_heads\": 3}}", "num_attention_heads")]
    [InlineData("{\"data\": {\"seq_len\": 4096}}", "max_position_embeddings")]
    [InlineData("{\"optimizer\": {\"name\": \"lion\"}}", "adamw")]
    [InlineData("{\"attention\": \"flash\"}", "cottention")]
    [InlineData("{\"model\": \"huge\"}", "tiny, small, base")]
    public void BadConfiguration_GivesOneClearError(string json, string mentioned)
    {
        var path = Path.Combine(_tmp, Guid.NewGuid() + ".json");
        File.WriteAllText(path, "// a comment is allowed\n" + json);
        var e = Assert.Throws<BertLabException>(() => RunConfig.FromJson(RunConfig.LoadJson(path)));
        Assert.Contains(mentioned, e.Message);
    }

    [Fact]
    public void SetOverride_ChangesNestedKeys()
    {
        var json = RunConfig.DefaultJson();
        RunConfig.ApplyOverride(json, "optimizer.lr=0.003");
        RunConfig.ApplyOverride(json, "attention.scaling=n");
        RunConfig.ApplyOverride(json, "model.num_hidden_layers=2");
        var c = RunConfig.FromJson(json);
        Assert.Equal(0.003, c.Optimizer.Lr);
        Assert.Equal("n", c.Model.Attention.Scaling);
        Assert.Equal("cosine", c.Model.Attention.Similarity);
        Assert.Equal(2, c.Model.NumHiddenLayers);
    }
}
