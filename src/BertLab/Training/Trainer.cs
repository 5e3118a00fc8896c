using BertLab.Data;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Model;
using BertLab.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>Receives progress from the trainer (the CLI prints it; tests ignore it).</summary>
public interface ITrainingObserver
{
    void OnStart(RunConfig config, string runDir, long parameters, int startStep) { }
    void OnLog(JsonObject record, int totalSteps) { }
    void OnEvaluation(JsonObject record) { }
    void OnCheckpoint(string path) { }
    void OnMessage(string message) { }
}

/// <summary>
/// Masked-LM pre-training: accumulation that equals the large batch, clipping, schedules, a divergence guard,
/// atomic checkpoints that resume bit-exactly on CPU, metrics.jsonl, summary.json and plots.
/// Run directory: run_config.json, metrics.jsonl, summary.json, checkpoints/step-NNNNNNNN/, model/, plots/.
/// </summary>
public sealed class Trainer
{
    public const string MetricsFile = "metrics.jsonl";
    public const string SummaryFile = "summary.json";
    public const string ConfigFile = "run_config.json";
    const string StateFile = "trainer_state.json";
    const string CheckpointDir = "checkpoints";

    readonly RunConfig _config;
    readonly MixedPrecision.Policy _precision;
    readonly string _runDir;
    readonly IBatchSource _data;
    readonly string? _vocabPath;
    readonly ITrainingObserver _observer;

    public Trainer(RunConfig config, string runDir, IBatchSource data, string? vocabPath = null, ITrainingObserver? observer = null)
    {
        _config = config;
        _precision = MixedPrecision.Parse(config.Run.Precision, "run.precision");
        _runDir = runDir;
        _data = data;
        _vocabPath = vocabPath;
        _observer = observer ?? new NullObserver();
    }

    sealed class NullObserver : ITrainingObserver { }

    /// <summary>Data-parallel group (null: one process). Every rank runs the same steps; rank 0 alone writes files.</summary>
    public IDataParallel? Parallel { get; init; }
    bool Writes => Parallel is null || Parallel.Rank == 0;

    /// <summary>Runtime state that a checkpoint must carry for an exact resume.</summary>
    sealed class GuardState
    {
        public double Ema = double.NaN;
        public double MinEma = double.PositiveInfinity;
        public int Above;
        public int Seen;
        public double BestValLoss = double.PositiveInfinity;
        public int BestStep = -1;
    }

