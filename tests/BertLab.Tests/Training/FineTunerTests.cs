using System.Text.Json;
using BertLab.Data.Tasks;
using BertLab.Model;
using BertLab.Text;
using BertLab.Training;
using TorchSharp;
using Xunit;

namespace BertLab.Tests.Training;

/// <summary>A whitespace tokenizer over a tiny vocabulary: enough to drive the loop without WordPiece.</summary>
sealed class WordTokenizer : ITokenizer
{
    public WordTokenizer(Vocabulary v) => Vocabulary = v;
    public Vocabulary Vocabulary { get; }
    public IReadOnlyList<string> Tokenize(string text) => text.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
    public int[] EncodeIds(string text) => Tokenize(text).Select(Vocabulary.IdOf).ToArray();
    public TokenizedInput Encode(string text, string? pair = null, int maxLength = 0, bool padToMaxLength = false)
    {
        var a = EncodeIds(text).ToList();
        var b = pair is null ? null : EncodeIds(pair).ToList();
        int special = b is null ? 2 : 3;
        while (maxLength > 0 && a.Count + (b?.Count ?? 0) + special > maxLength)
        {
            if (b is not null && b.Count > a.Count) b.RemoveAt(b.Count - 1); else a.RemoveAt(a.Count - 1);
        }
        var ids = new List<int> { Vocabulary.ClsId };
        ids.AddRange(a); ids.Add(Vocabulary.SepId);
        var types = Enumerable.Repeat(0, ids.Count).ToList();
        if (b is not null) { ids.AddRange(b); ids.Add(Vocabulary.SepId); types.AddRange(Enumerable.Repeat(1, b.Count + 1)); }
        return new TokenizedInput { InputIds = ids.ToArray(), TokenTypeIds = types.ToArray(), AttentionMask = Enumerable.Repeat(1, ids.Count).ToArray() };
    }
}

