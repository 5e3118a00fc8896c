using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Training;

namespace BertLab.Experiments;

/// <summary>The scale of the built-in research-log sweep (issue 17): model, data, horizon, seeds and the learning-rate grid.</summary>
/// <param name="Seeds">Seeds 1..Seeds, paired across every arm (same seed: same initialisation, data order and masks).</param>
/// <param name="AnchorLr">The small model's own softmax optimum η* at this budget: the log's lr 1e-4 maps onto it and the log's 1e-5
/// onto AnchorLr / 10 (one decade in the log = one decade here).</param>
/// <param name="GridSteps">The full grid, in half-decade steps relative to the anchor (−2 = anchor/10, +1 = anchor·√10).</param>
/// <param name="DistanceBatchSize">Batch of the manhattan and lp runs (their |q−k|^p similarity is ≈ 20× softmax's cost on CPU).</param>
/// <param name="FixedMargin">A margin measured before the runs (a pilot's A/A arms); null: max(0.02, 2 × pooled SD of the calibration arm).</param>
public sealed record SweepBudget(string Name, string Model, int SeqLen, int LongSeqLen, int BatchSize, int LongBatchSize, int DistanceBatchSize, int Steps,
    int Warmup, int LogInterval, int EvalInterval, int EvalBatches, int Seeds, double AnchorLr, IReadOnlyList<int> GridSteps, bool FullGridForAll,
    bool Observations, string Precision, string Device, double? FixedMargin, string Expectation)
{
    /// <summary>The generated task every arm trains on (<c>data.synthetic</c>), null for natural text. A task on which attention
    /// is in use within the budget (issue 17 item 7): the tiny model leaves the uniform loss within a few hundred steps.</summary>
    public string? Task { get; init; }
    /// <summary>The long-sequence arms' task (same vocabulary, longer sequences), used with <see cref="LongSeqLen"/>.</summary>
    public string? LongTask { get; init; }

    /// <summary>The learning rates of the full grid, ascending.</summary>
    public IReadOnlyList<double> Grid => GridSteps.OrderBy(k => k).Select(k => ResearchLogSweep.HalfDecade(AnchorLr, k)).ToList();
    /// <summary>The log's lr 1e-5 and 1e-4 at this model size.</summary>
    public double Log1e5 => ResearchLogSweep.HalfDecade(AnchorLr, -2);
    public double Log1e4 => AnchorLr;
}

/// <summary>One arm of the study: a named configuration run at several learning rates, each over the budget's seeds.</summary>
public sealed record StudyArm(string Name, IReadOnlyList<(string Key, JsonNode? Value)> Set, IReadOnlyList<double> Lrs);

/// <summary>
/// `bertlab sweep run research-log --budget tiny|cpu|gpu`: every finding of ATTENTION.md §5 as paired-seed arms on learning-rate grids
/// (issue 17 items 4, 5, 8). Recipe switches of the original work, per arm: Adam with coupled L2 weight decay 0.01 (the pre-AdamW
/// baseline) or AdamW with weight decay 0.01; ε 1e-7; weight decay on every parameter (no_decay []); clipping only in the clipping
/// arm; linear warmup then a constant lr. The rules that read these runs are <see cref="ResearchLogFindings"/>.
/// </summary>
public static class ResearchLogSweep
{
    public const string Name = "research-log";
    /// <summary>study2's variable-length data switch (issue 17 item 1). Used only when `bertlab config keys` has it.</summary>
    public const string PackingKey = "data.packing", VariableLengthPacking = "sentence_pairs";
    public const double Eps = 1e-7, WeightDecay = 0.01;

    public static readonly IReadOnlyDictionary<string, SweepBudget> Budgets = new Dictionary<string, SweepBudget>
    {
        // CI smoke test: 2 seeds, 2 lrs on the grid arms, 24 steps of the synthetic index task (see SweepBudget for the fields)
        ["tiny"] = new("tiny", "tiny", 64, 128, 8, 8, 8, 24, 4, 4, 12, 4, 2, 1e-3, new[] { -2, 0 }, false, false, "fp32", "cpu", null,
            "a few minutes on 2 cores (CI smoke test: far too short for the findings; every comparison is gated as 'horizon too short' or underpowered)")
        { Task = IndexTask(32), LongTask = IndexTask(64) },
        // 41 configurations × 4 seeds = 164 runs of 300 steps of 32 sequences of the synthetic index task (4–32 values, the long
        // arms 4–64, the longest allowed growing from 4 over the first 200 batches). Pilots (2026-12-02, 2 cores): without the
        // curriculum, softmax at lr 1e-3 left the uniform loss at step 150 to > 400 depending on the seed (2 of 4 seeds still on it
        // at 400: a margin of ≈ 3 nats); with it every seed was below 0.35 nats by step 200 and 0.03 by 300. ≈ 20 s of machine
        // time per run with two at a time: ≈ 55 minutes in all with --workers 2.
        ["cpu"] = new("cpu", "tiny", 64, 128, 32, 32, 32, 300, 20, 25, 50, 0, 4, 1e-3, new[] { -2, -1, 0, 1 }, false, false, "fp32", "cpu", null,
            "≈ 55 minutes on 2 quiet cores with --workers 2 (pilot: ≈ 20 s of machine time per 300-step run)")
        { Task = IndexTask(32), LongTask = IndexTask(64) },
        // BERT-small (4×256), bf16 on one GPU: every arm on a five-point grid, 5 seeds, the future-work similarities too
        ["gpu"] = new("gpu", "small", 128, 512, 64, 16, 64, 600, 60, 20, 150, 16, 5, 1e-3, new[] { -2, -1, 0, 1, 2 }, true, true, "bf16", "cuda", null,
            "≈ 8 minutes on one H100/H200 with --workers 16 (estimated, not measured: ~300 runs × 600 steps of 64×128 tokens)"),
    };

