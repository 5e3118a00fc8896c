using BertLab.Attention;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>ATTENTION.md §3: when the right product runs, what the probabilities are, and which configurations cannot
/// have it (the agreement of every kernel with the reference is <see cref="KernelReferenceTests"/>).</summary>
public class LinearKernelTests
{
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
