using System.Globalization;

namespace BertLab.Data.Tasks;

/// <summary>Reads a task's files into examples with class ids (or regression scores).</summary>
public static class TaskDataLoader
{
    /// <summary>Reads the training file and every evaluation split of <paramref name="spec"/> from <paramref name="directory"/>.</summary>
    public static TaskDataset Load(TaskSpec spec, string directory)
    {
        if (!Directory.Exists(directory)) throw new BertLabException($"task '{spec.Name}': folder not found: {directory}");
        var train = ReadRaw(spec, directory, spec.TrainFile);
        if (!train.HasLabels) throw new BertLabException($"{train.Path}: no label column '{spec.LabelColumn}'");
        if (train.Examples.Count == 0) throw new BertLabException($"{train.Path}: no examples");
        if (!spec.IsRegression && spec.Labels is null) spec = spec.WithLabels(InferLabels(train.Examples, spec.LabelColumn));

        int skipped = train.SkippedRows;
        var dev = new List<TaskSplitData>();
        foreach (var split in spec.DevSplits)
        {
            var raw = ReadRaw(spec, directory, split.File);
            if (!raw.HasLabels) throw new BertLabException($"{raw.Path}: no label column '{spec.LabelColumn}' (evaluation needs labels)");
            if (raw.Examples.Count == 0) throw new BertLabException($"{raw.Path}: no examples");
            skipped += raw.SkippedRows;
            dev.Add(new TaskSplitData(split, ToExamples(spec, raw.Examples)));
        }
        return new TaskDataset { Spec = spec, Directory = directory, Train = ToExamples(spec, train.Examples), Dev = dev, SkippedRows = skipped };
    }

    static RawTaskFile ReadRaw(TaskSpec spec, string directory, string file) =>
        TaskFileReader.Read(Path.Combine(directory, file), spec.Format, spec.TextColumn, spec.PairColumn,
            spec.LabelColumn, spec.HeaderlessColumns, spec.SkipMalformedRows);

    /// <summary>
    /// The classes of a user task: the distinct label strings of its training file, sorted
    /// (numerically when every label is an integer, so "2" comes before "10"; else ordinal). An empty label, or labels that
    /// mix numbers and words ({0, 0.5, 1, positive}), are data errors naming the row and the column, not classes.
    /// </summary>
    public static IReadOnlyList<string> InferLabels(IEnumerable<RawExample> examples, string? column = null)
    {
        var list = examples as IReadOnlyList<RawExample> ?? examples.ToList();
        var inColumn = column is null ? "" : $" in column '{column}'";
        if (list.FirstOrDefault(e => e.Label!.Trim().Length == 0) is { } empty)
            throw new BertLabException($"{empty.Source}: empty label{inColumn}; every training row needs a label (fill it in or remove the row)");
        static bool IsNumber(RawExample e) => double.TryParse(e.Label!.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out _);
        var numbers = list.Where(IsNumber).ToList();
        var words = list.Where(e => !IsNumber(e)).ToList();
        if (numbers.Count > 0 && words.Count > 0)
        {
            // the odd one out is more likely the mistake: report the first row of the smaller group
            var odd = words.Count <= numbers.Count ? words[0] : numbers[0];
            var (oddKind, otherKind, others) = words.Count <= numbers.Count ? ("a word", "numbers", numbers) : ("a number", "words", words);
            var examplesOfOthers = string.Join(", ", others.Select(e => e.Label!.Trim()).Distinct().Take(4).Select(l => $"'{l}'"));
            throw new BertLabException($"{odd.Source}: label '{odd.Label!.Trim()}'{inColumn} is {oddKind}, but the other labels are {otherKind} ({examplesOfOthers}): " +
                                       "a label column holds class names or numbers, not both");
        }
        var distinct = list.Select(e => e.Label!.Trim()).Distinct(StringComparer.Ordinal).ToList();
        bool allIntegers = distinct.All(l => long.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        return allIntegers
            ? distinct.OrderBy(l => long.Parse(l, CultureInfo.InvariantCulture)).ToList()
            : distinct.OrderBy(l => l, StringComparer.Ordinal).ToList();
    }

    /// <summary>Gives examples their class ids (or scores); labels missing from a file give unlabeled examples.</summary>
    public static IReadOnlyList<TaskExample> ToExamples(TaskSpec spec, IReadOnlyList<RawExample> raw)
    {
        Dictionary<string, int>? ids = null;
        if (!spec.IsRegression)
        {
            var labels = spec.Labels ?? throw new InvalidOperationException("classes not fixed");
            var values = spec.LabelValues ?? labels;
            ids = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < values.Count; i++) { ids[values[i]] = i; ids.TryAdd(labels[i], i); }
        }
        var result = new List<TaskExample>(raw.Count);
        foreach (var r in raw)
        {
            int? labelId = null; double? score = null;
            if (r.Label is not null)
            {
                var l = r.Label.Trim();
                if (l.Length == 0) throw new BertLabException($"{r.Source}: empty label in column '{spec.LabelColumn}'; every row needs a label (fill it in or remove the row)");
                if (ids is not null)
                {
                    if (!ids.TryGetValue(l, out int id))
                        throw new BertLabException($"{r.Source}: label '{l}' is not a class of task '{spec.Name}' (allowed: {string.Join(", ", (spec.LabelValues ?? spec.Labels!).Select(v => $"'{v}'"))})");
                    labelId = id;
                }
                else
                {
                    if (!double.TryParse(l, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) || !double.IsFinite(s))
                        throw new BertLabException($"{r.Source}: label '{l}' of regression task '{spec.Name}' is not a number");
                    score = s;
                }
            }
            result.Add(new TaskExample(r.Text, r.Pair, labelId, score) { Source = r.Source });
        }
        return result;
    }
}
