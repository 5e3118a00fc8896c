using System.Globalization;
using BertLab.Attention.Lowering;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// Scale of ATTENTION.md §1: each output row is divided by a divisor. n counts the real tokens of the sequence.
/// The divisor is (B, H or 1, 1, 1) for the count-based scalings and (B, H, S, 1) for rowsum, which needs the
/// row sums of the masked, activated matrix (supplied lazily by the kernel, which knows how to get them cheaply).
/// </summary>
public abstract class Scaling
{
    public abstract string Name { get; }

    public virtual IReadOnlyDictionary<string, Tensor> CreateParameters(int heads, AttentionConfig config) =>
        new Dictionary<string, Tensor>();

    /// <summary>null for "none"; otherwise the tensor each output row is divided by.</summary>
    public abstract Tensor? Divisor(Tensor counts, Func<Tensor> rowSums, Func<string, Tensor> parameter);

    /// <summary>ONNX lowering of <see cref="Divisor"/>: null for none; <paramref name="counts"/> is n (B, 1, 1, 1) and
    /// <paramref name="rowSums"/> gives the row sums of the activated matrix in the form being lowered.</summary>
    public abstract string? LowerDivisor(IAttentionGraph g, string counts, Func<string> rowSums);

    /// <summary>Python lowering (bertlab_attention.py): the body of <c>def divisor(counts, a, params)</c> returning the
    /// tensor each output row is divided by, or None; a is the masked, activated (B, H, S, S) matrix.</summary>
    public abstract string Python { get; }

    /// <summary>Python lowering of <see cref="CreateParameters"/>: the body of <c>def parameters(num_heads, spec)</c>;
    /// null when the scaling has none.</summary>
    public virtual string? PythonParameters => null;

    /// <summary>The scaling a configuration names, built by its <see cref="AttentionRegistry.Scalings"/> entry.</summary>
    public static Scaling Create(string name) => AttentionRegistry.Scalings[name].Create();
}

public sealed class NoScaling : Scaling
{
    public override string Name => "none";
    public override Tensor? Divisor(Tensor counts, Func<Tensor> rowSums, Func<string, Tensor> parameter) => null;
    public override string? LowerDivisor(IAttentionGraph g, string counts, Func<string> rowSums) => null;
    public override string Python => "return None";
}

/// <summary>Divide by n (clamped to 1 so an all-padding sequence gives 0, not NaN).</summary>
public sealed class CountScaling : Scaling
{
    public override string Name => "n";
    public override Tensor? Divisor(Tensor counts, Func<Tensor> rowSums, Func<string, Tensor> parameter) => counts.clamp_min(1);
    public override string? LowerDivisor(IAttentionGraph g, string counts, Func<string> rowSums) => g.Max(counts, g.Constant(1f));
    public override string Python => "return counts.clamp_min(1)";
}

/// <summary>Divide by √n.</summary>
public sealed class SqrtCountScaling : Scaling
{
    public override string Name => "sqrt_n";
    public override Tensor? Divisor(Tensor counts, Func<Tensor> rowSums, Func<string, Tensor> parameter) => counts.clamp_min(1).sqrt();
    public override string? LowerDivisor(IAttentionGraph g, string counts, Func<string> rowSums) => g.Sqrt(g.Max(counts, g.Constant(1f)));
    public override string Python => "return counts.clamp_min(1).sqrt()";
}

/// <summary>
/// Cottention: divide by max(n^σ(m_h), 1) with one learnable m_h per head (parameter "scale_logit", shape [H],
/// initialised to scale_init = 0.5).
/// </summary>
public sealed class LearnedExponentScaling : Scaling
{
    public const string ParameterName = "scale_logit";
    public override string Name => "n_pow_sigma";
    public override IReadOnlyDictionary<string, Tensor> CreateParameters(int heads, AttentionConfig config) =>
        new Dictionary<string, Tensor> { [ParameterName] = full(heads, config.ScaleInit, ScalarType.Float32) };

    public override Tensor? Divisor(Tensor counts, Func<Tensor> rowSums, Func<string, Tensor> parameter)
    {
        var exponent = parameter(ParameterName).to(counts.dtype).sigmoid().view(1, -1, 1, 1);
        return counts.pow(exponent).clamp_min(1);
    }

    public override string? LowerDivisor(IAttentionGraph g, string counts, Func<string> rowSums) =>
        g.Max(g.Pow(counts, g.HeadParameter(ParameterName, t => t.sigmoid(), "scale_exponent")), g.Constant(1f));

    public override string Python => """
        e = params["scale_logit"].to(counts.dtype).sigmoid().view(1, -1, 1, 1)
        return counts.pow(e).clamp_min(1)
        """;

    public override string PythonParameters => """return {"scale_logit": torch.full((num_heads,), spec["scale_init"])}""";
}

/// <summary>Normalised attention: divide row i by |Σ_j A_ij| + 1e-6.</summary>
public sealed class RowSumScaling : Scaling
{
    public const double Epsilon = 1e-6;
    public override string Name => "rowsum";
    public override Tensor? Divisor(Tensor counts, Func<Tensor> rowSums, Func<string, Tensor> parameter) => rowSums().abs() + Epsilon;
    public override string? LowerDivisor(IAttentionGraph g, string counts, Func<string> rowSums) => g.Add(g.Abs(rowSums()), g.Constant((float)Epsilon));
    public override string Python => $"return a.sum(-1, keepdim=True).abs() + {Epsilon.ToString("R", CultureInfo.InvariantCulture)}";
}
