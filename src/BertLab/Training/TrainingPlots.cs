using BertLab.Training;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Plotting;

namespace BertLab.Training;

/// <summary>Loss and learning-rate curves of a run, from its metrics.jsonl, as PNG files under plots/.</summary>
public static class TrainingPlots
{
    public static List<string> Write(string runDir)
    {
        var metrics = ReadMetrics(runDir);
        var train = metrics.Where(m => m[MetricKeys.Loss] is not null).ToList();
        var eval = metrics.Where(m => m[MetricKeys.ValLoss] is not null).ToList();
        if (train.Count == 0) return new();
        var written = new List<string>();
        var loss = Path.Combine(runDir, "plots", "loss.png");
        LinePlot.Save(loss, "Masked-LM loss", "step", "loss", new[]
        {
            new Series("train", train.Select(m => m[MetricKeys.Step]!.GetValue<double>()).ToList(), train.Select(m => m[MetricKeys.Loss]!.GetValue<double>()).ToList()),
            new Series("validation", eval.Select(m => m[MetricKeys.Step]!.GetValue<double>()).ToList(), eval.Select(m => m[MetricKeys.ValLoss]!.GetValue<double>()).ToList()),
        });
        written.Add(loss);
        var lr = Path.Combine(runDir, "plots", "lr.png");
        LinePlot.Save(lr, "Learning rate", "step", "lr", new[]
        {
            new Series("lr", train.Select(m => m[MetricKeys.Step]!.GetValue<double>()).ToList(), train.Select(m => m[MetricKeys.Lr]!.GetValue<double>()).ToList()),
        });
        written.Add(lr);
        return written.Where(File.Exists).ToList();
    }

    public static List<JsonObject> ReadMetrics(string runDir)
    {
        var path = Path.Combine(runDir, Trainer.MetricsFile);
        if (!File.Exists(path)) return new();
        var list = new List<JsonObject>();
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            try { if (JsonNode.Parse(line) is JsonObject o) list.Add(o); }
            catch (JsonException) { /* a line cut by a kill: ignore */ }
        }
        return list;
    }
}
