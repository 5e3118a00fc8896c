using TorchSharp;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Attention;

/// <summary>
/// Every mechanism of ATTENTION.md as O = Scale(Mask(Act(Sim(Q', K'))) · V'), with the masking rules of §1
/// (padded keys contribute nothing, padded query rows output exactly 0, n counts real tokens).
/// Kernels: the explicit quadratic reference (always available), the linear right-product
/// Q'(K'ᵀV') for linearisable configurations (§3), and fused SDPA for softmax over dot/cosine scores.
/// </summary>
public sealed class ComposedAttention : IAttentionMechanism
{
    public AttentionConfig Config { get; }
    public Similarity Similarity { get; }
    public Activation Activation { get; }
    public Scaling Scaling { get; }

    public ComposedAttention(AttentionConfig config)
    {
        config.Validate("attention");
        Config = config;
        Similarity = Similarity.Create(config);
        Activation = Activation.Create(config.Activation);
        Scaling = Scaling.Create(config.Scaling);
    }

    /// <summary>True when O = Q'(K'ᵀV')/divisor exists (the registry's capabilities of the configuration's choices).</summary>
    public bool IsLinearizable => Config.IsLinearizable;

    /// <summary>The kernel a call with this sequence length and head size uses.</summary>
    public AttentionKernel KernelFor(long seqLen, long headDim, bool needProbs)
    {
        if (needProbs) return AttentionKernel.Quadratic;
        switch (Config.Implementation)
        {
            case AttentionImplementation.Linear: return AttentionKernel.Linear;
            case AttentionImplementation.Quadratic: return AttentionKernel.Quadratic;
            case AttentionImplementation.Fused: return AttentionKernel.Fused;
        }
        if (IsLinearizable) return seqLen > headDim ? AttentionKernel.Linear : AttentionKernel.Quadratic;
        if (CanFuse) return AttentionKernel.Fused;
        return AttentionKernel.Quadratic;
    }

    bool CanFuse => Config.CanFuse;

    public IReadOnlyDictionary<string, Tensor> CreateParameters(int heads)
    {
        var all = new Dictionary<string, Tensor>();
        foreach (var (k, v) in Similarity.CreateParameters(heads, Config)) all[k] = v;
        foreach (var (k, v) in Scaling.CreateParameters(heads, Config)) all[k] = v;
        return all;
    }

    public AttentionResult Forward(AttentionInputs inputs)
    {
        var q = inputs.Query; var k = inputs.Key; var v = inputs.Value;
        long B = q.shape[0], S = q.shape[2], d = q.shape[3];
        if (k.shape[2] != S || v.shape[2] != S)
            throw new ArgumentException("ComposedAttention is self-attention: Q, K and V must have the same sequence length");
        var kernel = KernelFor(S, d, inputs.NeedProbs);
        // Mixed precision: Q, K, V come from bf16 projections. The fused kernel runs in bf16; so does the linear kernel
        // under the bf16 policy (its matmuls accumulate in fp32); the quadratic kernels (activations on the matrix,
        // distances) and, under bf16-autocast, every non-fused kernel run in fp32.
        if (kernel != AttentionKernel.Fused && MixedPrecision.IsReduced(q.dtype) && (kernel != AttentionKernel.Linear || MixedPrecision.Fp32Residual))
        {
            q = q.to_type(ScalarType.Float32); k = k.to_type(ScalarType.Float32); v = v.to_type(ScalarType.Float32);
        }
        var mask = new PaddingMask(inputs.KeyMask, B, S, q.dtype, q.device);

        // Vector normalisation (cosine normalises q and k inside its similarity; an extra N is idempotent).
        if (Config.Normalize.Contains("q")) q = VectorNormalization.L2(q);
        if (Config.Normalize.Contains("k")) k = VectorNormalization.L2(k);
        if (Config.Normalize.Contains("v")) v = VectorNormalization.L2(v);
        q = TokenDropout.Apply(q, Config.TokenDropout, inputs.Training);
        k = TokenDropout.Apply(k, Config.TokenDropout, inputs.Training);
        // Padded rows of Q', K', V' are zero (this alone makes the linear kernel exact).
        if (mask.HasPadding) { q = q * mask.Rows; k = k * mask.Rows; v = v * mask.Rows; }

        return kernel switch
        {
            AttentionKernel.Linear => Linear(q, k, v, mask, inputs),
            AttentionKernel.Fused => Fused(q, k, v, mask, inputs),
            _ => Quadratic(q, k, v, mask, inputs),
        };
    }

