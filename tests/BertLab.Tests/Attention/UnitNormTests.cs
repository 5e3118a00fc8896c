using BertLab.Attention;
using BertLab.Attention.Reference;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>The L2 normalisation (product with the reciprocal norm, contiguous layout) against F.normalize: values and gradients, on head-split views and plain tensors.</summary>
public class UnitNormTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void L2_EqualsFNormalize_InValueAndGradient(bool headSplitView)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var raw = randn(new long[] { 2, 7, 3 * 8 }, ScalarType.Float64, generator: g);
        raw[0, 2] = zeros(24, ScalarType.Float64);                                     // a zero row: stays zero
        var upstream = randn(new long[] { 2, 3, 7, 8 }, ScalarType.Float64, generator: g);
        Tensor Input(Tensor leaf) => headSplitView ? leaf.view(2, 7, 3, 8).transpose(1, 2) : leaf.view(2, 7, 3, 8).transpose(1, 2).contiguous();

        var a = raw.clone().requires_grad_();
        var ya = VectorNormalization.L2(Input(a));
        (ya * upstream).sum().backward();
        var b = raw.clone().requires_grad_();
        var yb = VectorNormalizationReference.L2(Input(b));
        (yb * upstream).sum().backward();

        Assert.True(ya.allclose(yb, rtol: 1e-12, atol: 1e-14), "values");
        Assert.True(a.grad!.allclose(b.grad!, rtol: 1e-9, atol: 1e-12), $"gradients: max diff {(a.grad! - b.grad!).abs().max().item<double>()}");
        Assert.Equal(0.0, ya[0, .., 2].abs().sum().item<double>());
        // Not a copy of the input: the norms really are 1.
        Assert.True(linalg.vector_norm(ya[1], 2, new long[] { -1 }).allclose(ones(3, 7, dtype: ScalarType.Float64), rtol: 1e-12));
    }
}

