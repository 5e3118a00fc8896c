using BertLab.Attention;
using BertLab.Attention.Reference;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>The CPU linear cosine kernel (hand-written normalisation forward and backward, one autograd function)
/// against the plain composition F.normalize → N(K)ᵀV → ÷ divisor → N(Q)·(…), in outputs and in the gradients of
/// Q, K, V and the divisor, for both row layouts the model produces.</summary>
public class LinearCosineCpuTests
{
    static Tensor Reference(Tensor q, Tensor k, Tensor v, Tensor? divisor)
    {
        var qn = VectorNormalizationReference.L2(q);
        var kn = VectorNormalizationReference.L2(k);
        var kv = matmul(kn.transpose(-2, -1), v);
        if (divisor is not null) kv = kv / divisor;
        return matmul(qn, kv);
    }

    [Theory]
    [InlineData(false, "per-head", 2, 37, 16)]
    [InlineData(true, "per-head", 2, 37, 16)]
    [InlineData(false, "per-sequence-head", 3, 70, 64)]
    [InlineData(true, "per-sequence", 3, 70, 64)]
    [InlineData(true, "none", 1, 129, 20)]
    public void MatchesThePlainComposition_InOutputAndGradients(bool headSplitView, string divisorKind, int B, int S, int d)
    {
        using var scope = NewDisposeScope();
        manual_seed(S * 7 + d);
        const int H = 3;
        // (B, S, H·d) split into heads as the model does: rows of d contiguous, heads interleaved.
        Tensor Input(int salt) => headSplitView
            ? (randn(B, S, H * d) + 0.1 * salt).view(B, S, H, d).transpose(1, 2)
            : randn(B, H, S, d) + 0.1 * salt;
        var q0 = Input(1); var k0 = Input(2); var v0 = Input(3);
        // A zero row (a padded token): the value stays 0 and the gradient is F.normalize's (dy / 1e-12).
        using (no_grad()) { q0[0, 1, 3].zero_(); k0[B - 1, 0, S - 1].zero_(); }
        Tensor? div0 = divisorKind switch
        {
            "per-head" => rand(1, H, 1, 1) * 5 + 1,
            "per-sequence-head" => rand(B, H, 1, 1) * 5 + 1,
            "per-sequence" => rand(B, 1, 1, 1) * 5 + 1,
            _ => null,
        };
        var upstream = randn(B, H, S, d);
        // Keep the padded query row's upstream gradient at 0 (as masking makes it), so its 1e12 factor compares cleanly.
        using (no_grad()) upstream[0, 1, 3].zero_();

        (Tensor o, Tensor[] g) Run(Func<Tensor, Tensor, Tensor, Tensor?, Tensor> f)
        {
            var q = q0.detach().clone().requires_grad_(); var k = k0.detach().clone().requires_grad_(); var v = v0.detach().clone().requires_grad_();
            if (headSplitView) { q = q0.transpose(1, 2).contiguous().transpose(1, 2).detach().requires_grad_(); k = k0.transpose(1, 2).contiguous().transpose(1, 2).detach().requires_grad_(); v = v0.transpose(1, 2).contiguous().transpose(1, 2).detach().requires_grad_(); }
            var div = div0?.detach().clone().requires_grad_();
            var o = f(q, k, v, div);
            (o * upstream).sum().backward();
            var grads = new List<Tensor> { q.grad!, k.grad!, v.grad! };
            if (div is not null) grads.Add(div.grad!);
            return (o.detach(), grads.ToArray());
        }

        var (ok, gk) = Run(LinearCosineCpu.Apply);
        var (or, gr) = Run(Reference);
        Assert.Equal(or.shape, ok.shape);
        Assert.True(RelativeError(ok, or) <= 1e-5, $"output: relative error {RelativeError(ok, or):E2}");
        string[] names = { "Q", "K", "V", "divisor" };
        // The zero key row's gradient is dy / 1e-12 (F.normalize's, where the norm is clamped): compared on its own, then
        // left out so that its scale does not hide errors in the other rows.
        Tensor zeroRowK(Tensor g) => g[B - 1, 0, S - 1];
        Assert.True(RelativeError(zeroRowK(gk[1]), zeroRowK(gr[1])) <= 1e-5, "gradient of the zero key row");
        Assert.True(zeroRowK(gr[1]).abs().max().item<float>() > 1e6);
        using (no_grad()) { zeroRowK(gk[1]).zero_(); zeroRowK(gr[1]).zero_(); }
        for (int i = 0; i < gr.Length; i++)
        {
            Assert.Equal(gr[i].shape, gk[i].shape);
            Assert.True(RelativeError(gk[i], gr[i]) <= 1e-5, $"gradient w.r.t. {names[i]}: relative error {RelativeError(gk[i], gr[i]):E2}");
        }
    }

    [Fact]
    public void NormalizeRows_MatchesFNormalize_InBothLayouts()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var x = randn(2, 7, 3, 24).transpose(1, 2);       // (B, H, S, d) view of (B, S, H, d)
        var (y, r) = LinearCosineCpu.Normalize(x);
        Assert.Equal(x.stride(), y.stride());
        Assert.True(RelativeError(y, VectorNormalizationReference.L2(x)) <= 1e-6);
        Assert.True(RelativeError(r, linalg.vector_norm(x, 2, new long[] { -1 }).reciprocal()) <= 1e-6);
    }
}
