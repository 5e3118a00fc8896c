using System.Text.Json;
using BertLab.Model;
using BertLab.Tests.EndToEnd;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Model.Onnx;

/// <summary>`bertlab embed` on the converted MiniLM gives ONNX Runtime's sentence embeddings for the golden texts
/// (text → BertLab tokenizer → model → mean pooling → L2 normalisation, end to end).</summary>
public class EmbedGoldenTests : IClassFixture<ConvertedMiniLm>
{
    readonly ConvertedMiniLm _converted;
    public EmbedGoldenTests(ConvertedMiniLm converted) { _converted = converted; Assert.Equal(0, converted.ExitCode); }

    /// <summary>The golden texts whose ids were not cut: the fixture cut longer texts' ids at 128 (dropping their final
    /// [SEP]), which truncation by a tokenizer does not reproduce; those are left out, the others compared.</summary>
    static (List<string> texts, Tensor expected) Golden()
    {
        var path = Fixtures.Path_("minilm", "minilm_golden.safetensors");
        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var texts = JsonSerializer.Deserialize<List<string>>(header.RootElement.GetProperty("__metadata__").GetProperty("texts").GetString()!)!;
        var golden = SafetensorsFile.Load(path);
        var lengths = golden["input.attention_mask"].sum(1).data<long>().ToArray();
        var keep = Enumerable.Range(0, texts.Count).Where(i => lengths[i] < 128).ToArray();
        Assert.True(keep.Length >= 6, "most golden texts fit in 128 tokens");
        var expected = golden["output.mean_pooled_normalized"].index_select(0, tensor(keep.Select(i => (long)i).ToArray()));
        return (keep.Select(i => texts[i]).ToList(), expected);
    }

    [Fact]
    public void SentenceEmbedder_MatchesOnnxRuntime()
    {
        using var scope = NewDisposeScope();
        var (texts, expected) = Golden();
        using var embedder = new SentenceEmbedder(_converted.Dir);
        var vectors = embedder.Embed(texts, batchSize: 3, maxLength: 128);
        var actual = tensor(vectors.SelectMany(v => v).ToArray(), new long[] { texts.Count, vectors[0].Length });
        double err = (actual - expected).abs().max().item<float>();
        Assert.True(err <= 1e-4, $"max abs error {err:E3}");
    }

    [Fact]
    public void EmbedVerb_WritesTheEmbeddings()
    {
        var (texts, expected) = Golden();
        var dir = Directory.CreateTempSubdirectory("bertlab-embed-").FullName;
        try
        {
            var input = Path.Combine(dir, "texts.json");
            var output = Path.Combine(dir, "emb.json");
            File.WriteAllText(input, JsonSerializer.Serialize(texts));
            var (code, log) = CliProcess.Run(new[] { "embed", "--model", _converted.Dir, "--input", input, "--output", output, "--max-length", "128" }, dir, TimeSpan.FromMinutes(5));
            Assert.True(code == 0, log);
            var vectors = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(output))!;
            Assert.Equal(texts.Count, vectors.Length);
            var e = expected.data<float>().ToArray();
            int d = vectors[0].Length;
            for (int i = 0; i < vectors.Length; i++)
                for (int j = 0; j < d; j++)
                    Assert.True(Math.Abs(vectors[i][j] - e[i * d + j]) <= 1e-4, $"text {i}, dim {j}: {vectors[i][j]} vs {e[i * d + j]}");
            var (badCode, badLog) = CliProcess.Run(new[] { "embed", "--model", _converted.Dir, "--input", Path.Combine(dir, "missing.json"), "--output", output }, dir, TimeSpan.FromMinutes(2));
            Assert.Equal(2, badCode);
            Assert.Contains("not found", badLog);
        }
        finally { Directory.Delete(dir, true); }
    }
}
