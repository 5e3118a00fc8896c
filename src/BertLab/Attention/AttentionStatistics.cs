using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>
/// Per-layer numbers worth logging while training: the mean norm of the attention output over real tokens,
/// σ(m_h) per head for n_pow_sigma scaling and p per head for the lp similarity (null where not used).
/// </summary>
public sealed record AttentionStatistics(double MeanOutputNorm, double[]? ScaleExponent, double[]? P)
{
    /// <summary>Least-squares slope of each sequence's mean output norm against ln(its real length) within the batch:
    /// how outputs scale with n. Null when the batch has fewer than two distinct lengths (e.g. packed data).</summary>
    public double? NormLogLengthSlope { get; init; }

    /// <summary>The smallest and largest attention logit over the real (query, key) pairs of a batch.</summary>
    /// <param name="logits">(B, H, S, S).</param>
    /// <param name="mask">(B, S) true = real token; null = all real.</param>
    public static (double Min, double Max) LogitRange(Tensor logits, Tensor? mask)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var l = logits.to_type(ScalarType.Float64);
        if (mask is null) return (l.min().item<double>(), l.max().item<double>());
        var m = mask.to_type(ScalarType.Bool);
        var pairs = (m.unsqueeze(1).unsqueeze(-1) & m.unsqueeze(1).unsqueeze(2)).expand_as(l);
        return (l.masked_fill(pairs.logical_not(), double.PositiveInfinity).min().item<double>(),
                l.masked_fill(pairs.logical_not(), double.NegativeInfinity).max().item<double>());
    }

    /// <summary>The least-squares slope of y against x; null when x has no spread.</summary>
    public static double? Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        if (n < 2) return null;
        double mx = x.Average(), my = y.Average(), sxx = 0, sxy = 0;
        for (int i = 0; i < n; i++) { sxx += (x[i] - mx) * (x[i] - mx); sxy += (x[i] - mx) * (y[i] - my); }
        return sxx > 1e-12 ? sxy / sxx : null;
    }

    /// <param name="output">Attention output, (B, S, D) or (B, H, S, d) (then the heads are merged first).</param>
    /// <param name="mask">(B, S) true = real token; null = all real.</param>
    /// <param name="parameters">The layer's mechanism parameters by name (e.g. "scale_logit").</param>
    public static AttentionStatistics Compute(Tensor output, Tensor? mask, IReadOnlyDictionary<string, Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var o = output.dim() == 4 ? output.transpose(1, 2).flatten(2) : output;
        var norms = o.norm(-1);
        double mean = mask is null
            ? 0.0
            : ((norms * mask.to_type(norms.dtype)).sum() / mask.to_type(norms.dtype).sum().clamp_min(1)).to_type(ScalarType.Float64).item<double>();
        if (mask is null) mean = norms.mean().to_type(ScalarType.Float64).item<double>();
        double[]? sigma = parameters.TryGetValue(LearnedExponentScaling.ParameterName, out var m)
            ? m.detach().sigmoid().to_type(ScalarType.Float64).cpu().data<double>().ToArray() : null;
        double[]? p = parameters.TryGetValue(LpSimilarity.ParameterName, out var r)
            ? LpSimilarity.P(r.detach()).flatten().to_type(ScalarType.Float64).cpu().data<double>().ToArray() : null;
        double? slope = null;
        if (mask is not null)
        {
            var m2 = mask.to_type(ScalarType.Float64);
            var lengths = m2.sum(1);
            var perSequence = (norms.to_type(ScalarType.Float64) * m2).sum(1) / lengths.clamp_min(1);
            var len = lengths.cpu().data<double>().ToArray();
            var avg = perSequence.cpu().data<double>().ToArray();
            var keep = Enumerable.Range(0, len.Length).Where(i => len[i] > 0).ToArray();
            slope = Slope(keep.Select(i => Math.Log(len[i])).ToArray(), keep.Select(i => avg[i]).ToArray());
        }
        return new AttentionStatistics(mean, sigma, p) { NormLogLengthSlope = slope };
    }
}
