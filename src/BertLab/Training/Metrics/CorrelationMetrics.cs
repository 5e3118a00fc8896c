namespace BertLab.Training.Metrics;

/// <summary>
/// Correlations of predicted and gold scores over a whole evaluation set (STS-B). A constant input has no
/// defined correlation; it gives 0 here (SciPy gives NaN), so that results stay numbers.
/// </summary>
public static class CorrelationMetrics
{
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"{x.Count} predictions for {y.Count} gold scores");
        if (x.Count == 0) throw new ArgumentException("no examples to evaluate");
        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) return 0;
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>Spearman's rho: the Pearson correlation of the ranks, tied values sharing their average rank.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y) => Pearson(Ranks(x), Ranks(y));

    /// <summary>1-based ranks; ties get the mean of the ranks they span ([10, 20, 20, 30] → [1, 2.5, 2.5, 4]).</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            double rank = (start + end) / 2.0 + 1;
            for (int k = start; k <= end; k++) ranks[order[k]] = rank;
            start = end + 1;
        }
        return ranks;
    }
}
