using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace BertLab;

/// <summary>
/// Mixed precision without autocast (TorchSharp has none), as an explicit casting policy that a forward pass enters:
/// <list type="bullet">
/// <item>Parameters stay fp32 — they are the master weights the optimiser updates; gradients arrive in fp32 because the
/// backward of a cast is the cast back.</item>
/// <item>Every Linear (Q/K/V, attention output, FFN, pooler, classifier, MLM transform and vocabulary projection) casts
/// its input, weight and bias to the compute type (bf16) and multiplies there, as autocast does.</item>
/// <item>LayerNorm inputs, attention scores before a softmax, non-softmax attention (normalisation, σ/p parameters,
/// the linear kernel's sums) and the losses run in fp32. The residual stream stays fp32: bf16 + fp32 promotes.</item>
/// </list>
/// The policy is thread-local (like autocast): <c>using (MixedPrecision.Enter(ScalarType.BFloat16)) { forward }</c>,
/// then backward and the optimiser step outside. fp16 is not offered: it needs loss scaling, bf16 does not.
/// </summary>
public static class MixedPrecision
{
    [ThreadStatic] static ScalarType? _compute;

    /// <summary>The compute type of the current scope; null = plain fp32 (everything in the parameters' type).</summary>
    public static ScalarType? ComputeType => _compute;

    public static bool Active => _compute is not null;

    /// <summary>Names accepted by configurations and the CLI.</summary>
    public static readonly string[] Names = { "fp32", "bf16" };

    /// <summary>"fp32" → null (no casting), "bf16" → BFloat16.</summary>
    public static ScalarType? Parse(string name, string key = "precision") => name.ToLowerInvariant() switch
    {
        "fp32" or "float32" => null,
        "bf16" or "bfloat16" => ScalarType.BFloat16,
        _ => throw new BertLabException($"{key}: '{name}' is not allowed; allowed: {string.Join(", ", Names)}"),
    };

    public static string Describe(ScalarType? t) => t is null ? "fp32" : t == ScalarType.BFloat16 ? "bf16" : t.ToString()!;

    /// <summary>Enters a scope with this compute type (null = fp32); disposing it restores the previous one.</summary>
    public static IDisposable Enter(ScalarType? compute) => new Scope(compute);

    sealed class Scope : IDisposable
    {
        readonly ScalarType? _previous;
        bool _done;
        public Scope(ScalarType? compute) { _previous = _compute; _compute = compute; }
        public void Dispose() { if (!_done) { _compute = _previous; _done = true; } }
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
