using BertLab.Attention.Lowering;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// Sim(q, k) of ATTENTION.md §1: maps Q' (B, H, Sq, d) and K' (B, H, Sk, d) to the score matrix (B, H, Sq, Sk).
/// Dot-product similarities also expose the two factors whose plain product is the matrix, which is what
/// the linear (right-product) kernel needs.
/// </summary>
public abstract class Similarity
{
    public abstract string Name { get; }

    /// <summary>Extra learnable per-head parameters: name → initial value for this many heads.</summary>
    public virtual IReadOnlyDictionary<string, Tensor> CreateParameters(int heads, AttentionConfig config) =>
        new Dictionary<string, Tensor>();

    /// <summary>The (B, H, Sq, Sk) score matrix.</summary>
    public abstract Tensor Scores(Tensor q, Tensor k, Func<string, Tensor> parameter);

    /// <summary>(A, B) with Scores(q, k) = A Bᵀ; only for similarities whose registry entry is
    /// <see cref="SimilarityEntry.IsDotProduct"/>.</summary>
    public virtual (Tensor Q, Tensor K) DotFactors(Tensor q, Tensor k) =>
        throw new InvalidOperationException($"similarity '{Name}' is not a dot product");

    /// <summary>ONNX lowering: the (B, H, Sq, Sk) scores of Q', K' in the graph, as <see cref="Scores"/> computes them.</summary>
    public abstract string Lower(IAttentionGraph g, string q, string k);

    /// <summary>ONNX lowering of <see cref="DotFactors"/> (the right product's form).</summary>
    public virtual (string Q, string K) LowerDotFactors(IAttentionGraph g, string q, string k) =>
        throw new InvalidOperationException($"similarity '{Name}' is not a dot product");

    /// <summary>Python lowering (bertlab_attention.py): the body of <c>def scores(q, k, params)</c> returning the
    /// (B, H, Sq, Sk) scores; the module's helpers (l2, l1, lp_normalize, lp_distance, lp_p) are in scope.</summary>
    public abstract string Python { get; }

    /// <summary>Python lowering of <see cref="CreateParameters"/>: the body of <c>def parameters(num_heads, spec)</c>
    /// returning {name: initial tensor}; null when the similarity has none.</summary>
    public virtual string? PythonParameters => null;

    /// <summary>The similarity a configuration names, built by its <see cref="AttentionRegistry.Similarities"/> entry.</summary>
    public static Similarity Create(AttentionConfig config) => AttentionRegistry.Similarities[config.Similarity].Create(config);

    /// <summary>
    /// f(x) in the forward pass, but the gradient of f(clamp(x, lo, hi)): keeps the exact value of a function
    /// whose derivative is infinite at the edge of its domain (sqrt at 0, arccos at ±1) while giving finite gradients.
    /// </summary>
    protected static Tensor WithSafeGradient(Tensor exactInput, Tensor safeInput, Func<Tensor, Tensor> f)
    {
        var safe = f(safeInput);
        return safe + (f(exactInput) - safe).detach();
    }
}

/// <summary>q·k / √d (BERT's).</summary>
public sealed class DotSimilarity : Similarity
{
    public override string Name => "dot";
    public override (Tensor Q, Tensor K) DotFactors(Tensor q, Tensor k) => (q / Math.Sqrt(q.shape[^1]), k);
    public override Tensor Scores(Tensor q, Tensor k, Func<string, Tensor> parameter)
    {
        var (a, b) = DotFactors(q, k);
        return matmul(a, b.transpose(-2, -1));
    }
    public override (string Q, string K) LowerDotFactors(IAttentionGraph g, string q, string k) => (g.Div(q, g.Constant(MathF.Sqrt(g.HeadDim))), k);
    public override string Lower(IAttentionGraph g, string q, string k)
    {
        var (a, b) = LowerDotFactors(g, q, k);
        return g.MatMul(a, g.KT(b));
    }
    public override string Python => "return torch.matmul(q / math.sqrt(q.shape[-1]), k.transpose(-2, -1))";
}

