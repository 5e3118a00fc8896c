using BertLab.Attention.Lowering;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>Row-wise vector normalisations of ATTENTION.md: N(x) = x / max(‖x‖, 1e-12). Zero rows stay zero.</summary>
public static class VectorNormalization
{
    public const double Epsilon = 1e-12;

    /// <summary>
    /// N(x) over the last dimension: x · (1 / max(‖x‖, 1e-12)) — F.normalize's value, written as a product with the
    /// reciprocal norm, whose backward is one broadcast product per factor instead of a division's four kernels. Head-split
    /// views (B, H, S, d) of a (B, S, H·d) projection are normalised in their contiguous (B, S, H, d) layout: broadcast
    /// kernels on the strided view were most of cottention's extra backward time on an H100 (Nsight Compute, bench/RESULTS.md).
    /// (A hand-written autograd function was faster still, but its backward runs on libtorch's CUDA thread, outside any
    /// dispose scope, and device memory grew by gigabytes per step until the GC ran.) Reference: <see cref="Reference.VectorNormalizationReference"/>.
    /// </summary>
    public static Tensor L2(Tensor x)
    {
        if (x.dim() == 4 && !x.is_contiguous())
        {
            var t = x.transpose(1, 2);
            if (t.is_contiguous()) return UnitRows(t).transpose(1, 2);
        }
        return UnitRows(x);
    }

    static Tensor UnitRows(Tensor x) => x * linalg.vector_norm(x, 2, new long[] { -1 }, keepdim: true).clamp_min(Epsilon).reciprocal();

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

    /// <summary>ONNX lowering of <see cref="L2"/>: x · 1/max(‖x‖₂, 1e-12) over the last axis (Python: <c>l2</c> of bertlab_attention.py).</summary>
    public static string LowerL2(IAttentionGraph g, string x) =>
        g.Mul(x, g.Reciprocal(g.Max(g.ReduceL2(x, -1, keepDims: true), g.Constant((float)Epsilon))));

    /// <summary>ONNX lowering of <see cref="L1"/>: x / max(‖x‖₁, 1e-12).</summary>
    public static string LowerL1(IAttentionGraph g, string x) =>
        g.Div(x, g.Max(g.ReduceL1(x, -1, keepDims: true), g.Constant((float)Epsilon)));

    /// <summary>ONNX lowering of <see cref="Lp"/> with a per-head p (1, H, 1, 1), in the same overflow-free form.</summary>
    public static string LowerLp(IAttentionGraph g, string x, string p)
    {
        string abs = g.Abs(x);
        string max = g.ReduceMax(abs, -1, keepDims: true);
        string positive = g.Greater(max, g.Constant(0f));
        string safeMax = g.Where(positive, max, g.Constant(1f));
        string sum = g.ReduceSum(g.Pow(g.Div(abs, safeMax), p), -1, keepDims: true);
        string safeSum = g.Where(positive, sum, g.Constant(1f));
        string norm = g.Where(positive, g.Mul(safeMax, g.Pow(safeSum, g.Reciprocal(p))), g.Constant(0f));
        return g.Div(x, g.Max(norm, g.Constant((float)Epsilon)));
    }
}
