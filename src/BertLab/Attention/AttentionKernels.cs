using BertLab.Attention.Reference;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// Every way BertLab computes attention, as one ordered table: a call is served by the first kernel whose form the
/// configuration's "implementation" allows and whose <see cref="AttentionKernel.Supports"/> holds for (spec, call).
/// The last entry, the quadratic reference composition, supports every call, so the lookup always ends. The rules that
/// decide which kernel runs are all here: BERT's softmax (Hugging Face semantics) against every other mechanism
/// (padded query rows 0), dropout whose mask <see cref="FastDropout"/> draws, the auto rule S &gt; d for the right
/// product, the probabilities forcing the matrix, and the mixed-precision input types.
/// </summary>
public static class AttentionKernels
{
    static readonly AttentionKernel[] Table = Indexed(
        new AttentionKernel("sdpa", KernelForm.Fused,
            "BERT's softmax without probabilities, unless attention dropout runs on fp32 CPU tensors",
            static (s, in c) => s.PaddedRows == PaddedRows.Computed && !c.NeedProbs && !c.DropsOnCpu,
            Sdpa),
        new AttentionKernel("softmax-cpu", KernelForm.Fused,
            "BERT's softmax in training with attention dropout, fp32 on the CPU, outside mixed precision",
            static (s, in c) => s.PaddedRows == PaddedRows.Computed && !c.NeedProbs && c.DropsOnCpu && !c.ReducedCompute,
            SoftmaxCpu),
        new AttentionKernel("linear-cosine-cpu", KernelForm.Linear,
            "linearisable cosine mechanisms with a divisor per sequence (not rowsum), fp32 on the CPU; auto: S > d",
            static (s, in c) => s.PaddedRows == PaddedRows.Zero && s.IsLinearizable && s.Similarity is CosineSimilarity && !s.ScalingEntry.UsesRowSums
                && LongEnoughForLinear(s, c) && !c.NeedProbs && c.Device == DeviceType.CPU && c.LinearInputType == ScalarType.Float32,
            LinearCosine),
        new AttentionKernel("linear", KernelForm.Linear,
            "every linearisable mechanism (dot or cosine similarity, no activation), any device; auto: S > d",
            static (s, in c) => s.PaddedRows == PaddedRows.Zero && s.IsLinearizable && LongEnoughForLinear(s, c) && !c.NeedProbs,
            Linear),
        new AttentionKernel("fused", KernelForm.Fused,
            "softmax over dot factors (cosine-softmax, softmax with normalisation or token dropout), unless attention dropout runs on fp32 CPU tensors",
            static (s, in c) => s.PaddedRows == PaddedRows.Zero && s.CanFuse && !c.NeedProbs && !c.DropsOnCpu,
            Fused),
        new AttentionKernel("fused-explicit", KernelForm.Fused,
            "the fused form with attention dropout on fp32 CPU tensors, written out so that FastDropout draws the mask",
            static (s, in c) => s.PaddedRows == PaddedRows.Zero && s.CanFuse && !c.NeedProbs && c.DropsOnCpu,
            FusedExplicit),
        new AttentionKernel("quadratic", KernelForm.Quadratic,
            "every call: the explicit (B, H, S, S) composition (the reference; the only kernel that returns probabilities)",
            static (s, in c) => true,
            Quadratic));

    /// <summary>The kernels in the order a call asks them.</summary>
    public static IReadOnlyList<AttentionKernel> All => Table;

    /// <summary>The kernel that serves every call, which the others are tested against.</summary>
    public static AttentionKernel Reference => Table[^1];

    /// <summary>The kernel of this name, or the one error that lists the names.</summary>
    public static AttentionKernel Named(string name)
    {
        foreach (var k in Table) if (k.Name == name) return k;
        throw new BertLabException($"unknown attention kernel '{name}'; known: {string.Join(", ", Table.Select(k => k.Name))}");
    }

    /// <summary>The forms an "implementation" value lets run: auto any, a forced one its own and the quadratic
    /// composition (which alone returns the probabilities).</summary>
    public static bool Allows(AttentionImplementation implementation, KernelForm form) => implementation switch
    {
        AttentionImplementation.Auto => true,
        AttentionImplementation.Fused => form is KernelForm.Fused or KernelForm.Quadratic,
        AttentionImplementation.Linear => form is KernelForm.Linear or KernelForm.Quadratic,
        _ => form == KernelForm.Quadratic,
    };

    /// <summary>Whether <paramref name="kernel"/> may serve this call: its form is allowed and it supports the call.</summary>
    public static bool Serves(AttentionKernel kernel, AttentionSpec spec, in AttentionCall call) =>
        Allows(spec.Implementation, kernel.Form) && kernel.Supports(spec, call);

    /// <summary>The first kernel of the table that serves the call.</summary>
    public static AttentionKernel Choose(AttentionSpec spec, in AttentionCall call)
    {
        var table = Table;
        for (int i = 0; i < table.Length; i++)
            if (Serves(table[i], spec, call)) return table[i];
        throw new InvalidOperationException("no attention kernel serves the call (the quadratic kernel serves every call)");
    }

