using BertLab.Data;
using System.Diagnostics;
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
    void OnLog(StepRecord record, int totalSteps) { }
    void OnEvaluation(Evaluation evaluation, int step) { }
    void OnCheckpoint(string path) { }
    void OnMessage(string message) { }
}

/// <summary>
/// Masked-LM pre-training: accumulation that equals the large batch, clipping, schedules, the divergence rules
/// (<see cref="StabilityMonitor"/>), atomic checkpoints that resume bit-exactly on CPU, metrics.jsonl, summary.json and
/// plots (the files: <see cref="RunDirectory"/>). <see cref="Run"/> reads top to bottom: per step, train, check, log,
/// evaluate, checkpoint. One Trainer runs one run: what changes during it lives in the run's state, made afresh by
/// <see cref="Run"/> (what a checkpoint keeps of it: <see cref="TrainerState"/>).
/// </summary>
public sealed class Trainer
{
    public const string MetricsFile = RunDirectory.MetricsFile;
    public const string SummaryFile = RunDirectory.SummaryFile;
    public const string ConfigFile = RunDirectory.ConfigFile;

    readonly RunConfig _config;
    readonly MixedPrecision.Policy _precision;
    readonly RunDirectory _dir;
    readonly IBatchSource _data;
    readonly string? _vocabPath;
    readonly ITrainingObserver _observer;
    readonly double _flopsPerToken;
    bool _ran;

    public Trainer(RunConfig config, string runDir, IBatchSource data, string? vocabPath = null, ITrainingObserver? observer = null)
    {
        _config = config;
        _precision = MixedPrecision.Parse(config.Run.Precision, "run.precision");
        _dir = new RunDirectory(runDir);
        _data = data;
        _vocabPath = vocabPath;
        _observer = observer ?? new NullObserver();
        _flopsPerToken = TrainBenchmark.FlopsPerToken(config.Model, config.Data.SeqLen);
    }

    sealed class NullObserver : ITrainingObserver { }

    /// <summary>Data-parallel group (null: one process). Every rank runs the same steps; rank 0 alone writes files.</summary>
    public IDataParallel? Parallel { get; init; }
    bool Writes => Parallel is null || Parallel.Rank == 0;

    /// <summary>The device's peak TFLOP/s in the run's compute type, when known: metrics then carry MFU beside model TFLOP/s.
    /// Null (the default): model TFLOP/s only; the trainer does not spend time measuring a peak.</summary>
    public double? PeakTflops { get; init; }

    /// <summary>Asked before every step after the first: a non-null answer (what asked, e.g. "SIGINT") ends the run
    /// gracefully, with a checkpoint at the step reached and a "stopped" summary (<see cref="StopSignal"/>).</summary>
    public Func<string?>? StopRequested { get; init; }

    public static string? LatestCheckpoint(string runDir) => RunDirectory.LatestCheckpoint(runDir);

    /// <summary>Everything one run carries from step to step (made by <see cref="Start"/>, so nothing passes from one run to another).</summary>
    sealed class RunState : IDisposable
    {
        public required BertForMaskedLM Model;
        public required TrainingOptimizer Optimizer;
        public required LrSchedule Schedule;
        public required Device Device;
        public required RunSummary Summary;
        /// <summary>The divergence rules, the best validation and the stability diagnostics.</summary>
        public required StabilityMonitor Monitor;
        /// <summary>The unigram baseline of the validation loss, from the source's token counts (read once: they do not change within a run).</summary>
        public required Lazy<UnigramBaseline?> Unigram;
        /// <summary>The unigram loss of the validation set, scored at the first validation (the set does not change within a run).</summary>
        public double? UnigramLoss;
        /// <summary>What changed in the data at this resume, for the next metrics record (then null).</summary>
        public string? PendingDataChange;
        /// <summary>The lengths of the sequences trained on (summary.json "lengths").</summary>
        public readonly SequenceLengths Lengths = new();
        public int StartStep;
        public int Step;
        public readonly Stopwatch Wall = Stopwatch.StartNew();
        public readonly Stopwatch Interval = Stopwatch.StartNew();
        public long IntervalTokens;
        public long TokensSeen;
        public double TrainSeconds;
        public void Dispose() => Optimizer.Dispose();
    }

