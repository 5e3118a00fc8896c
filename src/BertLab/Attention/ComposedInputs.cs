using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// Q', K', V' of a mechanism whose padded query rows are 0 (<see cref="PaddedRows.Zero"/>), as every such kernel starts:
/// optionally upcast to fp32, the configured L2 normalisations (cosine normalises q and k inside its similarity as well;
/// the extra N is idempotent), token dropout of Q and K in training, then padded rows of Q', K', V' set to 0 (this alone
/// makes the linear kernels exact).
/// </summary>
public readonly record struct ComposedInputs(Tensor Q, Tensor K, Tensor V, PaddingMask Mask)
{
    public static ComposedInputs Prepare(AttentionSpec spec, AttentionInputs inputs, bool upcast)
    {
        var q = inputs.Query; var k = inputs.Key; var v = inputs.Value;
        long B = q.shape[0], S = q.shape[2];
        if (k.shape[2] != S || v.shape[2] != S)
            throw new ArgumentException("attention is self-attention: Q, K and V must have the same sequence length");
        if (upcast) { q = q.to_type(ScalarType.Float32); k = k.to_type(ScalarType.Float32); v = v.to_type(ScalarType.Float32); }
        var mask = new PaddingMask(inputs.KeyMask, B, S, q.dtype, q.device);
        if (spec.Normalizes(NormalizedVectors.Q)) q = VectorNormalization.L2(q);
        if (spec.Normalizes(NormalizedVectors.K)) k = VectorNormalization.L2(k);
        if (spec.Normalizes(NormalizedVectors.V)) v = VectorNormalization.L2(v);
        q = TokenDropout.Apply(q, spec.TokenDropout, inputs.Training);
        k = TokenDropout.Apply(k, spec.TokenDropout, inputs.Training);
        if (mask.HasPadding) { q = q * mask.Rows; k = k * mask.Rows; v = v * mask.Rows; }
        return new ComposedInputs(q, k, v, mask);
    }
}
