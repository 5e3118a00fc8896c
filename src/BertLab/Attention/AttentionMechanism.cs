using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// One layer's attention mechanism (ATTENTION.md): the typed spec of its configuration and, per call, the first kernel of
/// <see cref="AttentionKernels"/> that serves it. Stateless apart from the count of calls per kernel: learnable
/// per-head parameters are declared by <see cref="CreateParameters"/>, registered by the owning BertSelfAttention (so
/// they are saved as <c>...attention.self.NAME</c>) and handed back on each call through <see cref="AttentionInputs.Parameter"/>.
/// </summary>
public sealed class AttentionMechanism
{
    readonly long[] _calls = new long[AttentionKernels.All.Count];

    public AttentionMechanism(AttentionConfig config)
    {
        Spec = AttentionRegistry.Spec(config);
        Config = config;
    }

    public AttentionConfig Config { get; }
    public AttentionSpec Spec { get; }

    /// <summary>Name → initial value of the extra learnable parameters for a layer with this many heads.</summary>
    public IReadOnlyDictionary<string, Tensor> CreateParameters(int heads)
    {
        var all = new Dictionary<string, Tensor>();
        foreach (var (k, v) in Spec.Similarity.CreateParameters(heads, Config)) all[k] = v;
        foreach (var (k, v) in Spec.Scaling.CreateParameters(heads, Config)) all[k] = v;
        return all;
    }

    /// <summary>The kernel that serves a call like this one.</summary>
    public AttentionKernel KernelFor(in AttentionCall call) => AttentionKernels.Choose(Spec, call);

    public AttentionResult Forward(AttentionInputs inputs)
    {
        var call = AttentionCall.Of(inputs);
        var kernel = AttentionKernels.Choose(Spec, call);
        Interlocked.Increment(ref _calls[kernel.Index]);
        return kernel.Forward(Spec, inputs, call);
    }

    /// <summary>The call through the named kernel (benchmarks, kernel tests); an error when that kernel does not serve it.</summary>
    public AttentionResult Forward(AttentionInputs inputs, AttentionKernel kernel)
    {
        var call = AttentionCall.Of(inputs);
        if (!AttentionKernels.Serves(kernel, Spec, call))
            throw new ArgumentException($"attention kernel '{kernel.Name}' does not serve {Config.Describe()} for {call}");
        Interlocked.Increment(ref _calls[kernel.Index]);
        return kernel.Forward(Spec, inputs, call);
    }

    /// <summary>The kernels this mechanism has run, with their call counts, in table order (kernels never run left out).</summary>
    public IReadOnlyList<KernelUsage> KernelUsage()
    {
        var used = new List<KernelUsage>();
        for (int i = 0; i < _calls.Length; i++)
            if (Interlocked.Read(ref _calls[i]) is long n and > 0) used.Add(new KernelUsage(AttentionKernels.All[i].Name, n));
        return used;
    }

    /// <summary>The attention logits (B, H, S, S) of q and k, for diagnostics: q·kᵀ/√d for BERT's softmax, otherwise the
    /// similarity scores after the configured q/k normalisation, before the activation (padded positions not masked).</summary>
    public Tensor Logits(Tensor q, Tensor k, Func<string, Tensor> parameter)
    {
        if (Spec.PaddedRows == PaddedRows.Computed) return matmul(q, k.transpose(-2, -1)) / Math.Sqrt(q.shape[^1]);
        if (Spec.Normalizes(NormalizedVectors.Q)) q = VectorNormalization.L2(q);
        if (Spec.Normalizes(NormalizedVectors.K)) k = VectorNormalization.L2(k);
        return Spec.Similarity.Scores(q, k, parameter);
    }
}
