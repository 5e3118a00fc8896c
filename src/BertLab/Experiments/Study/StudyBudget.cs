using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Training;

namespace BertLab.Experiments.Study;

/// <summary>A learning rate the research log names, mapped onto the budget's model: its 1e-4 is the budget's anchor (the
/// model's own softmax optimum), its 1e-5 one decade below (one decade in the log = one decade here).</summary>
public enum LogLr { Log1e5, Log1e4 }

/// <summary>
/// The scale of a study, as named settings: model, task, sequence lengths and batches, horizon, seeds and the learning-rate
/// grid. Every arm of the study reads its budget-dependent settings from here (<see cref="StudyArm.SettingsAt"/>).
/// </summary>
public sealed record StudyBudget
{
    public required string Name { get; init; }
    /// <summary>The model preset (model.preset).</summary>
    public required string Model { get; init; }
    /// <summary>What every arm trains and is validated on; it decides the data and model sections of the base configuration.</summary>
    public required StudyTask Task { get; init; }
    public required int SeqLen { get; init; }
    /// <summary>The sequence length of the long-sequence arms (<see cref="ArmShape.LongSequences"/>).</summary>
    public required int LongSeqLen { get; init; }
    public required int BatchSize { get; init; }
    public required int LongBatchSize { get; init; }
    /// <summary>Batch of the distance-similarity arms (<see cref="ArmShape.DistanceBatch"/>: their |q−k|^p similarity is ≈ 20×
    /// softmax's cost on CPU).</summary>
    public required int DistanceBatchSize { get; init; }
    public required int Steps { get; init; }
    /// <summary>Steps of linear warmup, then a constant lr.</summary>
    public required int Warmup { get; init; }
    public required int LogInterval { get; init; }
    public required int EvalInterval { get; init; }
    /// <summary>Batches per validation; 0 = the whole validation set.</summary>
    public required int EvalBatches { get; init; }
    /// <summary>Seeds 1..Seeds, paired across every arm (same seed: same initialisation, data order and masks).</summary>
    public required int Seeds { get; init; }
    /// <summary>The model's own softmax optimum η* at this budget: the log's lr 1e-4 maps onto it (<see cref="LogLr"/>).</summary>
    public required double AnchorLr { get; init; }
    /// <summary>The full grid, in half-decade steps relative to the anchor (−2 = anchor/10, +1 = anchor·√10).</summary>
    public required IReadOnlyList<int> GridSteps { get; init; }
    /// <summary>Arms that run the log's two lrs (<see cref="ArmLrs.LogBoth"/>) run the whole grid instead.</summary>
    public bool FullGridForAll { get; init; }
    /// <summary>Whether the observation arms (<see cref="StudyArm.Observation"/>: similarities the log lists as future work) run.</summary>
    public bool Observations { get; init; }
    public required string Precision { get; init; }
    public required string Device { get; init; }
    /// <summary>A margin fixed before the runs (from a pilot's seed spread, <see cref="MarginOrigin"/>); null: max(0.02, 2 × the
    /// calibration arm's seed SD in these runs (a margin computed from the runs it then judges: the smoke-test budget only).</summary>
    public double? FixedMargin { get; init; }
    /// <summary>Where <see cref="FixedMargin"/> comes from, for the report (the pilot, its runs and its numbers).</summary>
    public string? MarginOrigin { get; init; }
    /// <summary>Seeds of the calibration arm (1..this), when more than <see cref="Seeds"/>: its halves 1..k and k+1..2k form the
    /// built-in A/A comparison, which must come out equivalent at the margin. Null: the calibration arm runs the budget's seeds and no A/A.</summary>
    public int? CalibrationSeeds { get; init; }
    /// <summary>The follow-up stage (<c>--stage follow-up</c>): η_max bisection, horizon check, downstream fine-tuning; null: none.</summary>
    public FollowUpSettings? FollowUp { get; init; }
    /// <summary>The expected wall time, for `--help` and the sweep's description.</summary>
    public required string Expectation { get; init; }

    /// <summary>The learning rates of the full grid, ascending.</summary>
    public IReadOnlyList<double> Grid => GridSteps.OrderBy(k => k).Select(k => HalfDecade(AnchorLr, k)).ToList();
    /// <summary>The log's lr 1e-5 and 1e-4 at this model size.</summary>
    public double Log1e5 => HalfDecade(AnchorLr, -2);
    public double Log1e4 => AnchorLr;
    public double Lr(LogLr lr) => lr == LogLr.Log1e5 ? Log1e5 : Log1e4;

    /// <summary>anchor × 10^(k/2), rounded to 3 significant digits (1e-3 → 3.16e-3 → 1e-2).</summary>
    public static double HalfDecade(double anchor, int k) =>
        double.Parse((anchor * Math.Pow(10, k / 2.0)).ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>The settings an arm of this shape takes from the budget, after its own (<see cref="StudyArm.SettingsAt"/>).</summary>
    public IEnumerable<KeyValuePair<string, JsonNode?>> SettingsFor(ArmShape shape)
    {
        switch (shape)
        {
            case ArmShape.LongSequences:
                yield return new(RunConfigKeys.DataSeqLen.Path, LongSeqLen);
                yield return new(RunConfigKeys.RunBatchSize.Path, LongBatchSize);
                foreach (var s in Task.LongArmSettings()) yield return s;
                // BERT's position table stops at 512 by default
                if (LongSeqLen > 512) yield return new("model.max_position_embeddings", LongSeqLen);
                break;
            case ArmShape.DistanceBatch:
                yield return new(RunConfigKeys.RunBatchSize.Path, DistanceBatchSize);
                break;
            case ArmShape.StrippedCorpus:
                foreach (var s in ((CorpusTask)Task).StrippedCorpusSettings()) yield return s;
                break;
        }
    }
}
