using BertLab.Attention;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>Random inputs and small helpers shared by the attention tests.</summary>
static class AttentionTestKit
{
    public static readonly string[] LinearizableSimilarities = { "dot", "cosine" };

    /// <summary>A configuration from parts; "v" in normalize adds V normalisation.</summary>
    public static AttentionConfig Config(string sim, string act, string scaling, string normalize = "", string implementation = "auto", int keyBlock = 256)
    {
        var c = AttentionConfig.FromPreset("softmax");
        c.Preset = "custom"; c.Similarity = sim; c.Activation = act; c.Scaling = scaling;
        c.Normalize = new SortedSet<string>(normalize.Select(ch => ch.ToString()));
        c.Implementation = AttentionRegistry.Implementations[implementation]; c.KeyBlock = keyBlock;
        c.Validate("attention");
        return c;
    }

    /// <summary>The mechanism's parameters, moved off their initial values (so heads differ) and made leaves.</summary>
    public static Dictionary<string, Tensor> Parameters(AttentionMechanism mech, int heads, ScalarType dtype, bool requiresGrad = false)
    {
        var d = new Dictionary<string, Tensor>();
        foreach (var (name, init) in mech.CreateParameters(heads))
            d[name] = (init.to(dtype) + 0.3 * randn(heads, dtype)).detach().requires_grad_(requiresGrad);
        return d;
    }

    /// <summary>(B, S) mask with the given real lengths (first tokens real), or null when all are full length.</summary>
    public static Tensor LengthMask(long seqLen, params int[] lengths) =>
        arange(seqLen).unsqueeze(0).lt(tensor(lengths.Select(l => (long)l).ToArray()).unsqueeze(1));

    public static AttentionResult Run(AttentionMechanism mech, Tensor q, Tensor k, Tensor v, Tensor? mask, IReadOnlyDictionary<string, Tensor> parameters, bool needProbs = false) =>
        mech.Forward(new AttentionInputs { Query = q, Key = k, Value = v, KeyMask = mask, Parameter = n => parameters[n], NeedProbs = needProbs });

    /// <summary>A call's facts as the kernel table sees them (fp32 outside mixed precision unless given).</summary>
    public static AttentionCall Call(long seqLen, long headDim, bool needProbs = false, bool training = false, double dropout = 0,
        DeviceType device = DeviceType.CPU, ScalarType dtype = ScalarType.Float32) =>
        new(device, dtype, ReducedCompute: false, Fp32Residual: true, training, training ? dropout : 0, needProbs, seqLen, headDim);

    /// <summary>‖a − b‖ / max(‖b‖, tiny).</summary>
    public static double RelativeError(Tensor a, Tensor b)
    {
        var num = (a - b).to_type(ScalarType.Float64).norm().item<double>();
        var den = b.to_type(ScalarType.Float64).norm().item<double>();
        return num / Math.Max(den, 1e-30);
    }

    /// <summary>Every (similarity, activation, scaling) triple of ATTENTION.md §1.</summary>
    public static IEnumerable<object[]> AllTriples() =>
        from s in AttentionConfig.Similarities
        from a in AttentionConfig.Activations
        from sc in AttentionConfig.Scalings
        select new object[] { s, a, sc };
}
