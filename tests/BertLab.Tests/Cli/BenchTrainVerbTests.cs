using System.Text.Json.Nodes;
using BertLab.Model;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Cli;

/// <summary>`bench train`: its FLOP count against the model's own weight shapes, and its record's arithmetic (tokens/s,
/// achieved FLOP/s and MFU from the timed steps, each step's time listed).</summary>
public class BenchTrainVerbTests
{
    static int Invoke(params string[] args) => BenchAttentionVerbTests.Invoke(args);

    [Theory]
    [InlineData("small", 128)]
    [InlineData("base", 512)]
    public void FlopsPerToken_CountTheModelsOwnMatrices(string preset, int seqLen)
    {
        // Multiply-adds per token from the instantiated model: every 2-D weight of the encoder layers, the head's transform
        // and the (tied) vocabulary projection at the 15 % masked positions, plus QKᵀ and AV (2·S·hidden per layer).
        var config = ModelPresets.Create(preset);
        using var model = new BertForMaskedLM(config);
        double encoder = 0, transform = 0;
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.dim() != 2) continue;
            if (name.Contains(".encoder.layer.")) encoder += p.numel();
            else if (name.Contains("predictions.transform.dense")) transform += p.numel();
        }
        double vocabulary = model.Bert.Embeddings.WordEmbeddingWeight.numel();
        double attention = config.NumHiddenLayers * 2.0 * seqLen * config.HiddenSize;
        double expected = 6 * (encoder + attention + 0.15 * (transform + vocabulary));
        Assert.Equal(expected, TrainBenchmark.FlopsPerToken(config, seqLen), 6);
    }

    [Fact]
    public void Record_IsTheArithmeticOfItsTimedSteps()
    {
        var dir = Directory.CreateTempSubdirectory("bench-train-");
        try
        {
            var json = Path.Combine(dir.FullName, "t.json");
            Assert.Equal(0, Invoke("bench", "train", "--only", "small/softmax/128", "--steps", "3", "--warmup", "1", "--json", json));
            var r = JsonNode.Parse(File.ReadAllText(json))!.AsArray().Single()!;
            Assert.Equal("small", r["model"]!.GetValue<string>());
            int tokens = r["batch"]!.GetValue<int>() * r["seq_len"]!.GetValue<int>();
            var steps = r["step_ms"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
            Assert.Equal(3, steps.Length);
            Assert.All(steps, ms => Assert.True(ms > 0));
            double ms = r["ms_per_step"]!.GetValue<double>();
            // The mean over the timed span also holds the progress lines between steps: a fraction of a millisecond.
            Assert.InRange(ms - steps.Average(), -0.1, 0.02 * ms + 1);
            Assert.Equal(tokens / (ms / 1000), r["tokens_per_s"]!.GetValue<double>(), 0.001 * tokens / (ms / 1000));
            double achieved = r["flops_per_token"]!.GetValue<double>() * r["tokens_per_s"]!.GetValue<double>() / 1e12;
            Assert.Equal(achieved, r["achieved_tflops"]!.GetValue<double>(), 0.001 * achieved + 1e-4);
            Assert.Equal(r["achieved_tflops"]!.GetValue<double>() / r["peak_tflops"]!.GetValue<double>(), r["mfu"]!.GetValue<double>(), 0.002);
            Assert.InRange(r["mfu"]!.GetValue<double>(), 0.001, 1.0);
        }
        finally { dir.Delete(recursive: true); }
    }
}
