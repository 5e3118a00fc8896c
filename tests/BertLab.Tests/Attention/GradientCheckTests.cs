using BertLab.Attention;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>Central-difference gradient checks in float64 for every (similarity, activation, scaling) and kernel.</summary>
public class GradientCheckTests
{
    public static IEnumerable<object[]> Variants() => AllTriples();

    [Theory]
    [MemberData(nameof(Variants))]
    public void GradientsMatchFiniteDifferences(string sim, string act, string scaling)
    {
        using var scope = NewDisposeScope();
        manual_seed((sim + act + scaling).Length * 101 + sim.Length);
        var kernels = new List<string> { "quadratic" };
        if (LinearizableSimilarities.Contains(sim) && act == "none") kernels.Add("linear");
        if (LinearizableSimilarities.Contains(sim) && act == "softmax" && scaling == "none") kernels.Add("fused");
        foreach (var kernel in kernels)
        {
            // Tiny shapes: B = 2 (one sequence padded), H = 2, S = 4, d = 3; key blocks of 3 split the keys.
            var mech = new AttentionMechanism(Config(sim, act, scaling, "", kernel, keyBlock: 3));
            const int B = 2, H = 2, S = 4, d = 3;
            var mask = LengthMask(S, 4, 3);
            var q = randn(B, H, S, d, ScalarType.Float64) + 0.4;
            var k = randn(B, H, S, d, ScalarType.Float64) + 0.4;
            var v = randn(B, H, S, d, ScalarType.Float64);
            var parameters = Parameters(mech, H, ScalarType.Float64);
            var names = parameters.Keys.ToArray();
            var upstream = randn(B, H, S, d, ScalarType.Float64);
            Tensor Loss(Tensor[] x)
            {
                var ps = names.Select((n, i) => (n, x[3 + i])).ToDictionary(t => t.n, t => t.Item2);
                return (Run(mech, x[0], x[1], x[2], mask, ps).Output * upstream).sum();
            }
            var (worst, where) = FiniteDifference.Check(Loss, new[] { q, k, v }.Concat(names.Select(n => parameters[n])).ToArray());
            Assert.True(worst <= 1, $"{kernel}: {where} (params {string.Join(",", names)})");
        }
    }

    [Fact]
    public void VectorNormalisationAndTokenDropoutGradientsMatch()
    {
        manual_seed(3);
        var c = Config("dot", "relu", "rowsum", "qkv", "quadratic");
        var mech = new AttentionMechanism(c);
        var mask = LengthMask(4, 4, 2);
        var upstream = randn(2, 2, 4, 3, ScalarType.Float64);
        var (worst, where) = FiniteDifference.Check(
            x => (Run(mech, x[0], x[1], x[2], mask, new Dictionary<string, Tensor>()).Output * upstream).sum(),
            new[] { randn(2, 2, 4, 3, ScalarType.Float64) + 0.4, randn(2, 2, 4, 3, ScalarType.Float64) + 0.4, randn(2, 2, 4, 3, ScalarType.Float64) });
        Assert.True(worst <= 1, where);
    }

    [Fact]
    public void BlockwiseLpDistanceGradientsMatch()
    {
        manual_seed(5);
        var a = randn(1, 2, 5, 4, ScalarType.Float64);
        var b = randn(1, 2, 6, 4, ScalarType.Float64);
        var p = tensor(new[] { 1.7, 3.1 }, ScalarType.Float64).view(1, 2, 1, 1);
        var w = randn(1, 2, 5, 6, ScalarType.Float64);
        var (worst, where) = FiniteDifference.Check(x => (BlockwiseLpDistance.Compute(x[0], x[1], x[2], 4) * w).sum(), new[] { a, b, p });
        Assert.True(worst <= 1, where);
    }
}
