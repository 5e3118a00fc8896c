using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Attention;

/// <summary>
/// BERT's softmax attention in training on the CPU, softmax(QKᵀ/√d + mask)·V with dropout on the probabilities, as one
/// autograd function: libtorch's batched products on head-major copies of Q, K, V, and between them one pass per row
/// that scales, masks, normalises and drops (forward), and one that drops and differentiates the softmax (backward).
/// The explicit composition (<see cref="Reference.SoftmaxReference"/>) runs ~15 libtorch operations, each a pass over the
/// (B, H, S, S) matrix with its own autograd node and thread hand-off: 8.6–9.4 ms fwd+bwd per BERT-base layer (batch
/// 8 × 128) on the project's 2-core VM, where its six batched products take 3.6–3.9 ms; this function 6.9–9.1 ms in
/// the same runs (the head-major copies of Q, K, V and the products are most of what remains).
/// <para>The same arithmetic as the explicit path: the scores are divided by √d, padded keys get float.MinValue added
/// (Hugging Face's additive mask), and the dropout mask is <see cref="FastDropout"/>'s, drawn from one seed taken from
/// libtorch's generator at the same point of the call, so under one <c>manual_seed</c> both paths drop the same
/// elements. Only the probabilities P (and the seed) are kept for backward; the dropped P' is regenerated from them.</para>
/// </summary>
public static unsafe class SoftmaxAttentionCpu
{
    /// <summary>fp32 CPU (B, H, S, d) inputs (the kernel table chooses this kernel only for such calls).</summary>
    public static bool Supports(Tensor q, Tensor k, Tensor v) =>
        IsCpuFloat4(q) && IsCpuFloat4(k) && IsCpuFloat4(v) && k.shape[2] == v.shape[2] && k.shape[3] == q.shape[3];

    static bool IsCpuFloat4(Tensor t) => t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.dim() == 4;