/// <summary>N(q)·N(k) ∈ [−1, 1].</summary>
public sealed class CosineSimilarity : Similarity
{
    public override string Name => "cosine";
    public override (Tensor Q, Tensor K) DotFactors(Tensor q, Tensor k) => (VectorNormalization.L2(q), VectorNormalization.L2(k));
    public override Tensor Scores(Tensor q, Tensor k, Func<string, Tensor> parameter)
    {
        var (a, b) = DotFactors(q, k);
        return matmul(a, b.transpose(-2, -1));
    }
    public override (string Q, string K) LowerDotFactors(IAttentionGraph g, string q, string k) => (VectorNormalization.LowerL2(g, q), VectorNormalization.LowerL2(g, k));
    public override string Lower(IAttentionGraph g, string q, string k)
    {
        var (a, b) = LowerDotFactors(g, q, k);
        return g.MatMul(a, g.KT(b));
    }
    public override string Python => "return torch.matmul(l2(q), l2(k).transpose(-2, -1))";
}

/// <summary>
/// 1 − ‖N(q) − N(k)‖₂ / 2 ∈ [0, 1], through ‖a − b‖² = ‖a‖² + ‖b‖² − 2a·b (one matmul, no S×S×d tensor;
/// the general form keeps zero rows exact). The square root gets a finite gradient at distance 0.
/// </summary>
public sealed class EuclideanSimilarity : Similarity
{
    public override string Name => "euclidean";
    public override Tensor Scores(Tensor q, Tensor k, Func<string, Tensor> parameter) => 1 - Distance(q, k) / 2;

    public static Tensor Distance(Tensor q, Tensor k)
    {
        var a = VectorNormalization.L2(q);
        var b = VectorNormalization.L2(k);
        var squared = a.square().sum(-1, keepdim: true) + b.square().sum(-1).unsqueeze(-2) - 2 * matmul(a, b.transpose(-2, -1));
        return WithSafeGradient(squared.clamp_min(0.0), squared.clamp_min(1e-12), t => t.sqrt());
    }

    public override string Lower(IAttentionGraph g, string q, string k)
    {
        string a = VectorNormalization.LowerL2(g, q), b = VectorNormalization.LowerL2(g, k);
        string aa = g.ReduceSum(g.Mul(a, a), -1, keepDims: true);
        string bb = g.Unsqueeze(g.ReduceSum(g.Mul(b, b), -1, keepDims: false), -2);
        string squared = g.Sub(g.Add(aa, bb), g.Mul(g.Constant(2f), g.MatMul(a, g.KT(b))));
        return g.OneMinusHalf(g.Sqrt(g.Max(squared, g.Constant(0f))));
    }

    public override string Python => """
        a, b = l2(q), l2(k)
        sq = a.square().sum(-1, keepdim=True) + b.square().sum(-1).unsqueeze(-2) - 2 * torch.matmul(a, b.transpose(-2, -1))
        return 1 - sq.clamp_min(0.0).sqrt() / 2
        """;
}

/// <summary>1 − arccos(clamp(N(q)·N(k), −1, 1)) / π ∈ [0, 1]; finite gradient at ±1.</summary>
public sealed class AngularSimilarity : Similarity
{
    public override string Name => "angular";
    public override Tensor Scores(Tensor q, Tensor k, Func<string, Tensor> parameter)
    {
        var cos = matmul(VectorNormalization.L2(q), VectorNormalization.L2(k).transpose(-2, -1));
        var angle = WithSafeGradient(cos.clamp(-1.0, 1.0), cos.clamp(-1.0 + 1e-6, 1.0 - 1e-6), t => t.arccos());
        return 1 - angle / Math.PI;
    }

    public override string Lower(IAttentionGraph g, string q, string k)
    {
        string cos = g.MatMul(VectorNormalization.LowerL2(g, q), g.KT(VectorNormalization.LowerL2(g, k)));
        return g.Sub(g.Constant(1f), g.Div(g.Acos(g.Clip(cos, -1f, 1f)), g.Constant(MathF.PI)));
    }

    public override string Python => """
        cos = torch.matmul(l2(q), l2(k).transpose(-2, -1))
        return 1 - cos.clamp(-1.0, 1.0).arccos() / math.pi
        """;
}

/// <summary>1 − ‖N₁(q) − N₁(k)‖₁ / 2 ∈ [0, 1], computed block-wise over keys.</summary>
public sealed class ManhattanSimilarity : Similarity
{
    readonly int _keyBlock;
    public ManhattanSimilarity(int keyBlock) => _keyBlock = keyBlock;
    public override string Name => "manhattan";
    public override Tensor Scores(Tensor q, Tensor k, Func<string, Tensor> parameter)
    {
        var one = ones(1, 1, 1, 1, q.dtype, q.device);
        return 1 - BlockwiseLpDistance.Compute(VectorNormalization.L1(q), VectorNormalization.L1(k), one, _keyBlock) / 2;
    }

