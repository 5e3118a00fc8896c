using System.Text.Json.Nodes;
using BertLab.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Model;

public class CheckpointTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-ckpt-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    string CopyFixture(string name)
    {
        var dst = Path.Combine(_tmp, name + "-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateDirectory(dst);
        foreach (var f in new[] { "config.json", "model.safetensors" }) File.Copy(Path.Combine(Fixtures.HfModel(name), f), Path.Combine(dst, f));
        return dst;
    }

    [Theory]
    [InlineData("tiny-bert-mlm")]
    [InlineData("tiny-bert-cls3")]
    public void LoadSaveLoad_IsLosslessAndKeepsHuggingFaceLayout(string name)
    {
        using var scope = NewDisposeScope();
        var src = Fixtures.HfModel(name);
        var outDir = Path.Combine(_tmp, "saved-" + name);
        nn.Module model; BertConfig config;
        if (name.Contains("mlm")) { var m = BertCheckpoint.LoadMaskedLM(src); model = m; config = m.Config; }
        else { var (m, _) = BertCheckpoint.LoadSequenceClassification(src); model = m; config = m.Config; }
        BertCheckpoint.Save(model, config, outDir);

        // Same tensor names, shapes and dtypes as the Hugging Face file (tied decoder weight absent in both).
        var original = SafetensorsFile.ReadHeader(Path.Combine(src, "model.safetensors")).OrderBy(e => e.Name).ToList();
        var saved = SafetensorsFile.ReadHeader(Path.Combine(outDir, "model.safetensors")).OrderBy(e => e.Name).ToList();
        Assert.Equal(original.Select(e => e.Name), saved.Select(e => e.Name));
        Assert.Equal(original.Select(e => e.DType), saved.Select(e => e.DType));
        Assert.Equal(original.Select(e => string.Join(",", e.Shape)), saved.Select(e => string.Join(",", e.Shape)));

        // Bit-identical values.
        var a = SafetensorsFile.Load(Path.Combine(src, "model.safetensors"));
        var b = SafetensorsFile.Load(Path.Combine(outDir, "model.safetensors"));
        foreach (var (k, t) in a) Assert.True(t.equal(b[k]).all().item<bool>(), $"tensor {k} changed");

        // config: fields BertLab does not model survive; the attention section is added.
        var cfgA = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        var cfgB = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "config.json")))!.AsObject();
        foreach (var (k, v) in cfgA)
            Assert.True(JsonNode.DeepEquals(v, cfgB[k]), $"config field {k}: {v?.ToJsonString()} became {cfgB[k]?.ToJsonString()}");
        Assert.Equal("softmax", cfgB["attention"]!["preset"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(outDir, "vocab.txt")));

        // And it loads again to the same function.
        var reloaded = name.Contains("mlm") ? (nn.Module)BertCheckpoint.LoadMaskedLM(outDir) : BertCheckpoint.LoadSequenceClassification(outDir).model;
        var p1 = model.state_dict(); var p2 = reloaded.state_dict();
        foreach (var (k, t) in p1) Assert.True(t.equal(p2[k]).all().item<bool>(), $"reloaded {k} differs");
    }

    [Fact]
    public void SavedFileHasPyTorchFormatMetadata()
    {
        // transformers' from_pretrained checks __metadata__.format == "pt".
        using var scope = NewDisposeScope();
        var m = BertCheckpoint.LoadMaskedLM(Fixtures.HfModel("tiny-bert-mlm"));
        var outDir = Path.Combine(_tmp, "meta");
        BertCheckpoint.Save(m, m.Config, outDir);
        var bytes = File.ReadAllBytes(Path.Combine(outDir, "model.safetensors"));
        long n = BitConverter.ToInt64(bytes, 0);
        var header = JsonNode.Parse(bytes.AsSpan(8, (int)n))!;
        Assert.Equal("pt", header["__metadata__"]?["format"]?.GetValue<string>());
    }

    [Fact]
    public void MissingConfig_NamesTheFile()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        File.Delete(Path.Combine(dir, "config.json"));
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void MissingWeights_NamesTheFile()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        File.Delete(Path.Combine(dir, "model.safetensors"));
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void MissingDirectory_IsClear()
    {
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(Path.Combine(_tmp, "nope")));
        Assert.Contains("not found", e.Message);
    }

    [Fact]
    public void TruncatedWeights_AreDetected()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 1000)]);
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void CorruptHeader_IsDetected()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        var path = Path.Combine(dir, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        for (int i = 8; i < 40; i++) bytes[i] = (byte)'#';
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void GarbageFile_IsDetected()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        File.WriteAllText(Path.Combine(dir, "model.safetensors"), "this is not a checkpoint");
        Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
    }

    static void Rewrite(string dir, Action<Dictionary<string, Tensor>> change)
    {
        var path = Path.Combine(dir, "model.safetensors");
        var w = SafetensorsFile.Load(path);
        change(w);
        SafetensorsFile.Save(path, w);
    }

    [Fact]
    public void MissingTensor_IsNamed()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        Rewrite(dir, w => w.Remove("bert.encoder.layer.1.output.dense.weight"));
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("bert.encoder.layer.1.output.dense.weight", e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Fact]
    public void UnexpectedTensor_IsNamed()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        Rewrite(dir, w => w["bert.encoder.layer.2.output.dense.weight"] = zeros(32, 64));
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("bert.encoder.layer.2.output.dense.weight", e.Message);
        Assert.Contains("unexpected", e.Message);
    }

    [Fact]
    public void MisShapedTensor_IsNamed()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        Rewrite(dir, w => w["bert.encoder.layer.0.attention.self.query.weight"] = zeros(32, 16));
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("bert.encoder.layer.0.attention.self.query.weight", e.Message);
        Assert.Contains("shape", e.Message);
    }

    [Fact]
    public void BadConfigValue_NamesTheKey()
    {
        var dir = CopyFixture("tiny-bert-mlm");
        var path = Path.Combine(dir, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"hidden_act\": \"gelu\"", "\"hidden_act\": \"swish9\""));
        var e = Assert.Throws<BertLabException>(() => BertCheckpoint.LoadMaskedLM(dir));
        Assert.Contains("hidden_act", e.Message);
        Assert.Contains("gelu", e.Message);
    }

    [Fact]
    public void ClassifierLoadsFromMaskedLMCheckpoint_WithFreshHead()
    {
        using var scope = NewDisposeScope();
        var (model, report) = BertCheckpoint.LoadSequenceClassification(Fixtures.HfModel("tiny-bert-mlm"), c => c.NumLabels = 2);
        Assert.Contains("classifier.weight", report.NewlyInitialized);
        Assert.Contains("bert.pooler.dense.weight", report.NewlyInitialized);
        Assert.Contains("cls.predictions.bias", report.Ignored);
        Assert.Equal(2, model.Forward(ones(1, 4, dtype: ScalarType.Int64)).Logits.shape[1]);
    }
}
