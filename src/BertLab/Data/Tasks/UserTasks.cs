using System.Globalization;
using System.Text.Json;

namespace BertLab.Data.Tasks;

/// <summary>
/// Tasks on a user's own data: TSV (quoting disabled), CSV (RFC 4180) or JSONL files, optionally .gz,
/// with a named text column, an optional pair column and a label column. Classification labels are
/// strings turned into ids in sorted order (numerically if all are integers); regression labels are numbers.
/// </summary>
public static class UserTasks
{
    /// <summary>Column pairs recognised as (text, pair), in order: the GLUE layouts and the usual NLI names.</summary>
    public static readonly (string Text, string Pair)[] PairColumnGuesses =
    {
        ("sentence1", "sentence2"), ("question1", "question2"), ("question", "sentence"), ("premise", "hypothesis"),
        ("#1 String", "#2 String"), ("text", "text_pair"), ("text", "pair"),
    };
    /// <summary>Single-text columns recognised when no pair layout matches, in order.</summary>
    public static readonly string[] TextColumnGuesses = { "text", "sentence", "review", "content", "document" };
    public static readonly string[] LabelColumnGuesses = { "label", "labels", "gold_label", "score", "target", "is_duplicate", "Quality" };
    static readonly string[] Extensions = { ".tsv", ".csv", ".jsonl", ".json", ".tsv.gz", ".csv.gz", ".jsonl.gz", ".json.gz" };

    /// <summary>A task from explicit files and columns.</summary>
    /// <param name="labels">class names in id order; null: the sorted distinct labels of the training file</param>
    public static TaskSpec Create(string name, string trainFile, string devFile, string textColumn, string? pairColumn,
        string labelColumn, bool regression, IReadOnlyList<string>? labels = null)
    {
        var format = TaskFileFormats.FromPath(trainFile);
        if (TaskFileFormats.FromPath(devFile) != format)
            throw new BertLabException($"task '{name}': train file {trainFile} and dev file {devFile} must have the same format");
        bool binary = labels is { Count: 2 };
        return new TaskSpec
        {
            Name = name, Description = $"user task ({Path.GetFileName(trainFile)}, {Path.GetFileName(devFile)})",
            TrainFile = trainFile, DevSplits = new[] { new TaskSplit("dev", devFile) }, Format = format,
            TextColumn = textColumn, PairColumn = pairColumn, LabelColumn = labelColumn,
            IsRegression = regression, Labels = regression ? null : labels,
            Metrics = regression ? new[] { TaskMetric.Pearson, TaskMetric.Spearman }
                : binary ? new[] { TaskMetric.Accuracy, TaskMetric.F1, TaskMetric.Mcc } : new[] { TaskMetric.Accuracy },
            ScoreMetrics = regression ? new[] { "pearson", "spearman" } : new[] { "accuracy" },
        };
    }

    /// <summary>
    /// A task file (JSON, comments allowed): {"name", "train", "dev", "text_column", "pair_column",
    /// "label_column", "problem_type": "classification"|"regression", "labels": [...]}; files are relative to it.
    /// Only train and dev are required; the columns default to the first of the usual names found.
    /// </summary>
    public static TaskSpec FromJsonFile(string path)
    {
        if (!File.Exists(path)) throw new BertLabException($"task file not found: {path}");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new BertLabException($"{path}: invalid JSON: {e.Message}"); }
        if (root.ValueKind != JsonValueKind.Object) throw new BertLabException($"{path}: must hold a JSON object");
        var allowed = new[] { "name", "description", "train", "dev", "text_column", "pair_column", "label_column", "problem_type", "labels" };
        foreach (var p in root.EnumerateObject())
            if (!allowed.Contains(p.Name))
                throw new BertLabException($"{path}: unknown key '{p.Name}' (allowed: {string.Join(", ", allowed)})");

