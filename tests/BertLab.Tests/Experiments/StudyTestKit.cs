using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Experiments.Study;
using BertLab.Training;

namespace BertLab.Tests.Experiments;

/// <summary>
/// Research-log studies planted on disk without training: a budget's own plan (SweepState.Initialize) and every run written
/// by the trainer's own writers (RunDirectory: run_config.json, metrics.jsonl StepRecords, summary.json RunSummary with
/// the stability diagnostics of a real <see cref="StabilityMonitor"/>), with the outcomes a test chooses.
/// </summary>
public static class StudyTestKit
{
    /// <summary>What one run did: ℓ (mean of its last two validation losses), divergence, largest gradient norm, output penalty
    /// term, how far its σ moved, and how much its attention-output norm grew after warmup.</summary>
    public sealed record Outcome(double Loss, bool Diverged = false, double GradNorm = 0.5, double? Penalty = null, double SigmaDrift = 0, double NormGrowth = 1.0);

    /// <summary>Seed effects shared by every arm (same initialisation, data order and masks), as in a paired study; seeds 5..16
    /// (the calibration runs' second half and beyond) get small ones unless the test gives its own.</summary>
    public static double SeedShift(long seed) => seed switch { 1 => 0.03, 2 => -0.01, 3 => -0.02, 4 => 0.0, _ => ((seed * 7) % 5 - 2) * 0.002 };

    /// <summary>The unigram level the text studies' runs report (val_unigram_loss).</summary>
    public const double UnigramLevel = 6.0;

    public sealed record Options
    {
        public string Budget { get; init; } = "cpu";
        /// <summary>The runs as if made on packed text: n = seq_len in every sequence (a generated-task budget only).</summary>
        public bool Packed { get; init; }
        /// <summary>Write the calibration runs on all their seeds (the A/A halves), not only the budget's seeds.</summary>
        public bool CalibrationSeeds { get; init; }
        /// <summary>Per seed, ℓ of the calibration runs instead of the arm's outcome + <see cref="SeedShift"/>.</summary>
        public Func<long, double>? Calibration { get; init; }
        /// <summary>Write summary.json "stability" from a StabilityMonitor fed with attention statistics.</summary>
        public bool Stability { get; init; }
    }

    /// <summary>Writes every point of the budget's plan under a fresh folder of <paramref name="root"/>; <paramref name="outcome"/>
    /// gives the base ℓ per (arm, lr, seed) (default 1.0 everywhere: below ln V and below the synthetic task's bag-of-values
    /// level ≈ 2.6 or the text unigram level, so attention is in use). NaN: the run is missing.</summary>
    public static SweepResults Write(string root, Func<string, double, long, Outcome?>? outcome = null, Options? options = null)
    {
        options ??= new Options();
        var sweep = Path.Combine(root, "s-" + Guid.NewGuid().ToString("N")[..8]);
        var def = ResearchLogSweep.Create(options.Budget);
        var budget = ResearchLogSweep.Budget(options.Budget);
        var points = def.Expand();
        SweepState.Initialize(sweep, def, points, $"research-log (budget {options.Budget})");
        var byName = points.ToDictionary(p => p.Name);
        var plan = ResearchLogSweep.Plan(budget);
        bool text = budget.Task is CorpusTask;
        foreach (var (arm, lrs) in plan.Arms)
        foreach (var lr in lrs)
        foreach (var seed in Enumerable.Range(1, options.CalibrationSeeds ? plan.SeedsOf(arm, lr) : budget.Seeds).Select(x => (long)x))
        {
            var o = (outcome ?? ((_, _, _) => null))(arm.Name, lr, seed) ?? new Outcome(1.0);
            if (o.Loss is double.NaN) continue;
            var p = byName[StudyPlan.PointName(arm.Name, lr, seed)];
            var run = new RunDirectory(Path.Combine(sweep, SweepState.RunDir(p, points.Count)));
            run.Create();
            var config = (JsonObject)p.Config.DeepClone();
            if (options.Packed)
            {
                config["data"]!.AsObject().Remove("synthetic");
                config["data"]!["packing"] = "packed";
            }
            run.WriteConfig(RunConfig.FromJson(config));
            double l = plan.IsCalibration(arm, lr) && options.Calibration is { } cal ? cal(seed) : o.Loss + SeedShift(seed);
            int last = o.Diverged ? 60 : 150;
            var monitor = new StabilityMonitor(text ? 2048 : 101, budget.Warmup);
            for (int step = 10; step <= last; step += 10)
            {
                double norm = step <= budget.Warmup ? 1.0 : 1.0 + (o.NormGrowth - 1.0) * (step - budget.Warmup) / (double)(last - budget.Warmup);
                var attention = new JsonObject { ["layers"] = new JsonArray(
                    new JsonObject { ["output_norm"] = norm, ["norm_slope_log_n"] = 0.1, ["logit_range"] = 2.0 * norm },
                    new JsonObject { ["output_norm"] = norm / 2, ["norm_slope_log_n"] = 0.3, ["logit_range"] = norm }) };
                if (arm.Name.Contains("cottention"))
                    attention["layers"]![0]!["sigma"] = new JsonArray(0.62, 0.62 + (step == last ? o.SigmaDrift : 0));
                var rec = new StepRecord
                {
                    Step = step, Loss = l + 1, MlmAccuracy = 0.1, Lr = lr, GradNorm = step == 50 ? o.GradNorm : Math.Min(o.GradNorm, 0.5), TokensPerS = 1000, ElapsedS = step,
                    OutputPenalty = o.Penalty,
                    Attention = arm.Name.Contains("cottention") || options.Stability ? attention : null,
                };
                if (step is 100 or 150 && !o.Diverged) rec.Validation = new Evaluation(step == 100 ? l + 0.005 : l - 0.005, 0.2, Math.Exp(l), 1000, text ? UnigramLevel : null);
                run.AppendMetrics(rec);
                monitor.Observe(step, l + 1, rec.GradNorm);
                monitor.ObserveAttention(step, attention);
            }
            run.WriteSummary(new RunSummary
            {
                Status = o.Diverged ? RunStatus.Diverged : RunStatus.Completed, Step = last, Steps = 150,
                Validation = o.Diverged ? null : new Evaluation(l - 0.005, 0.2, Math.Exp(l), 1000, text ? UnigramLevel : null), ValidationStep = o.Diverged ? null : 150,
                Reason = o.Diverged ? "non-finite value at step 60: loss is NaN" : null,
                Stability = options.Stability ? monitor.ToJson() : null,
            });
        }
        return SweepResults.Load(sweep);
    }
}
