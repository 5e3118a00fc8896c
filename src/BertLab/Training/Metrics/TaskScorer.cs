using BertLab.Data.Tasks;

namespace BertLab.Training.Metrics;

/// <summary>Computes a task's metrics (<see cref="TaskSpec.Metrics"/> on every evaluation split) and its main score.</summary>
public static class TaskScorer
{
    /// <summary>The key of the task's main score in the metrics (see <see cref="TaskSpec.ScoreMetrics"/>).</summary>
    public const string ScoreKey = "score";

    /// <summary>
    /// Every metric of the task by name ("accuracy", or "accuracy_matched"/"accuracy_mismatched" for MNLI),
    /// in the spec's order, followed by "score": the mean of <see cref="TaskSpec.ScoreMetrics"/>.
    /// </summary>
    public static Dictionary<string, double> Evaluate(TaskSpec spec, IReadOnlyList<(TaskSplit Split, SplitPredictions Predictions)> splits)
    {
        var result = new Dictionary<string, double>();
        foreach (var (split, p) in splits)
            foreach (var m in spec.Metrics)
                result[spec.MetricName(m, split)] = Compute(m, p, spec.PositiveLabelId);
        result[ScoreKey] = MainScore(spec, result);
        return result;
    }

    public static double MainScore(TaskSpec spec, IReadOnlyDictionary<string, double> metrics) =>
        spec.ScoreMetrics.Select(name => metrics.TryGetValue(name, out var v) ? v
            : throw new InvalidOperationException($"task '{spec.Name}': score needs metric '{name}', which was not computed")).Average();

    public static double Compute(TaskMetric metric, SplitPredictions p, int positiveLabelId = 1)
    {
        bool classes = p.GoldClasses is not null;
        if (classes != (metric is TaskMetric.Accuracy or TaskMetric.F1 or TaskMetric.Mcc))
            throw new InvalidOperationException($"metric {metric.Name()} does not apply to {(classes ? "class" : "score")} predictions");
        return metric switch
        {
            TaskMetric.Accuracy => ClassificationMetrics.Accuracy(p.PredictedClasses!, p.GoldClasses!),
            TaskMetric.F1 => ClassificationMetrics.F1(p.PredictedClasses!, p.GoldClasses!, positiveLabelId),
            TaskMetric.Mcc => ClassificationMetrics.MatthewsCorrelation(p.PredictedClasses!, p.GoldClasses!),
            TaskMetric.Pearson => CorrelationMetrics.Pearson(p.PredictedScores!, p.GoldScores!),
            TaskMetric.Spearman => CorrelationMetrics.Spearman(p.PredictedScores!, p.GoldScores!),
            _ => throw new ArgumentOutOfRangeException(nameof(metric)),
        };
    }
}
