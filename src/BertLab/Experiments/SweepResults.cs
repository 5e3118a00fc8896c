using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Training;

namespace BertLab.Experiments;

/// <summary>A fine-tuning result found in a run's directory (a results.json of `bertlab finetune`).</summary>
public sealed record FinetuneScore(string Task, string RelativePath, IReadOnlyDictionary<string, double> Metrics);

/// <summary>One grid point as found on disk: its plan entry, resolved configuration, summary, metrics and fine-tuning results.</summary>
public sealed class RunRecord
{
    public required int Index { get; init; }
    public required string Name { get; init; }
    public required string Dir { get; init; }
    public required JsonObject Settings { get; init; }
    public JsonObject? Config { get; init; }
    public JsonObject? Summary { get; init; }
    /// <summary>Training records (with "loss"), in step order.</summary>
    public IReadOnlyList<JsonObject> Train { get; init; } = Array.Empty<JsonObject>();
    /// <summary>Validation records (with "val_loss").</summary>
    public IReadOnlyList<JsonObject> Eval { get; init; } = Array.Empty<JsonObject>();
    public IReadOnlyList<FinetuneScore> Finetune { get; init; } = Array.Empty<FinetuneScore>();
    public required RunStatus Status { get; init; }
    public int? Step { get; init; }
    /// <summary>Divergence reason or failure message.</summary>
    public string? Detail { get; init; }

    public bool Diverged => Status == RunStatus.Diverged;
    public bool Completed => Status == RunStatus.Completed;
    public double? ValLoss => Num(Summary?["validation"]?[MetricKeys.ValLoss]) ?? (Eval.Count > 0 ? Num(Eval[^1][MetricKeys.ValLoss]) : null);
    /// <summary>A key of the final validation (summary.json "validation", else the last validation record).</summary>
    public double? Validation(string key) => Num(Summary?["validation"]?[key]) ?? (Eval.Count > 0 ? Num(Eval[^1][key]) : null);
    public double? ValAccuracy => Num(Summary?["validation"]?[MetricKeys.ValAccuracy]) ?? (Eval.Count > 0 ? Num(Eval[^1][MetricKeys.ValAccuracy]) : null);
    public double? ValPerplexity => Num(Summary?["validation"]?[MetricKeys.ValPerplexity]) ?? (Eval.Count > 0 ? Num(Eval[^1][MetricKeys.ValPerplexity]) : null);
    public double? FirstLoss => Train.Count > 0 ? Num(Train[0][MetricKeys.Loss]) : null;
    public double? LastLoss => Train.Count > 0 ? Num(Train[^1][MetricKeys.Loss]) : null;
    /// <summary>The last training record's "attention" statistics (σ per head, p per head, output norm per layer).</summary>
    public JsonObject? AttentionStats => Train.LastOrDefault(r => r["attention"] is JsonObject)?["attention"] as JsonObject;

    public string Attention => Config?["attention"]?["preset"]?.GetValue<string>() ?? "?";
    public double? Lr => Num(ConfigValue(RunConfigKeys.OptimizerLr));
    public string Optimizer => ConfigValue(RunConfigKeys.OptimizerName)?.GetValue<string>() ?? "?";

    /// <summary>The value of one configuration key in the run's configuration (null when absent).</summary>
    public JsonNode? ConfigValue(ConfigKey key) => key.Path.Split('.').Aggregate((JsonNode?)Config, (node, part) => node is JsonObject o ? o[part] : null);

    /// <summary>The attention preset plus the extras that change it (token dropout, output penalty, a non-default sequence length).</summary>
    public string AttentionLabel(int commonSeqLen)
    {
        var label = Attention;
        if (Num(Config?["attention"]?["token_dropout"]) is double td && td > 0) label += $" +token_dropout {SweepDefinition.FormatNumber(td)}";
        if (Num(Config?["attention"]?["output_penalty"]) is double op && op > 0) label += $" +output_penalty {SweepDefinition.FormatNumber(op)}";
        if (Num(ConfigValue(RunConfigKeys.DataSeqLen)) is double sl && (int)sl != commonSeqLen) label += $" @seq {sl}";
        return label;
    }

