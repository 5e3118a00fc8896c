using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Data.Tasks;
using BertLab.Text;
using BertLab.Training.Metrics;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>
/// Fine-tunes on every GLUE task whose files are present and reports the GLUE average (<see cref="GlueScore"/>).
/// Each task goes to &lt;out&gt;/&lt;task&gt;/ (its results.json and model); &lt;out&gt;/results.json holds
/// {"task": "glue", "metrics": {task: main score (median over seeds), ..., "score": GLUE average}, "partial": ...}.
/// </summary>
public static class GlueBenchmark
{
    public sealed record Result(IReadOnlyDictionary<string, FineTuneResult> Tasks, double Average, bool Partial, IReadOnlyList<string> Missing);

    public static Result Run(string glueDirectory, string modelDirectory, ITokenizer tokenizer, FineTuneOptions options,
        Device device, string outputDirectory, Action<string>? log = null)
    {
        log ??= _ => { };
        if (!Directory.Exists(glueDirectory)) throw new BertLabException($"GLUE folder not found: {glueDirectory}");
        var results = new Dictionary<string, FineTuneResult>();
        var missing = new List<string>();
        foreach (var spec in GlueTasks.All)
        {
            var dir = Path.Combine(glueDirectory, spec.GlueFolder!);
            if (!File.Exists(Path.Combine(dir, spec.TrainFile))) { missing.Add(spec.Name); log($"{spec.Name}: no {spec.GlueFolder}/{spec.TrainFile}, skipped"); continue; }
            var data = TaskDataLoader.Load(spec, dir);
            if (data.SkippedRows > 0) log($"{spec.Name}: skipped {data.SkippedRows} malformed row(s)");
            results[spec.Name] = new FineTuner(modelDirectory, tokenizer, options, device, log).Run(data, Path.Combine(outputDirectory, spec.Name));
        }
        if (results.Count == 0) throw new BertLabException($"{glueDirectory}: none of the GLUE task folders ({string.Join(", ", GlueTasks.All.Select(t => t.GlueFolder))}) holds a train.tsv");
        var scores = results.ToDictionary(kv => kv.Key, kv => kv.Value.Metrics[TaskScorer.ScoreKey]);
        double average = GlueScore.Average(scores, allowPartial: missing.Count > 0);

        var metrics = new JsonObject();
        foreach (var (task, score) in scores) metrics[task] = Math.Round(score, 6);
        metrics[TaskScorer.ScoreKey] = Math.Round(average, 6);
        var json = new JsonObject
        {
            ["task"] = "glue",
            ["metrics"] = metrics,
            ["score_definition"] = "GLUE average: mean of the nine task scores (MNLI once, as the mean of matched and mismatched accuracy)",
            ["partial"] = missing.Count > 0,
            ["missing"] = new JsonArray(missing.Select(m => (JsonNode?)JsonValue.Create(m)).ToArray()),
        };
        Directory.CreateDirectory(outputDirectory);
        File.WriteAllText(Path.Combine(outputDirectory, FineTuneResult.FileName), json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return new Result(results, average, missing.Count > 0, missing);
    }
}
