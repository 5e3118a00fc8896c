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
}
