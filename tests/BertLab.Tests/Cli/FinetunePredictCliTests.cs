using System.CommandLine;
using System.Text.Json;
using BertLab.Cli;
using BertLab.Model;
using TorchSharp;
using Xunit;

namespace BertLab.Tests.Cli;

/// <summary>bertlab finetune and bertlab predict, in-process, on a tiny random model with the bert-base-uncased vocabulary.</summary>
public sealed class FinetunePredictCliTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-cli-ft-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static int Run(IVerb verb, params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(verb.Build());
        // as Program.cs runs a verb: user errors become one message and exit code 2
        return Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    string TinyModel()
    {
        var dir = Path.Combine(_dir, "tiny");
        var config = BertConfig.FromJson("""
            { "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
              "max_position_embeddings": 64, "initializer_range": 0.1 }
            """);
        torch.manual_seed(0);
        using var model = new BertModel(config);
        BertCheckpoint.Save(model, config, dir);   // writes the default vocab.txt beside it
        return dir;
    }

    [Fact]
    public void Finetune_EmbeddedSentimentSubset_ThenPredict()
    {
        var model = TinyModel();
        var outDir = Path.Combine(_dir, "out");
        int rc = Run(new FinetuneVerb(), "finetune", "--from", model, "--out", outDir, "--epochs", "1", "--lr", "1e-3",
            "--batch-size", "16", "--max-length", "32", "--max-train-examples", "64", "--seeds", "2");
        Assert.Equal(0, rc);
        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json"))))
        {
            Assert.Equal("sentiment", json.RootElement.GetProperty("task").GetString());
            Assert.InRange(json.RootElement.GetProperty("metrics").GetProperty("accuracy").GetDouble(), 0, 1);
            Assert.Equal(2, json.RootElement.GetProperty("seeds").GetArrayLength());
            Assert.Equal(32, json.RootElement.GetProperty("settings").GetProperty("max_length").GetInt32());
        }
        var saved = BertConfig.Load(outDir);
        Assert.Equal(new[] { "negative", "positive" }, saved.Id2Label.Values);

        var input = Path.Combine(_dir, "in.jsonl");
        File.WriteAllLines(input, new[] { """{"text": "Great food, friendly staff."}""", """{"text": "Terrible. Never again.", "id": 7}""" });
        var predictions = Path.Combine(_dir, "pred.jsonl");
        Assert.Equal(0, Run(new PredictVerb(), "predict", "--model", outDir, "--input", input, "--output", predictions));
        var lines = File.ReadAllLines(predictions);
        Assert.Equal(2, lines.Length);
        foreach (var line in lines)
        {
            using var p = JsonDocument.Parse(line);
            var label = p.RootElement.GetProperty("label").GetString();
            Assert.Contains(label, new[] { "negative", "positive" });
            var probs = p.RootElement.GetProperty("probabilities");
            double sum = probs.GetProperty("negative").GetDouble() + probs.GetProperty("positive").GetDouble();
            Assert.Equal(1.0, sum, 4);
            Assert.Equal(label == "positive" ? 1 : 0, p.RootElement.GetProperty("label_id").GetInt32());
        }
    }

    [Fact]
    public void UserErrors_GiveExitCode2()
    {
        var model = TinyModel();
        Assert.Equal(2, Run(new FinetuneVerb(), "finetune", "--from", model, "--task", "nosuchtask", "--out", Path.Combine(_dir, "x")));
        Assert.Equal(2, Run(new FinetuneVerb(), "finetune", "--from", Path.Combine(_dir, "missing"), "--out", Path.Combine(_dir, "y")));
        // a model without a classifier cannot predict
        var input = Path.Combine(_dir, "in.tsv");
        File.WriteAllText(input, "sentence\nhello\n");
        Assert.Equal(2, Run(new PredictVerb(), "predict", "--model", model, "--input", input, "--output", Path.Combine(_dir, "p.jsonl")));
    }
}
