using BertLab.Tests.Cli;
using BertLab.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Model.Onnx;

/// <summary>Converts the MiniLM package once with `bertlab convert` (into a temporary directory) for the golden tests.</summary>
public sealed class ConvertedMiniLm : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "bertlab-minilm-" + Guid.NewGuid().ToString("N")[..8]);
    public int ExitCode { get; }

    public ConvertedMiniLm()
    {
        ExitCode = ConvertVerbTests.Run(MiniLmPackage.DllPath, Dir);
    }

    public void Dispose()
    {
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>
/// all-MiniLM-L6-v2 converted from the NuGet package's ONNX reproduces ONNX Runtime's outputs
/// (fixtures/minilm/minilm_golden.safetensors) through BertLab's own BertModel.
/// </summary>
public class MiniLmGoldenTests : IClassFixture<ConvertedMiniLm>
{
    const double Tol = 1e-4;
    readonly ConvertedMiniLm _converted;

    public MiniLmGoldenTests(ConvertedMiniLm converted)
    {
        _converted = converted;
        Assert.Equal(0, converted.ExitCode);
    }

    static Dictionary<string, Tensor> Golden() => SafetensorsFile.Load(Fixtures.Path_("minilm", "minilm_golden.safetensors"));

    /// <summary>Mean over real tokens, then L2-normalised: the sentence-transformers embedding.</summary>
    static Tensor MeanPooledNormalized(Tensor hidden, Tensor mask)
    {
        var m = mask.to_type(ScalarType.Float32).unsqueeze(-1);
        var mean = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9);
        return nn.functional.normalize(mean, p: 2, dim: 1);
    }

    static void AssertMaxAbs(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double err = (actual - expected).abs().max().item<float>();
        Assert.True(err <= Tol, $"{what}: max abs error {err:E3} > {Tol:E0}");
    }

    [Fact]
    public void ConvertedCheckpointReproducesOnnxRuntime()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var g = Golden();
        var model = BertCheckpoint.LoadBertModel(_converted.Dir);
        model.eval();
        var mask = g["input.attention_mask"];
        var output = model.Forward(g["input.input_ids"], mask, g["input.token_type_ids"]);

        // last_hidden_state on real tokens only (padded rows are not comparable).
        var real = mask.to_type(ScalarType.Bool);
        AssertMaxAbs(g["output.last_hidden_state"][real], output.LastHiddenState[real], "last_hidden_state (real tokens)");
        AssertMaxAbs(g["output.pooler_output"], output.PooledOutput!, "pooler_output");
        AssertMaxAbs(g["output.mean_pooled_normalized"], MeanPooledNormalized(output.LastHiddenState, mask), "mean_pooled_normalized");
    }

    [Fact]
    public void EmbedsThePublicExampleSentence()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var model = BertCheckpoint.LoadBertModel(_converted.Dir);
        model.eval();
        // The converted directory's vocab.txt tokenizes the sentence to the ids of the published example.
        var tokenizer = BertLab.Text.WordPieceTokenizer.Load(Path.Combine(_converted.Dir, "vocab.txt"));
        var ids = tokenizer.Encode("This is an example sentence").InputIds.Select(i => (long)i).ToArray();
        Assert.Equal(new long[] { 101, 2023, 2003, 2019, 2742, 6251, 102 }, ids);
        var input = tensor(ids).unsqueeze(0);
        var mask = ones_like(input);
        var emb = MeanPooledNormalized(model.Forward(input, mask, zeros_like(input)).LastHiddenState, mask)[0];
        var expected = new[] { 0.06765689f, 0.06349591f, 0.0487131f, 0.07930497f, 0.03744805f, 0.00265281f };
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(emb[i].item<float>() - expected[i]) < 1e-5, $"embedding[{i}] = {emb[i].item<float>()}, expected {expected[i]}");
    }

    [Fact]
    public void WritesAHuggingFaceDirectory()
    {
        var config = BertConfig.Load(_converted.Dir);
        Assert.Equal((384, 6, 12, 1536, "gelu"), (config.HiddenSize, config.NumHiddenLayers, config.NumAttentionHeads, config.IntermediateSize, config.HiddenAct));
        Assert.Equal(new[] { "BertModel" }, config.Architectures);
        // vocab.txt is the package's resource with CRLF turned into LF.
        string original = File.ReadAllText(MiniLmPackage.VocabPath);
        Assert.Contains("\r\n", original);
        Assert.Equal(original.Replace("\r\n", "\n").TrimEnd('\n'), File.ReadAllText(Path.Combine(_converted.Dir, "vocab.txt")).TrimEnd('\n'));
        var names = SafetensorsFile.ReadHeader(Path.Combine(_converted.Dir, "model.safetensors")).Select(e => e.Name).ToHashSet();
        Assert.Equal(5 + 6 * 16 + 2, names.Count);
        Assert.Contains("encoder.layer.5.output.dense.weight", names);
        Assert.Contains("pooler.dense.bias", names);
    }

    [Fact]
    public void ConvertingTheConvertedDirectoryChangesNothing()
    {
        string again = _converted.Dir + "-normalised";
        try
        {
            Assert.Equal(0, ConvertVerbTests.Run(_converted.Dir, again));
            using var scope = NewDisposeScope();
            var a = SafetensorsFile.Load(Path.Combine(_converted.Dir, "model.safetensors"));
            var b = SafetensorsFile.Load(Path.Combine(again, "model.safetensors"));
            Assert.Equal(a.Keys.OrderBy(k => k), b.Keys.OrderBy(k => k));
            foreach (var (k, t) in a) Assert.True(t.allclose(b[k], 0, 0), k);
            Assert.Equal(File.ReadAllText(Path.Combine(_converted.Dir, "config.json")), File.ReadAllText(Path.Combine(again, "config.json")));
        }
        finally
        {
            if (Directory.Exists(again)) Directory.Delete(again, recursive: true);
        }
    }
}
