using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>Row-wise vector normalisations of ATTENTION.md: N(x) = x / max(‖x‖, 1e-12). Zero rows stay zero.</summary>
public static class VectorNormalization
{
    public const double Epsilon = 1e-12;

    /// <summary>
    /// N(x) over the last dimension: x / max(‖x‖, 1e-12), F.normalize's value, with a hand-written backward
    /// ∂L/∂x = (g − y·⟨g, y⟩) / max(‖x‖, ε). Autograd's composition of norm, clamp, expand and divide launches about twice
    /// the kernels over the (B, H, S, d) tensor and most of them on broadcast, strided operands; on an H100 they made
    /// cottention's backward ~1.5 ms per layer slower than softmax's (Nsight Compute, bench/RESULTS.md). Head-split views
    /// (B, H, S, d) of a (B, S, H·d) projection are normalised in their contiguous (B, S, H, d) layout.
    /// </summary>
    public static Tensor L2(Tensor x)
    {
        if (x.dim() == 4 && !x.is_contiguous())
        {
            var t = x.transpose(1, 2);
            if (t.is_contiguous()) return UnitNormFunction.apply(t).transpose(1, 2);
        }
        return UnitNormFunction.apply(x);
    }

    /// <summary>The reference composition (F.normalize), kept for tests.</summary>
    public static Tensor L2Reference(Tensor x) => nn.functional.normalize(x, p: 2.0, dim: -1, eps: Epsilon);

    sealed class UnitNormFunction : autograd.SingleTensorFunction<UnitNormFunction>
    {
        public override string Name => "UnitNorm";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var x = (Tensor)vars[0];
            var r = linalg.vector_norm(x, 2, new long[] { -1 }, keepdim: true).clamp_min(Epsilon).reciprocal();
            var y = x * r;
            ctx.save_for_backward(new List<Tensor> { y, r });
            return y;
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var saved = ctx.get_saved_variables();
            Tensor y = saved[0], r = saved[1];
            using var _ = no_grad();
            var dot = (grad * y).sum(-1, keepdim: true);
            return new List<Tensor> { grad.addcmul(y, dot, -1).mul_(r) };
        }
    }

    /// <summary>N₁(x): L1-normalised rows.</summary>
    public static Tensor L1(Tensor x) => nn.functional.normalize(x, p: 1.0, dim: -1, eps: Epsilon);

    /// <summary>
    /// Nₚ(x) with a tensor p that broadcasts against x with the last dimension reduced (e.g. (1, H, 1, 1)),
    /// differentiable in x and p. Zero rows stay zero with zero (not NaN) gradients.
    /// </summary>
    public static Tensor Lp(Tensor x, Tensor p)
    {
        // ‖x‖ₚ = m·(Σ (|x|/m)^p)^{1/p} with m = max|x|: no overflow or underflow for large p.
        var abs = x.abs();
        var max = abs.amax(new long[] { -1 }, keepdim: true);
        var positive = max.gt(0);
        var safeMax = where(positive, max, ones_like(max));
        var sum = (abs / safeMax).pow(p).sum(-1, keepdim: true);
        var safeSum = where(positive, sum, ones_like(sum));
        var norm = where(positive, safeMax * safeSum.pow(p.reciprocal()), zeros_like(sum));
        return x / norm.clamp_min(Epsilon);
    }
}
