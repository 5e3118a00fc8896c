using BertLab.Attention;
using BertLab.Attention.Reference;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>The similarities of ATTENTION.md §1 against hand-computed values and against each other.</summary>
public class SimilarityTests
{
    static Tensor Rows(params double[][] rows) =>
        tensor(rows.SelectMany(r => r).ToArray(), ScalarType.Float64).view(1, 1, rows.Length, rows[0].Length);

    static double[,] Scores(string sim, Tensor q, Tensor k, Dictionary<string, Tensor>? ps = null)
    {
        var c = AttentionConfig.FromPreset("softmax"); c.Similarity = sim; c.KeyBlock = 1;
        var s = Similarity.Create(c).Scores(q, k, n => ps![n]);
        var r = new double[s.shape[2], s.shape[3]];
        for (int i = 0; i < r.GetLength(0); i++) for (int j = 0; j < r.GetLength(1); j++) r[i, j] = s[0, 0, i, j].item<double>();
        return r;
    }

    [Fact]
    public void AngularMatchesHandComputedValues()
    {
        var s = Scores("angular", Rows(new[] { 1.0, 0 }, new[] { 2.0, 0 }), Rows(new[] { 0.0, 1 }, new[] { 1.0, 1 }, new[] { -3.0, 0 }, new[] { 5.0, 0 }));
        Assert.Equal(0.5, s[0, 0], 12);                 // 90°
        Assert.Equal(0.75, s[0, 1], 12);                // 45°
        Assert.Equal(0.0, s[0, 2], 12);                 // 180°
        Assert.Equal(1.0, s[1, 3], 12);                 // 0°, scale-invariant
    }

    [Fact]
    public void ManhattanMatchesHandComputedValues()
    {
        var s = Scores("manhattan", Rows(new[] { 1.0, 0 }, new[] { 3.0, 1 }), Rows(new[] { 1.0, 1 }, new[] { -1.0, 1 }));
        Assert.Equal(0.5, s[0, 0], 12);                 // (1,0) vs (.5,.5): ‖·‖₁ = 1
        Assert.Equal(0.0, s[0, 1], 12);                 // (1,0) vs (−.5,.5): 1.5 + .5 = 2 → 0
        Assert.Equal(0.0, Scores("manhattan", Rows(new[] { 1.0, 0 }), Rows(new[] { -1.0, 0 }))[0, 0], 12);   // opposite: distance 2
        Assert.Equal(0.25, s[1, 1], 12);                // (.75,.25) vs (−.5,.5): 1.25 + .25 = 1.5
    }

    [Fact]
    public void EuclideanMatchesHandComputedValues()
    {
        var s = Scores("euclidean", Rows(new[] { 1.0, 0 }), Rows(new[] { 0.0, 3 }, new[] { -2.0, 0 }, new[] { 4.0, 0 }));
        Assert.Equal(1 - Math.Sqrt(2) / 2, s[0, 0], 12);
        Assert.Equal(0.0, s[0, 1], 12);
        Assert.Equal(1.0, s[0, 2], 12);
    }

    [Fact]
    public void LpWithPTwoEqualsEuclidean()
    {
        manual_seed(11);
        var q = randn(2, 3, 7, 5, ScalarType.Float64); var k = randn(2, 3, 9, 5, ScalarType.Float64);
        var ps = new Dictionary<string, Tensor> { [LpSimilarity.ParameterName] = full(3, LpSimilarity.LogitFor(2.0), ScalarType.Float64) };
        var c = AttentionConfig.FromPreset("lp"); c.KeyBlock = 4;
        var lp = Similarity.Create(c).Scores(q, k, n => ps[n]);
        var eu = new EuclideanSimilarity().Scores(q, k, n => throw new KeyNotFoundException(n));
        Assert.True(allclose(lp, eu, rtol: 0, atol: 1e-9), $"max difference {(lp - eu).abs().max().item<double>()}");
    }

    [Fact]
    public void LargePApproachesChebyshev()
    {
        manual_seed(12);
        var a = randn(1, 2, 6, 8, ScalarType.Float64); var b = randn(1, 2, 5, 8, ScalarType.Float64);
        var p = full(1, 2, 1, 1, 50.0, ScalarType.Float64);
        var d = BlockwiseLpDistance.Compute(a, b, p, 2);
        var chebyshev = (a.unsqueeze(-2) - b.unsqueeze(-3)).abs().amax(new long[] { -1 });
        // ‖x‖∞ ≤ ‖x‖₅₀ ≤ 8^{1/50}‖x‖∞ ≈ 1.0425‖x‖∞
        Assert.True((d >= chebyshev - 1e-12).all().item<bool>());
        Assert.True((d <= chebyshev * Math.Pow(8, 1.0 / 50) + 1e-12).all().item<bool>());
        var p500 = BlockwiseLpDistance.Compute(a, b, full(1, 2, 1, 1, 500.0, ScalarType.Float64), 2);
        Assert.True(allclose(p500, chebyshev, rtol: 5e-3, atol: 0));
    }