    public JsonObject Run(bool resume = false)
    {
        Directory.CreateDirectory(_runDir);
        var device = TorchRuntime.Device(_config.Run.Device);
        TorchRuntime.Initialize(_config.Run.Threads);
        if (Writes) File.WriteAllText(Path.Combine(_runDir, ConfigFile), _config.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

        torch.manual_seed(_config.Run.Seed);
        var model = new BertForMaskedLM(_config.Model.Clone());
        if (_config.Run.InitFrom is string init)
            BertCheckpoint.LoadInto(model, BertCheckpoint.LoadWeights(init), init, _ => false,
                n => n.StartsWith("bert.pooler.") || n.StartsWith("cls.seq_relationship.") || n == "cls.predictions.decoder.bias" || n == "cls.predictions.decoder.weight");
        model.to(device);
        using var optimizer = new TrainingOptimizer(model, _config.Optimizer, device);
        _observer.OnMessage($"optimizer: {_config.Optimizer.Name}, implementation {optimizer.Implementation} (optimizer.implementation={_config.Optimizer.Implementation})");
        var schedule = new LrSchedule(_config.Schedule, _config.Run.Steps);
        var guard = new GuardState();
        int startStep = 0;

        string? latest = resume ? LatestCheckpoint(_runDir) : null;
        if (resume && latest is null) _observer.OnMessage("no checkpoint found: starting from step 0");
        if (latest is not null)
        {
            startStep = RestoreCheckpoint(latest, model, optimizer, guard);
            if (Writes) TruncateMetrics(startStep);
            _observer.OnMessage($"resumed from {latest} at step {startStep}");
        }
        else if (Writes && File.Exists(Path.Combine(_runDir, MetricsFile))) File.Delete(Path.Combine(_runDir, MetricsFile));

        Parallel?.BroadcastParameters(model.parameters().ToList());
        long parameters = model.parameters().Sum(p => p.numel());
        _observer.OnStart(_config, _runDir, parameters, startStep);
        var summary = new JsonObject
        {
            ["status"] = "running", ["step"] = startStep, ["steps"] = _config.Run.Steps, ["attention"] = _config.Model.Attention.Preset,
            ["model"] = _config.ModelPreset, ["parameters"] = parameters, ["device"] = _config.Run.Device,
            ["cpu"] = TorchRuntime.Describe(), ["data"] = _data.Describe(),
        };
        if (Parallel is not null) summary["ranks"] = Parallel.Size;
        var wall = Stopwatch.StartNew();
        long tokensSeen = 0;
        double trainSeconds = 0;
        int step = startStep;
        try
        {
            var intervalClock = Stopwatch.StartNew();
            long intervalTokens = 0;
            int end = _config.Run.StopAfter > 0 ? Math.Min(_config.Run.StopAfter, _config.Run.Steps) : _config.Run.Steps;
            for (; step < end; step++)
            {
                int done = step + 1;
                bool evalStep = done % _config.Run.EvalInterval == 0 || done == _config.Run.Steps;
                bool checkpointStep = done % _config.Run.CheckpointInterval == 0 || done == _config.Run.Steps;
                // every evaluation and checkpoint step is also a logged step: one metrics line per logged step, with
                // step and loss always, and the validation results on the steps that have them
                bool logStep = done % _config.Run.LogInterval == 0 || done == _config.Run.Steps || evalStep || checkpointStep;
                double lr = _config.Optimizer.Lr * schedule.Factor(step);
                optimizer.SetLearningRate(lr);
                Parallel?.BeforeStep(_config.Run.Seed, step);
                JsonObject record;
                using (var scope = NewDisposeScope())
                {
                    model.train();
                    var result = TrainStep(model, optimizer, device, logStep);
                    intervalTokens += result.Tokens;
                    tokensSeen += result.Tokens;
                    if (!double.IsFinite(result.Loss) || !double.IsFinite(result.GradNorm))
                    {
                        string what = !double.IsFinite(result.Loss) ? $"loss is {result.Loss}" : $"gradient norm is {result.GradNorm}";
                        return Finish(summary, "diverged", step + 1, $"non-finite value at step {step + 1}: {what}", wall, tokensSeen, trainSeconds);
                    }
                    string? far = CheckRunaway(guard, result.Loss);
                    if (far is not null) return Finish(summary, "diverged", step + 1, $"at step {step + 1}: {far}", wall, tokensSeen, trainSeconds);
                    if (!logStep) { if (done % 10 == 0) TorchRuntime.CollectNativeGarbage(); continue; }
                    double seconds = intervalClock.Elapsed.TotalSeconds;
                    trainSeconds += seconds;
                    record = new JsonObject
                    {
                        ["step"] = step + 1, ["loss"] = Round(result.Loss), ["mlm_accuracy"] = Round(result.Accuracy), ["lr"] = lr,
                        ["grad_norm"] = Round(result.GradNorm), ["tokens_per_s"] = Math.Round(intervalTokens / Math.Max(seconds, 1e-9), 1),
                        ["elapsed_s"] = Math.Round(wall.Elapsed.TotalSeconds, 2),
                        ["live_tensors"] = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount,
                        ["created_outside_scope"] = DisposeScopeManager.Statistics.TensorStatistics.CreatedOutsideScopeCount,
                    };
                    if (result.Penalty is double pen) record["output_penalty"] = Round(pen);
                    if (result.Statistics is not null) record["attention"] = result.Statistics;
                }
                // Memory is read with the step's tensors released, after a collection (see CollectNativeGarbage): what
                // the run holds, not where the heap's free lists happen to be.
                TorchRuntime.CollectNativeGarbage();
                record["rss_mb"] = MemoryInfo.ResidentMb();
                record["managed_mb"] = Math.Round(GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0, 1);
                JsonObject? eval = null;
                if (evalStep && Writes)
                {
                    eval = Evaluate(model, device);
                    foreach (var (k, v) in eval) record[k] = v?.DeepClone();
                    double vl = eval["val_loss"]!.GetValue<double>();
                    if (vl < guard.BestValLoss) { guard.BestValLoss = vl; guard.BestStep = done; }
                    eval["step"] = done;
                    summary["validation"] = eval.DeepClone();
                }
                AppendMetrics(record);
                _observer.OnLog(record, _config.Run.Steps);
                if (eval is not null) _observer.OnEvaluation(eval);
                intervalTokens = 0;
                if (Writes && checkpointStep)
                {
                    var path = SaveCheckpoint(model, optimizer, guard, done);
                    _observer.OnCheckpoint(path);
                }
                intervalClock.Restart();
            }
            summary["best_step"] = guard.BestStep;
            if (step < _config.Run.Steps) return Finish(summary, "stopped", step, $"stopped after {step} of {_config.Run.Steps} steps (resume with --resume)", wall, tokensSeen, trainSeconds);
            var final = Path.Combine(_runDir, "model");
            if (Writes) SaveModel(model, final);
            summary["model_dir"] = final;
            return Finish(summary, "completed", step, null, wall, tokensSeen, trainSeconds);
        }
        catch (Exception e) when (e is not BertLabException)
        {
            Finish(summary, "failed", step, e.Message, wall, tokensSeen, trainSeconds);
            throw;
        }
    }

    sealed record StepResult(double Loss, double Accuracy, double GradNorm, long Tokens, double? Penalty, JsonObject? Statistics);

    /// <summary>One optimiser step over run.accumulation micro-batches.</summary>
    StepResult TrainStep(BertForMaskedLM model, TrainingOptimizer optimizer, Device device, bool withStatistics)
    {
        var batches = new List<MlmBatch>();
        for (int i = 0; i < _config.Run.Accumulation; i++) batches.Add(_data.NextTrain(_config.Run.BatchSize).To(device));
        long tokens = batches.Sum(b => b.CountRealTokens());
        optimizer.ZeroGrad();
        // Data-parallel: the loss is normalised by the masked tokens of the global batch (all ranks), gradients are summed.
        long? globalMasked = null;
        if (Parallel is not null)
        {
            var count = new double[] { batches.Sum(b => b.CountMaskedTokens()) };
            Parallel.SumAll(count);
            globalMasked = (long)count[0];
        }
        var g = AccumulateGradients(model, batches, _config.Run.MaskedOnlyLogits, withStatistics, globalMasked, _precision);
        if (Parallel is not null) Parallel.SumGradients(model.parameters().ToList());
        var norm = optimizer.ClipGradNorm(_config.Optimizer.ClipNorm);
        double lossValue = g.Loss.item<float>();
        double normValue = norm.item<float>();
        double correct = g.Correct.item<long>();
        double? penalty = g.Penalty?.item<float>();
        if (Parallel is not null)
        {
            var sums = new double[] { lossValue, correct, tokens, penalty ?? 0 };
            Parallel.SumAll(sums);
            (lossValue, correct, tokens) = (sums[0], sums[1], (long)sums[2]);
            if (penalty is not null) penalty = sums[3];
        }
        if (double.IsFinite(lossValue) && double.IsFinite(normValue)) optimizer.Step();
        foreach (var b in batches) b.Dispose();
        return new StepResult(lossValue, correct / Math.Max(1, g.Masked), normValue, tokens, penalty, g.Statistics);
    }

    /// <summary>What <see cref="AccumulateGradients"/> leaves besides the gradients.</summary>
    public sealed record Accumulated(Tensor Loss, Tensor Correct, long Masked, Tensor? Penalty, JsonObject? Statistics);

    /// <summary>
    /// Backpropagates the masked-LM loss of all micro-batches of one step into the parameters' gradients. Each
    /// micro-batch's summed loss is divided by the number of masked tokens of the whole accumulated batch, so the
    /// gradient equals that of one large batch; the output penalty (a per-micro-batch mean) is weighted by its share
    /// of those tokens. Returns the step's loss (the large batch's mean). <paramref name="maskedTotal"/>: the masked tokens of the
    /// whole global batch when other processes hold the rest of it (data-parallel), else those of <paramref name="batches"/>.
    /// </summary>
    public static Accumulated AccumulateGradients(BertForMaskedLM model, IReadOnlyList<MlmBatch> batches, bool maskedOnly, bool withStatistics = false,
        long? maskedTotal = null, MixedPrecision.Policy? precision = null)
    {
        long masked = maskedTotal ?? batches.Sum(b => b.CountMaskedTokens());
        double denominator = Math.Max(1, masked);
        var device = batches[0].InputIds.device;
        Tensor lossSum = zeros(1, device: device);
        Tensor correct = zeros(1, dtype: ScalarType.Int64, device: device);
        Tensor? penalty = null;
        JsonObject? stats = null;
        double lambda = model.Config.Attention.OutputPenalty;
        for (int i = 0; i < batches.Count; i++)
        {
            var b = batches[i];
            bool stat = withStatistics && i == 0;
            MaskedLMOutput output;
            using (MixedPrecision.Enter(precision ?? MixedPrecision.Fp32))
                output = model.Forward(b.InputIds, b.AttentionMask, b.TokenTypeIds, b.Labels,
                    stat ? new ForwardOptions { Contexts = true } : null, maskedOnly: maskedOnly, lossDenominator: denominator, maskedIndex: b.MaskedIndex);
            var loss = output.MlmLoss!;
            if (output.Encoder.OutputPenalty is not null)
            {
                double weight = b.CountMaskedTokens() / denominator;
                loss = loss + lambda * weight * output.Encoder.OutputPenalty;
                var term = output.Encoder.OutputPenalty.detach() * weight;
                penalty = penalty is null ? term : penalty + term;
            }
            loss.backward();
            lossSum += output.MlmLoss!.detach();
            using (no_grad())
            {
                var labels = output.SelectedLabels ?? b.Labels.reshape(-1);
                var logits = output.Logits.reshape(-1, output.Logits.shape[^1]);
                correct += (logits.argmax(-1).eq(labels) & labels.ne(-100)).sum();
            }
            if (stat) stats = AttentionStatisticsRecord(model, output.Encoder, b.AttentionMask);
        }
        return new Accumulated(lossSum, correct, masked, penalty, stats);
    }

    /// <summary>Per layer: mean norm of the attention output over real tokens, σ(m_h) per head (n_pow_sigma), p per head (lp).</summary>
    static JsonObject AttentionStatisticsRecord(BertForMaskedLM model, BertModelOutput enc, Tensor attentionMask)
    {
        var layers = new JsonArray();
        var mask = attentionMask.to_type(ScalarType.Bool);
        for (int i = 0; i < model.Bert.Encoder.Layers.Count; i++)
        {
            var self = model.Bert.Encoder.Layers[i].Attention.Self;
            var parameters = self.ExtraParameterNames.ToDictionary(n => n, n => (Tensor)self.get_parameter(n)!);
            var s = BertLab.Attention.AttentionStatistics.Compute(enc.Contexts[i], mask, parameters);
            var o = new JsonObject { ["output_norm"] = Round(s.MeanOutputNorm) };
            if (s.ScaleExponent is not null) o["sigma"] = new JsonArray(s.ScaleExponent.Select(v => (JsonNode?)JsonValue.Create(Round(v))).ToArray());
            if (s.P is not null) o["p"] = new JsonArray(s.P.Select(v => (JsonNode?)JsonValue.Create(Round(v))).ToArray());
            layers.Add(o);
        }
        return new JsonObject { ["layers"] = layers };
    }

    /// <summary>A loss far above its running mean for several steps: above divergence_factor × the lowest running
    /// mean seen so far (an exponential mean over ~20 steps), for divergence_patience consecutive steps.</summary>
    string? CheckRunaway(GuardState g, double loss)
    {
        g.Seen++;
        g.Ema = double.IsNaN(g.Ema) ? loss : 0.95 * g.Ema + 0.05 * loss;
        if (g.Seen < 5) { g.MinEma = Math.Min(g.MinEma, g.Ema); return null; }
        if (loss > _config.Run.DivergenceFactor * g.MinEma)
        {
            g.Above++;
            if (g.Above >= _config.Run.DivergencePatience)
                return $"loss {loss:G4} stayed above {_config.Run.DivergenceFactor}× its lowest running mean ({g.MinEma:G4}) for {g.Above} steps";
        }
        else g.Above = 0;
        g.MinEma = Math.Min(g.MinEma, g.Ema);
        return null;
    }

    public JsonObject Evaluate(BertForMaskedLM model, Device device)
    {
        model.eval();
        double lossSum = 0; long masked = 0, correct = 0;
        using (no_grad())
        {
            foreach (var cpuBatch in _data.Validation(_config.Run.BatchSize, _config.Run.EvalBatches))
            {
                using var scope = NewDisposeScope();
                var b = cpuBatch.To(device);
                MaskedLMOutput output;
                using (MixedPrecision.Enter(_precision))
                    output = model.Forward(b.InputIds, b.AttentionMask, b.TokenTypeIds, b.Labels, maskedOnly: true, lossDenominator: 1.0, maskedIndex: b.MaskedIndex);
                lossSum += output.MlmLoss!.item<float>();
                masked += output.SelectedLabels!.shape[0];
                correct += output.Logits.argmax(-1).eq(output.SelectedLabels).sum().item<long>();
                if (!ReferenceEquals(b, cpuBatch)) b.Dispose();
                cpuBatch.Dispose();
            }
        }
        model.train();
        double loss = lossSum / Math.Max(1, masked);
        return new JsonObject
        {
            ["val_loss"] = Round(loss), ["val_accuracy"] = Round(correct / (double)Math.Max(1, masked)),
            ["val_perplexity"] = Round(Math.Exp(Math.Min(loss, 50))), ["val_masked_tokens"] = masked,
        };
    }

    JsonObject Finish(JsonObject summary, string status, int step, string? reason, Stopwatch wall, long tokens, double trainSeconds)
    {
        summary["status"] = status;
        summary["step"] = step;
        if (reason is not null) summary["reason"] = reason;
        if (status == "diverged") summary["diverged_at_step"] = step;
        summary["wall_s"] = Math.Round(wall.Elapsed.TotalSeconds, 2);
        summary["tokens"] = tokens;
        summary["tokens_per_s"] = Math.Round(tokens / Math.Max(trainSeconds > 0 ? trainSeconds : wall.Elapsed.TotalSeconds, 1e-9), 1);
        summary["peak_rss_mb"] = MemoryInfo.PeakResidentMb();
        if (Parallel is not null)
        {
            var t = Parallel.Timing();
            summary["allreduce_s"] = Math.Round(t.AllreduceSeconds, 3);
            if (t.WaitSeconds > 0) summary["allreduce_wait_s"] = Math.Round(t.WaitSeconds, 3);
            summary["allreduce_mb"] = Math.Round(t.Bytes / 1048576.0, 1);
        }
        if (!Writes) return summary;
        var latest = LatestCheckpoint(_runDir);
        if (latest is not null) summary["last_checkpoint"] = latest;
        BertCheckpoint.WriteAtomically(Path.Combine(_runDir, SummaryFile), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        try
        {
            var plots = TrainingPlots.Write(_runDir);
            if (plots.Count > 0) summary["plots"] = new JsonArray(plots.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray());
            BertCheckpoint.WriteAtomically(Path.Combine(_runDir, SummaryFile), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        }
        catch (Exception e) { _observer.OnMessage($"plots not written: {e.Message}"); }
        return summary;
    }

    void SaveModel(BertForMaskedLM model, string dir)
    {
        var tmp = dir + ".tmp";
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        BertCheckpoint.Save(model, model.Config, tmp, _vocabPath);
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
        Directory.Move(tmp, dir);
    }

    /// <summary>Writes checkpoints/.tmp-step-N completely, then renames it: a kill mid-write never leaves a step-N that loads wrongly.</summary>
    string SaveCheckpoint(BertForMaskedLM model, TrainingOptimizer optimizer, GuardState guard, int step)
    {
        using var scope = NewDisposeScope();
        var root = Path.Combine(_runDir, CheckpointDir);
        Directory.CreateDirectory(root);
        var name = $"step-{step:D8}";
        var tmp = Path.Combine(root, ".tmp-" + name);
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        BertCheckpoint.Save(model, model.Config, tmp, _vocabPath);
        optimizer.Save(tmp);
        var rng = torch.random.get_rng_state();
        var state = new JsonObject
        {
            ["step"] = step,
            ["torch_rng"] = Convert.ToBase64String(rng.bytes.ToArray()),
            ["data"] = _data.SaveState(),
            ["guard"] = new JsonObject
            {
                ["ema"] = double.IsNaN(guard.Ema) ? null : guard.Ema, ["min_ema"] = double.IsInfinity(guard.MinEma) ? null : guard.MinEma,
                ["above"] = guard.Above, ["seen"] = guard.Seen,
                ["best_val_loss"] = double.IsInfinity(guard.BestValLoss) ? null : guard.BestValLoss, ["best_step"] = guard.BestStep,
            },
        };
        File.WriteAllText(Path.Combine(tmp, StateFile), state.ToJsonString());
        var final = Path.Combine(root, name);
        if (Directory.Exists(final)) Directory.Delete(final, true);
        Directory.Move(tmp, final);
        Prune(root, guard.BestStep);
        return final;
    }

    /// <summary>Keeps the last run.keep_last checkpoints and the best by validation loss.</summary>
    void Prune(string root, int bestStep)
    {
        var complete = CompleteCheckpoints(root);
        foreach (var (dir, step) in complete.SkipLast(_config.Run.KeepLast))
            if (step != bestStep) Directory.Delete(dir, true);
    }

    static List<(string dir, int step)> CompleteCheckpoints(string root)
    {
        if (!Directory.Exists(root)) return new();
        return Directory.GetDirectories(root, "step-*")
            .Select(d => (dir: d, ok: int.TryParse(Path.GetFileName(d)["step-".Length..], out int s), step: s))
            .Where(x => x.ok && File.Exists(Path.Combine(x.dir, StateFile)))
            .OrderBy(x => x.step).Select(x => (x.dir, x.step)).ToList();
    }

    public static string? LatestCheckpoint(string runDir)
    {
        var all = CompleteCheckpoints(Path.Combine(runDir, CheckpointDir));
        return all.Count == 0 ? null : all[^1].dir;
    }

    int RestoreCheckpoint(string dir, BertForMaskedLM model, TrainingOptimizer optimizer, GuardState guard)
    {
        var weights = BertCheckpoint.LoadWeights(dir);
        BertCheckpoint.LoadInto(model, weights, dir, _ => false, n => n == "cls.predictions.decoder.weight");
        optimizer.Load(dir);
        JsonObject state;
        try { state = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, StateFile)))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new BertLabException($"{dir}: corrupt {StateFile}: {e.Message}"); }
        var rngBytes = Convert.FromBase64String(state["torch_rng"]!.GetValue<string>());
        torch.random.set_rng_state(torch.tensor(rngBytes, dtype: ScalarType.Byte));
        _data.RestoreState(state["data"]!);
        var g = state["guard"]!.AsObject();
        guard.Ema = g["ema"] is JsonNode e1 ? e1.GetValue<double>() : double.NaN;
        guard.MinEma = g["min_ema"] is JsonNode e2 ? e2.GetValue<double>() : double.PositiveInfinity;
        guard.Above = g["above"]!.GetValue<int>();
        guard.Seen = g["seen"]!.GetValue<int>();
        guard.BestValLoss = g["best_val_loss"] is JsonNode b ? b.GetValue<double>() : double.PositiveInfinity;
        guard.BestStep = g["best_step"]!.GetValue<int>();
        return state["step"]!.GetValue<int>();
    }

