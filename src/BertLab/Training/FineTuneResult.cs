using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.IO;

namespace BertLab.Training;

/// <summary>One epoch of one seed: its mean training loss and the dev metrics after it.</summary>
public sealed record EpochResult(int Epoch, double TrainLoss, IReadOnlyDictionary<string, double> Metrics, double Seconds);

/// <summary>One seed: every epoch, and the best one by the task's main score.</summary>
public sealed record SeedResult(int Seed, int BestEpoch, IReadOnlyDictionary<string, double> Metrics, IReadOnlyList<EpochResult> Epochs);

/// <summary>Spread of one metric over the seeds.</summary>
public sealed record MetricSpread(double Median, double Min, double Max, double Std);

/// <summary>
/// A fine-tuning run. results.json holds <c>task</c> and <c>metrics</c> (metric name → median over seeds of the
/// best-epoch value; "score" is the task's main score), plus the spread, every seed and epoch, and the settings.
/// </summary>
public sealed class FineTuneResult
{
    public const string FileName = "results.json";

    public required string Task { get; init; }
    /// <summary>Metric name → median over seeds (each seed at its best epoch).</summary>
    public required IReadOnlyDictionary<string, double> Metrics { get; init; }
    public required IReadOnlyDictionary<string, MetricSpread> Spread { get; init; }
    public required IReadOnlyList<SeedResult> Seeds { get; init; }
    /// <summary>How "score" is made ("mean of f1 and accuracy").</summary>
    public required string ScoreDefinition { get; init; }
    /// <summary>The seed whose model was saved (the best score), null when none was saved.</summary>
    public int? SavedSeed { get; init; }
    /// <summary>Settings of the run (model, hyper-parameters), written as they are.</summary>
    public JsonObject Settings { get; init; } = new();

    /// <summary>The median; for an even count the mean of the middle two.</summary>
    public static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(x => x).ToArray();
        if (v.Length == 0) throw new ArgumentException("no values");
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Median, min, max and (population) standard deviation of each metric over the seeds.</summary>
    public static Dictionary<string, MetricSpread> Summarize(IReadOnlyList<SeedResult> seeds, IEnumerable<string> metricNames)
    {
        var result = new Dictionary<string, MetricSpread>();
        foreach (var name in metricNames)
        {
            var v = seeds.Select(s => s.Metrics[name]).ToArray();
            double mean = v.Average();
            result[name] = new MetricSpread(Median(v), v.Min(), v.Max(), Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Average()));
        }
        return result;
    }

    public JsonObject ToJson()
    {
        static JsonObject Dict(IReadOnlyDictionary<string, double> d)
        {
            var o = new JsonObject();
            foreach (var (k, v) in d) o[k] = Round(v);
            return o;
        }
        var spread = new JsonObject();
        foreach (var (k, s) in Spread)
            spread[k] = new JsonObject { ["median"] = Round(s.Median), ["min"] = Round(s.Min), ["max"] = Round(s.Max), ["std"] = Round(s.Std) };
        var seeds = new JsonArray();
        foreach (var s in Seeds)
        {
            var epochs = new JsonArray();
            foreach (var e in s.Epochs)
                epochs.Add(new JsonObject { ["epoch"] = e.Epoch, ["train_loss"] = Round(e.TrainLoss), ["seconds"] = Math.Round(e.Seconds, 2), ["metrics"] = Dict(e.Metrics) });
            seeds.Add(new JsonObject { ["seed"] = s.Seed, ["best_epoch"] = s.BestEpoch, ["metrics"] = Dict(s.Metrics), ["epochs"] = epochs });
        }
        return new JsonObject
        {
            ["task"] = Task,
            ["metrics"] = Dict(Metrics),
            ["score_definition"] = ScoreDefinition,
            ["spread"] = spread,
            ["saved_seed"] = SavedSeed,
            ["settings"] = Settings.DeepClone(),
            ["seeds"] = seeds,
        };
    }

    static double Round(double v) => Math.Round(v, 6);

    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var json = ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        AtomicFile.Write(path, tmp => File.WriteAllText(tmp, json));
    }
}