    public static string BudgetNames => string.Join(", ", Budgets.Keys);

    /// <summary>The synthetic index task of the CPU budgets (<see cref="BertLab.Data.Synthetic.SyntheticTask"/> kind index): 4 to
    /// <paramref name="maxValues"/> value symbols (of 32) per sequence, half of the positions queried; 64 index symbols, so that the
    /// short and long tasks share one vocabulary (101 tokens). The longest sequence allowed grows from 4 values to the maximum
    /// over the first 200 training batches (a curriculum: it makes the step at which softmax leaves the uniform loss far less
    /// seed-dependent); validation always uses the full range.</summary>
    public static string IndexTask(int maxValues) => $"index:keys=64,values=32,pairs=4-{maxValues},query_fraction=0.5,curriculum_batches=200";

    /// <summary>anchor × 10^(k/2), rounded to 3 significant digits (1e-3 → 3.16e-3 → 1e-2).</summary>
    public static double HalfDecade(double anchor, int k) =>
        double.Parse((anchor * Math.Pow(10, k / 2.0)).ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>Whether the trainer has variable-length data (study2's data.packing).</summary>
    public static bool HasVariableLengthData => RunConfigKeys.Find(PackingKey) is not null;

    /// <summary>The arms of the study at this budget, in run order.</summary>
    public static IReadOnlyList<StudyArm> Arms(SweepBudget b)
    {
        var arms = new List<StudyArm>();
        var grid = b.Grid;
        var two = new[] { b.Log1e5, b.Log1e4 };
        (string, JsonNode?) Att(string preset) => ("attention", JsonValue.Create(preset));
        (string, JsonNode?)[] Adam = { ("optimizer.name", "adam") };
        (string, JsonNode?)[] AdamW = { ("optimizer.name", "adamw") };
        void Add(string name, IReadOnlyList<double> lrs, params (string, JsonNode?)[] set) => arms.Add(new StudyArm(name, set, lrs));
        IReadOnlyList<double> Two = b.FullGridForAll ? grid : two;
        IReadOnlyList<double> One(double lr) => new[] { lr };

        // findings 1, 2: Adam (coupled L2 0.01), no clipping
        Add("adam softmax", grid, Adam.Append(Att("softmax")).ToArray());
        Add("adam cosine", grid, Adam.Append(Att("cosine")).ToArray());
        Add("adam cosine clip", One(b.Log1e4), Adam.Append(Att("cosine")).Append(("optimizer.clip_norm", 1.0)).ToArray());
        Add("adam cosine wd0.1", One(b.Log1e4), Adam.Append(Att("cosine")).Append(("optimizer.weight_decay", 0.1)).ToArray());
        // findings 3 onwards: AdamW; softmax anchors the grid, cosine-softmax is the "attention in use" gate
        Add("adamw softmax", grid, AdamW.Append(Att("softmax")).ToArray());
        Add("adamw cosine-softmax", Two, AdamW.Append(Att("cosine-softmax")).ToArray());
        Add("adamw cosine", grid, AdamW.Append(Att("cosine")).ToArray());
        Add("adamw cosine-relu", grid, AdamW.Append(Att("cosine-relu")).ToArray());
        Add("adamw cosine-n", grid, AdamW.Append(Att("cosine-n")).ToArray());
        Add("adamw cottention", grid, AdamW.Append(Att("cottention")).ToArray());
        Add("adamw cosine-sigmoid", One(b.Log1e5), AdamW.Append(Att("cosine-sigmoid")).ToArray());
        Add("adamw cosine-relu token-dropout", One(b.Log1e5), AdamW.Append(Att("cosine-relu")).Append(("attention.token_dropout", 0.1)).ToArray());
        // angular with cosine-relu's scaling (none), so only the similarity differs
        Add("adamw angular scaling-none", One(b.Log1e5), AdamW.Append(Att("angular")).Append(("attention.scaling", "none")).ToArray());
        var longSeq = new (string, JsonNode?)[] { ("data.seq_len", b.LongSeqLen), ("run.batch_size", b.LongBatchSize) }
            .Concat(b.LongTask is string lt ? new (string, JsonNode?)[] { ("data.synthetic", lt) } : Array.Empty<(string, JsonNode?)>())
            .Concat(b.LongSeqLen > 512 ? new (string, JsonNode?)[] { ("model.max_position_embeddings", b.LongSeqLen) } : Array.Empty<(string, JsonNode?)>()).ToArray();
        Add("adamw cosine-sqrt-n", One(b.Log1e4), AdamW.Append(Att("cosine-sqrt-n")).ToArray());
        Add("adamw cosine-sqrt-n long", One(b.Log1e4), AdamW.Append(Att("cosine-sqrt-n")).Concat(longSeq).ToArray());
        Add("adamw cosine-n long", One(b.Log1e4), AdamW.Append(Att("cosine-n")).Concat(longSeq).ToArray());
        Add("adamw qkv-norm", One(b.Log1e4), AdamW.Append(Att("qkv-norm")).ToArray());
        // output penalty on plain cosine, whose output norm is not bounded (on cosine-n it stayed exactly 0)
        foreach (var lambda in new[] { 0.01, 0.1 })
            Add($"adamw cosine penalty{SweepDefinition.FormatNumber(lambda)}", One(b.Log1e4), AdamW.Append(Att("cosine")).Append(("attention.output_penalty", lambda)).ToArray());
        if (b.Observations)
        {
            Add("adamw euclidean", One(b.Log1e4), AdamW.Append(Att("euclidean")).ToArray());
            Add("adamw manhattan", One(b.Log1e4), AdamW.Append(Att("manhattan")).Append(("run.batch_size", b.DistanceBatchSize)).ToArray());
            Add("adamw lp", One(b.Log1e4), AdamW.Append(Att("lp")).Append(("run.batch_size", b.DistanceBatchSize)).ToArray());
        }
        return arms;
    }

    public static SweepBudget Budget(string budgetName) =>
        Budgets.TryGetValue(budgetName, out var b) ? b : throw new BertLabException($"--budget '{budgetName}' is not allowed; allowed: {BudgetNames}");

    public static SweepDefinition Create(string budgetName)
    {
        var b = Budget(budgetName);
        var baseConfig = new JsonObject
        {
            // a generated task brings its own vocabulary; no dropout there (the task has no noise to regularise against)
            ["model"] = b.Task is string task
                ? new JsonObject { ["preset"] = b.Model, ["vocab_size"] = BertLab.Data.Synthetic.SyntheticTask.Parse(task).VocabSize, ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0 }
                : b.Model,
            ["attention"] = "softmax",
            ["data"] = b.Task is string t
                // variable-length sequences by construction: n varies within every batch, as in the original work
                ? new JsonObject { ["seq_len"] = b.SeqLen, ["synthetic"] = t }
                : HasVariableLengthData
                // the original work trained on sentence pairs of varying length: every arm does, so that n varies and
                // n-scaled arms are compared with controls on the same data (findings 5, 6a, 6b, 8 need it)
                ? new JsonObject { ["seq_len"] = b.SeqLen, [PackingKey.Split('.')[1]] = VariableLengthPacking }
                : new JsonObject { ["seq_len"] = b.SeqLen },
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
        var runs = new List<NamedRun>();
        foreach (var arm in Arms(b))
            foreach (var lr in arm.Lrs)
                runs.Add(new NamedRun(RunName(arm.Name, lr),
                    arm.Set.Append(("optimizer.lr", JsonValue.Create(lr))).Select(s => new KeyValuePair<string, JsonNode?>(s.Item1, s.Item2)).ToList()));

        var seeds = Enumerable.Range(1, b.Seeds).Select(s => (long)s).ToList();
        return new SweepDefinition
        {
            Name = Name,
            Description = $"ATTENTION.md §5 findings at the '{b.Name}' budget: model {b.Model}, " +
                          (b.Task is string td ? $"task {BertLab.Data.Synthetic.SyntheticTask.Parse(td).Describe()} (long arms: {b.LongTask}), sequences up to {b.SeqLen} (long arms {b.LongSeqLen}), " : $"seq_len {b.SeqLen} (long arms {b.LongSeqLen}), ") +
                          $"batch {b.BatchSize}, " +
                          $"{b.Steps} steps ({b.Warmup} warmup, then constant lr), {b.Precision} on {b.Device}, seeds 1–{b.Seeds} paired across arms; " +
                          $"lr grid {string.Join(", ", b.Grid.Select(SweepDefinition.FormatNumber))} (anchor η* = {SweepDefinition.FormatNumber(b.AnchorLr)} ↔ the log's 1e-4); " +
                          $"{runs.Count} configurations × {b.Seeds} seeds = {runs.Count * b.Seeds} runs; expected wall time {b.Expectation}",
            Base = baseConfig, Runs = runs, Seeds = seeds, Builtin = Name, Budget = b.Name,
        };
    }

    /// <summary>"adamw cosine-relu lr=1e-4" (the sweep appends " seed1").</summary>
    public static string RunName(string arm, double lr) => $"{arm} lr={SweepDefinition.FormatNumber(lr)}";

    /// <summary>The name of one run of the expanded sweep.</summary>
    public static string PointName(string arm, double lr, long seed) => $"{RunName(arm, lr)} seed{seed}";
}
