using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Training;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;

namespace BertLab.Experiments;

/// <summary>One finding as another study decided it, for the table of both tasks.</summary>
public sealed record FindingSummary(string Id, string Claim, string Verdict, bool Decided, string? Statistic);

/// <summary>A study's verdicts as read from its findings.json (or evaluated from its sweep directory).</summary>
public sealed record StudyFindingsSummary(string Source, string Budget, string Task, IReadOnlyList<FindingSummary> Findings);

/// <summary>
/// findings.json, written beside a study's report: the study-level facts (budget, task, margin and its origin, the gate and
/// its level, the built-in A/A) and per finding id its task, verdict class, the statistic that decided it (mean, 95% interval,
/// margin, seeds, outcome, in nats or, for η_max orderings, decades), every comparison its rule computed, the gate and the
/// runs it rests on (names and directories). Only the runs' results enter it (no wall times, no absolute paths of the
/// machine), in a fixed order, so the same run files give the same bytes.
/// </summary>
public static class StudyFindingsFile
{
    public const string FileName = "findings.json";
    public const string Format = "bertlab-findings/1";

    static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
    static JsonNode? Num(double? v) => v is double d ? Num(d) : null;

    /// <summary>A paired statistic: mean, lower, upper, margin, unit, seeds, outcome, seeds needed, whether it is a consistent
    /// difference within the margin, and the per-seed pairs.</summary>
    public static JsonObject? Statistic(PairedComparison? c, string? comparison = null)
    {
        if (c is null) return null;
        var o = new JsonObject();
        if (comparison is not null) o["comparison"] = comparison;
        o["unit"] = c.Unit;
        o["mean"] = Num(c.MeanDifference); o["lower"] = Num(c.Lower); o["upper"] = Num(c.Upper); o["margin"] = Num(c.Margin);
        o["seeds"] = c.N; o["outcome"] = PairedComparison.OutcomeName(c.Outcome); o["seeds_needed"] = c.SeedsNeeded;
        o["consistent_within_margin"] = c.ConsistentWithinMargin;
        o["pairs"] = new JsonArray(c.Pairs.Select(p => (JsonNode?)new JsonObject { ["seed"] = p.Seed, ["a"] = Num(p.A), ["b"] = Num(p.B) }).ToArray());
        return o;
    }

    /// <summary>What a run trained and was validated on: "generated index:…" or "text: the embedded corpus" (corpus files by
    /// their name, or relative to the sweep directory when inside it).</summary>
    public static string DataOf(RunRecord r, string sweepDir)
    {
        var data = r.Config?["data"];
        if (data?["synthetic"]?.GetValue<string>() is string spec) return $"generated {spec}";
        string Files(JsonNode? n) => n is JsonArray a && a.Count > 0 ? string.Join(", ", a.Select(x => CorpusName(x?.GetValue<string>() ?? "", sweepDir))) : "the embedded corpus";
        var text = $"text: {Files(data?["corpus"])}";
        if (data?["validation_corpus"] is JsonArray v && v.Count > 0) text += $" (validated on {Files(v)})";
        return text;
    }

