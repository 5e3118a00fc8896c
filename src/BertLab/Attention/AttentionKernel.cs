namespace BertLab.Attention;

/// <summary>How a kernel computes: what the JSON "implementation" key names (<see cref="AttentionImplementation"/>).</summary>
public enum KernelForm
{
    /// <summary>Softmax attention without the S×S matrix in the caller's hands (scaled_dot_product_attention or an equivalent).</summary>
    Fused,
    /// <summary>The right product Q'(K'ᵀV')/divisor (ATTENTION.md §3).</summary>
    Linear,
    /// <summary>The explicit (B, H, S, S) matrix.</summary>
    Quadratic,
}

/// <summary>Whether a kernel serves this (spec, call): a pure function of the two, no tensors touched.</summary>
public delegate bool KernelSupports(AttentionSpec spec, in AttentionCall call);

/// <summary>The one forward signature every kernel has.</summary>
public delegate AttentionResult KernelForward(AttentionSpec spec, AttentionInputs inputs, in AttentionCall call);

/// <summary>One entry of the kernel table (<see cref="AttentionKernels.All"/>).</summary>
/// <param name="Name">The name the table, summary.json, the start-of-run table and the benchmark use.</param>
/// <param name="Serves">What it supports, in words (printed with the table; DESIGN-NOTES lists the same).</param>
public sealed record AttentionKernel(string Name, KernelForm Form, string Serves, KernelSupports Supports, KernelForward Forward)
{
    /// <summary>Position in <see cref="AttentionKernels.All"/> (the order in which the table is asked).</summary>
    public int Index { get; init; }

    public override string ToString() => Name;
}

/// <summary>How often one kernel served a mechanism's calls (summary.json "attention_kernels").</summary>
public sealed record KernelUsage(string Kernel, long Calls);

/// <summary>The kernels one encoder layer's attention ran, in table order.</summary>
public sealed record LayerKernelUsage(int Layer, IReadOnlyList<KernelUsage> Kernels);