    [Fact]
    public void LargePStaysFiniteInFloat32()
    {
        // |x|^p overflows float32 beyond p ≈ 128 unless the kernel scales by the row maximum first.
        manual_seed(14);
        var q = randn(1, 2, 6, 8) * 5; var k = randn(1, 2, 6, 8) * 5;
        var ps = new Dictionary<string, Tensor> { [LpSimilarity.ParameterName] = full(2, (float)LpSimilarity.LogitFor(300)) };
        var c = AttentionConfig.FromPreset("lp"); c.KeyBlock = 4;
        var s = Similarity.Create(c).Scores(q, k, n => ps[n]);
        Assert.True(s.isfinite().all().item<bool>());
        Assert.True(s.ge(-1e-6).all().item<bool>() && s.le(1 + 1e-6).all().item<bool>());
    }

    [Fact]
    public void BlockwiseDistanceEqualsUnblockedReference()
    {
        manual_seed(13);
        long saved = BlockwiseLpDistance.TileElements;
        try
        {
            BlockwiseLpDistance.TileElements = 50;     // forces query blocks too
            var a = randn(2, 3, 11, 4, ScalarType.Float64).requires_grad_(); var b = randn(2, 3, 13, 4, ScalarType.Float64).requires_grad_();
            var p = tensor(new[] { 1.0, 2.5, 7.0 }, ScalarType.Float64).view(1, 3, 1, 1).requires_grad_();
            var w = randn(2, 3, 11, 13, ScalarType.Float64);
            var blocked = BlockwiseLpDistance.Compute(a, b, p, 5);
            (blocked * w).sum().backward();
            var g1 = new[] { a.grad!.clone(), b.grad!.clone(), p.grad!.clone() };
            a.grad!.zero_(); b.grad!.zero_(); p.grad!.zero_();
            var reference = LpDistanceReference.Distance(a, b, p);
            (reference * w).sum().backward();
            Assert.True(allclose(blocked, reference, rtol: 1e-12, atol: 1e-12));
            var g2 = new[] { a.grad!, b.grad!, p.grad! };
            for (int i = 0; i < 3; i++) Assert.True(allclose(g1[i], g2[i], rtol: 1e-9, atol: 1e-10), $"gradient {i}");
        }
        finally { BlockwiseLpDistance.TileElements = saved; }
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(3.5)]
    [InlineData(1.0)]
    [InlineData(50.0)]
    public void LpParameterStartsAtPInit(double pInit)
    {
        var c = AttentionConfig.FromPreset("lp"); c.PInit = pInit;
        var ps = new AttentionMechanism(c).CreateParameters(4);
        Assert.Equal(new long[] { 4 }, ps[LpSimilarity.ParameterName].shape);
        var p = LpSimilarity.P(ps[LpSimilarity.ParameterName].to_type(ScalarType.Float64));
        Assert.True(allclose(p, full_like(p, pInit), rtol: 1e-6, atol: 0), $"p = {p[0, 0, 0, 0].item<double>()}");
        Assert.Equal(pInit, LpSimilarity.P(tensor(new[] { LpSimilarity.LogitFor(pInit) })).item<double>(), 10);
    }

    [Fact]
    public void CottentionScaleStartsAtHalfPerHead()
    {
        var ps = new AttentionMechanism(AttentionConfig.FromPreset("cottention")).CreateParameters(12);
        var m = ps[LearnedExponentScaling.ParameterName];
        Assert.Equal(new long[] { 12 }, m.shape);
        Assert.True(m.eq(0.5f).all().item<bool>());
        Assert.Empty(new AttentionMechanism(AttentionConfig.FromPreset("cosine-relu")).CreateParameters(12));
    }

    [Fact]
    public void CottentionDividesByNPowSigmaClampedAtOne()
    {
        // one real key with score 1: O = v / max(n^σ(m), 1) with n = 3 real tokens
        var mech = new AttentionMechanism(AttentionConfig.FromPreset("cottention"));
        var q = tensor(new float[] { 1, 0, 1, 0, 1, 0, 1, 0 }).view(1, 1, 4, 2);
        var k = tensor(new float[] { 1, 0, 0, 1, 0, -1, 9, 9 }).view(1, 1, 4, 2);
        var v = tensor(new float[] { 6, 0, 0, 0, 0, 0, 7, 7 }).view(1, 1, 4, 2);
        double m = 0.3;
        var ps = new Dictionary<string, Tensor> { ["scale_logit"] = tensor(new[] { (float)m }) };
        var o = AttentionTestKit.Run(mech, q, k, v, AttentionTestKit.LengthMask(4, 3), ps).Output;
        double expected = 6 / Math.Max(Math.Pow(3, 1 / (1 + Math.Exp(-m))), 1);
        Assert.Equal(expected, o[0, 0, 0, 0].item<float>(), 5);
        ps["scale_logit"] = tensor(new[] { -40f });                   // σ → 0: divisor n^0 = 1
        Assert.Equal(6.0, AttentionTestKit.Run(mech, q, k, v, AttentionTestKit.LengthMask(4, 3), ps).Output[0, 0, 0, 0].item<float>(), 5);
    }
}
