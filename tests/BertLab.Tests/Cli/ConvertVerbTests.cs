using System.CommandLine;
using BertLab.Cli;
using BertLab.Model;
using BertLab.Tests.Model.Onnx;
using TorchSharp;
using Xunit;

namespace BertLab.Tests.Cli;

public class ConvertVerbTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "bertlab-convert-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public ConvertVerbTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Runs the verb as Program.cs does: user errors become exit code 2, anything else propagates.</summary>
    public static int Run(params string[] args) =>
        Verb.Run(() => new ConvertVerb().Build().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));

    [Fact]
    public void ANonOnnxFileIsAUserError()
    {
        var path = Path.Combine(_dir, "notes.onnx");
        File.WriteAllText(path, "hello");
        Assert.Equal(Verb.UserError, Run(path, Path.Combine(_dir, "out")));
        Assert.Equal(Verb.UserError, Run(Path.Combine(_dir, "missing.onnx"), Path.Combine(_dir, "out")));
        Assert.False(File.Exists(Path.Combine(_dir, "out", "model.safetensors")));
    }

    [Fact]
    public void AVocabularyLargerThanTheEmbeddingsIsAUserError()
    {
        var onnx = new TinyBertOnnx().WriteTo(_dir); // 10 tokens
        var vocab = Path.Combine(_dir, "big-vocab.txt");
        File.WriteAllLines(vocab, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Enumerable.Range(0, 20).Select(i => $"w{i}")));
        Assert.Equal(Verb.UserError, Run(onnx, Path.Combine(_dir, "out"), "--vocab", vocab));
        Assert.False(File.Exists(Path.Combine(_dir, "out", "model.safetensors")));
    }

    [Fact]
    public void TheDefaultVocabularyIsLeftOutWhenItDoesNotFit()
    {
        // The tiny graph has 10 tokens; bert-base-uncased has 30522: the checkpoint is written without vocab.txt.
        var onnx = new TinyBertOnnx().WriteTo(_dir);
        var outDir = Path.Combine(_dir, "out");
        var report = CheckpointConverter.Convert(onnx, outDir);
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        Assert.False(File.Exists(Path.Combine(outDir, "vocab.txt")));
        Assert.Contains(report.Notes, n => n.Contains("no vocab.txt written"));
    }

    [Fact]
    public void ConvertsATinyOnnxGraphWithItsOwnVocabulary()
    {
        var onnx = new TinyBertOnnx().WriteTo(_dir);
        var vocab = Path.Combine(_dir, "tiny-vocab.txt");
        File.WriteAllLines(vocab, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "e" });
        var outDir = Path.Combine(_dir, "out");
        Assert.Equal(0, Run(onnx, outDir, "--vocab", vocab));
        var config = BertConfig.Load(outDir);
        Assert.Equal((TinyBertOnnx.Hidden, TinyBertOnnx.Heads, 2), (config.HiddenSize, config.NumAttentionHeads, config.NumHiddenLayers));
        using var model = BertCheckpoint.LoadBertModel(outDir);
        Assert.True(model.HasPooler);
        Assert.Equal("e", BertLab.Text.Vocabulary.Load(outDir)[9]);
    }

    [Fact]
    public void NormalisesAHuggingFaceDirectory()
    {
        var src = Fixtures.HfModel("tiny-bert-cls3");
        var outDir = Path.Combine(_dir, "cls3");
        Assert.Equal(0, Run(src, outDir));
        var before = BertConfig.Load(src);
        var after = BertConfig.Load(outDir);
        Assert.Equal(before.NumLabels, after.NumLabels);
        Assert.Equal(before.HiddenSize, after.HiddenSize);
        Assert.Equal(new[] { "BertForSequenceClassification" }, after.Architectures);
        using var scope = torch.NewDisposeScope();
        var a = SafetensorsFile.Load(Path.Combine(src, "model.safetensors"));
        var b = SafetensorsFile.Load(Path.Combine(outDir, "model.safetensors"));
        foreach (var (name, t) in b) Assert.True(t.allclose(a[name].to(t.dtype), 0, 0), name);
        Assert.False(File.Exists(Path.Combine(outDir, "vocab.txt"))); // vocab 1024 and no vocab.txt in the source
    }
}
