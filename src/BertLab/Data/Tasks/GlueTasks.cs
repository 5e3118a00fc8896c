namespace BertLab.Data.Tasks;

/// <summary>
/// The nine GLUE tasks, read from the official GLUE distribution's TSV files (quoting disabled) and
/// scored by GLUE's definitions. Column names and label values are those of the official files:
/// <code>
/// CoLA   train/dev: no header; source, label (0/1), original label, sentence
/// SST-2  sentence, label (0/1)
/// MRPC   Quality (0/1), #1 ID, #2 ID, #1 String, #2 String
/// QQP    id, qid1, qid2, question1, question2, is_duplicate (0/1)
/// STS-B  index, genre, filename, year, old_index, source1, source2, sentence1, sentence2, score (0–5)
/// MNLI   index, promptID, pairID, genre, sentence1_binary_parse, sentence2_binary_parse, sentence1_parse,
///        sentence2_parse, sentence1, sentence2, label1[..label5], gold_label; dev_matched.tsv, dev_mismatched.tsv
/// QNLI   index, question, sentence, label (entailment/not_entailment)
/// RTE    index, sentence1, sentence2, label (entailment/not_entailment)
/// WNLI   index, sentence1, sentence2, label (0/1; 1 = entailment)
/// </code>
/// Rows with too few fields are skipped and counted (<see cref="TaskDataset.SkippedRows"/>), as Hugging Face's
/// loader drops them: the original QQP release has a few.
/// Class ids: 0/1 files keep their numbers (SST-2 0 = negative; MRPC 1 = equivalent; QQP 1 = duplicate;
/// WNLI 1 = entailment); named classes are sorted: MNLI contradiction, entailment, neutral (the order of
/// Google's original BERT code); QNLI and RTE entailment, not_entailment.
/// Scores (the official definitions): CoLA Matthews correlation; SST-2, QNLI, RTE, WNLI accuracy;
/// MRPC and QQP mean of F1 (of class 1) and accuracy; STS-B mean of Pearson and Spearman; MNLI mean
/// of matched and mismatched accuracy (see <c>GlueScore</c> for how the GLUE average counts MNLI).
/// </summary>
public static class GlueTasks
{
    static readonly string[] ZeroOne = { "0", "1" };

    public static readonly TaskSpec CoLA = new()
    {
        Name = "cola", GlueFolder = "CoLA", Description = "Corpus of Linguistic Acceptability: is the sentence grammatical?",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        HeaderlessColumns = new[] { "source", "label", "original_label", "sentence" },
        TextColumn = "sentence", LabelColumn = "label",
        Labels = new[] { "unacceptable", "acceptable" }, LabelValues = ZeroOne,
        Metrics = new[] { TaskMetric.Mcc }, ScoreMetrics = new[] { "mcc" },
    };

    public static readonly TaskSpec SST2 = new()
    {
        Name = "sst2", GlueFolder = "SST-2", Description = "Stanford Sentiment Treebank, binary sentiment of movie-review phrases",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "sentence", LabelColumn = "label",
        Labels = new[] { "negative", "positive" }, LabelValues = ZeroOne,
        Metrics = new[] { TaskMetric.Accuracy }, ScoreMetrics = new[] { "accuracy" },
    };

    public static readonly TaskSpec MRPC = new()
    {
        Name = "mrpc", GlueFolder = "MRPC", Description = "Microsoft Research Paraphrase Corpus: are the two sentences paraphrases?",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "#1 String", PairColumn = "#2 String", LabelColumn = "Quality",
        Labels = new[] { "not_equivalent", "equivalent" }, LabelValues = ZeroOne, PositiveLabelId = 1,
        Metrics = new[] { TaskMetric.F1, TaskMetric.Accuracy }, ScoreMetrics = new[] { "f1", "accuracy" },
    };

    public static readonly TaskSpec QQP = new()
    {
        Name = "qqp", GlueFolder = "QQP", Description = "Quora Question Pairs: do the two questions ask the same?",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "question1", PairColumn = "question2", LabelColumn = "is_duplicate",
        Labels = new[] { "not_duplicate", "duplicate" }, LabelValues = ZeroOne, PositiveLabelId = 1,
        Metrics = new[] { TaskMetric.F1, TaskMetric.Accuracy }, ScoreMetrics = new[] { "f1", "accuracy" },
    };

    public static readonly TaskSpec STSB = new()
    {
        Name = "stsb", GlueFolder = "STS-B", Description = "Semantic Textual Similarity Benchmark: similarity score 0 to 5 (regression)",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "sentence1", PairColumn = "sentence2", LabelColumn = "score", IsRegression = true,
        Metrics = new[] { TaskMetric.Pearson, TaskMetric.Spearman }, ScoreMetrics = new[] { "pearson", "spearman" },
    };

    public static readonly TaskSpec MNLI = new()
    {
        Name = "mnli", GlueFolder = "MNLI", Description = "Multi-Genre NLI: does the premise entail, contradict or neither the hypothesis?",
        SkipMalformedRows = true, TrainFile = "train.tsv",
        DevSplits = new[] { new TaskSplit("matched", "dev_matched.tsv"), new TaskSplit("mismatched", "dev_mismatched.tsv") },
        TextColumn = "sentence1", PairColumn = "sentence2", LabelColumn = "gold_label",
        Labels = new[] { "contradiction", "entailment", "neutral" },
        Metrics = new[] { TaskMetric.Accuracy }, ScoreMetrics = new[] { "accuracy_matched", "accuracy_mismatched" },
    };

    public static readonly TaskSpec QNLI = new()
    {
        Name = "qnli", GlueFolder = "QNLI", Description = "Question NLI (from SQuAD): does the sentence answer the question?",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "question", PairColumn = "sentence", LabelColumn = "label",
        Labels = new[] { "entailment", "not_entailment" },
        Metrics = new[] { TaskMetric.Accuracy }, ScoreMetrics = new[] { "accuracy" },
    };

    public static readonly TaskSpec RTE = new()
    {
        Name = "rte", GlueFolder = "RTE", Description = "Recognizing Textual Entailment",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "sentence1", PairColumn = "sentence2", LabelColumn = "label",
        Labels = new[] { "entailment", "not_entailment" },
        Metrics = new[] { TaskMetric.Accuracy }, ScoreMetrics = new[] { "accuracy" },
    };

    public static readonly TaskSpec WNLI = new()
    {
        Name = "wnli", GlueFolder = "WNLI", Description = "Winograd NLI: is the sentence with the pronoun replaced entailed?",
        SkipMalformedRows = true, TrainFile = "train.tsv", DevSplits = new[] { new TaskSplit("dev", "dev.tsv") },
        TextColumn = "sentence1", PairColumn = "sentence2", LabelColumn = "label",
        Labels = new[] { "not_entailment", "entailment" }, LabelValues = ZeroOne,
        Metrics = new[] { TaskMetric.Accuracy }, ScoreMetrics = new[] { "accuracy" },
    };

    /// <summary>The nine tasks in the order of the GLUE leaderboard.</summary>
    public static readonly IReadOnlyList<TaskSpec> All = new[] { CoLA, SST2, MRPC, STSB, QQP, MNLI, QNLI, RTE, WNLI };
}
