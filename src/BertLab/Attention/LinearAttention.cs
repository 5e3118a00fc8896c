using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// The right product of ATTENTION.md §3 as libtorch operations, for every linearisable mechanism on any device:
/// O = Q'(K'ᵀV') / divisor with (Q', K') the similarity's dot factors; rowsum: divisor_i = |q'_i · Σ_j k'_j| + 1e-6.
/// Cost 2·S·d² per head instead of 2·S²·d.
/// </summary>
public static class LinearAttention
{
    /// <param name="x">Q', K', V' from <see cref="ComposedInputs.Prepare"/> (padded rows already 0).</param>
    public static AttentionResult Forward(AttentionSpec spec, ComposedInputs x, AttentionInputs inputs)
    {
        var (q, k, v, mask) = x;
        var (qf, kf) = spec.Similarity.DotFactors(q, k);
        var kv = matmul(kf.transpose(-2, -1), v);                          // (B, H, d, dv)
        var divisor = spec.Scaling.Divisor(MixedPrecision.Float(mask.Counts), () => matmul(qf, kf.sum(-2, keepdim: true).transpose(-2, -1)), inputs.Parameter);
        // A divisor that is one number per (sequence, head) is applied to the small d×d matrix instead of the S×d output.
        bool perSequence = divisor is not null && divisor.shape[^2] == 1;
        if (perSequence) kv = (kv / divisor!).to_type(qf.dtype);   // the divisor is fp32 under mixed precision
        var output = matmul(qf, kv);
        if (divisor is not null && !perSequence) output = output / divisor;
        return new AttentionResult { Output = output };
    }
}
