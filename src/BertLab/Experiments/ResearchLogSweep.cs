using System.Text.Json.Nodes;
using BertLab.Experiments.Study;

namespace BertLab.Experiments;

/// <summary>
/// `bertlab sweep run research-log --budget tiny|cpu|gpu`: every finding of ATTENTION.md §5 as paired-seed arms on learning-rate grids
/// (issue 17 items 4, 5, 8). Recipe switches of the original work, per arm: Adam with coupled L2 weight decay 0.01 (the pre-AdamW
/// baseline) or AdamW with weight decay 0.01; ε 1e-7; weight decay on every parameter (no_decay []); clipping only in the clipping
/// arm; linear warmup then a constant lr. The arms are <see cref="ResearchLogArms"/>, the findings that read them
/// <see cref="ResearchLogFindings"/>; a budget runs what <see cref="StudyDesign.Plan"/> builds from them.
/// </summary>
public static class ResearchLogSweep
{
    public const string Name = "research-log";
    public const double Eps = 1e-7, WeightDecay = 0.01;

    /// <summary>CI smoke test: 2 seeds, 2 lrs on the grid arms, 24 steps of the synthetic index task.</summary>
    public static readonly StudyBudget Tiny = new()
    {
        Name = "tiny", Model = "tiny", Task = new GeneratedTask(IndexTask(32), IndexTask(64)),
        SeqLen = 64, LongSeqLen = 128, BatchSize = 8, LongBatchSize = 8, DistanceBatchSize = 8,
        Steps = 24, Warmup = 4, LogInterval = 4, EvalInterval = 12, EvalBatches = 4,
        Seeds = 2, AnchorLr = 1e-3, GridSteps = new[] { -2, 0 }, FullGridForAll = false, Observations = false,
        Precision = "fp32", Device = "cpu", FixedMargin = null,
        Expectation = "a few minutes on 2 cores (CI smoke test: far too short for the findings; every comparison is gated as 'horizon too short' or underpowered)",
    };

    /// <summary>
    /// 41 configurations × 4 seeds = 164 runs of 300 steps of 32 sequences of the synthetic index task (4–32 values, the long
    /// arms 4–64, the longest allowed growing from 4 over the first 200 batches). Pilots (2026-12-02, 2 cores): without the
    /// curriculum, softmax at lr 1e-3 left the uniform loss at step 150 to > 400 depending on the seed (2 of 4 seeds still on it
    /// at 400: a margin of ≈ 3 nats); with it every seed was below 0.35 nats by step 200 and 0.03 by 300. ≈ 20 s of machine
    /// time per run with two at a time: ≈ 55 minutes in all with --workers 2.
    /// </summary>
    public static readonly StudyBudget Cpu = new()
    {
        Name = "cpu", Model = "tiny", Task = new GeneratedTask(IndexTask(32), IndexTask(64)),
        SeqLen = 64, LongSeqLen = 128, BatchSize = 32, LongBatchSize = 32, DistanceBatchSize = 32,
        Steps = 300, Warmup = 20, LogInterval = 25, EvalInterval = 50, EvalBatches = 0,
        Seeds = 4, AnchorLr = 1e-3, GridSteps = new[] { -2, -1, 0, 1 }, FullGridForAll = false, Observations = false,
        Precision = "fp32", Device = "cpu", FixedMargin = null,
        Expectation = "≈ 55 minutes on 2 quiet cores with --workers 2 (pilot: ≈ 20 s of machine time per 300-step run)",
    };

    /// <summary>BERT-small (4×256) on natural text, bf16 on one GPU: the grid arms on a five-point grid, 5 seeds, the future-work similarities too.</summary>
    public static readonly StudyBudget Gpu = new()
    {
        Name = "gpu", Model = "small", Task = new CorpusTask(),
        SeqLen = 128, LongSeqLen = 512, BatchSize = 64, LongBatchSize = 16, DistanceBatchSize = 64,
        Steps = 600, Warmup = 60, LogInterval = 20, EvalInterval = 150, EvalBatches = 16,
        Seeds = 5, AnchorLr = 1e-3, GridSteps = new[] { -2, -1, 0, 1, 2 }, FullGridForAll = true, Observations = true,
        Precision = "bf16", Device = "cuda", FixedMargin = null,
        Expectation = "≈ 8 minutes on one H100/H200 with --workers 16 (estimated, not measured: ~300 runs × 600 steps of 64×128 tokens)",
    };

