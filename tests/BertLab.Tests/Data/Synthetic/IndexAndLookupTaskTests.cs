using System.CommandLine;
using System.Text.Json.Nodes;
using BertLab.Cli;
using BertLab.Data.Synthetic;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Data.Synthetic;

/// <summary>
/// The generated tasks of the research-log CPU study (issue 17 item 7): "index" (answer query @j with the j-th value) and
/// "lookup" (answer key k with the value stored in the pair token "k=v"). Every answer is checked through the task's own
/// vocabulary strings, so a mix-up of id ranges fails; then `data.synthetic` through the configuration and `bertlab train`.
/// </summary>
public sealed class IndexAndLookupTaskTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-synth-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, recursive: true); } catch { } }

    [Fact]
    public void IndexQueriesAreAnsweredByTheValueAtThatPosition()
    {
        var task = SyntheticTask.Parse("index:keys=12,values=7,pairs=3-10,query_fraction=0.5");
        var vocab = task.Vocabulary();
        Assert.Equal(task.VocabSize, vocab.Count);
        var lengths = new HashSet<int>();
        for (ulong i = 0; i < 400; i++)
        {
            var e = task.Generate(11, 1, i, task.MaxPairs);
            lengths.Add(e.Length);
            Assert.True(e.Length <= task.MaxLength);
            int sep = Array.IndexOf(e.InputIds, SyntheticTask.Sep);
            var values = e.InputIds[1..sep].Select(t => vocab[t]).ToArray();
            Assert.All(values, v => Assert.StartsWith("v", v));
            Assert.InRange(values.Length, 3, 10);
            int labelled = 0;
            var asked = new HashSet<int>();
            for (int j = sep + 1; j < e.Length - 1; j++)
            {
                string q = vocab[e.InputIds[j]];
                Assert.StartsWith("@", q);
                int position = int.Parse(q[1..]);
                Assert.True(asked.Add(position), "a position is asked twice");
                Assert.Equal(values[position - 1], vocab[e.Labels[j]]);
                labelled++;
            }
            Assert.Equal(labelled, e.Labels.Count(l => l != -100));
            Assert.Equal((int)Math.Max(1, Math.Round(0.5 * values.Length, MidpointRounding.AwayFromZero)), labelled);
        }
        Assert.True(lengths.Count >= 6, "sequence lengths should vary");
    }

    [Fact]
    public void LookupQueriesAreAnsweredByTheValueStoredWithTheKey()
    {
        var task = SyntheticTask.Parse("lookup:keys=9,values=5,pairs=2-8,distractors=3,distractor_rate=1");
        var vocab = task.Vocabulary();
        Assert.Equal(task.VocabSize, vocab.Count);
        Assert.Equal(5 + 9 + 5 + 45 + 3, task.VocabSize);
        for (ulong i = 0; i < 300; i++)
        {
            var e = task.Generate(4, 1, i, task.MaxPairs);
            Assert.True(e.Length <= task.MaxLength);
            int sep = Array.IndexOf(e.InputIds, SyntheticTask.Sep);
            var store = new Dictionary<string, string>();
            foreach (var t in e.InputIds[1..sep].Select(t => vocab[t]).Where(t => !t.StartsWith("d")))
            {
                var kv = t.Split('=');
                Assert.True(store.TryAdd(kv[0], kv[1]), "a key appears twice in one context");
            }
            for (int j = sep + 1; j < e.Length - 1; j++)
                Assert.Equal(store[vocab[e.InputIds[j]]], vocab[e.Labels[j]]);
        }
    }

    [Fact]
    public void SpecsAreParsedAndBadOnesRefusedWithTheField()
    {
        var t = SyntheticTask.Parse("index:keys=64,values=32,pairs=4-32,query_fraction=0.25");
        Assert.Equal(("index", 64, 32, 4, 32, 0.25), (t.Kind, t.Keys, t.Values, t.MinPairs, t.MaxPairs, t.QueryFraction));
        Assert.Equal(5 + 64 + 32, t.VocabSize);
        Assert.Equal(3 + 32 + 8, t.MaxLength);
        Assert.Equal(new SyntheticTask().Keys, SyntheticTask.Parse("associative_recall").Keys);
        Assert.Contains("unknown field 'colour'", Assert.Throws<BertLabException>(() => SyntheticTask.Parse("index:colour=3")).Message);
        Assert.Contains("kind must be one of", Assert.Throws<BertLabException>(() => SyntheticTask.Parse("sorting")).Message);
        Assert.Contains("whole number", Assert.Throws<BertLabException>(() => SyntheticTask.Parse("index:keys=many")).Message);
        Assert.Contains("distinct keys", Assert.Throws<BertLabException>(() => SyntheticTask.Parse("index:keys=8,pairs=4-9")).Message);
    }

    /// <summary>The bag-of-values level, against an independent Monte-Carlo of the index task's distribution (values uniform
    /// over 32, 4–32 of them, half the positions queried): ≈ 2.608 nats (Python, 20,000 sequences), between a perfect model (0)
    /// and the uniform guess ln 32 = 3.466. On a hand-made example it is the mean of −ln(count/P).</summary>
    [Fact]
    public void TheBagOfValuesLevelIsWhatKnowingTheValuesButNotTheirPlacesGives()
    {
        var task = SyntheticTask.Parse("index:keys=64,values=32,pairs=4-32");
        var level = new SyntheticBatchSource(task, 0, validationExamples: 4000).ValidationBagOfValuesLoss();
        Assert.InRange(level, 2.55, 2.66);
        // [CLS] v1 v1 v2 [SEP] @1 @3 [SEP]: the bag {v1, v1, v2}; answers v1 (2/3) and v2 (1/3)
        static int v(int i) => SyntheticTask.FirstSymbol + 64 + i;
        static int at(int j) => SyntheticTask.FirstSymbol + j - 1;
        var e = new SyntheticTask.Example(new[] { SyntheticTask.Cls, v(1), v(1), v(2), SyntheticTask.Sep, at(1), at(3), SyntheticTask.Sep },
            new int[8], new[] { -100, -100, -100, -100, -100, v(1), v(2), -100 });
        Assert.Equal((-Math.Log(2.0 / 3) - Math.Log(1.0 / 3)) / 2, task.BagOfValuesLoss(new[] { e }), 12);
    }

    static JsonObject Config(string spec, int vocab, int seqLen = 64)
    {
        var json = RunConfig.DefaultJson();
        json["model"] = new JsonObject { ["preset"] = "tiny", ["vocab_size"] = vocab, ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0 };
        json["attention"] = "softmax";
        json["data"] = new JsonObject { ["seq_len"] = seqLen, ["synthetic"] = spec };
        return json;
    }

    [Fact]
    public void TheConfigurationChecksTheTaskAgainstTheModel()
    {
        const string spec = "index:keys=64,values=32,pairs=4-32";
        Assert.Equal(spec, RunConfig.FromJson(Config(spec, 101)).Data.Synthetic);
        Assert.Contains("set model.vocab_size 101", Assert.Throws<BertLabException>(() => RunConfig.FromJson(Config(spec, 30522))).Message);
        Assert.Contains("more than data.seq_len (16)", Assert.Throws<BertLabException>(() => RunConfig.FromJson(Config(spec, 101, seqLen: 16))).Message);
        Assert.Contains("data.synthetic", Assert.Throws<BertLabException>(() => RunConfig.FromJson(Config("index:keys=x", 101))).Message);
    }

    static int Train(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(new TrainVerb().Build());
        return Verb.Run(() => root.Parse(new[] { "train" }.Concat(args).ToArray()).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    /// <summary>`bertlab train` on the index task: the task's vocabulary travels with the model, and the unigram baseline is
    /// the uniform guess over the 32 values (the labels are uniform by construction).</summary>
    [Fact]
    public void TrainRunsOnTheTaskAndSavesItsVocabulary()
    {
        var config = Path.Combine(_dir, "c.json");
        var json = Config("index:keys=64,values=32,pairs=4-32", 101);
        json["run"] = new JsonObject { ["steps"] = 4, ["batch_size"] = 8, ["log_interval"] = 2, ["eval_interval"] = 4, ["eval_batches"] = 2, ["checkpoint_interval"] = 4, ["threads"] = 1 };
        File.WriteAllText(config, json.ToJsonString());
        var run = Path.Combine(_dir, "run");
        Assert.Equal(0, Train("--config", config, "--out", run));
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
        Assert.Equal("completed", summary["status"]!.GetValue<string>());
        var vocab = File.ReadAllLines(Directory.EnumerateFiles(run, "vocab.txt", SearchOption.AllDirectories).First(f => Path.GetDirectoryName(f) != run));
        Assert.Equal(SyntheticTask.Parse("index:keys=64,values=32,pairs=4-32").Vocabulary(), vocab);
        var unigram = TrainingPlots.ReadMetrics(run).Last(m => m[MetricKeys.ValUnigramLoss] is not null)[MetricKeys.ValUnigramLoss]!.GetValue<double>();
        Assert.Equal(Math.Log(32), unigram, 3);
    }

    /// <summary>The premise of the CPU study: on the index task a tiny softmax model's attention is in use within a few hundred
    /// steps (it leaves the uniform loss ln 32 by more than a nat), where natural-text MLM stays on the unigram plateau.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public void SoftmaxLearnsTheIndexTaskWithinAFewHundredSteps()
    {
        var task = SyntheticTask.Parse("index:keys=64,values=32,pairs=4-32");
        var json = Config("index:keys=64,values=32,pairs=4-32", task.VocabSize);
        json["optimizer"] = new JsonObject { ["name"] = "adamw", ["lr"] = 1e-3, ["eps"] = 1e-7, ["weight_decay"] = 0.01, ["clip_norm"] = 0.0 };
        json["schedule"] = new JsonObject { ["name"] = "constant", ["warmup_steps"] = 20 };
        json["run"] = new JsonObject { ["steps"] = 450, ["batch_size"] = 32, ["log_interval"] = 50, ["eval_interval"] = 450, ["eval_batches"] = 0, ["checkpoint_interval"] = 1000, ["seed"] = 1 };
        var dir = Path.Combine(_dir, "learn");
        var summary = new Trainer(RunConfig.FromJson(json), dir, new SyntheticBatchSource(task, 1)).Run();
        Assert.Equal(RunStatus.Completed, summary.Status);
        double loss = TrainingPlots.ReadMetrics(dir).Last(m => m[MetricKeys.ValLoss] is not null)[MetricKeys.ValLoss]!.GetValue<double>();
        Assert.True(loss < task.UniformLoss - 1.0, $"validation loss {loss:F4} after 450 steps; the uniform guess is {task.UniformLoss:F4}");
    }
}