    /// <summary>The similarity scores (B, H, S, S) of q and k after the configured q/k normalisation, before the
    /// activation: the attention logits, for diagnostics (padded positions are not masked here).</summary>
    public Tensor Logits(Tensor q, Tensor k, Func<string, Tensor> parameter)
    {
        if (Config.Normalize.Contains("q")) q = VectorNormalization.L2(q);
        if (Config.Normalize.Contains("k")) k = VectorNormalization.L2(k);
        return Similarity.Scores(q, k, parameter);
    }

    /// <summary>The explicit reference: the (B, H, S, S) matrix exists.</summary>
    AttentionResult Quadratic(Tensor q, Tensor k, Tensor v, PaddingMask mask, AttentionInputs inputs)
    {
        var scores = Similarity.Scores(q, k, inputs.Parameter);
        var attn = Activation.Apply(scores, mask, inputs.Training, inputs.DropoutProb);
        if (mask.HasPadding) attn = attn * mask.Rows;                     // padded query rows are 0
        var output = matmul(attn, v);
        var divisor = Scaling.Divisor(MixedPrecision.Float(mask.Counts), () => attn.sum(-1, keepdim: true), inputs.Parameter);
        if (divisor is not null) output = output / divisor;
        // Probs: the effective matrix, O = Probs · V'.
        Tensor? probs = inputs.NeedProbs ? (divisor is null ? attn : attn / divisor) : null;
        return new AttentionResult { Output = output, Probs = probs };
    }

    /// <summary>O = Q'(K'ᵀV') / divisor; rowsum: divisor_i = |q'_i · Σ_j k'_j| + 1e-6. Cost 2·S·d² per head.</summary>
    AttentionResult Linear(Tensor q, Tensor k, Tensor v, PaddingMask mask, AttentionInputs inputs)
    {
        if (!IsLinearizable)
            throw new BertLabException($"attention.implementation: 'linear' needs a dot or cosine similarity with activation 'none' (this is {Similarity.Name}/{Activation.Name})");
        if (LinearCosineCpu.Enabled && Similarity is CosineSimilarity && Scaling is not RowSumScaling && LinearCosineCpu.Supports(q, k, v, null))
            return new AttentionResult { Output = LinearCosineCpu.Apply(q, k, v, Scaling.Divisor(MixedPrecision.Float(mask.Counts), () => throw new InvalidOperationException(), inputs.Parameter)) };
        var (qf, kf) = Similarity.DotFactors(q, k);
        var kv = matmul(kf.transpose(-2, -1), v);                          // (B, H, d, dv)
        var divisor = Scaling.Divisor(MixedPrecision.Float(mask.Counts), () => matmul(qf, kf.sum(-2, keepdim: true).transpose(-2, -1)), inputs.Parameter);
        // A divisor that is one number per (sequence, head) is applied to the small d×d matrix instead of the S×d output.
        bool perSequence = divisor is not null && divisor.shape[^2] == 1;
        if (perSequence) kv = (kv / divisor!).to_type(qf.dtype);   // the divisor is fp32 under mixed precision
        var output = matmul(qf, kv);
        if (divisor is not null && !perSequence) output = output / divisor;
        return new AttentionResult { Output = output };
    }

    /// <summary>scaled_dot_product_attention on the dot factors (SDPA divides by √d, so the factor is undone).</summary>
    AttentionResult Fused(Tensor q, Tensor k, Tensor v, PaddingMask mask, AttentionInputs inputs)
    {
        if (!CanFuse)
            throw new BertLabException("attention.implementation: 'fused' needs a dot or cosine similarity, activation 'softmax' and scaling 'none'");
        var (qf, kf) = Similarity.DotFactors(q, k);
        qf = qf * Math.Sqrt(q.shape[^1]);
        var p = inputs.Training ? inputs.DropoutProb : 0.0;
        var output = p > 0 && FastDropout.Handles(qf)   // as SoftmaxAttention: the CPU mask from FastDropout
            ? SoftmaxAttention.Explicit(qf, kf, v, mask.HasPadding ? mask.KeysBool : null, p, true).Output
            : nn.functional.scaled_dot_product_attention(qf, kf, v, mask.HasPadding ? mask.KeysBool : null, p);
        if (mask.HasPadding) output = output * mask.Rows;
        return new AttentionResult { Output = output };
    }
}