    /// <summary>Which of the per-step actions a step takes.</summary>
    readonly record struct StepPlan(int Done, bool Log, bool Evaluate, bool Checkpoint)
    {
        public static StepPlan For(RunSettings run, int step)
        {
            int done = step + 1;
            bool evaluate = done % run.EvalInterval == 0 || done == run.Steps;
            bool checkpoint = done % run.CheckpointInterval == 0 || done == run.Steps;
            // every evaluation and checkpoint step is also a logged step: one metrics line per logged step, with
            // step and loss always, and the validation results on the steps that have them
            bool log = done % run.LogInterval == 0 || done == run.Steps || evaluate || checkpoint;
            return new StepPlan(done, log, evaluate, checkpoint);
        }
    }

    public RunSummary Run(bool resume = false)
    {
        if (_ran) throw new InvalidOperationException("a Trainer runs one run; make a new Trainer for the next");
        _ran = true;
        using var run = Start(resume);
        int end = _config.Run.Steps;
        try
        {
            for (int step = run.StartStep; step < end; step++)
            {
                if (step > run.StartStep && StopRequested?.Invoke() is string signal) return Stop(run, step, signal);
                run.Step = step;
                var plan = StepPlan.For(_config.Run, step);
                var result = TrainStep(run, step, plan.Log);
                if (run.Monitor.Observe(plan.Done, result.Loss, result.GradNorm) is string why) return Finish(run, RunStatus.Diverged, plan.Done, why);
                if (!plan.Log) { CollectGarbage(plan.Done); continue; }
                var record = LogRecord(run, result, plan.Done);
                run.Monitor.ObserveAttention(plan.Done, record.Attention);
                if (plan.Evaluate) EvaluateInto(run, record);
                Log(run, record);
                if (plan.Checkpoint) CheckpointIfHealthy(run, plan.Done, result.Loss);
                run.Interval.Restart();
            }
            run.Step = end;
            run.Summary.BestStep = run.Monitor.BestValidationStep;
            run.Summary.ModelDir = _dir.ModelPath;
            if (Writes) _dir.WriteModel(tmp => BertCheckpoint.Save(run.Model, run.Model.Config, tmp, _vocabPath, Card(run, end)));
            return Finish(run, RunStatus.Completed, end, null);
        }
        catch (Exception e) when (e is not BertLabException)
        {
            Finish(run, RunStatus.Failed, run.Step, e.Message);
            throw;
        }
    }

    /// <summary>A graceful stop before step <paramref name="done"/>+1: the checkpoint at <paramref name="done"/> (unless that
    /// step already wrote one), a "stopped" summary whose reason carries the resume command.</summary>
    RunSummary Stop(RunState run, int done, string signal)
    {
        run.Step = done;
        if (!StepPlan.For(_config.Run, done - 1).Checkpoint) Checkpoint(run, done);
        run.Summary.BestStep = run.Monitor.BestValidationStep;
        return Finish(run, RunStatus.Stopped, done, $"stopped by {signal} after step {done} of {_config.Run.Steps}; resume with: bertlab train --resume {_dir.Root}");
    }

