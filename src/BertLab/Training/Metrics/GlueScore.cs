using BertLab.Data.Tasks;

namespace BertLab.Training.Metrics;

/// <summary>
/// The GLUE average, by the convention of the official leaderboard (gluebenchmark.com): the unweighted
/// mean over the nine tasks of each task's score, where a task with two metrics scores their mean
/// (MRPC and QQP: F1 and accuracy; STS-B: Pearson and Spearman) and MNLI counts once, as the mean of
/// its matched and mismatched accuracies. The diagnostic set (AX) is not part of the average.
/// Check: BERT-large on the leaderboard has CoLA 60.5, SST-2 94.9, MRPC 89.3/85.4, STS-B 87.6/86.5,
/// QQP 72.1/89.3, MNLI-m 86.7, MNLI-mm 85.9, QNLI 92.7, RTE 70.1, WNLI 65.1 and score 80.5; that is
/// (60.5 + 94.9 + 87.35 + 87.05 + 80.7 + 86.3 + 92.7 + 70.1 + 65.1) / 9 = 80.52, while counting MNLI-m
/// and MNLI-mm as two of ten entries would give 81.1. (BERT's paper's "Average" of 82.1 leaves out WNLI
/// and uses one metric per task; it is not the GLUE score.)
/// </summary>
public static class GlueScore
{
    /// <summary>
    /// The GLUE average of per-task scores (task name → <see cref="TaskScorer.ScoreKey"/> value, as
    /// <see cref="TaskScorer.Evaluate"/> gives). All nine tasks are required unless <paramref name="allowPartial"/>.
    /// </summary>
    public static double Average(IReadOnlyDictionary<string, double> taskScores, bool allowPartial = false)
    {
        var scores = new List<double>();
        foreach (var task in GlueTasks.All)
        {
            var key = taskScores.Keys.FirstOrDefault(k => TaskRegistry.Find(k) == task);
            if (key is not null) scores.Add(taskScores[key]);
            else if (!allowPartial) throw new BertLabException($"GLUE average needs all nine tasks; '{task.Name}' is missing (have: {string.Join(", ", taskScores.Keys)})");
        }
        foreach (var k in taskScores.Keys)
            if (TaskRegistry.Find(k) is not { GlueFolder: not null })
                throw new BertLabException($"'{k}' is not a GLUE task (GLUE: {string.Join(", ", GlueTasks.All.Select(t => t.Name))})");
        if (scores.Count == 0) throw new BertLabException("GLUE average: no task scores given");
        return scores.Average();
    }
}