    /// <summary>Under "auto" the right product runs only when the sequence is longer than a head (below that the S×S
    /// matrix is the smaller one); a forced "linear" runs it at every length.</summary>
    static bool LongEnoughForLinear(AttentionSpec s, in AttentionCall c) =>
        s.Implementation == AttentionImplementation.Linear || c.SeqLen > c.HeadDim;

    static AttentionKernel[] Indexed(params AttentionKernel[] kernels)
    {
        for (int i = 0; i < kernels.Length; i++) kernels[i] = kernels[i] with { Index = i };
        return kernels;
    }

    /// <summary>(B, 1, 1, S) boolean key mask from the (B, S) one.</summary>
    static Tensor? KeyMask4(AttentionInputs x) => x.KeyMask?.unsqueeze(1).unsqueeze(1);

    /// <summary>libtorch's fused scaled_dot_product_attention on Q, K, V (its own dropout generator).</summary>
    static AttentionResult Sdpa(AttentionSpec spec, AttentionInputs x, in AttentionCall call) =>
        new() { Output = nn.functional.scaled_dot_product_attention(x.Query, x.Key, x.Value, KeyMask4(x), call.Dropout, false) };

    /// <summary><see cref="SoftmaxAttentionCpu"/>: the explicit arithmetic as one autograd function, the mask from
    /// FastDropout. fwd+bwd of one BERT-base layer's attention at batch 8 × 128, 6.9–9.1 ms against 8.6–10.4 ms for the
    /// explicit composition side by side; the whole layer ~1.5–2.5 ms (1–2 %) faster.</summary>
    static AttentionResult SoftmaxCpu(AttentionSpec spec, AttentionInputs x, in AttentionCall call) =>
        new() { Output = SoftmaxAttentionCpu.Apply(x.Query, x.Key, x.Value, x.KeyMask, call.Dropout) };

    static AttentionResult LinearCosine(AttentionSpec spec, AttentionInputs x, in AttentionCall call)
    {
        var p = ComposedInputs.Prepare(spec, x, upcast: call.LinearInputType != call.DType);
        var divisor = spec.Scaling.Divisor(MixedPrecision.Float(p.Mask.Counts), static () => throw new InvalidOperationException("this scaling needs row sums"), x.Parameter);
        return new() { Output = LinearCosineCpu.Apply(p.Q, p.K, p.V, divisor) };
    }

    static AttentionResult Linear(AttentionSpec spec, AttentionInputs x, in AttentionCall call) =>
        LinearAttention.Forward(spec, ComposedInputs.Prepare(spec, x, upcast: call.LinearInputType != call.DType), x);

    /// <summary>scaled_dot_product_attention on the dot factors (SDPA divides by √d, so the factor is undone), padded
    /// query rows set to 0 after it. Runs in the input type (bf16 under mixed precision).</summary>
    static AttentionResult Fused(AttentionSpec spec, AttentionInputs x, in AttentionCall call)
    {
        var (q, k, v, mask) = ComposedInputs.Prepare(spec, x, upcast: false);
        var (qf, kf) = spec.Similarity.DotFactors(q, k);
        qf = qf * Math.Sqrt(call.HeadDim);
        var output = nn.functional.scaled_dot_product_attention(qf, kf, v, mask.HasPadding ? mask.KeysBool : null, call.Dropout);
        if (mask.HasPadding) output = output * mask.Rows;
        return new() { Output = output };
    }

    /// <summary>The fused form's arithmetic written out (<see cref="SoftmaxReference"/> on the dot factors), so that the
    /// dropout mask is FastDropout's, as in every other CPU path.</summary>
    static AttentionResult FusedExplicit(AttentionSpec spec, AttentionInputs x, in AttentionCall call)
    {
        var (q, k, v, mask) = ComposedInputs.Prepare(spec, x, upcast: false);
        var (qf, kf) = spec.Similarity.DotFactors(q, k);
        qf = qf * Math.Sqrt(call.HeadDim);
        var output = SoftmaxReference.Forward(qf, kf, v, mask.HasPadding ? mask.KeysBool : null, call.Dropout, true).Output;
        if (mask.HasPadding) output = output * mask.Rows;
        return new() { Output = output };
    }

    /// <summary>The explicit matrix: Hugging Face's eager softmax for BERT's softmax, the composition of ATTENTION.md §1
    /// (in fp32: activations on the matrix and distances are not computed in bf16) for every other mechanism.</summary>
    static AttentionResult Quadratic(AttentionSpec spec, AttentionInputs x, in AttentionCall call)
    {
        if (spec.PaddedRows == PaddedRows.Computed)
            return SoftmaxReference.Forward(x.Query, x.Key, x.Value, KeyMask4(x), call.Dropout, x.Training);
        return QuadraticReference.Forward(spec, ComposedInputs.Prepare(spec, x, upcast: MixedPrecision.IsReduced(call.DType)), x);
    }
}