    /// <summary>Builds the model and optimiser, restores the newest intact checkpoint when resuming, and only then writes the
    /// configuration: a resume that fails (a checkpoint that does not fit the configuration) changes no file.</summary>
    RunState Start(bool resume)
    {
        _dir.Create();
        var device = TorchRuntime.Device(_config.Run.Device);
        TorchRuntime.Initialize(_config.Run.Threads);

        torch.manual_seed(_config.Run.Seed);
        var model = new BertForMaskedLM(_config.Model.Clone());
        if (_config.Run.InitFrom is string init)
            BertCheckpoint.LoadInto(model, BertCheckpoint.LoadWeights(init), init, _ => false,
                n => n.StartsWith("bert.pooler.") || n.StartsWith("cls.seq_relationship.") || n == "cls.predictions.decoder.bias" || n == "cls.predictions.decoder.weight");
        model.to(device);
        var run = new RunState
        {
            Model = model, Optimizer = new TrainingOptimizer(model, _config.Optimizer, device),
            Schedule = new LrSchedule(_config.Schedule, _config.Run.Steps), Device = device, Summary = new RunSummary(),
            Monitor = StabilityMonitor.For(_config),
            Unigram = new Lazy<UnigramBaseline?>(() => _data.TrainingTokenCounts() is long[] counts ? new UnigramBaseline(counts) : null),
        };
        _observer.OnMessage($"optimizer: {_config.Optimizer.Name}, implementation {run.Optimizer.Implementation} (optimizer.implementation={_config.Optimizer.Implementation})");

        string? latest = resume ? RestoreNewestIntact(run) : null;
        if (Writes) _dir.WriteConfig(_config);
        if (latest is not null)
        {
            if (Writes) _dir.TruncateMetrics(run.StartStep);
            _observer.OnMessage($"resumed from {latest} at step {run.StartStep}");
            // the changes recorded by earlier resumes up to this step stay; one at this step is replaced by this resume's
            var earlier = _dir.ReadSummary()?.DataChanges ?? new List<DataChangeRecord>();
            if (_data is ShardBatchSource { Change: var (from, to, what) })
            {
                _observer.OnMessage($"the training data changed since the checkpoint ({what}); going on with the new data (--accept-changed-data): recorded in summary.json and metrics.jsonl");
                run.Summary.DataChanges = earlier.Where(c => c.Step < run.StartStep).Append(new DataChangeRecord(run.StartStep, from, to, what)).ToList();
                run.PendingDataChange = what;
            }
            else if (earlier.Where(c => c.Step <= run.StartStep).ToList() is { Count: > 0 } kept)
                run.Summary.DataChanges = kept;
        }
        else if (Writes) _dir.DeleteMetrics();
        run.Step = run.StartStep;

        Parallel?.BroadcastParameters(model.parameters().ToList());
        long parameters = model.parameters().Sum(p => p.numel());
        _observer.OnStart(_config, _dir.Root, parameters, run.StartStep);
        var s = run.Summary;
        (s.Step, s.Steps, s.Attention, s.Model, s.Parameters, s.Device, s.Cpu, s.Data) =
            (run.StartStep, _config.Run.Steps, _config.Model.Attention.Preset, _config.ModelPreset, parameters, _config.Run.Device, TorchRuntime.Describe(), _data.Describe());
        if (Parallel is not null) s.Ranks = Parallel.Size;
        run.Wall.Restart();
        run.Interval.Restart();
        return run;
    }

    /// <summary>A step's values on the host. Accuracy, penalty and statistics are read only on logged steps (NaN/null else).</summary>
    sealed record StepResult(double Loss, double Accuracy, double GradNorm, long Tokens, double? Penalty, JsonObject? Statistics,
        long LiveTensors, long CreatedOutsideScope, double Lr);

    /// <summary>
    /// One optimiser step over run.accumulation micro-batches, in its own dispose scope: the learning rate, the batches
    /// (token counts come from the loader, on the host), the gradients, clipping, and the optimiser step unless the loss
    /// or the norm is non-finite (the divergence rules then end the run). The loss and gradient norm reach the host every
    /// step (the divergence rules read them), accuracy and penalty on logged steps only.
    /// </summary>
    StepResult TrainStep(RunState run, int step, bool logStep)
    {
        double lr = _config.Optimizer.Lr * run.Schedule.Factor(step);
        run.Optimizer.SetLearningRate(lr);
        Parallel?.BeforeStep(_config.Run.Seed, step);
        using var scope = NewDisposeScope();
        run.Model.train();
        var batches = new List<MlmBatch>();
        for (int i = 0; i < _config.Run.Accumulation; i++)
        {
            var batch = _data.NextTrain(_config.Run.BatchSize);
            run.Lengths.Add(batch);
            batches.Add(batch.To(run.Device));
        }
        long tokens = batches.Sum(b => b.RealTokens);
        run.Optimizer.ZeroGrad();
        var g = AccumulateGradients(run.Model, batches, _config.Run.MaskedOnlyLogits, logStep, GlobalMaskedTokens(batches), _precision);
        Parallel?.SumGradients(run.Model.parameters().ToList());
        var norm = run.Optimizer.ClipGradNorm(_config.Optimizer.ClipNorm);
        double lossValue = g.Loss.item<float>();
        double normValue = norm.item<float>();
        double correct = logStep ? g.Correct.item<long>() : 0;
        double? penalty = logStep ? g.Penalty?.item<float>() : null;
        SumOverRanks(ref lossValue, ref correct, ref tokens, ref penalty);
        // A non-finite step is never applied to the weights (the divergence rules then end the run).
        if (double.IsFinite(lossValue) && double.IsFinite(normValue)) run.Optimizer.Step();
        foreach (var b in batches) b.Dispose();
        run.IntervalTokens += tokens;
        run.TokensSeen += tokens;
        var stats = DisposeScopeManager.Statistics.TensorStatistics;
        return new StepResult(lossValue, logStep ? correct / Math.Max(1, g.Masked) : double.NaN, normValue, tokens, penalty, g.Statistics,
            stats.ThreadTotalLiveCount, stats.CreatedOutsideScopeCount, lr);
    }