    static string CorpusName(string path, string sweepDir)
    {
        if (path.Length == 0) return "?";
        string full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
        string embedded = Path.GetFullPath(BertLab.Data.CorpusFile.DefaultCorpusPath).TrimEnd(Path.DirectorySeparatorChar);
        // the embedded corpus is data/corpus of whichever checkout made the runs
        if (full == embedded || (Path.GetFileName(full) == "corpus" && Path.GetFileName(Path.GetDirectoryName(full)) == "data")) return "the embedded corpus";
        string rel = Path.GetRelativePath(Path.GetFullPath(sweepDir), full);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel) ? Path.GetFileName(full) : rel.Replace(Path.DirectorySeparatorChar, '/');
    }

    /// <summary>The study's task in words: the generated task's spec, or the text corpus with its vocabulary.</summary>
    public static string TaskLabel(StudyRuns st)
    {
        if (st.Task is string spec) return $"generated task {spec}";
        var cal = st.Plan.Design.Calibration;
        var r = st.Seeds.Select(s => st.Run(cal.Arm, st.Lr(cal.Lr), s)).FirstOrDefault(x => x?.Config is not null);
        string corpus = r is null ? "the corpus" : DataOf(r, st.Results.Directory)["text: ".Length..];
        return $"text ({corpus}, vocabulary {Math.Round(Math.Exp(st.LnV)).ToString("N0", CultureInfo.InvariantCulture)})";
    }

    public static JsonObject Build(StudyRuns st, IReadOnlyList<FindingVerdict> verdicts)
    {
        var results = st.Results;
        var b = st.Budget;
        var task = new JsonObject { ["kind"] = st.Task is null ? "text" : "generated", ["label"] = TaskLabel(st) };
        if (st.Task is string spec) task["spec"] = spec;
        task["vocab_size"] = (long)Math.Round(Math.Exp(st.LnV));

        var gate = new JsonObject
        {
            ["what"] = st.GateName,
            ["level"] = st.BagLevel is double bag ? new JsonObject { ["kind"] = "bag_of_values", ["nats"] = Num(bag) }
                : st.UnigramLevel is double uni ? new JsonObject { ["kind"] = "unigram", ["nats"] = Num(uni) } : null,
            ["lr"] = b.Log1e4,
            ["attention_in_use"] = st.Gate is PairedComparison g && ClaimRules.AttentionInUse(g),
            ["statistic"] = Statistic(st.Gate),
            ["text"] = st.GateText,
        };

        JsonObject? aa = null;
        if (b.CalibrationSeeds is int all)
        {
            int k = all / 2;
            var cal = st.Plan.Design.Calibration;
            aa = new JsonObject
            {
                ["arm"] = cal.Arm.Name, ["lr"] = st.Lr(cal.Lr),
                ["halves"] = new JsonArray(new JsonArray(Enumerable.Range(1, k).Select(i => (JsonNode?)i).ToArray()), new JsonArray(Enumerable.Range(k + 1, k).Select(i => (JsonNode?)i).ToArray())),
                ["statistic"] = Statistic(st.AA),
                ["equivalent"] = st.AA?.Outcome == ComparisonOutcome.Equivalent,
            };
        }

        var classes = new JsonObject();
        foreach (var c in Enum.GetValues<VerdictClass>()) classes[Verdict.ClassName(c)] = verdicts.Count(v => v.Result.Class == c);

        var findings = new JsonObject();
        foreach (var v in verdicts)
        {
            var decisive = v.Statistics.FirstOrDefault(x => ReferenceEquals(x.Statistic, v.Result.Statistic) && x.Statistic is not null);
            var runs = v.Runs.Select(n => (Name: n, Run: results.Find(n))).ToList();
            findings[v.Id] = new JsonObject
            {
                ["claim"] = v.Claim,
                ["task"] = TaskLabel(st),
                ["data"] = new JsonArray(runs.Where(x => x.Run is not null).Select(x => DataOf(x.Run!, results.Directory)).Distinct().Select(x => (JsonNode?)x).ToArray()),
                ["verdict"] = v.VerdictName,
                ["decided"] = v.Result.Decided,
                ["seeds_needed"] = v.Result.SeedsNeeded,
                ["reason"] = v.Result.Reason,
                ["rule"] = v.Rule,
                ["statistic"] = Statistic(v.Result.Statistic, decisive?.Comparison),
                ["comparisons"] = new JsonArray(v.Statistics.Select(x =>
                {
                    var o = new JsonObject { ["comparison"] = x.Comparison, ["decides"] = x.Decides, ["statistic"] = Statistic(x.Statistic) };
                    return (JsonNode?)o;
                }).ToArray()),
                ["gate"] = new JsonObject
                {
                    ["lr"] = v.GateLr, ["attention_in_use"] = v.GateStatistic is PairedComparison fg && ClaimRules.AttentionInUse(fg),
                    ["statistic"] = Statistic(v.GateStatistic), ["text"] = v.Gate,
                },
                ["runs"] = new JsonArray(runs.Select(x => (JsonNode?)new JsonObject
                {
                    ["name"] = x.Name, ["dir"] = x.Run?.Dir, ["status"] = x.Run is null ? "missing" : x.Run.Status.ToText(),
                }).ToArray()),
            };
        }

        return new JsonObject
        {
            ["format"] = Format,
            ["study"] = st.Plan.Design.Name,
            ["budget"] = b.Name,
            ["task"] = task,
            ["seeds"] = new JsonArray(st.Seeds.Select(s => (JsonNode?)s).ToArray()),
            ["steps"] = b.Steps,
            ["ln_v"] = Num(st.LnV),
            ["margin"] = new JsonObject { ["nats"] = Num(st.Margin), ["origin"] = st.MarginOrigin, ["max_lr_decades"] = st.LrMarginDecades },
            ["gate"] = gate,
            ["aa"] = aa,
            ["summary"] = new JsonObject { ["findings"] = verdicts.Count, ["decided"] = verdicts.Count(v => v.Result.Decided), ["classes"] = classes },
            ["findings"] = findings,
        };
    }

    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The file's text: indented, "\n" line ends, a final newline.</summary>
    public static string ToText(JsonObject o) => o.ToJsonString(Indented).Replace("\r\n", "\n") + "\n";

    public static string Write(string dir, JsonObject o)
    {
        var path = Path.Combine(dir, FileName);
        File.WriteAllText(path, ToText(o));
        return path;
    }

    /// <summary>The verdicts a findings.json holds. Throws a <see cref="BertLabException"/> naming the path when it is not one.</summary>
    public static StudyFindingsSummary Read(string path)
    {
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new BertLabException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new BertLabException($"{path}: not valid JSON ({e.Message})"); }
        return FromJson(o, path);
    }

    public static StudyFindingsSummary FromJson(JsonObject o, string source)
    {
        if (o["format"]?.GetValue<string>() != Format)
            throw new BertLabException($"{source}: not a findings file of this version (\"format\" is '{o["format"]?.ToJsonString() ?? "missing"}', expected '{Format}')");
        if (o["findings"] is not JsonObject f) throw new BertLabException($"{source}: \"findings\" is missing");
        var list = new List<FindingSummary>();
        foreach (var (id, node) in f)
        {
            if (node is not JsonObject x) throw new BertLabException($"{source}: finding '{id}' is not an object");
            list.Add(new FindingSummary(id, x["claim"]?.GetValue<string>() ?? "", x["verdict"]?.GetValue<string>() ?? "?",
                x["decided"]?.GetValue<bool>() ?? false, StatisticText(x["statistic"] as JsonObject)));
        }
        return new StudyFindingsSummary(source, o["budget"]?.GetValue<string>() ?? "?", o["task"]?["label"]?.GetValue<string>() ?? "?", list);
    }

    /// <summary>"−0.2000 [−0.2500, −0.1500] nats" from a statistic object, or null.</summary>
    public static string? StatisticText(JsonObject? s)
    {
        if (s is null) return null;
        static string F(JsonNode? n) => RunRecord.Num(n) is double d ? d.ToString("0.0000", CultureInfo.InvariantCulture) : "–";
        string unit = s["unit"]?.GetValue<string>() is string u ? " " + u : "";
        return $"{F(s["mean"])} [{F(s["lower"])}, {F(s["upper"])}]{unit}";
    }

    /// <summary>A study's verdicts for the table of both tasks: from a research-log sweep directory (evaluated from its runs),
    /// else from a findings.json in the directory, or from the file itself.</summary>
    public static StudyFindingsSummary Load(string path)
    {
        if (File.Exists(path)) return Read(path);
        if (!Directory.Exists(path)) throw new BertLabException($"--beside {path}: no such file or directory");
        if (File.Exists(Path.Combine(path, SweepState.FileName)))
        {
            var results = SweepResults.Load(path);
            if (results.Builtin == ResearchLogSweep.Name && results.Budget is string bn && ResearchLogSweep.Budgets.TryGetValue(bn, out var b))
            {
                var st = new StudyRuns(results, ResearchLogSweep.Plan(b));
                return FromJson(Build(st, ResearchLogFindings.Evaluate(st)), path);
            }
            if (!File.Exists(Path.Combine(path, FileName)))
                throw new BertLabException($"--beside {path}: the sweep there is not a research-log study of a known budget ({ResearchLogSweep.BudgetNames}) and the directory holds no {FileName}");
        }
        var file = Path.Combine(path, FileName);
        if (!File.Exists(file)) throw new BertLabException($"--beside {path}: neither a research-log sweep directory ({SweepState.FileName}) nor a report directory holding {FileName}");
        return Read(file);
    }
}
