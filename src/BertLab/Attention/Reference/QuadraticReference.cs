using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention.Reference;

/// <summary>
/// O = Scale(Mask(Act(Sim(Q', K'))) · V') of ATTENTION.md §1 with the (B, H, S, S) matrix in hand: every registry entry's
/// torch forward composed plainly, for any configuration. The quadratic kernel (last in <see cref="AttentionKernels"/>,
/// which supports every call) and the reference every other kernel is tested against.
/// </summary>
public static class QuadraticReference
{
    /// <param name="x">Q', K', V' from <see cref="ComposedInputs.Prepare"/> (padded rows already 0).</param>
    public static AttentionResult Forward(AttentionSpec spec, ComposedInputs x, AttentionInputs inputs)
    {
        var (q, k, v, mask) = x;
        var scores = spec.Similarity.Scores(q, k, inputs.Parameter);
        var attn = spec.Activation.Apply(scores, mask, inputs.Training, inputs.DropoutProb);
        if (mask.HasPadding) attn = attn * mask.Rows;                     // padded query rows are 0
        var output = matmul(attn, v);
        var divisor = spec.Scaling.Divisor(MixedPrecision.Float(mask.Counts), () => attn.sum(-1, keepdim: true), inputs.Parameter);
        if (divisor is not null) output = output / divisor;
        // Probs: the effective matrix, O = Probs · V'.
        Tensor? probs = inputs.NeedProbs ? (divisor is null ? attn : attn / divisor) : null;
        return new AttentionResult { Output = output, Probs = probs };
    }
}
