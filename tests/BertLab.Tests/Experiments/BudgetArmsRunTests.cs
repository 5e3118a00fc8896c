using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Experiments;

/// <summary>
/// Every arm of every research-log budget trains for two steps on the CPU through the real CLI: the budgets CI cannot run
/// (cpu, cpu-text, gpu: an hour or a GPU) would otherwise break unseen. Each arm keeps its own settings (attention, optimiser,
/// long sequences, the punctuation-stripped corpus, the learnt vocabulary padded to its size); only the scale shrinks: the tiny
/// model's shape with the arm's vocabulary, two steps, small batches, fp32 on the CPU.
/// </summary>
public sealed class BudgetArmsRunTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-budget-arms-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    public static IEnumerable<object[]> Budgets => ResearchLogSweep.Budgets.Keys.Select(b => new object[] { b });

    [Theory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(Budgets))]
    public void EveryArm_TrainsTwoSteps(string budget)
    {
        var sweepDir = Path.Combine(_dir, budget);
        var b = ResearchLogSweep.Budgets[budget];
        var corpus = b.Task is BertLab.Experiments.Study.CorpusTask ? new[] { SweepTestKit.WriteCorpus(_dir) } : null;
        var full = ResearchLogSweep.Create(budget, sweepDir, corpus);
        // one run per arm (its first lr and seed), at a scale CI can afford
        var perArm = full.Runs.GroupBy(r => r.Name[..r.Name.IndexOf(" lr=", StringComparison.Ordinal)]).Select(g => g.First()).ToList();
        var shrink = new[]
        {
            ("model.hidden_size", (JsonNode?)JsonValue.Create(128)), ("model.num_hidden_layers", 2), ("model.num_attention_heads", 2), ("model.intermediate_size", 512),
            ("run.steps", 2), ("run.eval_interval", 2), ("run.log_interval", 1), ("run.eval_batches", 1), ("run.checkpoint_interval", 2),
            ("run.device", "cpu"), ("run.precision", "fp32"), ("run.threads", 1), ("schedule.warmup_steps", 1),
        };
        var runs = perArm.Select(r => new NamedRun(r.Name, r.Set.Concat(shrink.Select(s => new KeyValuePair<string, JsonNode?>(s.Item1, s.Item2?.DeepClone())))
            .Concat(new[] { new KeyValuePair<string, JsonNode?>("run.batch_size", Math.Min(4, BatchOf(full, r))) }).ToList())).ToList();
        var def = new SweepDefinition
        {
            Name = full.Name, Builtin = null, Budget = null, Base = (JsonObject)full.Base.DeepClone(), Runs = runs, Seeds = new long[] { 1 }, Setup = full.Setup,
        };
        var outcomes = new SweepRunner(def, sweepDir, SweepTestKit.Launcher(), new SweepRunOptions { Workers = 2, Cores = 2 }).Run();
        Assert.Equal(perArm.Count, outcomes.Count);
        foreach (var o in outcomes)
            Assert.True(o.Status == RunStatus.Completed, $"{budget}: {o.Dir} ended {o.Status.ToText()}: {o.Detail}");
        // the arms of the budget that differ in their data train on it: the long arms at the long length, the stripped arm on the copy
        foreach (var o in outcomes)
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(sweepDir, o.Dir, Trainer.ConfigFile)))!;
            if (o.Dir.Contains("-long-", StringComparison.Ordinal)) Assert.Equal(b.LongSeqLen, config["data"]!["seq_len"]!.GetValue<int>());
            if (o.Dir.Contains("punctuation-stripped", StringComparison.Ordinal))
            {
                Assert.EndsWith(BertLab.Experiments.Study.CorpusTask.StrippedCorpusFile, config["data"]!["corpus"]![0]!.GetValue<string>());
                Assert.Equal(corpus![0], config["data"]!["validation_corpus"]![0]!.GetValue<string>());
            }
        }
    }

    static int BatchOf(SweepDefinition def, NamedRun run) =>
        run.Set.LastOrDefault(s => s.Key == "run.batch_size").Value?.GetValue<int>() ?? def.Base["run"]!["batch_size"]!.GetValue<int>();
}