    /// <param name="keyMask">(B, S) bool, true for a real token; null for none.</param>
    /// <param name="dropout">Probability of dropping an attention probability (0 for none).</param>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, Tensor? keyMask, double dropout)
    {
        if (!Supports(q, k, v)) throw new ArgumentException("SoftmaxAttentionCpu: needs fp32 CPU (B, H, S, d) inputs");
        if (dropout < 0 || dropout >= 1) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1)");
        Tensor additive;
        using (no_grad())
            additive = keyMask is null ? empty(0) : where(keyMask.to(DeviceType.CPU), 0f, float.MinValue).to_type(ScalarType.Float32).contiguous();
        return Function.apply(q, k, v, additive, dropout);
    }

    sealed class Function : autograd.SingleTensorFunction<Function>
    {
        public override string Name => "SoftmaxAttentionCpu";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var q = (Tensor)vars[0]; var k = (Tensor)vars[1]; var v = (Tensor)vars[2]; var additive = (Tensor)vars[3]; double p = (double)vars[4];
            using var _ = no_grad();
            long B = q.shape[0], H = q.shape[1], S = q.shape[2], T = k.shape[2], d = q.shape[3];
            var qc = q.contiguous().view(B * H, S, d);
            var kc = k.contiguous().view(B * H, T, d);
            var vc = v.contiguous().view(B * H, T, v.shape[3]);
            var probs = bmm(qc, kc.transpose(1, 2));                       // scores, then P in place
            ulong seed = p > 0 ? FastDropout.NextSeed() : 0;
            var rows = new RowShape(B, H, S, T, Math.Sqrt(d), additive, p, seed);
            using var dropped = p > 0 ? empty_like(probs) : null;
            ForRows(rows, (start, end) => SoftmaxRows(rows, TensorMemory.Float32(probs), dropped is null ? null : TensorMemory.Float32(dropped), start, end));
            var output = bmm(dropped ?? probs, vc);
            ctx.save_for_backward(new List<Tensor> { qc, kc, vc, probs, additive });
            ctx.save_data("p", p);
            ctx.save_data("seed", seed);
            return output.view(B, H, S, v.shape[3]);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad)
        {
            var s = ctx.get_saved_variables();
            Tensor qc = s[0], kc = s[1], vc = s[2], probs = s[3], additive = s[4];
            double p = (double)ctx.get_data("p");
            ulong seed = (ulong)ctx.get_data("seed");
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            long B = grad.shape[0], H = grad.shape[1], S = grad.shape[2], dv = grad.shape[3], T = kc.shape[1], d = qc.shape[2];
            var g = grad.contiguous().view(B * H, S, dv);
            var rows = new RowShape(B, H, S, T, Math.Sqrt(d), additive, p, seed);
            Tensor dV;
            if (p > 0)
            {
                using var dropped = empty_like(probs);
                ForRows(rows, (start, end) => DropRows(rows, TensorMemory.Float32(probs), TensorMemory.Float32(dropped), start, end));
                dV = bmm(dropped.transpose(1, 2), g);
            }
            else dV = bmm(probs.transpose(1, 2), g);
            var dS = bmm(g, vc.transpose(1, 2));                           // ∂/∂P', then in place ∂/∂scores
            ForRows(rows, (start, end) => SoftmaxBackwardRows(rows, TensorMemory.Float32(probs), TensorMemory.Float32(dS), start, end));
            var dQ = bmm(dS, kc).view(B, H, S, d);
            var dK = bmm(dS.transpose(1, 2), qc).view(B, H, T, d);
            var dVv = dV.view(B, H, T, dv);
            var result = new List<Tensor> { dQ, dK, dVv, null!, null! };
            scope.MoveToOuter(dQ, dK, dVv);
            return result;
        }
    }

    /// <summary>The (B·H·S) × T row layout of the score matrix and what every row pass needs.</summary>
    readonly struct RowShape
    {
        public readonly long Rows, RowsPerSequence, T;
        public readonly float Divisor, Inverse;
        /// <summary>√d is a power of two (d = 64: 8), so x·(1/√d) is x/√d exactly and the division can be a product.</summary>
        public readonly bool ExactInverse;
        public readonly float* Additive;   // (B, T) or null
        public readonly ulong Seed;
        public readonly uint Threshold;
        public readonly float Keep;
        public readonly bool Drop;

        public RowShape(long b, long h, long s, long t, double divisor, Tensor additive, double p, ulong seed)
        {
            Rows = b * h * s; RowsPerSequence = h * s; T = t; Divisor = (float)divisor; Inverse = 1f / Divisor;
            ExactInverse = (BitConverter.SingleToInt32Bits(Divisor) & 0x7FFFFF) == 0;
            Additive = additive.numel() == 0 ? null : TensorMemory.Float32(additive);
            Seed = seed; Drop = p > 0;
            (Threshold, Keep) = FastDropout.Law(p);
        }
    }

    static void ForRows(RowShape r, Action<long, long> body) => CpuParallel.ForSlices(r.Rows, 64, body);

    /// <summary>x ← softmax(x/√d + additive) per row, in place; dropped ← x ⊙ mask when given.</summary>
    static void SoftmaxRows(RowShape r, float* scores, float* dropped, long start, long end)
    {
        long T = r.T;
        for (long row = start; row < end; row++)
        {
            float* x = scores + row * T;
            float* add = r.Additive is null ? null : r.Additive + row / r.RowsPerSequence * T;
            long j = 0;
            float max = float.NegativeInfinity;
            if (Vector512.IsHardwareAccelerated && T >= 16)
            {
                var div = Vector512.Create(r.Divisor);
                var inverse = Vector512.Create(r.Inverse);
                var vmax = Vector512.Create(float.NegativeInfinity);
                for (; j + 16 <= T; j += 16)
                {
                    var t = r.ExactInverse ? Vector512.Load(x + j) * inverse : Vector512.Load(x + j) / div;
                    if (add is not null) t += Vector512.Load(add + j);
                    t.Store(x + j);
                    vmax = Vector512.Max(vmax, t);
                }
                max = HorizontalMax(vmax);
            }
            for (; j < T; j++)
            {
                float t = x[j] / r.Divisor;
                if (add is not null) t += add[j];
                x[j] = t;
                if (t > max) max = t;
            }
            float sum = 0;
            j = 0;
            if (Vector512.IsHardwareAccelerated && T >= 16)
            {
                var vm = Vector512.Create(max);
                var vsum = Vector512<float>.Zero;
                for (; j + 16 <= T; j += 16)
                {
                    var e = Exp(Vector512.Load(x + j) - vm);
                    e.Store(x + j);
                    vsum += e;
                }
                sum = Vector512.Sum(vsum);
            }
            for (; j < T; j++) { float e = MathF.Exp(x[j] - max); x[j] = e; sum += e; }
            float inv = 1f / sum;
            j = 0;
            if (Vector512.IsHardwareAccelerated && T >= 16)
            {
                var vi = Vector512.Create(inv);
                for (; j + 16 <= T; j += 16) (Vector512.Load(x + j) * vi).Store(x + j);
            }
            for (; j < T; j++) x[j] *= inv;
            if (dropped is not null) Drop(r, x, dropped + row * T, row * T);
        }
    }

    /// <summary>dropped ← P ⊙ mask, row by row.</summary>
    static void DropRows(RowShape r, float* probs, float* dropped, long start, long end)
    {
        for (long row = start; row < end; row++) Drop(r, probs + row * r.T, dropped + row * r.T, row * r.T);
    }

    /// <summary>dst[j] = src[j]·mask[first + j] over one row (FastDropout's mask of the whole (B, H, S, T) tensor).</summary>
    static void Drop(RowShape r, float* src, float* dst, long first) =>
        FastDropout.FillRange(dst - first, src - first, first, first + r.T, r.Seed, r.Threshold, r.Keep);

    /// <summary>g ← P ⊙ (g·m − Σ g·m·P) / √d per row, in place (g: ∂/∂P' on entry, ∂/∂scores on exit).</summary>
    static void SoftmaxBackwardRows(RowShape r, float* probs, float* grad, long start, long end)
    {
        long T = r.T;
        for (long row = start; row < end; row++)
        {
            float* g = grad + row * T, pr = probs + row * T;
            if (r.Drop) FastDropout.FillRange(g - row * T, g - row * T, row * T, row * T + T, r.Seed, r.Threshold, r.Keep);
            float dot = RowMath.Dot(g, pr, T);
            long j = 0;
            if (Vector512.IsHardwareAccelerated && T >= 16)
            {
                var vd = Vector512.Create(dot);
                var div = Vector512.Create(r.Divisor);
                var inverse = Vector512.Create(r.Inverse);
                for (; j + 16 <= T; j += 16)
                {
                    var t = Vector512.Load(pr + j) * (Vector512.Load(g + j) - vd);
                    (r.ExactInverse ? t * inverse : t / div).Store(g + j);
                }
            }
            for (; j < T; j++) g[j] = pr[j] * (g[j] - dot) / r.Divisor;
        }
    }

    static float HorizontalMax(Vector512<float> v)
    {
        var h = Vector256.Max(v.GetLower(), v.GetUpper());
        var q = Vector128.Max(h.GetLower(), h.GetUpper());
        return MathF.Max(MathF.Max(q[0], q[1]), MathF.Max(q[2], q[3]));
    }

    /// <summary>
    /// eˣ for x ≤ 0 (a softmax's shifted scores): 2ⁿ·e^r with n = round(x·log₂e), r = x − n·ln 2 in two parts, e^r by its
    /// degree-7 Taylor polynomial (|r| ≤ ln 2 / 2: truncation below 2⁻²⁷); 0 below −87.3 (where eˣ leaves the normal
    /// floats), as libtorch's softmax gives for a key masked with float.MinValue. .NET's Vector512.Exp took twice as long.
    /// </summary>
    internal static Vector512<float> Exp(Vector512<float> x)
    {
        var n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.Create(1f / 5040);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f));
        var pow2 = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512.Create(-87.33654f)), p * pow2, Vector512<float>.Zero);
    }
}
