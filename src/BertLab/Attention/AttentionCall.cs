using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// What one attention call is, as far as the choice of kernel goes: where and in which type Q, K, V are, the casting
/// policy in effect, training or evaluation, the attention dropout that applies, whether the probabilities are wanted,
/// and the sequence length against the head size. Read once per call (<see cref="Of"/>); kernels decide from it alone.
/// </summary>
/// <param name="Device">Where Q, K and V are.</param>
/// <param name="DType">Their type as the projections produced them (bf16 under mixed precision).</param>
/// <param name="ReducedCompute">A mixed-precision scope is active (<see cref="MixedPrecision.Active"/>).</param>
/// <param name="Fp32Residual">Activations stay fp32 (bf16-autocast, or no scope): the linear kernels then get fp32 inputs.</param>
/// <param name="Dropout">attention_probs_dropout_prob in training, 0 in evaluation.</param>
public readonly record struct AttentionCall(DeviceType Device, ScalarType DType, bool ReducedCompute, bool Fp32Residual,
    bool Training, double Dropout, bool NeedProbs, long SeqLen, long HeadDim)
{
    /// <summary>The call's facts from its inputs and the current <see cref="MixedPrecision"/> scope.</summary>
    public static AttentionCall Of(AttentionInputs x)
    {
        var shape = x.Query.shape;
        return new(x.Query.device_type, x.Query.dtype, MixedPrecision.Active, MixedPrecision.Fp32Residual,
            x.Training, x.Training ? x.DropoutProb : 0.0, x.NeedProbs, shape[2], shape[3]);
    }

    /// <summary>Attention dropout applies and <see cref="FastDropout"/> draws its mask (fp32 on the CPU), so a kernel that
    /// leaves the mask to libtorch's own generator would drop other elements.</summary>
    public bool DropsOnCpu => Dropout > 0 && Device == DeviceType.CPU && DType == ScalarType.Float32;

    /// <summary>The type the linear kernels compute in: reduced inputs are upcast unless the bf16 policy keeps them.</summary>
    public ScalarType LinearInputType => MixedPrecision.IsReduced(DType) && Fp32Residual ? ScalarType.Float32 : DType;
}
