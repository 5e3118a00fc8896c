using BertLab.Model.Onnx;
using BertLab.Model.Onnx.Proto;
using TorchSharp;
using Xunit;

namespace BertLab.Tests.Model.Onnx;

/// <summary>The importer on synthetic BERT-shaped graphs whose construction is the ground truth.</summary>
public class OnnxBertImporterTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "bertlab-onnx-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    static OnnxBertImport Import(TinyBertOnnx graph, int? heads = null) =>
        OnnxBertImporter.ImportDetailed(OnnxModel.Parse(graph.Build()), heads);

    [Fact]
    public void MapsAnonymousMatMulWeightsToTheLinearWhoseBiasIsAddedToTheirProduct()
    {
        var graph = new TinyBertOnnx();
        var r = Import(graph);
        Assert.Equal(12, graph.AnonymousWeights.Count);
        foreach (var (hf, onnx) in graph.AnonymousWeights)
        {
            Assert.Equal(onnx, r.Sources[hf]);
            Assert.Contains(hf, r.Transposed);
        }
        Assert.Equal("pooler.dense.weight", r.Sources["pooler.dense.weight"]);
        Assert.DoesNotContain("pooler.dense.weight", r.Transposed);
        Assert.Equal(OnnxBertImporter.ExpectedShapes(r.Config).Keys.OrderBy(k => k), r.Weights.Keys.OrderBy(k => k));
        Assert.DoesNotContain("embeddings.position_ids", r.Weights.Keys);
    }

    [Fact]
    public void TransposesMatMulWeightsFromInOutToOutIn()
    {
        var graph = new TinyBertOnnx();
        var model = OnnxModel.Parse(graph.Build());
        var r = OnnxBertImporter.ImportDetailed(model);
        var onnx = model.Graph.Initializers[graph.AnonymousWeights["encoder.layer.0.intermediate.dense.weight"]];
        Assert.Equal(new long[] { TinyBertOnnx.Hidden, TinyBertOnnx.Intermediate }, onnx.Dims);
        var raw = onnx.ToFloatArray();
        var w = r.Weights["encoder.layer.0.intermediate.dense.weight"];
        Assert.Equal(new long[] { TinyBertOnnx.Intermediate, TinyBertOnnx.Hidden }, w.shape);
        for (int o = 0; o < TinyBertOnnx.Intermediate; o++)
            for (int i = 0; i < TinyBertOnnx.Hidden; i++)
                Assert.Equal(raw[i * TinyBertOnnx.Intermediate + o], w[o, i].item<float>());
    }

    [Fact]
    public void InfersTheConfigurationFromTheGraph()
    {
        var c = Import(new TinyBertOnnx { Layers = 3 }).Config;
        Assert.Equal(TinyBertOnnx.Vocab, c.VocabSize);
        Assert.Equal(TinyBertOnnx.Hidden, c.HiddenSize);
        Assert.Equal(3, c.NumHiddenLayers);
        Assert.Equal(TinyBertOnnx.Heads, c.NumAttentionHeads);
        Assert.Equal(TinyBertOnnx.Intermediate, c.IntermediateSize);
        Assert.Equal(TinyBertOnnx.Positions, c.MaxPositionEmbeddings);
        Assert.Equal(TinyBertOnnx.TypeVocab, c.TypeVocabSize);
        Assert.Equal(1e-12, c.LayerNormEps);
        Assert.Equal("gelu", c.HiddenAct);
        Assert.Equal(new[] { "BertModel" }, c.Architectures);
    }

    [Theory]
    [InlineData("concat", true)]
    [InlineData("concat", false)]
    [InlineData("constant", false)]
    [InlineData("none", true)]   // only the 1/sqrt(head_dim) score scale tells
    public void FindsTheHeadCount(string split, bool scale) =>
        Assert.Equal(TinyBertOnnx.Heads, Import(new TinyBertOnnx { HeadSplit = split, ScaleScores = scale }).Config.NumAttentionHeads);

    [Fact]
    public void AsksForHeadsWhenTheGraphDoesNotTell()
    {
        var graph = new TinyBertOnnx { HeadSplit = "none", ScaleScores = false };
        var e = Assert.Throws<BertLabException>(() => Import(graph));
        Assert.Contains("--heads", e.Message);
        Assert.Equal(4, Import(graph, heads: 4).Config.NumAttentionHeads);
    }

    [Fact]
    public void RejectsHeadsThatContradictTheGraph()
    {
        var e = Assert.Throws<BertLabException>(() => Import(new TinyBertOnnx(), heads: 4));
        Assert.Contains("--heads 4 contradicts", e.Message);
        Assert.Contains("2 heads", e.Message);
    }

    [Theory]
    [InlineData("erf", "gelu")]
    [InlineData("tanh", "gelu_new")]
    [InlineData("relu", "relu")]
    [InlineData("gelu-op", "gelu_new")]
    public void ReadsTheActivation(string pattern, string expected) =>
        Assert.Equal(expected, Import(new TinyBertOnnx { Activation = pattern }).Config.HiddenAct);

    [Fact]
    public void RejectsAnUnknownActivation()
    {
        var e = Assert.Throws<BertLabException>(() => Import(new TinyBertOnnx { Activation = "sigmoid" }));
        Assert.Contains("activation", e.Message);
        Assert.Contains("Sigmoid", e.Message);
    }

    [Theory]
    [InlineData("decomposed", 1e-12f, 1e-12)]
    [InlineData("decomposed", 1e-5f, 1e-5)]
    [InlineData("op", 1e-7f, 1e-7)]
    public void ReadsLayerNormEpsilon(string layerNorm, float stored, double expected) =>
        Assert.Equal(expected, Import(new TinyBertOnnx { LayerNorm = layerNorm, Epsilon = stored }).Config.LayerNormEps);

    [Fact]
    public void StripsTheBertPrefixOfATaskModelExport()
    {
        var r = Import(new TinyBertOnnx { Prefix = "bert." });
        Assert.Contains("encoder.layer.1.output.dense.weight", r.Weights.Keys);
        Assert.Equal("bert.embeddings.word_embeddings.weight", r.Sources["embeddings.word_embeddings.weight"]);
        Assert.DoesNotContain(r.Weights.Keys, k => k.StartsWith("bert."));
    }

    [Fact]
    public void AGraphWithoutPoolerImportsWithoutIt()
    {
        var r = Import(new TinyBertOnnx { Pooler = false });
        Assert.DoesNotContain("pooler.dense.weight", r.Weights.Keys);
        Assert.Contains(r.Notes, n => n.Contains("no pooler"));
    }

    [Fact]
    public void ALinearWithoutMatchingMatMulIsAClearError()
    {
        var e = Assert.Throws<BertLabException>(() => Import(new TinyBertOnnx { BrokenLinear = "encoder.layer.1.intermediate.dense" }));
        Assert.Contains("Linear 'encoder.layer.1.intermediate.dense' has no matching MatMul", e.Message);
        Assert.Contains("encoder.layer.1.intermediate.dense.bias", e.Message);
    }

    [Fact]
    public void AGraphWithoutBertNamesIsNoBert()
    {
        var e = Assert.Throws<BertLabException>(() => Import(new TinyBertOnnx { OmitWordEmbeddings = true }));
        Assert.Contains("no BERT structure found", e.Message);
        Assert.Contains("embeddings.word_embeddings.weight", e.Message);
    }

    [Fact]
    public void AFileThatIsNotOnnxIsAClearError()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "config.onnx");
        File.WriteAllText(path, "{\"hidden_size\": 384}\n");
        var e = Assert.Throws<BertLabException>(() => OnnxBertImporter.Import(path));
        Assert.Contains("not an ONNX model", e.Message);
        Assert.Contains(path, e.Message);

        File.WriteAllBytes(path, new TinyBertOnnx().Build()[..200]); // truncated
        e = Assert.Throws<BertLabException>(() => OnnxBertImporter.Import(path));
        Assert.Contains("not an ONNX model", e.Message);

        e = Assert.Throws<BertLabException>(() => OnnxBertImporter.Import(Path.Combine(_dir, "missing.onnx")));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void ReadsAFileWrittenToDisk()
    {
        var path = new TinyBertOnnx().WriteTo(_dir);
        var (config, weights) = OnnxBertImporter.Import(path);
        Assert.Equal(2, config.NumHiddenLayers);
        Assert.Equal(torch.float32, weights["embeddings.LayerNorm.weight"].dtype);
        foreach (var t in weights.Values) t.Dispose();
    }
}