    public static readonly IReadOnlyDictionary<string, StudyBudget> Budgets = new[] { Tiny, Cpu, Gpu }.ToDictionary(b => b.Name);

    public static string BudgetNames => string.Join(", ", Budgets.Keys);

    /// <summary>The synthetic index task of the CPU budgets (<see cref="BertLab.Data.Synthetic.SyntheticTask"/> kind index): 4 to
    /// <paramref name="maxValues"/> value symbols (of 32) per sequence, half of the positions queried; 64 index symbols, so that the
    /// short and long tasks share one vocabulary (101 tokens). The longest sequence allowed grows from 4 values to the maximum
    /// over the first 200 training batches (a curriculum: it makes the step at which softmax leaves the uniform loss far less
    /// seed-dependent); validation always uses the full range.</summary>
    public static string IndexTask(int maxValues) => $"index:keys=64,values=32,pairs=4-{maxValues},query_fraction=0.5,curriculum_batches=200";

    public static StudyBudget Budget(string budgetName) =>
        Budgets.TryGetValue(budgetName, out var b) ? b : throw new BertLabException($"--budget '{budgetName}' is not allowed; allowed: {BudgetNames}");

    /// <summary>What the budget runs: the study's arms that its findings, calibration and gate read, at their lrs.</summary>
    public static StudyPlan Plan(StudyBudget b) => ResearchLogFindings.Design.Plan(b);

    public static SweepDefinition Create(string budgetName)
    {
        var b = Budget(budgetName);
        var baseConfig = new JsonObject
        {
            ["model"] = b.Task.ModelSection(b.Model),
            ["attention"] = "softmax",
            ["data"] = b.Task.DataSection(b.SeqLen),
            // the original recipe: ε 1e-7, weight decay 0.01 on every parameter, no clipping (only the clipping arm clips)
            ["optimizer"] = new JsonObject
            {
                ["name"] = "adamw", ["lr"] = b.AnchorLr, ["eps"] = Eps, ["weight_decay"] = WeightDecay, ["clip_norm"] = 0.0, ["no_decay"] = new JsonArray(),
            },
            ["schedule"] = new JsonObject { ["name"] = "constant", ["warmup_steps"] = b.Warmup },
            ["run"] = new JsonObject
            {
                ["steps"] = b.Steps, ["batch_size"] = b.BatchSize, ["log_interval"] = b.LogInterval, ["eval_interval"] = b.EvalInterval,
                ["eval_batches"] = b.EvalBatches, ["checkpoint_interval"] = b.Steps, ["keep_last"] = 1, ["precision"] = b.Precision, ["device"] = b.Device,
            },
        };
        var runs = Plan(b).NamedRuns();
        var seeds = Enumerable.Range(1, b.Seeds).Select(s => (long)s).ToList();
        return new SweepDefinition
        {
            Name = Name,
            Description = $"ATTENTION.md §5 findings at the '{b.Name}' budget: model {b.Model}, " + b.Task.Describe(b) +
                          $"batch {b.BatchSize}, " +
                          $"{b.Steps} steps ({b.Warmup} warmup, then constant lr), {b.Precision} on {b.Device}, seeds 1–{b.Seeds} paired across arms; " +
                          $"lr grid {string.Join(", ", b.Grid.Select(SweepDefinition.FormatNumber))} (anchor η* = {SweepDefinition.FormatNumber(b.AnchorLr)} ↔ the log's 1e-4); " +
                          $"{runs.Count} configurations × {b.Seeds} seeds = {runs.Count * b.Seeds} runs; expected wall time {b.Expectation}",
            Base = baseConfig, Runs = runs, Seeds = seeds, Builtin = Name, Budget = b.Name,
        };
    }
}
