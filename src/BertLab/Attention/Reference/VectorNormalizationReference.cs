using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention.Reference;

/// <summary>N(x) as PyTorch writes it (F.normalize): the reference of <see cref="VectorNormalization.L2"/> (a product
/// with the reciprocal norm in the contiguous layout) and of <see cref="LinearCosineCpu"/>'s hand-written row passes.</summary>
public static class VectorNormalizationReference
{
    public static Tensor L2(Tensor x) => nn.functional.normalize(x, p: 2.0, dim: -1, eps: VectorNormalization.Epsilon);
}
