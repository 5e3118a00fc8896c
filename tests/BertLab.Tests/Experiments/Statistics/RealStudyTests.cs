using System.Text.Json.Nodes;
using BertLab.Data.Synthetic;
using BertLab.Experiments.Statistics;
using BertLab.Training;
using Xunit;
using Xunit.Abstractions;

namespace BertLab.Tests.Experiments.Statistics;

/// <summary>
/// The decision rule on real training runs (tiny model, synthetic associative recall, a few dozen steps each): an A/A study
/// (one configuration, two sets of seeds paired by position) comes out equivalent or underpowered, never "better"; a planted
/// handicap (a learning rate 30× too low, which leaves the model near its initial loss) is found with the right sign.
/// </summary>
public class RealStudyTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-study-").FullName;
    readonly ITestOutputHelper _out;
    public RealStudyTests(ITestOutputHelper output) => _out = output;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    static readonly SyntheticTask Task = new() { Keys = 16, Values = 16, MinPairs = 2, MaxPairs = 6 };

    double FinalValLoss(long seed, double lr)
    {
        var json = RunConfig.DefaultJson();
        json["model"] = new JsonObject { ["preset"] = "tiny", ["vocab_size"] = Task.VocabSize, ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0, ["max_position_embeddings"] = 64 };
        json["attention"] = "softmax";
        json["data"] = new JsonObject { ["seq_len"] = Task.MaxLength };
        json["optimizer"] = new JsonObject { ["name"] = "adamw", ["lr"] = lr, ["weight_decay"] = 0.01, ["clip_norm"] = 1.0 };
        json["schedule"] = new JsonObject { ["name"] = "constant", ["warmup_steps"] = 5 };
        json["run"] = new JsonObject { ["steps"] = 40, ["batch_size"] = 16, ["log_interval"] = 40, ["eval_interval"] = 40, ["eval_batches"] = 100,
            ["checkpoint_interval"] = 1000, ["threads"] = 1, ["seed"] = seed };
        var dir = Path.Combine(_tmp, $"{seed}-{lr}");
        var summary = new Trainer(RunConfig.FromJson(json), dir, new SyntheticBatchSource(Task, seed, validationExamples: 128)).Run();
        Assert.Equal(RunStatus.Completed, summary.Status);
        return TrainingPlots.ReadMetrics(dir).Last(m => m["val_loss"] is not null)["val_loss"]!.GetValue<double>();
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void AaStudyIsNeverBetterAndAPlantedHandicapIsFound()
    {
        // 1e-3: at 3e-3 one seed of eight spiked to 4.40 nats at step 40 (the others 2.68–2.84), so the pooled SD, and with it
        // the margin, grew to 0.8 nats and a 0.35-nat handicap read as "equivalent": the margin must come from stable pilot runs
        const double lr = 1e-3;
        var seeds = Enumerable.Range(1, 8).Select(i => (long)i).ToArray();
        var a = seeds.ToDictionary(s => s, s => FinalValLoss(s, lr));
        var a2 = seeds.ToDictionary(s => s, s => FinalValLoss(s + 100, lr));       // same configuration, other seeds
        var aa = PairedComparison.Compute(seeds.Select(s => new SeedPair(s, a[s], a2[s])).ToList());
        _out.WriteLine($"A/A: {string.Join(", ", seeds.Select(s => $"{a[s]:F4}/{a2[s]:F4}"))} → {PairedComparison.OutcomeName(aa.Outcome)}: {aa.Reason}");
        Assert.NotEqual(ComparisonOutcome.ABetter, aa.Outcome);
        Assert.NotEqual(ComparisonOutcome.BBetter, aa.Outcome);

        var handicapped = seeds.Take(4).ToDictionary(s => s, s => FinalValLoss(s, lr / 30));
        var planted = PairedComparison.Compute(seeds.Take(4).Select(s => new SeedPair(s, a[s], handicapped[s])).ToList());
        _out.WriteLine($"handicap: {string.Join(", ", seeds.Take(4).Select(s => $"{a[s]:F4}/{handicapped[s]:F4}"))} → {PairedComparison.OutcomeName(planted.Outcome)}: {planted.Reason}");
        Assert.Equal(ComparisonOutcome.ABetter, planted.Outcome);
    }
}
