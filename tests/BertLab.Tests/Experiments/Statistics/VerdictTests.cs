using BertLab.Experiments.Statistics;
using Xunit;

namespace BertLab.Tests.Experiments.Statistics;

/// <summary>Every verdict class, produced by the rules on hand-written results.</summary>
public class VerdictTests
{
    static PairedComparison Compare(double[] a, double[] b) =>
        PairedComparison.Compute(a.Select((v, i) => new SeedPair(i + 1, v, b[i])).ToList());

    static readonly PairedComparison ALower = Compare(new[] { 2.00, 2.01, 1.99, 2.00 }, new[] { 2.30, 2.32, 2.29, 2.31 });
    static readonly PairedComparison AHigher = Compare(new[] { 2.30, 2.32, 2.29, 2.31 }, new[] { 2.00, 2.01, 1.99, 2.00 });
    static readonly PairedComparison Same = Compare(new[] { 2.000, 2.100, 1.900, 2.050 }, new[] { 2.001, 2.099, 1.902, 2.049 });
    static readonly PairedComparison Noisy = Compare(new[] { 2.0, 2.3, 1.8 }, new[] { 2.1, 2.0, 2.2 });
    // the attention gate: softmax (a) well below cosine-softmax (b), or the two within noise
    static readonly PairedComparison InUse = ALower;
    static readonly PairedComparison NotInUse = Same;

    [Fact]
    public void DirectionalClaim()
    {
        Assert.Equal(VerdictClass.Agrees, ClaimRules.Decide(ClaimKind.ABetter, ALower, attentionGate: InUse).Class);
        Assert.Equal(VerdictClass.Disagrees, ClaimRules.Decide(ClaimKind.ABetter, AHigher, attentionGate: InUse).Class);
        // "a helps" but the two are equivalent: the claim is contradicted, not confirmed by a non-event
        Assert.Equal(VerdictClass.Disagrees, ClaimRules.Decide(ClaimKind.ABetter, Same, attentionGate: InUse).Class);
    }

    [Fact]
    public void DidNotHelpClaimUsesTheEquivalenceTest()
    {
        Assert.Equal(VerdictClass.Agrees, ClaimRules.Decide(ClaimKind.NoDifference, Same).Class);
        Assert.Equal(VerdictClass.Disagrees, ClaimRules.Decide(ClaimKind.NoDifference, ALower).Class);
        Assert.Equal(VerdictClass.Disagrees, ClaimRules.Decide(ClaimKind.NoDifference, AHigher).Class);
    }

    [Fact]
    public void UnderpoweredCarriesTheSeedsNeeded()
    {
        Assert.Equal(ComparisonOutcome.Underpowered, Noisy.Outcome);
        var v = ClaimRules.Decide(ClaimKind.ABetter, Noisy, attentionGate: InUse);
        Assert.Equal(VerdictClass.Underpowered, v.Class);
        Assert.Equal(Noisy.SeedsNeeded, v.SeedsNeeded);
        Assert.False(v.Decided);
    }

    [Fact]
    public void GatesComeFirstAndSayWhy()
    {
        var na = ClaimRules.Decide(ClaimKind.ABetter, ALower, notApplicable: "every sequence had n = seq_len: dividing by n is a constant");
        Assert.Equal(VerdictClass.NotApplicable, na.Class);
        Assert.Contains("constant", na.Reason);
        var ne = ClaimRules.Decide(ClaimKind.ABetter, ALower, notExercised: "the output penalty stayed 0");
        Assert.Equal(VerdictClass.NotExercised, ne.Class);
        var hz = ClaimRules.Decide(ClaimKind.ABetter, ALower, attentionGate: NotInUse);
        Assert.Equal(VerdictClass.HorizonTooShort, hz.Class);
        Assert.Contains("attention not in use", hz.Reason);
        Assert.Equal(VerdictClass.NotApplicable, ClaimRules.Decide(ClaimKind.ABetter, null).Class);
        Assert.Equal(6, Enum.GetValues<VerdictClass>().Select(Verdict.ClassName).Distinct().Count());
    }

