using BertLab.Data.Tasks;
using BertLab.Training.Metrics;
using Xunit;

namespace BertLab.Tests.Metrics;

/// <summary>Metric functions against values computed by hand (formulas in the comments).</summary>
public class MetricTests
{
    const int Precision = 12;

    [Fact]
    public void Accuracy_CountsMatches() =>
        Assert.Equal(0.75, ClassificationMetrics.Accuracy(new[] { 1, 0, 1, 1 }, new[] { 1, 0, 0, 1 }));

    [Fact]
    public void F1_OfThePositiveClass()
    {
        // TP 2 (i=0,4), FP 1 (i=1), FN 1 (i=3): 2·2 / (2·2 + 1 + 1) = 2/3
        int[] pred = { 1, 1, 0, 0, 1 }, gold = { 1, 0, 0, 1, 1 };
        Assert.Equal(2.0 / 3, ClassificationMetrics.F1(pred, gold), Precision);
        // of class 0: TP 1 (i=2), FP 1 (i=3), FN 1 (i=1): 2 / 4
        Assert.Equal(0.5, ClassificationMetrics.F1(pred, gold, positive: 0), Precision);
    }

    [Fact]
    public void F1_ClassNeverPredicted_IsZeroNotNaN()
    {
        Assert.Equal(0.0, ClassificationMetrics.F1(new[] { 0, 0, 0 }, new[] { 1, 0, 1 }));
        Assert.Equal(0.0, ClassificationMetrics.F1(new[] { 0, 0 }, new[] { 0, 0 }));   // positive class absent everywhere
    }

    [Fact]
    public void Mcc_Binary()
    {
        // TP 2, TN 1, FP 1, FN 1: (2·1 − 1·1) / √(3·3·2·2) = 1/6
        Assert.Equal(1.0 / 6, ClassificationMetrics.MatthewsCorrelation(new[] { 1, 1, 0, 0, 1 }, new[] { 1, 0, 0, 1, 1 }), Precision);
        Assert.Equal(1.0, ClassificationMetrics.MatthewsCorrelation(new[] { 1, 0, 1 }, new[] { 1, 0, 1 }), Precision);
        Assert.Equal(-1.0, ClassificationMetrics.MatthewsCorrelation(new[] { 0, 1, 0 }, new[] { 1, 0, 1 }), Precision);
    }

    [Fact]
    public void Mcc_ConstantPredictions_IsZero()
    {
        Assert.Equal(0.0, ClassificationMetrics.MatthewsCorrelation(new[] { 1, 1, 1, 1 }, new[] { 1, 0, 1, 0 }));
        Assert.Equal(0.0, ClassificationMetrics.MatthewsCorrelation(new[] { 1, 0, 1, 0 }, new[] { 0, 0, 0, 0 }));
    }

    [Fact]
    public void Mcc_MultiClass()
    {
        // 3 correct of 6; every class 2 gold, 2 predicted: (3·6 − 12) / √((36 − 12)(36 − 12)) = 6/24
        Assert.Equal(0.25, ClassificationMetrics.MatthewsCorrelation(new[] { 0, 1, 2, 0, 1, 2 }, new[] { 0, 1, 2, 1, 2, 0 }), Precision);
    }

    [Fact]
    public void Pearson_ByHand()
    {
        // dx = −1.5 −.5 .5 1.5, dy = −3 −1 0 4: Σdxdy 11, Σdx² 5, Σdy² 26 → 11/√130
        Assert.Equal(11 / Math.Sqrt(130), CorrelationMetrics.Pearson(new double[] { 1, 2, 3, 4 }, new double[] { 2, 4, 5, 9 }), Precision);
        Assert.Equal(-1.0, CorrelationMetrics.Pearson(new double[] { 1, 2, 3 }, new double[] { 3, 2, 1 }), Precision);
    }

    [Fact]
    public void Pearson_ConstantInput_IsZero() =>
        Assert.Equal(0.0, CorrelationMetrics.Pearson(new double[] { 2, 2, 2 }, new double[] { 1, 2, 3 }));

    [Fact]
    public void Ranks_TiesShareTheAverageRank() =>
        Assert.Equal(new[] { 1, 2.5, 2.5, 4, 5.5, 5.5 }, CorrelationMetrics.Ranks(new double[] { 10, 20, 20, 30, 40, 40 }.Reverse().Reverse().ToArray()));