    void AppendMetrics(JsonObject record)
    {
        if (Writes) File.AppendAllText(Path.Combine(_runDir, MetricsFile), record.ToJsonString() + "\n");
    }

    /// <summary>On resume, drop records written after the checkpoint (they will be produced again, identically).</summary>
    void TruncateMetrics(int step)
    {
        var path = Path.Combine(_runDir, MetricsFile);
        if (!File.Exists(path)) return;
        var keep = File.ReadAllLines(path).Where(l =>
        {
            try { return JsonNode.Parse(l)?["step"]?.GetValue<int>() <= step; }
            catch (JsonException) { return false; }
        }).ToList();
        BertCheckpoint.WriteAtomically(path, keep.Count == 0 ? "" : string.Join("\n", keep) + "\n");
    }

    static double Round(double v) => double.IsFinite(v) ? Math.Round(v, 6) : v;
}

/// <summary>Resident memory of this process, from /proc (Linux).</summary>
public static class MemoryInfo
{
    public static double ResidentMb() => ReadKb("VmRSS:") / 1024.0;
    public static double PeakResidentMb() => ReadKb("VmHWM:") / 1024.0;

    /// <summary>Resets the peak (VmHWM) to the current resident size (Linux: clear_refs 5); false when not possible.</summary>
    public static bool ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception) { return false; }
    }

    static double ReadKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return Math.Round(double.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture), 1);
        }
        catch (Exception) { }
        return 0;
    }
}