    /// <summary>Data-parallel: the masked tokens of the global batch (all ranks), by which the loss is normalised (gradients
    /// are then summed over ranks); null in one process.</summary>
    long? GlobalMaskedTokens(List<MlmBatch> batches)
    {
        if (Parallel is null) return null;
        var count = new double[] { batches.Sum(b => b.SelectedTokens) };
        Parallel.SumAll(count);
        return (long)count[0];
    }

    /// <summary>Data-parallel: the step's loss, correct predictions, tokens and penalty summed over ranks (every rank gets the totals).</summary>
    void SumOverRanks(ref double loss, ref double correct, ref long tokens, ref double? penalty)
    {
        if (Parallel is null) return;
        var sums = new double[] { loss, correct, tokens, penalty ?? 0 };
        Parallel.SumAll(sums);
        (loss, correct, tokens) = (sums[0], sums[1], (long)sums[2]);
        if (penalty is not null) penalty = sums[3];
    }

    /// <summary>
    /// The native-memory cadence: libtorch's tensors are freed when .NET finalises their handles, so a collection every
    /// 10 steps (and before every memory reading, see <see cref="LogRecord"/>) keeps resident memory flat; the heap's
    /// free pages go back to the kernel only every <see cref="TrimInterval"/> steps, since every trim costs the next step
    /// its page faults (see <see cref="TorchRuntime.CollectNativeGarbage"/>).
    /// </summary>
    static void CollectGarbage(int done)
    {
        if (done % 10 == 0) TorchRuntime.CollectNativeGarbage(trim: done % TrimInterval == 0);
    }

    /// <summary>Steps between two hand-backs of the heap's free pages.</summary>
    public const int TrimInterval = 500;

    /// <summary>The metrics line of a logged step: the step's values, the interval's throughput, memory.</summary>
    StepRecord LogRecord(RunState run, StepResult result, int done)
    {
        double seconds = run.Interval.Elapsed.TotalSeconds;
        run.TrainSeconds += seconds;
        double tokensPerS = run.IntervalTokens / Math.Max(seconds, 1e-9);
        double tflops = tokensPerS * _flopsPerToken / 1e12;
        var record = new StepRecord
        {
            Step = done, Loss = Round(result.Loss), MlmAccuracy = Round(result.Accuracy), Lr = result.Lr, GradNorm = Round(result.GradNorm),
            TokensPerS = Math.Round(tokensPerS, 1), ModelTflops = Math.Round(tflops, 6), Mfu = PeakTflops is double peak && peak > 0 ? Math.Round(tflops / peak, 4) : null,
            ElapsedS = Math.Round(run.Wall.Elapsed.TotalSeconds, 2), LiveTensors = result.LiveTensors, CreatedOutsideScope = result.CreatedOutsideScope,
            OutputPenalty = result.Penalty is double pen ? Round(pen) : null, Attention = result.Statistics,
        };
        // Memory is read with the step's tensors released, after a collection (see CollectNativeGarbage): what the run
        // holds plus the heap's free pages, which go back to the kernel every TrimInterval steps (a trim here would cost
        // the next step its page faults).
        TorchRuntime.CollectNativeGarbage(trim: false);
        record.RssMb = MemoryInfo.ResidentMb();
        record.ManagedMb = Math.Round(GC.GetGCMemoryInfo().TotalCommittedBytes / 1048576.0, 1);
        return record;
    }

