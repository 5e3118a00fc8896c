namespace BertLab.Training.Metrics;

/// <summary>Predictions and gold labels of one evaluation split: class ids, or scores for regression.</summary>
public sealed class SplitPredictions
{
    public int[]? PredictedClasses { get; private init; }
    public int[]? GoldClasses { get; private init; }
    public double[]? PredictedScores { get; private init; }
    public double[]? GoldScores { get; private init; }
    public int Count => GoldClasses?.Length ?? GoldScores!.Length;

    public static SplitPredictions Classes(int[] predicted, int[] gold) => new() { PredictedClasses = predicted, GoldClasses = gold };
    public static SplitPredictions Scores(double[] predicted, double[] gold) => new() { PredictedScores = predicted, GoldScores = gold };
}