/// <summary>The fine-tuning loop on a tiny random model and a hand-written task (seconds, not minutes).</summary>
public sealed class FineTunerTests : IDisposable
{
    static readonly string[] Words = { "good", "great", "fine", "nice", "bad", "awful", "poor", "sad", "movie", "film", "food", "it", "was", "the", "very" };
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-finetune-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A random 1-layer BERT (hidden 16) saved as a Hugging Face folder with its vocab.txt.</summary>
    string TinyModel()
    {
        var dir = Path.Combine(_dir, "tiny");
        var vocab = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Words).ToArray();
        File.WriteAllLines(Path.Combine(_dir, "vocab.txt"), vocab);
        var config = BertConfig.FromJson($$"""
            { "vocab_size": {{vocab.Length}}, "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
              "intermediate_size": 32, "max_position_embeddings": 32, "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.0,
              "initializer_range": 0.1 }
            """);
        torch.manual_seed(0);
        using var model = new BertForMaskedLM(config);
        BertCheckpoint.Save(model, config, dir, Path.Combine(_dir, "vocab.txt"));
        return dir;
    }

    /// <summary>Sentiment decided by one word: positive words → 1.</summary>
    string TinyTask()
    {
        var dir = Path.Combine(_dir, "task");
        Directory.CreateDirectory(dir);
        string[] pos = { "good", "great", "fine", "nice" }, neg = { "bad", "awful", "poor", "sad" }, nouns = { "movie", "film", "food" };
        var train = new List<string> { "sentence\tlabel" };
        // the sentiment word at different positions, so that the rule is the word, not the position
        foreach (var w in pos.Concat(neg))
            foreach (var text in new[] { w, $"{w} {nouns[0]}", $"the {nouns[1]} was {w}", $"very {w} {nouns[2]}", $"it was {w}" })
                train.Add($"{text}\t{(pos.Contains(w) ? 1 : 0)}");
        File.WriteAllLines(Path.Combine(dir, "train.tsv"), train);
        File.WriteAllLines(Path.Combine(dir, "dev.tsv"), new[] { "sentence\tlabel", "it was very good\t1", "very bad food\t0", "great\t1", "the film was awful\t0", "nice movie\t1", "sad\t0" });
        return dir;
    }

    [Fact]
    public void TinyTask_TrainsTwoSeeds_WritesResultsJsonAndTheModel()
    {
        var modelDir = TinyModel();
        var task = TaskRegistry.Resolve(TinyTask());
        var data = task.Load();
        var options = new FineTuneOptions { Epochs = 5, LearningRate = 1e-2, BatchSize = 4, MaxLength = 16, Seeds = new[] { 1, 2 }, WarmupRatio = 0.1, LogEvery = 0 };
        var logs = new List<string>();
        var tokenizer = new WordTokenizer(Vocabulary.Load(Path.Combine(modelDir, "vocab.txt")));
        var outDir = Path.Combine(_dir, "out");
        var result = new FineTuner(modelDir, tokenizer, options, log: logs.Add).Run(data, outDir);

        // the results.json contract: "task" and "metrics" (name → median over seeds)
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        var root = json.RootElement;
        Assert.Equal("task", root.GetProperty("task").GetString());
        var metrics = root.GetProperty("metrics");
        double accuracy = metrics.GetProperty("accuracy").GetDouble();
        Assert.Equal(metrics.GetProperty("score").GetDouble(), accuracy);
        Assert.Equal(2, root.GetProperty("seeds").GetArrayLength());
        var seed1 = root.GetProperty("seeds")[0];
        Assert.Equal(options.Epochs, seed1.GetProperty("epochs").GetArrayLength());
        Assert.InRange(seed1.GetProperty("best_epoch").GetInt32(), 1, options.Epochs);

        // the median of two seeds is their mean
        var perSeed = result.Seeds.Select(s => s.Metrics["accuracy"]).ToArray();
        Assert.Equal((perSeed[0] + perSeed[1]) / 2, accuracy, 6);
        // a one-word rule is learnt: dev accuracy beats chance clearly, and the loss falls
        Assert.True(accuracy >= 5.0 / 6, $"dev accuracy {accuracy}; log:\n{string.Join("\n", logs)}");
        Assert.All(result.Seeds, s => Assert.True(s.Epochs[^1].TrainLoss < s.Epochs[0].TrainLoss, $"seed {s.Seed}: loss did not fall"));

        // the saved model carries the task's classes and loads back as a classifier
        var saved = BertConfig.Load(Path.Combine(outDir, "config.json"));
        Assert.Equal(new[] { "0", "1" }, saved.Id2Label.Values);
        Assert.True(File.Exists(Path.Combine(outDir, "vocab.txt")));
        var (reloaded, report) = BertCheckpoint.LoadSequenceClassification(outDir);
        using (reloaded) Assert.Empty(report.NewlyInitialized);
    }

    [Fact]
    public void AStopRequest_EndsAfterTheStep_KeepingTheFinishedSeedsAndTheBestModel()
    {
        var modelDir = TinyModel();
        var data = TaskRegistry.Resolve(TinyTask()).Load();
        var tokenizer = new WordTokenizer(Vocabulary.Load(Path.Combine(modelDir, "vocab.txt")));
        var outDir = Path.Combine(_dir, "stopped");
        int steps = 0, stepsPerSeed = (data.Train.Count + 3) / 4 * 2;
        var options = new FineTuneOptions { Epochs = 2, LearningRate = 1e-2, BatchSize = 4, MaxLength = 16, Seeds = new[] { 1, 2 }, LogEvery = 0 };
        var tuner = new FineTuner(modelDir, tokenizer, options) { StopRequested = () => ++steps > stepsPerSeed + 1 ? "SIGINT" : null };
        var e = Assert.Throws<TrainingStoppedException>(() => tuner.Run(data, outDir));
        Assert.Equal(stepsPerSeed + 2, steps);   // the step during which the stop came was finished, no more
        Assert.Contains("stopped by SIGINT at seed 2", e.Message);
        Assert.Contains("the 1 finished seed(s)", e.Message);
        Assert.True(File.Exists(Path.Combine(outDir, FineTuneResult.FileName)));
        Assert.True(File.Exists(Path.Combine(outDir, "config.json")));
    }

    [Fact]
    public void RegressionTask_UsesOneOutputAndCorrelations()
    {
        var modelDir = TinyModel();
        var dir = Path.Combine(_dir, "reg");
        Directory.CreateDirectory(dir);
        File.WriteAllLines(Path.Combine(dir, "train.tsv"), new[] { "sentence1\tsentence2\tscore", "good movie\tgreat film\t4.5", "bad food\tgood film\t0.5", "sad film\tawful movie\t3.5", "nice\tpoor\t1.0" });
        File.WriteAllLines(Path.Combine(dir, "dev.tsv"), new[] { "sentence1\tsentence2\tscore", "fine food\tnice food\t4.0", "bad\tgreat\t0.2", "the film\tthe movie\t3.0" });
        var data = TaskRegistry.Resolve(dir).Load();
        Assert.True(data.Spec.IsRegression);
        var tokenizer = new WordTokenizer(Vocabulary.Load(Path.Combine(modelDir, "vocab.txt")));
        var outDir = Path.Combine(_dir, "reg-out");
        var result = new FineTuner(modelDir, tokenizer, new FineTuneOptions { Epochs = 2, LearningRate = 1e-3, BatchSize = 2, MaxLength = 16, LogEvery = 0 }).Run(data, outDir);
        Assert.Equal(new[] { "pearson", "spearman", "score" }, result.Metrics.Keys);
        Assert.All(result.Metrics.Values, v => Assert.InRange(v, -1, 1));
        var saved = BertConfig.Load(Path.Combine(outDir, "config.json"));
        Assert.Equal(1, saved.NumLabels);
        Assert.Equal("regression", saved.ProblemType);
    }

    [Fact]
    public void SameSeed_SameLossesAndMetrics_BitForBit()
    {
        var modelDir = TinyModel();
        var data = TaskRegistry.Resolve(TinyTask()).Load();
        var tokenizer = new WordTokenizer(Vocabulary.Load(Path.Combine(modelDir, "vocab.txt")));
        var options = new FineTuneOptions { Epochs = 2, LearningRate = 1e-2, BatchSize = 4, MaxLength = 16, Seeds = new[] { 7 }, LogEvery = 0, SaveModel = false };
        var a = new FineTuner(modelDir, tokenizer, options).Run(data, Path.Combine(_dir, "a")).Seeds[0];
        var b = new FineTuner(modelDir, tokenizer, options).Run(data, Path.Combine(_dir, "b")).Seeds[0];
        Assert.Equal(a.Epochs.Select(e => e.TrainLoss), b.Epochs.Select(e => e.TrainLoss));
        Assert.Equal(a.Metrics, b.Metrics);
        Assert.False(File.Exists(Path.Combine(_dir, "a", "model.safetensors")));   // SaveModel = false
    }

    [Fact]
    public void Glue_AllNineFixtureTasks_OneEpoch_AverageOfTheTaskScores()
    {
        // the hand-written GLUE samples: a smoke test of every task's head, metrics and the GLUE average
        var glue = Path.Combine(AppContext.BaseDirectory, "fixtures", "glue");
        var modelDir = TinyModel();
        var tokenizer = new WordTokenizer(new Vocabulary(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Words)));
        var outDir = Path.Combine(_dir, "glue");
        var result = GlueBenchmark.Run(glue, modelDir, tokenizer,
            new FineTuneOptions { Epochs = 1, LearningRate = 1e-3, BatchSize = 2, MaxLength = 24, LogEvery = 0, SaveModel = false },
            torch.CPU, outDir);
        Assert.False(result.Partial);
        Assert.Equal(GlueTasks.All.Select(t => t.Name), result.Tasks.Keys);
        Assert.Equal(result.Tasks.Values.Average(r => r.Metrics["score"]), result.Average, 12);
        Assert.Equal(new[] { "accuracy_matched", "accuracy_mismatched", "score" }, result.Tasks["mnli"].Metrics.Keys);
        Assert.Equal(new[] { "pearson", "spearman", "score" }, result.Tasks["stsb"].Metrics.Keys);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json")));
        Assert.Equal("glue", json.RootElement.GetProperty("task").GetString());
        Assert.Equal(Math.Round(result.Average, 6), json.RootElement.GetProperty("metrics").GetProperty("score").GetDouble());
        Assert.True(File.Exists(Path.Combine(outDir, "cola", "results.json")));
    }

    [Fact]
    public void Median_OddAndEven()
    {
        Assert.Equal(2.0, FineTuneResult.Median(new[] { 3.0, 1, 2 }));
        Assert.Equal(2.5, FineTuneResult.Median(new[] { 4.0, 1, 2, 3 }));
    }
}
