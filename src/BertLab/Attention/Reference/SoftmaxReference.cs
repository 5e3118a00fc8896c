using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention.Reference;

/// <summary>
/// BERT's softmax attention written out as Hugging Face's eager attention computes it: scores QKᵀ/√d, the additive mask
/// (finfo.min at padded keys), the row softmax, attention dropout on the probabilities, the product with V. Padded query
/// rows are computed like the others. The reference the fused softmax kernels are tested against, and the quadratic
/// kernel of BERT's softmax (<see cref="AttentionKernels"/>).
/// </summary>
public static class SoftmaxReference
{
    /// <param name="keyMask">(B, 1, 1, S) boolean, true for a real key; null for none.</param>
    /// <param name="dropout">Probability of dropping a probability (<see cref="FastDropout"/>'s mask on fp32 CPU tensors).</param>
    public static AttentionResult Forward(Tensor q, Tensor k, Tensor v, Tensor? keyMask, double dropout, bool training)
    {
        // Mixed precision: the product in bf16, the mask and softmax in fp32, the probabilities back to V's type (as autocast).
        var scores = MixedPrecision.Float(matmul(q, k.transpose(-1, -2))) / Math.Sqrt(q.shape[^1]);
        if (keyMask is not null)
        {
            var additive = (~keyMask).to(scores.dtype) * finfo(scores.dtype).min;
            scores = scores + additive;
        }
        var probs = scores.softmax(-1);
        var used = FastDropout.Apply(probs, dropout, training);
        return new AttentionResult { Output = matmul(used.to_type(v.dtype), v), Probs = probs };
    }
}
