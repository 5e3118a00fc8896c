namespace BertLab.Attention.Lowering;

/// <summary>
/// One self-attention call of a spec as graph operations (evaluation: no dropout), from the registry entries' own
/// lowerings, with the masking rules of the kernels: BERT's softmax as Hugging Face's eager attention (padded query rows
/// computed), every other mechanism with padded rows of Q', K', V' and of the output 0. The right product for a
/// linearisable spec unless "implementation" forces the matrix; the matrix otherwise (a graph has no fused kernel).
/// </summary>
public static class OnnxLowering
{
    /// <summary>How the graph computes this spec: Hugging Face's softmax, the right product, or the matrix.</summary>
    public static string FormName(AttentionSpec spec) =>
        spec.PaddedRows == PaddedRows.Computed ? "softmax (Hugging Face semantics)" : UsesRightProduct(spec) ? "linear" : "quadratic";

    static bool UsesRightProduct(AttentionSpec spec) =>
        spec.IsLinearizable && AttentionKernels.Allows(spec.Implementation, KernelForm.Linear);

    /// <summary>(B, H, S, d) Q, K, V → (B, H, S, d) context.</summary>
    public static string Attention(AttentionSpec spec, IAttentionGraph g, GraphMasks m, string q, string k, string v)
    {
        if (spec.PaddedRows == PaddedRows.Computed)
        {
            // Reference.SoftmaxReference: (QKᵀ)/√d + (1 − m)·finfo.min, softmax, · V.
            string logits = g.Add(g.Div(g.MatMul(q, g.KT(k)), g.Constant(MathF.Sqrt(g.HeadDim))), m.Additive);
            return g.MatMul(g.Softmax(logits, -1), v);
        }
        // ComposedInputs.Prepare: the configured normalisations, then padded rows of Q', K', V' set to 0.
        if (spec.Normalizes(NormalizedVectors.Q)) q = VectorNormalization.LowerL2(g, q);
        if (spec.Normalizes(NormalizedVectors.K)) k = VectorNormalization.LowerL2(g, k);
        if (spec.Normalizes(NormalizedVectors.V)) v = VectorNormalization.LowerL2(g, v);
        q = g.Mul(q, m.Rows); k = g.Mul(k, m.Rows); v = g.Mul(v, m.Rows);

        if (UsesRightProduct(spec))
        {
            // LinearAttention: O = Q'(K'ᵀV') / divisor; a per-sequence divisor divides the d×d matrix.
            var (qf, kf) = spec.Similarity.LowerDotFactors(g, q, k);
            string kv = g.MatMul(g.KT(kf), v);
            string? divisor = spec.Scaling.LowerDivisor(g, m.Counts, () => g.MatMul(qf, g.KT(g.ReduceSum(kf, 2, keepDims: true))));
            if (divisor is null) return g.MatMul(qf, kv);
            return spec.ScalingEntry.UsesRowSums ? g.Div(g.MatMul(qf, kv), divisor) : g.MatMul(qf, g.Div(kv, divisor));
        }

        // Reference.QuadraticReference: scores, activation with the key mask, padded query rows 0, · V, divisor.
        string attn = g.Mul(spec.Activation.Lower(g, spec.Similarity.Lower(g, q, k), m), m.Rows);
        string output = g.MatMul(attn, v);
        string? div = spec.Scaling.LowerDivisor(g, m.Counts, () => g.ReduceSum(attn, -1, keepDims: true));
        return div is null ? output : g.Div(output, div);
    }
}
