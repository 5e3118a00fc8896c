namespace BertLab.Data.Tasks;

/// <summary>
/// Everything BertLab needs to know about a sentence(-pair) task: where its files are, which columns hold
/// the texts and the label, the label names (or regression), and how it is scored.
/// File names are relative to the task's folder (absolute names are kept as they are).
/// </summary>
public sealed class TaskSpec
{
    /// <summary>Lower-case name used on the command line and in results.json ("mrpc", "sentiment").</summary>
    public required string Name { get; init; }
    public string Description { get; init; } = "";

    /// <summary>The folder name of the official GLUE distribution ("MRPC", "SST-2"), null for other tasks.</summary>
    public string? GlueFolder { get; init; }
    /// <summary>Folder under BertLab's data/ holding an embedded task ("tasks/sentiment-sentences"), null if none.</summary>
    public string? EmbeddedFolder { get; init; }

    public required string TrainFile { get; init; }
    /// <summary>One or more evaluation splits (MNLI has "matched" and "mismatched").</summary>
    public required IReadOnlyList<TaskSplit> DevSplits { get; init; }
    public TaskFileFormat Format { get; init; } = TaskFileFormat.Tsv;

    /// <summary>
    /// Column names for files without a header row (CoLA's train.tsv and dev.tsv); null when the
    /// first row of every file names the columns.
    /// </summary>
    public IReadOnlyList<string>? HeaderlessColumns { get; init; }

    public required string TextColumn { get; init; }
    public string? PairColumn { get; init; }
    public required string LabelColumn { get; init; }

    /// <summary>True for regression (one output, MSE loss); the label column then holds numbers.</summary>
    public bool IsRegression { get; init; }
    /// <summary>Class names by id; null for regression, or for user tasks whose classes are read from the training file.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>How each class is written in the files, parallel to <see cref="Labels"/> ("0", "1" for SST-2); null: as named.</summary>
    public IReadOnlyList<string>? LabelValues { get; init; }
    /// <summary>The class F1 is computed for (MRPC: equivalent, QQP: duplicate).</summary>
    public int PositiveLabelId { get; init; } = 1;

    /// <summary>Rows with too few columns are skipped (and counted) instead of failing: the GLUE tasks (the original QQP release has a few).</summary>
    public bool SkipMalformedRows { get; init; }

    /// <summary>The metrics reported on every evaluation split.</summary>
    public required IReadOnlyList<TaskMetric> Metrics { get; init; }
    /// <summary>Names of the metrics (see <see cref="MetricName"/>) whose mean is the task's main score.</summary>
    public required IReadOnlyList<string> ScoreMetrics { get; init; }

    /// <summary>
    /// The name a metric on a split has in results.json: the metric's name when the task has one
    /// evaluation split ("accuracy"), else suffixed with the split ("accuracy_matched").
    /// </summary>
    public string MetricName(TaskMetric metric, TaskSplit split) =>
        DevSplits.Count == 1 ? metric.Name() : $"{metric.Name()}_{split.Name}";

    /// <summary>All metric names this task reports, in order, without the main "score".</summary>
    public IReadOnlyList<string> MetricNames =>
        DevSplits.SelectMany(s => Metrics.Select(m => MetricName(m, s))).ToList();

    /// <summary>How the main score is made, for tables and help text ("mean of f1 and accuracy").</summary>
    public string ScoreDefinition => ScoreMetrics.Count == 1 ? ScoreMetrics[0] : $"mean of {string.Join(" and ", ScoreMetrics)}";

    public int NumLabels => IsRegression ? 1 : Labels?.Count ?? throw new InvalidOperationException($"task '{Name}': classes are known only after loading its training file");

    /// <summary>A copy with the classes fixed (for user tasks whose classes come from the data).</summary>
    public TaskSpec WithLabels(IReadOnlyList<string> labels) => new()
    {
        Name = Name, Description = Description, GlueFolder = GlueFolder, EmbeddedFolder = EmbeddedFolder,
        TrainFile = TrainFile, DevSplits = DevSplits, Format = Format, HeaderlessColumns = HeaderlessColumns,
        TextColumn = TextColumn, PairColumn = PairColumn, LabelColumn = LabelColumn, IsRegression = IsRegression,
        Labels = labels, LabelValues = null, PositiveLabelId = PositiveLabelId, SkipMalformedRows = SkipMalformedRows,
        Metrics = Metrics, ScoreMetrics = ScoreMetrics,
    };

    public override string ToString() => Name;
}
