namespace BertLab.Data.Tasks;

/// <summary>The metrics a task is evaluated with; each is computed once over a whole evaluation split.</summary>
public enum TaskMetric
{
    /// <summary>Fraction of examples whose predicted class equals the gold class.</summary>
    Accuracy,
    /// <summary>F1 of the positive class (<see cref="TaskSpec.PositiveLabelId"/>).</summary>
    F1,
    /// <summary>Matthews correlation coefficient.</summary>
    Mcc,
    /// <summary>Pearson correlation of predicted and gold scores.</summary>
    Pearson,
    /// <summary>Spearman rank correlation (average ranks for ties).</summary>
    Spearman,
}

public static class TaskMetricNames
{
    /// <summary>The name a metric has in results.json and tables.</summary>
    public static string Name(this TaskMetric m) => m switch
    {
        TaskMetric.Accuracy => "accuracy",
        TaskMetric.F1 => "f1",
        TaskMetric.Mcc => "mcc",
        TaskMetric.Pearson => "pearson",
        TaskMetric.Spearman => "spearman",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };
}
