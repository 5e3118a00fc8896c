using System.Text.Json.Nodes;
using BertLab.Training;
using static BertLab.Experiments.Study.StudyFormat;

namespace BertLab.Experiments.Study;

/// <summary>
/// Whether the mechanism a claim is about acted in an arm's runs, from their training records (metrics.jsonl). Non-events
/// never count as evidence: a clipping threshold never reached, a penalty that stayed 0, a learned exponent that never
/// moved make the claim "not exercised".
/// </summary>
public abstract record MechanismCheck(ArmAt Runs)
{
    public IEnumerable<ArmRead> Reads => new[] { ArmRead.Of(Runs) };

    /// <summary>Why the mechanism did not act (the diagnostic is missing, or it never switched on), or null when it acted.</summary>
    public abstract string? NotExercised(StudyRuns st);

    /// <summary>What the check saw, for the report (<see cref="Note"/>).</summary>
    public abstract string Describe(StudyRuns st);

    protected IEnumerable<RunRecord?> RunsOf(StudyRuns st)
    {
        double lr = st.Lr(Runs.Lr);
        return st.Seeds.Select(seed => st.Run(Runs.Arm, lr, seed));
    }
}

/// <summary>Clipping acted: some logged gradient norm of the arm exceeded its <c>optimizer.clip_norm</c>.</summary>
public sealed record ClippingActed(ArmAt Runs) : MechanismCheck(Runs)
{
    double Threshold => Runs.Arm.Number(RunConfigKeys.OptimizerClipNorm);

    public override string? NotExercised(StudyRuns st)
    {
        var clip = RunsOf(st).Select(r => StudyRuns.MaxOf(r, MetricKeys.GradNorm)).ToList();
        return clip.All(x => x is null) ? "the clipped runs logged no gradient norm (diagnostic missing)"
            : clip.All(x => x is null || x <= Threshold) ? $"the gradient norm never exceeded the clipping threshold {N(Threshold, "0.0")} (largest logged {N(clip.Max() ?? double.NaN)}): clipping never acted" : null;
    }

    public override string Describe(StudyRuns st) => $"largest gradient norm {N(RunsOf(st).Select(r => StudyRuns.MaxOf(r, MetricKeys.GradNorm)).Max() ?? double.NaN)}";
}

/// <summary>The output penalty acted: its term (λ·max(0, ‖o‖ − ‖x‖)) was logged above 0 in the arm's runs.</summary>
public sealed record PenaltyActed(ArmAt Runs) : MechanismCheck(Runs)
{
    /// <summary>The arm's λ (attention.output_penalty).</summary>
    public double Lambda => JsonNumbers.TryGetDouble(Runs.Arm.Setting("attention.output_penalty"), out var l) ? l
        : throw new InvalidOperationException($"arm '{Runs.Arm.Name}' sets no attention.output_penalty");

    List<double?> Terms(StudyRuns st) => RunsOf(st).Select(r => StudyRuns.MaxOf(r, MetricKeys.OutputPenalty)).ToList();

    public override string? NotExercised(StudyRuns st)
    {
        var pen = Terms(st);
        return pen.All(x => x is null) ? $"λ = {Lr(Lambda)}: no output_penalty was logged (the term stayed 0 or the diagnostic is missing): the penalty never acted"
            : pen.All(x => x is null or <= 0) ? $"λ = {Lr(Lambda)}: the penalty term stayed exactly 0 (‖o‖ never exceeded ‖x‖)" : null;
    }

    public override string Describe(StudyRuns st) => $"largest penalty term {N(Terms(st).Max() ?? double.NaN, "0.000000")}";
}

/// <summary>The learned exponent σ(m) moved: some head's σ changed by 0.001 or more between the first and the last
/// training record with attention statistics.</summary>
public sealed record SigmaMoved(ArmAt Runs) : MechanismCheck(Runs)
{
    public const double MinChange = 1e-3;

    List<double?> Moved(StudyRuns st) => RunsOf(st).Select(SigmaMovement).ToList();

    public override string? NotExercised(StudyRuns st)
    {
        var moved = Moved(st);
        return moved.All(x => x is null) ? $"the {Runs.Arm.Attention} runs logged no σ per head (diagnostic missing)"
            : moved.All(x => x is null || x < MinChange) ? $"σ(m) never moved (largest change of any head {N(moved.Max() ?? 0, "0.00000")} < 0.001): the learnable exponent was not exercised" : null;
    }

    public override string Describe(StudyRuns st) =>
        $"largest σ change per seed: {string.Join(", ", Moved(st).Select(x => x is double d ? N(d, "0.0000") : "–"))}";

    /// <summary>The largest change of any head's σ between the first and last logged training record; null without σ.</summary>
    static double? SigmaMovement(RunRecord? r)
    {
        if (r is null) return null;
        var withStats = r.Train.Where(m => m[MetricKeys.Attention]?["layers"] is JsonArray).ToList();
        if (withStats.Count < 2) return null;
        static List<double> Sig(JsonObject m) => ((JsonArray)m[MetricKeys.Attention]!["layers"]!).SelectMany(l => l?["sigma"] is JsonArray a ? a.Select(x => RunRecord.Num(x) ?? double.NaN) : Enumerable.Empty<double>()).ToList();
        var first = Sig(withStats[0]); var last = Sig(withStats[^1]);
        if (first.Count == 0 || first.Count != last.Count) return null;
        return first.Zip(last, (x, y) => Math.Abs(x - y)).Max();
    }
}