    /// <summary>Validation on an evaluation step (rank 0): into the record, the summary and the best-so-far.</summary>
    void EvaluateInto(RunState run, StepRecord record)
    {
        if (!Writes) return;
        var eval = Evaluate(run);
        if (eval.MaskedTokens == 0) return;   // no validation data: no evaluation (never a loss of 0)
        record.Validation = eval;
        run.Monitor.OfferValidation(eval.Loss, record.Step);
        run.Summary.Validation = eval;
        run.Summary.ValidationStep = record.Step;
    }

    void Log(RunState run, StepRecord record)
    {
        run.IntervalTokens = 0;
        if (run.PendingDataChange is string change) { record.DataChanged = change; run.PendingDataChange = null; }
        if (Writes) _dir.AppendMetrics(record);
        _observer.OnLog(record, _config.Run.Steps);
        if (record.Validation is not null) _observer.OnEvaluation(record.Validation, record.Step);
    }

    /// <summary>A checkpoint only while the run is healthy (loss within 1 nat of its running minimum): one written during a
    /// spike or a runaway could be the one kept after a divergence.</summary>
    void CheckpointIfHealthy(RunState run, int done, double loss)
    {
        if (run.Monitor.Healthy) { Checkpoint(run, done); return; }
        _observer.OnMessage($"checkpoint at step {done} skipped: loss {loss:G4} is more than {StabilityMonitor.SpikeNats} nat above its running minimum {run.Monitor.MinLoss:G4} since step {run.Monitor.UnhealthySince}");
    }

    void Checkpoint(RunState run, int done)
    {
        if (!Writes) return;
        var path = SaveCheckpoint(run, done);
        _observer.OnCheckpoint(path);
    }

    /// <summary>What <see cref="AccumulateGradients"/> leaves besides the gradients.</summary>
    public sealed record Accumulated(Tensor Loss, Tensor Correct, long Masked, Tensor? Penalty, JsonObject? Statistics);