    public static double? Num(JsonNode? n) => JsonNumbers.TryGetDouble(n, out var d) ? d : null;
}

/// <summary>Reads a sweep directory (local or written by SLURM array tasks): sweep.json plus every run directory.</summary>
public sealed class SweepResults
{
    public required string Directory { get; init; }
    public required JsonObject Plan { get; init; }
    public required IReadOnlyList<RunRecord> Runs { get; init; }

    public string Name => Plan["name"]?.GetValue<string>() ?? "sweep";
    public string? Builtin => Plan["builtin"]?.GetValue<string>();
    public string? Budget => Plan["budget"]?.GetValue<string>();
    public string? Description => Plan["description"]?.GetValue<string>();

    public RunRecord? Find(string name) => Runs.FirstOrDefault(r => r.Name == name);

    public static SweepResults Load(string sweepDir)
    {
        if (!System.IO.Directory.Exists(sweepDir)) throw new BertLabException($"sweep directory not found: {sweepDir}");
        var plan = SweepState.Read(sweepDir);
        var runs = new List<RunRecord>();
        foreach (var p in (plan["points"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
        {
            string rel = p["dir"]!.GetValue<string>();
            string dir = Path.Combine(sweepDir, rel);
            JsonObject? summary = ReadObject(Path.Combine(dir, Trainer.SummaryFile));
            JsonObject? config = ReadObject(Path.Combine(dir, Trainer.ConfigFile)) ?? ReadObject(Path.Combine(dir, SweepRunner.ResolvedConfigFile));
            var metrics = System.IO.Directory.Exists(dir) ? TrainingPlots.ReadMetrics(dir) : new List<JsonObject>();
            var point = PointStatus.FromJson(p);
            var status = RunStatusText.Read(summary?[MetricKeys.Status]) ?? point.Status;
            // a failure recorded by the sweep (a crash, a refused directory) outranks a stale summary
            if (point.Status == RunStatus.Failed && status is not (RunStatus.Completed or RunStatus.Diverged)) status = RunStatus.Failed;
            string? summaryReason = summary?[MetricKeys.Reason]?.GetValue<string>();
            string? detail = status == RunStatus.Failed ? point.Error ?? summaryReason : summaryReason ?? point.Reason;
            runs.Add(new RunRecord
            {
                Index = p["index"]!.GetValue<int>(), Name = p["name"]!.GetValue<string>(), Dir = rel,
                Settings = p["settings"] as JsonObject ?? new JsonObject(), Config = config, Summary = summary,
                Train = metrics.Where(m => m[MetricKeys.Loss] is not null).ToList(), Eval = metrics.Where(m => m[MetricKeys.ValLoss] is not null).ToList(),
                Finetune = FindFinetune(dir), Status = status,
                Step = summary?[MetricKeys.Step]?.GetValue<int>() ?? point.Step, Detail = detail,
            });
        }
        return new SweepResults { Directory = sweepDir, Plan = plan, Runs = runs.OrderBy(r => r.Index).ToList() };
    }

    static JsonObject? ReadObject(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonNode.Parse(File.ReadAllText(path)) as JsonObject; }
        catch (JsonException) { return null; }
    }

    /// <summary>results.json files under the run directory (fine-tuning outputs placed there), checkpoints and model aside.</summary>
    static List<FinetuneScore> FindFinetune(string runDir)
    {
        var list = new List<FinetuneScore>();
        if (!System.IO.Directory.Exists(runDir)) return list;
        foreach (var file in System.IO.Directory.EnumerateFiles(runDir, FineTuneResult.FileName, new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 3 })
                     .OrderBy(f => f, StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(runDir, file);
            if (rel.StartsWith("checkpoints", StringComparison.Ordinal)) continue;
            var o = ReadObject(file);
            if (o?["task"]?.GetValue<string>() is not string task || o["metrics"] is not JsonObject m) continue;
            var metrics = new SortedDictionary<string, double>(StringComparer.Ordinal);
            foreach (var (k, v) in m) if (RunRecord.Num(v) is double d) metrics[k] = d;
            list.Add(new FinetuneScore(task, rel, metrics));
        }
        return list;
    }
}