    /// <summary>The graph materialises the (B, H, S, S, d) differences (no block-wise loop in ONNX).</summary>
    public override string Lower(IAttentionGraph g, string q, string k)
    {
        string diff = g.Sub(g.Unsqueeze(VectorNormalization.LowerL1(g, q), 3), g.Unsqueeze(VectorNormalization.LowerL1(g, k), 2));
        return g.OneMinusHalf(g.ReduceSum(g.Abs(diff), -1, keepDims: false));
    }

    public override string Python => """
        one = torch.ones(1, 1, 1, 1, dtype=q.dtype, device=q.device)
        return 1 - lp_distance(l1(q), l1(k), one) / 2
        """;
}

/// <summary>
/// 1 − ‖Nₚ(q) − Nₚ(k)‖ₚ / 2 with a learnable p = softplus(r) + 1e-6 per head (parameter "p_logit", shape [H]),
/// computed block-wise over keys. p → ∞ approaches the Chebyshev distance.
/// </summary>
public sealed class LpSimilarity : Similarity
{
    public const string ParameterName = "p_logit";
    public const double MinP = 1e-6;
    readonly int _keyBlock;
    public LpSimilarity(int keyBlock) => _keyBlock = keyBlock;
    public override string Name => "lp";

    /// <summary>r with softplus(r) + 1e-6 = pInit: r = log(exp(pInit − 1e-6) − 1) (= pInit − 1e-6 + log1p(−exp(−(pInit − 1e-6)))).</summary>
    public static double LogitFor(double pInit)
    {
        double x = pInit - MinP;
        return x > 30 ? x + Math.Log(-double.ExpM1(-x)) : Math.Log(double.ExpM1(x));
    }

    /// <summary>p per head, (1, H, 1, 1), from the raw parameter r of shape [H].</summary>
    public static Tensor P(Tensor logit) => (nn.functional.softplus(logit) + MinP).view(1, -1, 1, 1);

    public override IReadOnlyDictionary<string, Tensor> CreateParameters(int heads, AttentionConfig config) =>
        new Dictionary<string, Tensor> { [ParameterName] = full(heads, LogitFor(config.PInit), ScalarType.Float32) };

    public override Tensor Scores(Tensor q, Tensor k, Func<string, Tensor> parameter)
    {
        var p = P(parameter(ParameterName)).to(q.dtype);
        return 1 - BlockwiseLpDistance.Compute(VectorNormalization.Lp(q, p), VectorNormalization.Lp(k, p), p, _keyBlock) / 2;
    }

    /// <summary>BlockwiseLpDistance's m·t^{1/p} (m = max|x|, t = Σ (|x|/m)^p) over the materialised (B, H, S, S, d) differences.</summary>
    public override string Lower(IAttentionGraph g, string q, string k)
    {
        string p = g.HeadParameter(ParameterName, t => P(t).view(-1), "p");
        string p5 = g.HeadParameter(ParameterName, t => P(t).view(-1), "p5", extraDims: 1);
        string diff = g.Sub(g.Unsqueeze(VectorNormalization.LowerLp(g, q, p), 3), g.Unsqueeze(VectorNormalization.LowerLp(g, k, p), 2));
        string abs = g.Abs(diff);
        string m = g.ReduceMax(abs, -1, keepDims: true);
        string r = g.Div(abs, g.Where(g.Greater(m, g.Constant(0f)), m, g.Constant(1f)));
        string t = g.ReduceSum(g.Pow(r, p5), -1, keepDims: false);
        return g.OneMinusHalf(g.Mul(g.Squeeze(m, -1), g.Pow(t, g.Reciprocal(p))));
    }

    public override string Python => """
        p = lp_p(params["p_logit"]).to(q.dtype)
        return 1 - lp_distance(lp_normalize(q, p), lp_normalize(k, p), p) / 2
        """;

    public override string PythonParameters => """return {"p_logit": torch.full((num_heads,), lp_logit_for(spec["p_init"]))}""";
}