    [Fact]
    public void Spearman_WithTies()
    {
        // ranks x = 1 2.5 2.5 4, y = 1 3 2 4; Σdxdy 4.5, Σdx² 4.5, Σdy² 5 → 4.5/√22.5 (SciPy: 0.9486832980505138)
        Assert.Equal(4.5 / Math.Sqrt(22.5), CorrelationMetrics.Spearman(new double[] { 1, 2, 2, 3 }, new double[] { 1, 3, 2, 4 }), Precision);
        Assert.Equal(0.9486832980505138, CorrelationMetrics.Spearman(new double[] { 1, 2, 2, 3 }, new double[] { 1, 3, 2, 4 }), Precision);
        // monotone but not linear: Spearman 1, Pearson below 1
        double[] x = { 1, 2, 3, 4 }, y = { 1, 10, 100, 1000 };
        Assert.Equal(1.0, CorrelationMetrics.Spearman(x, y), Precision);
        Assert.True(CorrelationMetrics.Pearson(x, y) < 0.9);
    }

    [Fact]
    public void Scorer_MRPC_ScoreIsMeanOfF1AndAccuracy()
    {
        var split = GlueTasks.MRPC.DevSplits[0];
        var m = TaskScorer.Evaluate(GlueTasks.MRPC, new[] { (split, SplitPredictions.Classes(new[] { 1, 1, 0, 0, 1 }, new[] { 1, 0, 0, 1, 1 })) });
        Assert.Equal(new[] { "f1", "accuracy", "score" }, m.Keys);
        Assert.Equal(2.0 / 3, m["f1"], Precision);
        Assert.Equal(0.6, m["accuracy"], Precision);
        Assert.Equal((2.0 / 3 + 0.6) / 2, m["score"], Precision);
    }

    [Fact]
    public void Scorer_MNLI_MatchedAndMismatched()
    {
        var s = GlueTasks.MNLI.DevSplits;
        var m = TaskScorer.Evaluate(GlueTasks.MNLI, new[]
        {
            (s[0], SplitPredictions.Classes(new[] { 0, 1, 2, 2 }, new[] { 0, 1, 2, 0 })),
            (s[1], SplitPredictions.Classes(new[] { 0, 1 }, new[] { 0, 2 })),
        });
        Assert.Equal(0.75, m["accuracy_matched"]);
        Assert.Equal(0.5, m["accuracy_mismatched"]);
        Assert.Equal(0.625, m["score"]);
    }

    [Fact]
    public void Scorer_STSB_ScoreIsMeanOfPearsonAndSpearman()
    {
        var m = TaskScorer.Evaluate(GlueTasks.STSB, new[] { (GlueTasks.STSB.DevSplits[0], SplitPredictions.Scores(new double[] { 1, 2, 2, 3 }, new double[] { 1, 3, 2, 4 })) });
        double pearson = CorrelationMetrics.Pearson(new double[] { 1, 2, 2, 3 }, new double[] { 1, 3, 2, 4 });
        Assert.Equal((pearson + 4.5 / Math.Sqrt(22.5)) / 2, m["score"], Precision);
    }

    [Fact]
    public void Scorer_CoLA_IsMcc()
    {
        var m = TaskScorer.Evaluate(GlueTasks.CoLA, new[] { (GlueTasks.CoLA.DevSplits[0], SplitPredictions.Classes(new[] { 1, 1, 1 }, new[] { 1, 0, 1 })) });
        Assert.Equal(0.0, m["mcc"]);
        Assert.Equal(0.0, m["score"]);
    }

    [Fact]
    public void GlueAverage_BertLargeLeaderboardRow_Is80Point5()
    {
        // BERT-large on the GLUE leaderboard (test): task scores as TaskScorer gives them
        var scores = new Dictionary<string, double>
        {
            ["cola"] = 60.5, ["sst2"] = 94.9, ["mrpc"] = (89.3 + 85.4) / 2, ["stsb"] = (87.6 + 86.5) / 2,
            ["qqp"] = (72.1 + 89.3) / 2, ["mnli"] = (86.7 + 85.9) / 2, ["qnli"] = 92.7, ["rte"] = 70.1, ["wnli"] = 65.1,
        };
        Assert.Equal(80.5, Math.Round(GlueScore.Average(scores), 1));
        Assert.Equal(724.7 / 9, GlueScore.Average(scores), 9);
    }

    [Fact]
    public void GlueAverage_MissingTask_IsAnError_UnlessPartial()
    {
        var scores = new Dictionary<string, double> { ["cola"] = 0.5, ["SST-2"] = 0.9 };
        Assert.Throws<BertLabException>(() => GlueScore.Average(scores));
        Assert.Equal(0.7, GlueScore.Average(scores, allowPartial: true), Precision);
        Assert.Throws<BertLabException>(() => GlueScore.Average(new Dictionary<string, double> { ["sentiment"] = 1 }, allowPartial: true));
    }
}
