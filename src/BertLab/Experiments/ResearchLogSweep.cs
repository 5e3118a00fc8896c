using System.Globalization;
using System.Text.Json.Nodes;

namespace BertLab.Experiments;

/// <summary>The scale of the built-in research-log sweep (all on the embedded corpus, fp32, seed 42).</summary>
/// <param name="DistanceBatchSize">Batch of the manhattan and lp runs: their |q−k|^p similarity materialises
/// batch × heads × S × S × d on CPU (measured ≈ 5.5 s of CPU per step at 16×128 on the tiny model, ≈ 20× softmax), so CPU budgets
/// give them a quarter of the batch (same steps, same schedule).</param>
public sealed record SweepBudget(string Name, string Model, int SeqLen, int LongSeqLen, int BatchSize, int LongBatchSize, int DistanceBatchSize, int Steps,
    int Warmup, int LogInterval, int EvalInterval, int EvalBatches, string Expectation);

/// <summary>
/// `bertlab sweep run research-log`: every finding of ATTENTION.md §5 as runs at a small scale on the embedded corpus.
/// Findings 1–2 use the log's first recipe (Adam, no clipping, no weight decay); findings 3 onwards use AdamW with
/// weight decay 0.01 and clipping at 1.0. Learning rates are the log's (1e-5, 1e-4, 1e-3).
/// </summary>
public static class ResearchLogSweep
{
    public const string Name = "research-log";

    public static readonly IReadOnlyDictionary<string, SweepBudget> Budgets = new Dictionary<string, SweepBudget>
    {
        // 36 runs × 24 steps of 8×64 tokens: ~3 CPU-minutes, a few minutes on 2 cores (CI)
        ["tiny"] = new("tiny", "tiny", 64, 256, 8, 2, 2, 24, 4, 4, 24, 4, "a few minutes on 2 cores (CI smoke test; too short for the findings: most verdicts are inconclusive)"),
        // 36 runs × 300 steps of 16×128 tokens; measured ≈ 0.27 s of CPU per step (softmax, tiny model, 1 thread), so ≈ 1.6 CPU-minutes
        // per run, ≈ 7 for manhattan/lp at batch 4: ≈ 68 CPU-minutes, ≈ 35 minutes with --workers 2 on 2 quiet cores
        ["small"] = new("small", "tiny", 128, 512, 16, 4, 4, 300, 30, 10, 100, 8, "about 35 minutes on 2 quiet cores with --workers 2 (must stay under 60)"),
        // BERT-small (4×256), 2000 steps of 32×128 tokens: several hours on 2 cores; a GPU or a cluster (sweep slurm) is better
        ["medium"] = new("medium", "small", 128, 512, 32, 8, 32, 2000, 200, 20, 250, 16, "several hours on 2 cores; use a GPU or `bertlab sweep slurm`"),
        // BERT-base, 20000 steps of 32×512 tokens: a GPU/cluster job (days on CPU)
        ["full"] = new("full", "base", 512, 2048, 32, 8, 32, 20000, 2000, 50, 1000, 32, "a cluster or GPU job (days on CPU)"),
    };

    public static string BudgetNames => string.Join(", ", Budgets.Keys);

    static readonly double[] Lrs = { 1e-5, 1e-4, 1e-3 };

