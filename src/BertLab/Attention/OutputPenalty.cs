using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// ATTENTION.md §1 output_penalty: the per-layer term mean over real tokens of relu(‖o_i‖ − ‖x_i‖), where x is the
/// attention block's input and o its output. The model averages the terms over layers and multiplies by λ.
/// </summary>
public static class OutputPenalty
{
    /// <param name="x">(B, S, D) attention block input.</param>
    /// <param name="o">(B, S, D) attention block output.</param>
    /// <param name="mask">(B, S) true = real token; null = all real.</param>
    /// <returns>A scalar tensor (differentiable in o and x).</returns>
    public static Tensor Term(Tensor x, Tensor o, Tensor? mask)
    {
        var excess = nn.functional.relu(o.norm(-1) - x.norm(-1));       // (B, S)
        if (mask is null) return excess.mean();
        var m = mask.to_type(excess.dtype);
        return (excess * m).sum() / m.sum().clamp_min(1);
    }
}
