using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// ATTENTION.md §1 token_dropout: in training, zero whole token rows with probability p, without rescaling.
/// One draw per (sequence, token), shared by the heads; Q and K draw independently.
/// </summary>
public static class TokenDropout
{
    public static Tensor Apply(Tensor x, double p, bool training)
    {
        if (!training || p <= 0) return x;
        var keep = rand(new[] { x.shape[0], 1, x.shape[2], 1 }, x.dtype, x.device).ge(p).to_type(x.dtype);
        return x * keep;
    }
}
