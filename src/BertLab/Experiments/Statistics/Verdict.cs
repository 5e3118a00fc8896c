using System.Text.Json.Nodes;

namespace BertLab.Experiments.Statistics;

/// <summary>How a study's result bears on a claim. Every class but agrees/disagrees says why it could not decide.</summary>
public enum VerdictClass
{
    Agrees,
    Disagrees,
    /// <summary>The runs do not decide it at the observed spread; <see cref="Verdict.SeedsNeeded"/> says how many would.</summary>
    Underpowered,
    /// <summary>The mechanism the claim is about never switched on (e.g. a penalty that stayed 0, a learned scale that never moved).</summary>
    NotExercised,
    /// <summary>The claim cannot be tested by this study (e.g. it is about varying lengths and every sequence had the same length).</summary>
    NotApplicable,
    /// <summary>Attention was not yet in use: softmax did not beat cosine-softmax (near-uniform attention) by the margin.</summary>
    HorizonTooShort,
}

/// <summary>What a claim asserts about arm a against arm b.</summary>
public enum ClaimKind
{
    /// <summary>a is better than b (lower loss, or higher accuracy).</summary>
    ABetter,
    /// <summary>a did not help over b (or: the two are the same): decided by the equivalence test.</summary>
    NoDifference,
    /// <summary>a did not help over b: agrees when they are equivalent or b is better, disagrees when a is better by the margin.</summary>
    NotBetter,
}

/// <summary>A verdict with the statistic it rests on (when there is one) and its reason.</summary>
public sealed record Verdict(VerdictClass Class, string Reason, PairedComparison? Statistic = null, int? SeedsNeeded = null)
{
    public static string ClassName(VerdictClass c) => c switch
    {
        VerdictClass.Agrees => "agrees",
        VerdictClass.Disagrees => "disagrees",
        VerdictClass.Underpowered => "underpowered",
        VerdictClass.NotExercised => "not exercised",
        VerdictClass.NotApplicable => "not applicable",
        _ => "horizon too short",
    };

    public bool Decided => Class is VerdictClass.Agrees or VerdictClass.Disagrees;

    public JsonObject ToJson()
    {
        var o = new JsonObject { ["verdict"] = ClassName(Class), ["reason"] = Reason };
        if (SeedsNeeded is int k) o["seeds_needed"] = k;
        if (Statistic is not null) o["statistic"] = Statistic.ToJson();
        return o;
    }
}

/// <summary>
/// The decision rules for a claim, in order: not applicable, not exercised, horizon too short (gates that say why the
/// study cannot speak), then the paired comparison: a directional claim agrees when its arm is better by the margin and
/// disagrees when the other arm is better or the two are equivalent; a "did not help" claim agrees when they are
/// equivalent and disagrees when either is better by the margin; otherwise underpowered with the seeds needed.
/// Non-events are never scored as evidence.
/// </summary>
public static class ClaimRules
{
    /// <summary>The "attention in use" gate: softmax beats cosine-softmax by the margin on this task and horizon.</summary>
    public static bool AttentionInUse(PairedComparison softmaxVsCosineSoftmax) => softmaxVsCosineSoftmax.Outcome == ComparisonOutcome.ABetter;

    /// <param name="kind">what the claim asserts about a against b.</param>
    /// <param name="comparison">a against b over paired seeds (null when the runs are missing).</param>
    /// <param name="notApplicable">why the study cannot test the claim, or null.</param>
    /// <param name="notExercised">why the mechanism never switched on, or null.</param>
    /// <param name="attentionGate">softmax against cosine-softmax on the same task and horizon (a = softmax), or against the
    /// task's bag-of-values level on a generated task, or null when the claim does not need attention in use.</param>
    /// <param name="gateName">what the gate compares, for the message.</param>
    public static Verdict Decide(ClaimKind kind, PairedComparison? comparison, string? notApplicable = null, string? notExercised = null,
        PairedComparison? attentionGate = null, string gateName = "softmax − cosine-softmax")
    {
        if (notApplicable is not null) return new Verdict(VerdictClass.NotApplicable, notApplicable);
        // the classes that do not read the comparison still say when it shows a small real effect
        string small = comparison?.SmallEffect is string se ? $"; the comparison shows {se}" : "";
        if (notExercised is not null) return new Verdict(VerdictClass.NotExercised, notExercised + small, comparison);
        if (attentionGate is not null && !AttentionInUse(attentionGate))
            return new Verdict(VerdictClass.HorizonTooShort,
                $"attention not in use: {gateName} = {attentionGate.MeanDifference:0.####} [{attentionGate.Lower:0.####}, {attentionGate.Upper:0.####}], " +
                $"not below −{attentionGate.Margin:0.####} ({PairedComparison.OutcomeName(attentionGate.Outcome)})" + small, comparison);
        if (comparison is null) return new Verdict(VerdictClass.NotApplicable, "the runs this claim needs are missing or did not finish");

        var o = comparison.Outcome;
        if (o == ComparisonOutcome.Underpowered)
            return new Verdict(VerdictClass.Underpowered, comparison.Reason, comparison, comparison.SeedsNeeded);
        bool agrees = kind switch
        {
            ClaimKind.ABetter => o == ComparisonOutcome.ABetter,
            ClaimKind.NotBetter => o != ComparisonOutcome.ABetter,
            _ => o == ComparisonOutcome.Equivalent,
        };
        string what = o switch
        {
            ComparisonOutcome.ABetter => "a is better than b by more than the margin",
            ComparisonOutcome.BBetter => "b is better than a by more than the margin",
            _ => "a and b are equivalent within the margin",
        };
        return new Verdict(agrees ? VerdictClass.Agrees : VerdictClass.Disagrees, $"{what}: {comparison.Reason}", comparison);
    }
}
