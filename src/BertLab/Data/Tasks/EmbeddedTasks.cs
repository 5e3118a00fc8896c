namespace BertLab.Data.Tasks;

/// <summary>Tasks whose data ships with BertLab in data/tasks/ (see data/tasks/README.md for provenance).</summary>
public static class EmbeddedTasks
{
    /// <summary>
    /// Binary sentiment of 3,000 review sentences (UCI Sentiment Labelled Sentences, Kotzias et al., KDD 2015,
    /// CC BY 4.0) in SST-2's layout; the default task of <c>bertlab finetune</c>.
    /// </summary>
    public static readonly TaskSpec Sentiment = new()
    {
        Name = "sentiment", EmbeddedFolder = "tasks/sentiment-sentences",
        Description = "Review sentences (Amazon, IMDb, Yelp), positive or negative; 2,400 train / 600 dev",
        TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "sentence", LabelColumn = "label",
        Labels = new[] { "negative", "positive" }, LabelValues = new[] { "0", "1" },
        Metrics = new[] { TaskMetric.Accuracy }, ScoreMetrics = new[] { "accuracy" },
    };

    /// <summary>Movie reviews, long documents (many beyond 512 tokens): IMDb Large Movie Review Dataset (Maas et al., ACL 2011).</summary>
    public static readonly TaskSpec Imdb = new()
    {
        Name = "imdb", EmbeddedFolder = "tasks/imdb",
        Description = "IMDb movie reviews, positive or negative, long documents; 20,000 train / 2,500 dev",
        TrainFile = "train.jsonl.gz", DevSplits = new[] { new TaskSplit("dev", "dev.jsonl.gz") }, Format = TaskFileFormat.Jsonl,
        TextColumn = "text", LabelColumn = "label",
        Labels = new[] { "negative", "positive" }, LabelValues = new[] { "0", "1" },
        Metrics = new[] { TaskMetric.Accuracy }, ScoreMetrics = new[] { "accuracy" },
    };

    public static readonly IReadOnlyList<TaskSpec> All = new[] { Sentiment, Imdb };
}
