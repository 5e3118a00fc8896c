using BertLab.Runtime;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Runtime;

/// <summary>FastDropout against the definition of dropout (and libtorch's): the drop rate, the 1/(1 − p) scale, the
/// gradient, evaluation mode, reproducibility from torch.manual_seed, independence from the thread count.</summary>
public class FastDropoutTests
{
    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void DropsAFractionP_AndScalesTheRest(double p)
    {
        using var scope = NewDisposeScope();
        const long n = 2_000_000;
        var x = rand(n) + 0.5;
        var y = FastDropout.Apply(x, p, training: true);
        var dropped = y.eq(0).to_type(ScalarType.Float64).mean().item<double>();
        // Binomial standard error √(p(1−p)/n) ≤ 3.6e-4: a band of ±6 SE.
        Assert.InRange(dropped, p - 6 * Math.Sqrt(p * (1 - p) / n), p + 6 * Math.Sqrt(p * (1 - p) / n));
        var kept = y.ne(0);
        Assert.True(y.masked_select(kept).allclose(x.masked_select(kept) / (1 - p), rtol: 1e-6, atol: 0));
        // libtorch's dropout has the same law: its drop rate is within the same band.
        var reference = nn.functional.dropout(x, p, training: true).eq(0).to_type(ScalarType.Float64).mean().item<double>();
        Assert.InRange(Math.Abs(dropped - reference), 0, 12 * Math.Sqrt(p * (1 - p) / n));
    }

    [Fact]
    public void NeighbouringElementsAreIndependent()
    {
        // Element pairs (2i, 2i+1) come from one 64-bit draw, and chunks of 65,536 from one thread: the four pair outcomes
        // and the agreement of elements 1 and 65,536 apart must match independent Bernoulli(0.5) draws.
        using var scope = NewDisposeScope();
        var m = FastDropout.Mask(new long[] { 1 << 21 }, 0.5, 12345).ne(0).to_type(ScalarType.Float64);
        foreach (int lag in new[] { 1, 2, 65_536 })
        {
            long len = m.shape[0] - lag;
            var a = m.narrow(0, 0, len); var b = m.narrow(0, lag, len);
            double bothKept = (a * b).mean().item<double>();
            Assert.InRange(bothKept, 0.25 - 6 * Math.Sqrt(0.1875 / len), 0.25 + 6 * Math.Sqrt(0.1875 / len));
        }
    }

    [Theory]
    [InlineData(0.1, 12345UL)]
    [InlineData(0.5, 0xFFFF_FFFF_FFFF_FFF0UL)]
    public void VectorPath_DrawsTheScalarMask_AndAppliesItAsAProduct(double p, ulong seed)
    {
        // The 512-bit loop must give the scalar definition's mask bit for bit (checkpoints replay it on any CPU), tails
        // and chunk boundaries included, and x·mask without storing the mask.
        using var scope = NewDisposeScope();
        var shape = new long[] { 3, 65_536 + 37 };
        var x = randn(shape);
        bool vectorized = FastDropout.Vectorized;
        try
        {
            FastDropout.Vectorized = false;
            var scalarMask = FastDropout.Mask(shape, p, seed);
            var scalarApplied = FastDropout.Masked(x, p, seed);
            FastDropout.Vectorized = vectorized;
            Assert.True(Same(FastDropout.Mask(shape, p, seed), scalarMask));
            Assert.True(Same(FastDropout.Masked(x, p, seed), scalarApplied));
            Assert.True(Same(scalarApplied, x * scalarMask));
            // A transposed (non-contiguous) input is masked in its logical order, as x·mask is.
            var t = x.t();
            Assert.True(Same(FastDropout.Masked(t, p, seed), t * FastDropout.Mask(t.shape, p, seed)));
        }
        finally { FastDropout.Vectorized = vectorized; }
    }

    [Fact]
    public void Gradient_IsTheMaskTimesTheScale()
    {
        using var scope = NewDisposeScope();
        var x = randn(64, 33, requires_grad: true);
        var y = FastDropout.Apply(x, 0.3, training: true);
        var upstream = randn(64, 33);
        y.backward(new[] { upstream });
        var mask = y.detach().ne(0).to_type(ScalarType.Float32) / 0.7;
        Assert.True(x.grad!.allclose(upstream * mask, rtol: 1e-6, atol: 1e-7));
    }

    [Fact]
    public void Evaluation_AndZeroP_AreTheIdentity()
    {
        using var scope = NewDisposeScope();
        var x = randn(10, 10);
        Assert.True(Same(FastDropout.Apply(x, 0.5, training: false), x));
        Assert.True(Same(FastDropout.Apply(x, 0.0, training: true), x));
        var module = new FastDropout(0.5);
        module.eval();
        Assert.True(Same(module.forward(x), x));
        module.train();
        Assert.False(Same(module.forward(x), x));
    }

    [Fact]
    public void Reproducible_FromTheTorchSeed_AndIndependentOfTheThreadCount()
    {
        using var scope = NewDisposeScope();
        var x = ones(3, 200_000);
        int threads = get_num_threads();
        try
        {
            manual_seed(7);
            var first = FastDropout.Apply(x, 0.2, true);
            var second = FastDropout.Apply(x, 0.2, true);
            Assert.False(Same(first, second), "two calls draw two masks");
            set_num_threads(1);
            manual_seed(7);
            Assert.True(Same(FastDropout.Apply(x, 0.2, true), first));
            Assert.True(Same(FastDropout.Apply(x, 0.2, true), second));
        }
        finally { set_num_threads(threads); }
    }

    [Fact]
    public void OtherDtypes_FallBackToLibtorch()
    {
        using var scope = NewDisposeScope();
        var x = ones(1000, dtype: ScalarType.Float64);
        var y = FastDropout.Apply(x, 0.5, true);
        Assert.Equal(ScalarType.Float64, y.dtype);
        Assert.True(y.eq(0).any().item<bool>() && y.eq(2).any().item<bool>());
        Assert.Throws<ArgumentOutOfRangeException>(() => new FastDropout(1.0));
    }
}
