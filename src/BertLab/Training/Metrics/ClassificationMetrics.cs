namespace BertLab.Training.Metrics;

/// <summary>
/// Classification metrics over a whole evaluation set (never averaged over batches).
/// Undefined ratios (nothing predicted positive, a constant prediction) give 0, never NaN,
/// as scikit-learn does with zero_division=0.
/// </summary>
public static class ClassificationMetrics
{
    public static double Accuracy(IReadOnlyList<int> predicted, IReadOnlyList<int> gold)
    {
        Check(predicted, gold);
        int correct = 0;
        for (int i = 0; i < gold.Count; i++) if (predicted[i] == gold[i]) correct++;
        return (double)correct / gold.Count;
    }

    /// <summary>F1 of class <paramref name="positive"/>: 2·TP / (2·TP + FP + FN); 0 when that is 0/0.</summary>
    public static double F1(IReadOnlyList<int> predicted, IReadOnlyList<int> gold, int positive = 1)
    {
        Check(predicted, gold);
        long tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < gold.Count; i++)
        {
            bool p = predicted[i] == positive, g = gold[i] == positive;
            if (p && g) tp++; else if (p) fp++; else if (g) fn++;
        }
        long denominator = 2 * tp + fp + fn;
        return denominator == 0 ? 0 : 2.0 * tp / denominator;
    }

    /// <summary>
    /// Matthews correlation coefficient, in its multi-class form (Gorodkin 2004, as scikit-learn), which for two
    /// classes is (TP·TN − FP·FN) / √((TP+FP)(TP+FN)(TN+FP)(TN+FN)). 0 when the denominator is 0
    /// (every prediction, or every gold label, the same class).
    /// </summary>
    public static double MatthewsCorrelation(IReadOnlyList<int> predicted, IReadOnlyList<int> gold)
    {
        Check(predicted, gold);
        var truePerClass = new Dictionary<int, long>();
        var predPerClass = new Dictionary<int, long>();
        long correct = 0, n = gold.Count;
        for (int i = 0; i < n; i++)
        {
            truePerClass[gold[i]] = truePerClass.GetValueOrDefault(gold[i]) + 1;
            predPerClass[predicted[i]] = predPerClass.GetValueOrDefault(predicted[i]) + 1;
            if (predicted[i] == gold[i]) correct++;
        }
        double sumPt = 0;
        foreach (var (k, t) in truePerClass) sumPt += (double)t * predPerClass.GetValueOrDefault(k);
        double sumP2 = predPerClass.Values.Sum(p => (double)p * p);
        double sumT2 = truePerClass.Values.Sum(t => (double)t * t);
        double nn = (double)n * n;
        double denominator = Math.Sqrt((nn - sumP2) * (nn - sumT2));
        return denominator == 0 ? 0 : ((double)correct * n - sumPt) / denominator;
    }

    static void Check<T>(IReadOnlyList<T> predicted, IReadOnlyList<T> gold)
    {
        if (predicted.Count != gold.Count) throw new ArgumentException($"{predicted.Count} predictions for {gold.Count} gold labels");
        if (gold.Count == 0) throw new ArgumentException("no examples to evaluate");
    }
}
