using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention.Reference;

/// <summary>‖a_i − b_j‖ₚ by the plain formula, materialising the (Sq, Sk, d) differences (fine for moderate p): the
/// reference of <see cref="BlockwiseLpDistance"/>, which tiles the keys and writes its own backward.</summary>
public static class LpDistanceReference
{
    /// <param name="a">(B, H, Sq, d).</param>
    /// <param name="b">(B, H, Sk, d).</param>
    /// <param name="p">Per head, (1, H, 1, 1).</param>
    public static Tensor Distance(Tensor a, Tensor b, Tensor p)
    {
        var diff = a.unsqueeze(-2) - b.unsqueeze(-3);
        var s = diff.abs().pow(p.unsqueeze(-1)).sum(-1);
        return s.pow(p.reciprocal());
    }
}