    // a − b = 0.010, 0.012, 0.009, 0.011: mean 0.0105, SD 0.001291, t(0.975, 3) = 3.182446 → 95% interval [0.00845, 0.01255],
    // which excludes 0 and lies inside the margin 0.02
    static readonly PairedComparison SmallReal = PairedComparison.Compute(new[] { 0.010, 0.012, 0.009, 0.011 }.Select((d, i) => new SeedPair(i + 1, 3.0 + i * 0.1 + d, 3.0 + i * 0.1)).ToList(), margin: 0.02, unit: "nats");
    const string SmallText = "a consistent difference of 0.0105 [0.0084, 0.0126] nats, smaller than the margin ±0.02";

    [Fact]
    public void ASmallRealEffect_IsNamedInTheReason_WhateverTheVerdictClass()
    {
        Assert.Equal(ComparisonOutcome.Equivalent, SmallReal.Outcome);
        Assert.True(SmallReal.ConsistentWithinMargin);
        Assert.Equal(SmallText, SmallReal.SmallEffect);
        Assert.Contains(SmallText, SmallReal.Reason);
        // every class that carries the comparison says so: agrees, disagrees, horizon too short, not exercised
        var agrees = ClaimRules.Decide(ClaimKind.NotBetter, SmallReal, attentionGate: InUse);
        Assert.Equal(VerdictClass.Agrees, agrees.Class);
        Assert.Contains(SmallText, agrees.Reason);
        var disagrees = ClaimRules.Decide(ClaimKind.ABetter, SmallReal, attentionGate: InUse);
        Assert.Equal(VerdictClass.Disagrees, disagrees.Class);
        Assert.Contains(SmallText, disagrees.Reason);
        var horizon = ClaimRules.Decide(ClaimKind.ABetter, SmallReal, attentionGate: NotInUse);
        Assert.Equal(VerdictClass.HorizonTooShort, horizon.Class);
        Assert.Contains("the comparison shows " + SmallText, horizon.Reason);
        var notExercised = ClaimRules.Decide(ClaimKind.ABetter, SmallReal, notExercised: "the penalty stayed 0");
        Assert.Equal(VerdictClass.NotExercised, notExercised.Class);
        Assert.Contains(SmallText, notExercised.Reason);
        Assert.True(SmallReal.ToJson()["consistent_within_margin"]!.GetValue<bool>());
    }

    [Fact]
    public void NoSmallEffectText_WhereTheIntervalHoldsZero_OrClearsTheMargin()
    {
        // equivalent with an interval around 0
        Assert.Equal(ComparisonOutcome.Equivalent, Same.Outcome);
        Assert.True(Same.Lower < 0 && Same.Upper > 0);
        Assert.False(Same.ConsistentWithinMargin);
        Assert.DoesNotContain("consistent difference", ClaimRules.Decide(ClaimKind.NotBetter, Same).Reason);
        // beyond the margin: a decided difference, not a small one
        Assert.Equal(ComparisonOutcome.ABetter, ALower.Outcome);
        Assert.Null(ALower.SmallEffect);
        Assert.DoesNotContain("consistent difference", ClaimRules.Decide(ClaimKind.ABetter, ALower, attentionGate: InUse).Reason);
        // excludes 0 but reaches past the margin on one side: underpowered, not "smaller than the margin"
        var straddles = PairedComparison.Compute(new[] { 0.010, 0.030, 0.012, 0.028 }.Select((d, i) => new SeedPair(i + 1, 3.0 + d, 3.0)).ToList(), margin: 0.02);
        Assert.True(straddles.Lower > 0 && straddles.Upper > 0.02);
        Assert.Null(straddles.SmallEffect);
        Assert.DoesNotContain("consistent difference", straddles.Reason);
    }
}