    /// <summary>
    /// Backpropagates the masked-LM loss of all micro-batches of one step into the parameters' gradients. Each
    /// micro-batch's summed loss is divided by the number of masked tokens of the whole accumulated batch, so the
    /// gradient equals that of one large batch; the output penalty (a per-micro-batch mean) is weighted by its share
    /// of those tokens (<see cref="TrainingObjective.MaskedLM"/>). Masked-token counts come from
    /// <see cref="MlmBatch.SelectedTokens"/> (counted on the host). Returns the step's loss (the large batch's mean). <paramref name="maskedTotal"/>: the masked tokens of the
    /// whole global batch when other processes hold the rest of it (data-parallel), else those of <paramref name="batches"/>.
    /// </summary>
    public static Accumulated AccumulateGradients(BertForMaskedLM model, IReadOnlyList<MlmBatch> batches, bool maskedOnly, bool withStatistics = false,
        long? maskedTotal = null, MixedPrecision.Policy? precision = null)
    {
        long masked = maskedTotal ?? batches.Sum(b => b.SelectedTokens);
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
                    stat ? new ForwardOptions { Contexts = true, HiddenStates = true } : null, maskedOnly: maskedOnly, maskedIndex: b.MaskedIndex);
            var objective = TrainingObjective.MaskedLM(output.MlmLossSum!, output.Encoder.OutputPenalty, lambda, b.SelectedTokens, denominator);
            objective.Total.backward();
            lossSum += objective.Mlm.detach();
            if (objective.Penalty is not null) penalty = penalty is null ? objective.Penalty : penalty + objective.Penalty;
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
            if (s.NormLogLengthSlope is double slope) o["norm_slope_log_n"] = Round(slope);
            if (enc.HiddenStates.Count > i)
                using (no_grad())
                {
                    var (lo, hi) = BertLab.Attention.AttentionStatistics.LogitRange(self.Logits(enc.HiddenStates[i]), mask);
                    (o["logit_min"], o["logit_max"], o["logit_range"]) = (Round(lo), Round(hi), Round(hi - lo));
                }
            if (s.ScaleExponent is not null) o["sigma"] = new JsonArray(s.ScaleExponent.Select(v => (JsonNode?)JsonValue.Create(Round(v))).ToArray());
            if (s.P is not null) o["p"] = new JsonArray(s.P.Select(v => (JsonNode?)JsonValue.Create(Round(v))).ToArray());
            layers.Add(o);
        }
        return new JsonObject { ["layers"] = layers };
    }

    /// <summary>Validation over run.eval_batches batches (0: all) with the source's fixed masks, and beside it the unigram
    /// baseline on the same masked positions (computed once: the validation set does not change within a run).</summary>
    Evaluation Evaluate(RunState run)
    {
        var (model, device, unigram) = (run.Model, run.Device, run.Unigram.Value);
        bool scoreUnigram = unigram is not null && run.UnigramLoss is null;
        double unigramSum = 0; long unigramCount = 0;
        model.eval();
        double lossSum = 0; long masked = 0, correct = 0;
        var recall = new RecallSplit(_data.TrainingTokenCounts());
        using (no_grad())
        {
            foreach (var cpuBatch in _data.Validation(_config.Run.BatchSize, _config.Run.EvalBatches))
            {
                using var scope = NewDisposeScope();
                if (scoreUnigram)
                {
                    var labels = cpuBatch.Labels.cpu().contiguous().data<long>().ToArray();
                    unigramCount += unigram!.AddLosses(labels, ref unigramSum);
                }
                var b = cpuBatch.To(device);
                MaskedLMOutput output;
                using (MixedPrecision.Enter(_precision))
                    output = model.Forward(b.InputIds, b.AttentionMask, b.TokenTypeIds, b.Labels, maskedOnly: true, maskedIndex: b.MaskedIndex);
                lossSum += output.MlmLossSum!.item<float>();
                masked += output.SelectedLabels!.shape[0];
                correct += output.Logits.argmax(-1).eq(output.SelectedLabels).sum().item<long>();
                recall.Add(cpuBatch, output.Logits, output.SelectedLabels);
                if (!ReferenceEquals(b, cpuBatch)) b.Dispose();
                cpuBatch.Dispose();
            }
        }
        model.train();
        if (scoreUnigram && unigramCount > 0) run.UnigramLoss = Round(unigramSum / unigramCount);
        double loss = lossSum / Math.Max(1, masked);
        return new Evaluation(Round(loss), Round(correct / (double)Math.Max(1, masked)), Round(Math.Exp(Math.Min(loss, 50))), masked, run.UnigramLoss, recall.Result());
    }

    /// <summary>Completes the summary (status, throughput, memory, data-parallel timing) and writes it with the plots.</summary>
    RunSummary Finish(RunState run, RunStatus status, int step, string? reason)
    {
        var s = run.Summary;
        s.Status = status;
        s.Step = step;
        if (reason is not null) s.Reason = reason;
        if (status == RunStatus.Diverged) s.DivergedAtStep = step;
        s.WallS = Math.Round(run.Wall.Elapsed.TotalSeconds, 2);
        s.Tokens = run.TokensSeen;
        s.TokensPerS = Math.Round(run.TokensSeen / Math.Max(run.TrainSeconds > 0 ? run.TrainSeconds : run.Wall.Elapsed.TotalSeconds, 1e-9), 1);
        s.PeakRssMb = MemoryInfo.PeakResidentMb();
        s.Stability = run.Monitor.ToJson();
        s.AttentionKernels = run.Model.Bert.AttentionKernelUsage();
        if (run.Lengths.Sequences > 0) s.Lengths = run.Lengths.ToJson();
        if (Parallel is not null)
        {
            var t = Parallel.Timing();
            s.AllreduceS = Math.Round(t.AllreduceSeconds, 3);
            if (t.WaitSeconds > 0) s.AllreduceWaitS = Math.Round(t.WaitSeconds, 3);
            s.AllreduceMb = Math.Round(t.Bytes / 1048576.0, 1);
        }
        if (!Writes) return s;
        if (_dir.LatestCheckpoint() is string latest) s.LastCheckpoint = latest;
        _dir.WriteSummary(s);
        try
        {
            var plots = TrainingPlots.Write(_dir.Root);
            if (plots.Count > 0) s.Plots = plots.ToList();
            _dir.WriteSummary(s);
        }
        catch (Exception e) { _observer.OnMessage($"plots not written: {e.Message}"); }
        return s;
    }

    /// <summary>The model card of a model written at <paramref name="step"/>: data, steps and the latest validation.</summary>
    ModelCard Card(RunState run, int step) => new()
    {
        Source = "pre-training", Data = _data.Describe(), Steps = step,
        Validation = run.Summary.Validation is Evaluation v
            ? new Dictionary<string, double> { [MetricKeys.ValLoss] = v.Loss, [MetricKeys.ValAccuracy] = v.Accuracy, [MetricKeys.ValPerplexity] = v.Perplexity }
            : null,
    };

    /// <summary>Weights, optimiser state and the <see cref="TrainerState"/> (step, RNG, data position, divergence guard, best
    /// validation, stability diagnostics) into checkpoints/step-N (atomically), then prunes to run.keep_last and the best.</summary>
    string SaveCheckpoint(RunState run, int step)
    {
        using var scope = NewDisposeScope();
        var state = new TrainerState
        {
            Step = step, TorchRng = torch.random.get_rng_state().bytes.ToArray(), Data = _data.SaveState(),
            Guard = run.Monitor.Guard, Stability = run.Monitor.State,
        };
        var path = _dir.WriteCheckpoint(step, tmp =>
        {
            BertCheckpoint.Save(run.Model, run.Model.Config, tmp, _vocabPath, Card(run, step));
            run.Optimizer.Save(tmp);
        }, state);
        _dir.Prune(_config.Run.KeepLast, run.Monitor.BestValidationStep);
        return path;
    }

    /// <summary>Restores the newest checkpoint that loads, newest first, saying which it skipped and why; null when the run
    /// has none. Throws (nothing written) when none loads: corrupt, or made for another model than the configuration's.</summary>
    string? RestoreNewestIntact(RunState run)
    {
        var all = _dir.Checkpoints();
        if (all.Count == 0) { _observer.OnMessage("no checkpoint found: starting from step 0"); return null; }
        var skipped = new List<string>();
        for (int i = all.Count - 1; i >= 0; i--)
        {
            var dir = all[i].Dir;
            try
            {
                run.StartStep = RestoreCheckpoint(dir, run);
                return dir;
            }
            catch (Exception e) when (e is not OutOfMemoryException and not DataChangedException)
            {
                var why = e is BertLabException ? e.Message.Replace(dir + ": ", "").Replace(dir, Path.GetFileName(dir)) : $"{e.GetType().Name}: {e.Message}";
                skipped.Add($"{Path.GetFileName(dir)}: {why}");
                _observer.OnMessage($"skipped checkpoint {dir}: {why}");
            }
        }
        throw new BertLabException($"{_dir.Root}: no checkpoint can be resumed (nothing was changed): {string.Join("; ", skipped)}. " +
                                   "A resume cannot change the model (--attention, --model, --set model.*); with every checkpoint corrupt, start again with a new --out");
    }

    int RestoreCheckpoint(string dir, RunState run)
    {
        var weights = BertCheckpoint.LoadWeights(dir);
        BertCheckpoint.LoadInto(run.Model, weights, dir, _ => false, n => n == "cls.predictions.decoder.weight");
        run.Optimizer.Load(dir);
        var state = RunDirectory.ReadCheckpointState(dir);
        torch.random.set_rng_state(torch.tensor(state.TorchRng, dtype: ScalarType.Byte));
        _data.RestoreState(state.Data ?? throw new BertLabException($"{dir}: {RunDirectory.StateFile} has no data position"));
        run.Monitor.Restore(state.Guard, state.Stability);
        return state.Step;
    }

    static double Round(double v) => double.IsFinite(v) ? Math.Round(v, 6) : v;
}