    public static SweepDefinition Create(string budgetName)
    {
        if (!Budgets.TryGetValue(budgetName, out var b))
            throw new BertLabException($"--budget '{budgetName}' is not allowed; allowed: {BudgetNames}");
        var baseConfig = new JsonObject
        {
            ["model"] = b.Model,
            ["attention"] = "softmax",
            ["data"] = new JsonObject { ["seq_len"] = b.SeqLen },
            ["optimizer"] = new JsonObject { ["name"] = "adam", ["lr"] = 1e-4, ["weight_decay"] = 0.0, ["clip_norm"] = 0.0 },
            ["schedule"] = new JsonObject { ["name"] = "linear", ["warmup_steps"] = b.Warmup },
            ["run"] = new JsonObject
            {
                ["steps"] = b.Steps, ["batch_size"] = b.BatchSize, ["log_interval"] = b.LogInterval, ["eval_interval"] = b.EvalInterval,
                ["eval_batches"] = b.EvalBatches, ["checkpoint_interval"] = b.EvalInterval, ["keep_last"] = 1, ["seed"] = 42,
            },
        };
        var runs = new List<NamedRun>();
        void Add(string name, params (string key, JsonNode? value)[] set) =>
            runs.Add(new NamedRun(name, set.Select(s => new KeyValuePair<string, JsonNode?>(s.key, s.value)).ToList()));
        (string, JsonNode?) Att(string preset) => ("attention", JsonValue.Create(preset));
        (string, JsonNode?) Lr(double lr) => ("optimizer.lr", JsonValue.Create(lr));
        (string, JsonNode?)[] AdamW = { ("optimizer.name", "adamw"), ("optimizer.weight_decay", 0.01), ("optimizer.clip_norm", 1.0) };

        foreach (var lr in Lrs) Add(RunName("adam", "softmax", lr), Att("softmax"), Lr(lr));
        foreach (var lr in Lrs) Add(RunName("adam", "cosine", lr), Att("cosine"), Lr(lr));
        Add(RunName("adam", "cosine", 1e-4, "clip"), Att("cosine"), Lr(1e-4), ("optimizer.clip_norm", 1.0));
        Add(RunName("adam", "cosine", 1e-4, "wd0.1"), Att("cosine"), Lr(1e-4), ("optimizer.weight_decay", 0.1));
        foreach (var preset in new[] { "softmax", "cosine", "cosine-relu", "cosine-n" })
            foreach (var lr in Lrs) Add(RunName("adamw", preset, lr), AdamW.Append(Att(preset)).Append(Lr(lr)).ToArray());
        foreach (var preset in new[] { "cosine-sigmoid", "cosine-softmax" })
            foreach (var lr in new[] { 1e-5, 1e-4 }) Add(RunName("adamw", preset, lr), AdamW.Append(Att(preset)).Append(Lr(lr)).ToArray());
        Add(RunName("adamw", "cosine-relu", 1e-5, "token-dropout"), AdamW.Append(Att("cosine-relu")).Append(("attention.token_dropout", 0.1)).Append(Lr(1e-5)).ToArray());
        Add(RunName("adamw", "angular", 1e-5), AdamW.Append(Att("angular")).Append(Lr(1e-5)).ToArray());
        Add(RunName("adamw", "cosine-sqrt-n", 1e-4), AdamW.Append(Att("cosine-sqrt-n")).Append(Lr(1e-4)).ToArray());
        var longSeq = new (string, JsonNode?)[] { ("data.seq_len", b.LongSeqLen), ("run.batch_size", b.LongBatchSize) };
        var longPositions = b.LongSeqLen > 512 ? new (string, JsonNode?)[] { ("model.max_position_embeddings", b.LongSeqLen) } : Array.Empty<(string, JsonNode?)>();
        Add(RunName("adamw", "cosine-sqrt-n", 1e-4, "long"), AdamW.Append(Att("cosine-sqrt-n")).Concat(longSeq).Concat(longPositions).Append(Lr(1e-4)).ToArray());
        Add(RunName("adamw", "cosine-n", 1e-4, "long"), AdamW.Append(Att("cosine-n")).Concat(longSeq).Concat(longPositions).Append(Lr(1e-4)).ToArray());
        foreach (var lr in new[] { 1e-4, 1e-3 }) Add(RunName("adamw", "cottention", lr), AdamW.Append(Att("cottention")).Append(Lr(lr)).ToArray());
        Add(RunName("adamw", "qkv-norm", 1e-4), AdamW.Append(Att("qkv-norm")).Append(Lr(1e-4)).ToArray());
        Add(RunName("adamw", "cosine-n", 1e-4, "output-penalty"), AdamW.Append(Att("cosine-n")).Append(("attention.output_penalty", 0.1)).Append(Lr(1e-4)).ToArray());
        Add(RunName("adamw", "euclidean", 1e-4), AdamW.Append(Att("euclidean")).Append(Lr(1e-4)).ToArray());
        foreach (var preset in new[] { "manhattan", "lp" })
            Add(RunName("adamw", preset, 1e-4), AdamW.Append(Att(preset)).Append(Lr(1e-4)).Append(("run.batch_size", b.DistanceBatchSize)).ToArray());

        return new SweepDefinition
        {
            Name = Name,
            Description = $"ATTENTION.md §5 findings at the '{b.Name}' budget: model {b.Model}, seq_len {b.SeqLen} (long runs {b.LongSeqLen}), " +
                          $"batch {b.BatchSize} (manhattan and lp: {b.DistanceBatchSize}), {b.Steps} steps; expected wall time {b.Expectation}",
            Base = baseConfig, Runs = runs, Builtin = Name, Budget = b.Name,
        };
    }

    /// <summary>"adamw cosine-relu lr=1e-5 token-dropout".</summary>
    public static string RunName(string optimizer, string preset, double lr, string? variant = null) =>
        $"{optimizer} {preset} lr={SweepDefinition.FormatNumber(lr)}" + (variant is null ? "" : " " + variant);
}
