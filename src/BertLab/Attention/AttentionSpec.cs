namespace BertLab.Attention;

/// <summary>The projections a mechanism L2-normalises before its similarity ("normalize" in JSON).</summary>
[Flags]
public enum NormalizedVectors { None = 0, Q = 1, K = 2, V = 4 }

/// <summary>What a mechanism outputs at padded query positions (ATTENTION.md §1, masking rules).</summary>
public enum PaddedRows
{
    /// <summary>Computed like any other row: BERT's softmax, with Hugging Face's semantics.</summary>
    Computed,
    /// <summary>Exactly 0: every other mechanism (padded rows of Q', K', V' and of the output are zeroed).</summary>
    Zero,
}

/// <summary>
/// One attention mechanism as typed data, built by <see cref="AttentionRegistry.Spec"/> from a validated
/// <see cref="AttentionConfig"/>: the registry entries it names (with their capabilities), the parts built from them, and
/// the derived facts the kernels are chosen by. Kernels, the ONNX lowering and the Python lowering read this, never strings.
/// </summary>
public sealed record AttentionSpec(
    SimilarityEntry SimilarityEntry, Similarity Similarity,
    ActivationEntry ActivationEntry, Activation Activation,
    ScalingEntry ScalingEntry, Scaling Scaling,
    NormalizedVectors Normalize, AttentionImplementation Implementation, double TokenDropout)
{
    /// <summary>BERT's own attention: dot similarity, softmax, no scaling, no normalisation.</summary>
    public bool IsBertSoftmax => Similarity is DotSimilarity && Activation is SoftmaxActivation && Scaling is NoScaling && Normalize == NormalizedVectors.None;

    /// <summary>BERT's softmax keeps Hugging Face's semantics (padded query rows computed); with token dropout, and for
    /// every other mechanism, padded query rows are exactly 0.</summary>
    public PaddedRows PaddedRows => IsBertSoftmax && TokenDropout == 0 ? PaddedRows.Computed : PaddedRows.Zero;

    /// <summary>ATTENTION.md §3: a dot-product similarity and no activation, so O = Q'(K'ᵀV')/divisor exists.</summary>
    public bool IsLinearizable => SimilarityEntry.IsDotProduct && ActivationEntry.IsIdentity;

    /// <summary>Softmax over dot-product scores with no scaling: scaled_dot_product_attention computes it on the dot factors.</summary>
    public bool CanFuse => SimilarityEntry.IsDotProduct && ActivationEntry.IsSoftmax && ScalingEntry.IsNone;

    public bool Normalizes(NormalizedVectors vector) => (Normalize & vector) != 0;
}
