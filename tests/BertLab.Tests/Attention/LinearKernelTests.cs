using BertLab.Attention;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>ATTENTION.md §3: the linear right-product and the quadratic reference agree in output and gradients.</summary>
public class LinearKernelTests
{
    public static IEnumerable<object[]> LinearizableVariants() =>
        from sim in LinearizableSimilarities
        from sc in AttentionConfig.Scalings
        from norm in new[] { "", "v", "qkv" }
        from s in new[] { 8, 16, 40 }                 // d = 16: S < d, S = d, S > d
        select new object[] { sim, sc, norm, s };

    [Theory]
    [MemberData(nameof(LinearizableVariants))]
    public void LinearAndQuadraticAgreeInOutputAndGradients(string sim, string scaling, string normalize, int seqLen)
    {
        using var scope = NewDisposeScope();
        manual_seed(seqLen * 31 + scaling.Length);
        const int B = 3, H = 2, d = 16;
        var linear = new AttentionMechanism(Config(sim, "none", scaling, normalize, "linear"));
        var quadratic = new AttentionMechanism(Config(sim, "none", scaling, normalize, "quadratic"));
        var mask = LengthMask(seqLen, seqLen, seqLen - 3, 2);
        // Positive offsets keep rowsum's denominators away from 0, where any two summation orders differ a lot.
        var q0 = randn(B, H, seqLen, d) * 0.5 + 0.5; var k0 = randn(B, H, seqLen, d) * 0.5 + 0.5; var v0 = randn(B, H, seqLen, d);
        var p0 = Parameters(linear, H, ScalarType.Float32);
        var upstream = randn(B, H, seqLen, d);

        (Tensor output, Tensor[] grads) Run(AttentionMechanism mech)
        {
            var q = q0.clone().requires_grad_(); var k = k0.clone().requires_grad_(); var v = v0.clone().requires_grad_();
            var ps = p0.ToDictionary(kv => kv.Key, kv => kv.Value.clone().requires_grad_());
            var o = AttentionTestKit.Run(mech, q, k, v, mask, ps).Output;
            (o * upstream).sum().backward();
            return (o.detach(), new[] { q.grad!, k.grad!, v.grad! }.Concat(ps.Values.Select(p => p.grad!)).ToArray());
        }

        var (ol, gl) = Run(linear);
        var (oq, gq) = Run(quadratic);
        Assert.True(RelativeError(ol, oq) <= 1e-5, $"output: relative error {RelativeError(ol, oq):E2}");
        string[] names = new[] { "Q", "K", "V" }.Concat(p0.Keys).ToArray();
        for (int i = 0; i < gq.Length; i++)
            Assert.True(RelativeError(gl[i], gq[i]) <= 1e-5, $"gradient w.r.t. {names[i]}: relative error {RelativeError(gl[i], gq[i]):E2}");
    }

    [Theory]
    [InlineData(8, "quadratic")]
    [InlineData(16, "quadratic")]
    [InlineData(17, "linear-cosine-cpu")]
    public void AutoPicksLinearWhenLongerThanHeadSize(int seqLen, string expected)
    {
        var mech = new AttentionMechanism(AttentionConfig.FromPreset("cottention"));
        Assert.Equal(expected, mech.KernelFor(Call(seqLen, 16)).Name);
        Assert.Equal("quadratic", mech.KernelFor(Call(seqLen, 16, needProbs: true)).Name);
        Assert.Equal("fused", new AttentionMechanism(AttentionConfig.FromPreset("cosine-softmax")).KernelFor(Call(seqLen, 16)).Name);
        Assert.Equal("quadratic", new AttentionMechanism(AttentionConfig.FromPreset("cosine-relu")).KernelFor(Call(seqLen * 100, 16)).Name);
    }

    [Fact]
    public void FusedSoftmaxMatchesExplicit()
    {
        manual_seed(7);
        var q = randn(2, 3, 20, 8); var k = randn(2, 3, 20, 8); var v = randn(2, 3, 20, 8);
        var mask = LengthMask(20, 20, 11);
        foreach (var sim in new[] { "dot", "cosine" })
        {
            var fused = Run(new AttentionMechanism(Config(sim, "softmax", "none", "", "fused")), q, k, v, mask, new Dictionary<string, Tensor>()).Output;
            var expl = Run(new AttentionMechanism(Config(sim, "softmax", "none", "", "quadratic")), q, k, v, mask, new Dictionary<string, Tensor>()).Output;
            Assert.True(RelativeError(fused, expl) <= 1e-5, $"{sim}: {RelativeError(fused, expl):E2}");
        }
    }

    [Theory]
    [InlineData("cottention")]
    [InlineData("lp")]
    [InlineData("cosine-sigmoid")]
    public void ProbabilitiesAreTheEffectiveMatrix(string preset)
    {
        // NeedProbs forces the quadratic kernel and returns P with O = P · V (real rows; V unnormalised here).
        manual_seed(8);
        var mech = new AttentionMechanism(AttentionConfig.FromPreset(preset));
        var ps = Parameters(mech, 2, ScalarType.Float32);
        var q = randn(2, 2, 40, 8); var k = randn(2, 2, 40, 8); var v = randn(2, 2, 40, 8);
        var mask = LengthMask(40, 40, 25);
        var withProbs = Run(mech, q, k, v, mask, ps, needProbs: true);
        var plain = Run(mech, q, k, v, mask, ps);
        Assert.NotNull(withProbs.Probs);
        Assert.Equal(new long[] { 2, 2, 40, 40 }, withProbs.Probs!.shape);
        Assert.True(RelativeError(matmul(withProbs.Probs, v * mask.view(2, 1, 40, 1)), plain.Output) <= 1e-5);
        Assert.True(RelativeError(withProbs.Output, plain.Output) <= 1e-5);
    }

    [Fact]
    public void LinearKernelRejectsNonLinearizableConfigurations()
    {
        var c = AttentionConfig.FromPreset("cosine-relu");
        c.Implementation = AttentionImplementation.Linear;
        Assert.Throws<BertLabException>(() => c.Validate("attention"));
    }
}
