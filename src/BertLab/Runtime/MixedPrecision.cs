using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertLab.Runtime;

/// <summary>
/// Mixed precision without autocast (TorchSharp has none), as an explicit casting policy that a forward pass enters:
/// <list type="bullet">
/// <item>Parameters stay fp32 — they are the master weights the optimiser updates; gradients arrive in fp32 because the
/// backward of a cast is the cast back.</item>
/// <item>Every Linear (Q/K/V, attention output, FFN, pooler, classifier, MLM transform and vocabulary projection) casts
/// its input, weight and bias to the compute type (bf16) and multiplies there, as autocast does.</item>
/// <item>Attention scores before a softmax and the losses run in fp32.</item>
/// </list>
/// Two policies: <b>bf16</b> (the default for GPUs) also keeps the activations — the residual stream, LayerNorm outputs,
/// dropout, GELU — in bf16 (LayerNorm still reduces in fp32 inside its kernel; Megatron-LM's default), which halves the
/// memory traffic of every element-wise operation, most of a bf16 step's time on a GPU; the linear attention kernels run
/// in bf16 with fp32 accumulation. <b>bf16-autocast</b> is torch.autocast's policy: fp32 residual stream and LayerNorm
/// outputs, non-softmax attention upcast to fp32 (as Hugging Face's reference does).
/// The policy is thread-local (like autocast): <c>using (MixedPrecision.Enter(MixedPrecision.Parse("bf16"))) { forward }</c>,
/// then backward and the optimiser step outside. fp16 is not offered: it needs loss scaling, bf16 does not.
/// </summary>
public static class MixedPrecision
{
    [ThreadStatic] static ScalarType? _compute;
    [ThreadStatic] static bool _fp32Residual;

    /// <summary>A casting policy: the compute type (null = fp32) and whether activations stay fp32 between matmuls.</summary>
    public sealed record Policy(ScalarType? Compute, bool Fp32Residual, string Name);

    public static readonly Policy Fp32 = new(null, true, "fp32");
    public static readonly Policy Bf16 = new(ScalarType.BFloat16, false, "bf16");
    public static readonly Policy Bf16Autocast = new(ScalarType.BFloat16, true, "bf16-autocast");

    /// <summary>True in a scope whose activations stay fp32 (bf16-autocast), or outside any scope.</summary>
    public static bool Fp32Residual => _compute is null || _fp32Residual;

    public static bool Active => _compute is not null;

    /// <summary>Names accepted by configurations and the CLI.</summary>
    public static readonly string[] Names = { "fp32", "bf16", "bf16-autocast" };

    public static Policy Parse(string name, string key = "precision") => name.ToLowerInvariant() switch
    {
        "fp32" or "float32" => Fp32,
        "bf16" or "bfloat16" => Bf16,
        "bf16-autocast" => Bf16Autocast,
        _ => throw new BertLabException($"{key}: '{name}' is not allowed; allowed: {string.Join(", ", Names)}"),
    };

    /// <summary>Enters a scope with this policy; disposing it restores the previous one.</summary>
    public static IDisposable Enter(Policy policy) => new Scope(policy.Compute, policy.Fp32Residual);

    sealed class Scope : IDisposable
    {
        readonly ScalarType? _previous;
        readonly bool _previousResidual;
        bool _done;
        public Scope(ScalarType? compute, bool fp32Residual)
        {
            _previous = _compute; _previousResidual = _fp32Residual;
            _compute = compute; _fp32Residual = fp32Residual;
        }
        public void Dispose() { if (!_done) { _compute = _previous; _fp32Residual = _previousResidual; _done = true; } }
    }

    /// <summary>An activation entering the encoder (the embeddings' output): in the compute type under the bf16 policy.</summary>
    public static Tensor Activation(Tensor x) => _compute is ScalarType t && !_fp32Residual ? x.to_type(t) : x;

    /// <summary>LayerNorm: in fp32 (input upcast) under autocast's policy; under bf16, on the bf16 input with the
    /// weights cast (the kernel reduces in fp32) and a bf16 output.</summary>
    public static Tensor LayerNorm(LayerNorm ln, Tensor x)
    {
        if (_compute is ScalarType t && !_fp32Residual)
            return nn.functional.layer_norm(x.to_type(t), ln.normalized_shape, ln.weight!.to_type(t), ln.bias!.to_type(t), ln.eps);
        return ln.forward(Float(x));
    }

    /// <summary>y = x Wᵀ + b, in the compute type when a scope is active (weights cast per call: fp32 masters stay).</summary>
    public static Tensor Linear(Linear m, Tensor x) =>
        _compute is ScalarType t ? nn.functional.linear(x.to_type(t), m.weight!.to_type(t), m.bias?.to_type(t)) : m.forward(x);

    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias) =>
        _compute is ScalarType t ? nn.functional.linear(x.to_type(t), weight.to_type(t), bias?.to_type(t)) : nn.functional.linear(x, weight, bias);

    /// <summary>x in fp32 when a scope is active and x is in a reduced type (LayerNorm inputs, scores, logits before a loss).</summary>
    public static Tensor Float(Tensor x) => IsReduced(x.dtype) ? x.to_type(ScalarType.Float32) : x;

    public static bool IsReduced(ScalarType t) => t is ScalarType.BFloat16 or ScalarType.Float16;
}