        string? Str(string key)
        {
            if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.String) throw new BertLabException($"{path}: '{key}' must be a string");
            return v.GetString();
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string train = Path.Combine(dir, Str("train") ?? throw new BertLabException($"{path}: 'train' (the training file) is required"));
        string dev = Path.Combine(dir, Str("dev") ?? throw new BertLabException($"{path}: 'dev' (the evaluation file) is required"));
        string name = Str("name") ?? Path.GetFileNameWithoutExtension(path);
        var problem = Str("problem_type");
        if (problem is not (null or "classification" or "regression"))
            throw new BertLabException($"{path}: 'problem_type' is '{problem}'; allowed: classification, regression");
        List<string>? labels = null;
        if (root.TryGetProperty("labels", out var lv) && lv.ValueKind != JsonValueKind.Null)
        {
            if (lv.ValueKind != JsonValueKind.Array || lv.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String))
                throw new BertLabException($"{path}: 'labels' must be an array of strings (class names in id order)");
            labels = lv.EnumerateArray().Select(x => x.GetString()!).ToList();
            if (labels.Count < 2 || labels.Distinct().Count() != labels.Count)
                throw new BertLabException($"{path}: 'labels' must name at least two distinct classes");
        }
        var spec = Detect(name, train, dev, Str("text_column"), Str("pair_column"), Str("label_column"),
            problem is null ? null : problem == "regression", labels);
        var description = Str("description");
        return description is null ? spec : Describe(spec, description);
    }

    /// <summary>
    /// A task from a folder holding train.{tsv,csv,jsonl}[.gz] and dev.* (or validation.*), with the
    /// columns guessed from the usual names (text/sentence/sentence1/question..., label/score...).
    /// </summary>
    public static TaskSpec FromDirectory(string directory)
    {
        string? Find(params string[] stems) =>
            stems.SelectMany(s => Extensions.Select(e => Path.Combine(directory, s + e))).FirstOrDefault(File.Exists);
        var train = Find("train") ?? throw new BertLabException($"{directory}: no train.tsv, train.csv or train.jsonl (optionally .gz) here");
        var dev = Find("dev", "validation", "valid", "val") ?? throw new BertLabException($"{directory}: no dev.tsv, dev.csv or dev.jsonl (or validation.*) here");
        return Detect(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))), train, dev, null, null, null, null, null);
    }

    /// <summary>
    /// Fills in what was not given: columns from the usual names; regression when the label column is
    /// named "score" or "target", or its values are numbers that are not all integers.
    /// </summary>
    public static TaskSpec Detect(string name, string train, string dev, string? text, string? pair, string? label,
        bool? regression, IReadOnlyList<string>? labels)
    {
        var format = TaskFileFormats.FromPath(train);
        var columns = TaskFileReader.Columns(train, format);
        string Unknown(string what) => $"{train}: cannot tell which column holds the {what} (columns: {string.Join(", ", columns.Select(c => $"'{c}'"))}); name it in a task file (text_column, pair_column, label_column)";
        if (text is null)
        {
            var guess = GuessTextColumns(columns) ?? throw new BertLabException(Unknown("text"));
            text = guess.Text;
            pair ??= guess.Pair;
        }
        label ??= Find(columns, LabelColumnGuesses) ?? throw new BertLabException(Unknown("label"));
        if (regression is null)
        {
            if (label is "score" or "target") regression = true;
            else
            {
                var raw = TaskFileReader.Read(train, format, text, pair, label);
                var values = raw.Examples.Where(e => e.Label is not null).Select(e => e.Label!.Trim()).ToList();
                bool allNumbers = values.Count > 0 && values.All(v => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
                bool allIntegers = values.All(v => long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
                regression = allNumbers && !allIntegers;
            }
        }
        if (!regression.Value && labels is null)
        {
            var raw = TaskFileReader.Read(train, format, text, pair, label);
            if (!raw.HasLabels) throw new BertLabException($"{train}: no label column '{label}'");
            labels = TaskDataLoader.InferLabels(raw.Examples, label);
        }
        return Create(name, train, dev, text, pair, label, regression.Value, labels);
    }

    /// <summary>
    /// The text (and pair) columns among <paramref name="columns"/>: the first layout of <see cref="PairColumnGuesses"/>
    /// whose two columns are both present, else the first of <see cref="TextColumnGuesses"/>; null if none. Names
    /// match exactly first, then ignoring case; the file's own spelling is returned.
    /// </summary>
    public static (string Text, string? Pair)? GuessTextColumns(IReadOnlyList<string> columns)
    {
        foreach (var (t, p) in PairColumnGuesses)
            if (Find(columns, t) is string text && Find(columns, p) is string pair) return (text, pair);
        return Find(columns, TextColumnGuesses) is string single ? (single, null) : null;
    }

    static string? Find(IReadOnlyList<string> columns, params string[] names)
    {
        foreach (var n in names)
        {
            var exact = columns.FirstOrDefault(c => c == n)
                ?? columns.FirstOrDefault(c => string.Equals(c.Trim(), n, StringComparison.OrdinalIgnoreCase));
            if (exact is not null) return exact;
        }
        return null;
    }

    static TaskSpec Describe(TaskSpec s, string description) => new()
    {
        Name = s.Name, Description = description, TrainFile = s.TrainFile, DevSplits = s.DevSplits, Format = s.Format,
        TextColumn = s.TextColumn, PairColumn = s.PairColumn, LabelColumn = s.LabelColumn, IsRegression = s.IsRegression,
        Labels = s.Labels, Metrics = s.Metrics, ScoreMetrics = s.ScoreMetrics,
    };
}
