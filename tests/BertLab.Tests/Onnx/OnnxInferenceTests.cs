using System.CommandLine;
using System.Text.Json;
using BertLab.Attention;
using BertLab.Cli;
using BertLab.Model;
using BertLab.Model.Onnx;
using BertLab.Onnx;
using BertLab.Tests.Model.Onnx;
using Microsoft.Extensions.AI;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BertLab.Tests.Onnx;

/// <summary>
/// BertLab.Onnx (ONNX Runtime) against libtorch and against outside references: for every attention preset the ONNX
/// embedding generator equals the libtorch one on padded batches; on all-MiniLM-L6-v2 (a BERT ONNX graph BertLab did not
/// write) it gives sentence-transformers' golden embeddings; classification and fill-mask equal libtorch's heads;
/// <c>bertlab embed --runtime onnx</c> writes the libtorch embeddings.
/// </summary>
public sealed class OnnxInferenceTests : IDisposable
{
    readonly ITestOutputHelper _out;
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-onnx-inference-").FullName;
    public OnnxInferenceTests(ITestOutputHelper output) => _out = output;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly string[] Words =
        ["the", "a", "cat", "dog", "sat", "ran", "on", "in", "mat", "park", "house", "big", "small", "red", "blue", "and", "is", "was", "##s", "##ed", ".", ",", "!"];

    /// <summary>Texts of 1 to 16 words (padding in every batch), an empty text and one with an unknown word.</summary>
    static readonly string[] Texts =
    [
        "the cat sat on the mat.",
        "dog",
        "a big red dog ran in the park, and the small blue cat sat on the mat in the house!",
        "",
        "the houses was blue",
        "zebra cats ran.",
        "a small house is red and a big house is blue.",
    ];

    string SaveVocab()
    {
        var path = Path.Combine(_dir, "vocab.txt");
        File.WriteAllLines(path, new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Words));
        return path;
    }

    BertConfig Config(string attentionJson, int? labels = null)
    {
        var config = BertConfig.FromJson($$"""
            { "vocab_size": {{5 + Words.Length}}, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48,
              "max_position_embeddings": 40, "initializer_range": 0.2, "attention": {{attentionJson}} }
            """);
        if (labels is int n) config.NumLabels = n;
        return config;
    }

    /// <summary>A random masked-LM model directory with its ONNX export (MODEL/onnx/model.onnx); learnable attention parameters moved off their initial values.</summary>
    string MaskedLMDirectory(string attentionJson, string name, int seed = 7)
    {
        var config = Config(attentionJson);
        var dir = Path.Combine(_dir, name);
        using (var scope = NewDisposeScope())
        {
            manual_seed(seed);
            using var model = new BertForMaskedLM(config);
            using (no_grad())
                foreach (var (n, p) in model.named_parameters())
                {
                    if (n.EndsWith(LearnedExponentScaling.ParameterName)) p.copy_(randn(p.shape) * 1.5);
                    else if (n.EndsWith(LpSimilarity.ParameterName)) p.copy_(p + rand(p.shape) * 2 - 1);
                }
            BertCheckpoint.Save(model, config, dir, SaveVocab());
        }
        OnnxExporter.Export(dir);
        return dir;
    }

    static float MaxDiff(float[][] a, float[][] b)
    {
        Assert.Equal(a.Length, b.Length);
        float m = 0;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Length, b[i].Length);
            for (int j = 0; j < a[i].Length; j++) m = Math.Max(m, Math.Abs(a[i][j] - b[i][j]));
        }
        return m;
    }

    static float[][] Vectors(GeneratedEmbeddings<Embedding<float>> e) => e.Select(x => x.Vector.ToArray()).ToArray();

    public static IEnumerable<object[]> Presets() => AttentionConfig.PresetNames.Select(p => new object[] { p });

    [Theory]
    [MemberData(nameof(Presets))]
    public async Task EveryPreset_OnnxGenerator_EqualsTorchGenerator_WithPadding(string preset)
    {
        var dir = MaskedLMDirectory($"\"{preset}\"", preset);
        using var torchGen = TorchEmbeddingGenerator.Load(dir, new TorchEmbeddingOptions { BatchSize = 3 });
        using var onnxGen = OnnxEmbeddingGenerator.Load(dir, new OnnxModelOptions { BatchSize = 3, Threads = 1 });
        var expected = Vectors(await torchGen.GenerateAsync(Texts));
        var actual = Vectors(await onnxGen.GenerateAsync(Texts));
        float d = MaxDiff(expected, actual);
        // one text alone (no padding) equals the same text inside a padded batch
        var alone = Vectors(await onnxGen.GenerateAsync([Texts[1]]));
        float dAlone = MaxDiff([expected[1]], alone);
        _out.WriteLine($"{preset} [{OnnxExporter.AttentionForm(Config($"\"{preset}\"").Attention)}]: max |Δ| onnx vs torch {d:E2}, alone vs batch {dAlone:E2}");
        Assert.All(actual, v => Assert.Equal(1.0, Math.Sqrt(v.Sum(x => (double)x * x)), 4));
        Assert.True(MaxDiff([actual[0]], [actual[2]]) > 1e-2, "two different texts gave the same embedding: the comparison could not fail");
        Assert.True(d <= 1e-4f, $"ONNX Runtime embeddings differ from libtorch's by {d}");
        Assert.True(dAlone <= 1e-4f, $"padding changes an embedding by {dAlone}");
    }

    [Fact]
    public async Task Generators_Metadata_Cancellation_Dimensions_Dispose()
    {
        var dir = MaskedLMDirectory("\"cottention\"", "meta-model");
        var torchGen = TorchEmbeddingGenerator.Load(dir);
        var onnxGen = OnnxEmbeddingGenerator.Load(dir, new OnnxModelOptions { BatchSize = 2 });
        foreach (var (gen, provider) in new (IEmbeddingGenerator<string, Embedding<float>>, string)[] { (torchGen, "bertlab-libtorch"), (onnxGen, "bertlab-onnxruntime") })
        {
            var meta = gen.GetService<EmbeddingGeneratorMetadata>()!;
            Assert.Equal(provider, meta.ProviderName);
            Assert.Equal("meta-model", meta.DefaultModelId);
            Assert.Equal(32, meta.DefaultModelDimensions);
            Assert.Same(gen, gen.GetService(gen.GetType()));
            Assert.Null(gen.GetService(typeof(EmbeddingGeneratorMetadata), serviceKey: "other"));
            var one = await gen.GenerateAsync(["the cat"]);
            Assert.Equal("meta-model", one[0].ModelId);
            Assert.Equal(32, one[0].Dimensions);

            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gen.GenerateAsync(Texts, cancellationToken: cancelled.Token));
            var e = await Assert.ThrowsAsync<BertLabException>(() => gen.GenerateAsync(Texts, new EmbeddingGenerationOptions { Dimensions = 16 }));
            Assert.Equal("the model's embeddings have 32 dimensions; 16 were asked for", e.Message);
            gen.Dispose();
            await Assert.ThrowsAsync<ObjectDisposedException>(() => gen.GenerateAsync(Texts));
        }
    }

    /// <summary>all-MiniLM-L6-v2's ONNX graph as shipped (not written by BertLab) with only vocab.txt beside it: the
    /// generator gives the golden sentence-transformers embeddings.</summary>
    [Fact]
    public async Task AnyBertOnnx_WithVocabBesideIt_GivesTheGoldenMiniLmEmbeddings()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "minilm")).FullName;
        File.CreateSymbolicLink(Path.Combine(dir, "model.onnx"), MiniLmPackage.OnnxPath);
        File.Copy(MiniLmPackage.VocabPath, Path.Combine(dir, "vocab.txt"));
        var (texts, expected) = GoldenMiniLm();
        using var gen = OnnxEmbeddingGenerator.Load(dir, new OnnxModelOptions { BatchSize = 3, MaxLength = 128 });
        Assert.Equal(384, gen.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
        var actual = Vectors(await gen.GenerateAsync(texts));
        float d = MaxDiff(expected, actual);
        _out.WriteLine($"MiniLM, {texts.Count} golden texts: max |Δ| {d:E2}");
        Assert.True(d <= 1e-4f, $"max abs error {d}");
    }

    static (List<string> texts, float[][] expected) GoldenMiniLm()
    {
        var path = Fixtures.Path_("minilm", "minilm_golden.safetensors");
        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)n));
        var texts = JsonSerializer.Deserialize<List<string>>(header.RootElement.GetProperty("__metadata__").GetProperty("texts").GetString()!)!;
        using var scope = NewDisposeScope();
        var golden = SafetensorsFile.Load(path);
        var lengths = golden["input.attention_mask"].sum(1).data<long>().ToArray();
        var keep = Enumerable.Range(0, texts.Count).Where(i => lengths[i] < 128).ToArray();   // the fixture cut longer ids without a final [SEP]
        var emb = golden["output.mean_pooled_normalized"];
        var expected = keep.Select(i => emb[i].data<float>().ToArray()).ToArray();
        return (keep.Select(i => texts[i]).ToList(), expected);
    }

    [Theory]
    [InlineData("softmax", 3)]
    [InlineData("cottention", 1)]
    public void Classify_EqualsTheLibtorchClassifier_WithLabelNames(string preset, int labels)
    {
        var config = Config($"\"{preset}\"", labels);
        if (labels == 3) config.Id2Label = new SortedDictionary<int, string> { [0] = "negative", [1] = "neutral", [2] = "positive" };
        var dir = Path.Combine(_dir, "classifier-" + preset);
        using var scope = NewDisposeScope();
        manual_seed(3);
        using var model = new BertForSequenceClassification(config);
        model.eval();
        BertCheckpoint.Save(model, config, dir, SaveVocab());
        var served = Path.Combine(_dir, "served-" + preset);
        OnnxExporter.Export(dir, served);   // into another directory: config.json and the tokenizer files travel with the graph

        using var onnx = BertOnnxModel.Load(served, new OnnxModelOptions { BatchSize = 4 });
        Assert.True(onnx.HasClassifier);
        Assert.Equal(labels == 1, onnx.IsRegression);
        var results = onnx.Classify(Texts);
        var tokenizer = BertLab.Text.ModelTokenizer.For(dir);
        using var _ = no_grad();
        for (int i = 0; i < Texts.Length; i++)
        {
            var e = tokenizer.Encode(Texts[i], maxLength: 40);
            var ids = tensor(e.InputIds.Select(x => (long)x).ToArray(), new long[] { 1, e.Length });
            var logits = model.Forward(ids).Logits[0].data<float>().ToArray();
            for (int k = 0; k < labels; k++) Assert.True(Math.Abs(logits[k] - results[i].Logits[k]) <= 1e-4, $"text {i} label {k}: {logits[k]} vs {results[i].Logits[k]}");
            if (labels == 3)
            {
                var probs = tensor(logits).softmax(0).data<float>().ToArray();
                for (int k = 0; k < labels; k++) Assert.Equal(probs[k], results[i].Probabilities[k], 4);
                int best = Array.IndexOf(logits, logits.Max());
                Assert.Equal(best, results[i].Label);
                Assert.Equal(config.Id2Label[best], results[i].LabelName);
            }
            else Assert.Empty(results[i].Probabilities);
        }
        var fill = Assert.Throws<BertLabException>(() => onnx.FillMask("the [MASK] sat"));
        Assert.Contains("no masked-LM output", fill.Message);
    }

    [Fact]
    public void FillMask_EqualsMaskFiller()
    {
        var dir = MaskedLMDirectory("\"cosine\"", "fill");
        using var torchFiller = new MaskFiller(dir);
        using var onnx = BertOnnxModel.Load(dir);
        foreach (var text in new[] { "the [MASK] sat on the mat.", "a [MASK] dog ran in the [MASK]." })
        {
            var expected = torchFiller.Predict(text, topK: 4);
            var actual = onnx.FillMask(text, topK: 4);
            Assert.Equal(expected.Select(p => (p.MaskIndex, p.Token)), actual.Select(p => (p.MaskIndex, p.Token)));
            for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Probability, actual[i].Probability, 4);
        }
        Assert.Contains("has no [MASK] token", Assert.Throws<BertLabException>(() => onnx.FillMask("the cat")).Message);
        Assert.Contains("no classifier output", Assert.Throws<BertLabException>(() => onnx.Classify(["the cat"])).Message);
    }

    [Fact]
    public void EmbedVerb_RuntimeOnnx_WritesTheTorchEmbeddings_AndNamesTheExportWhenTheGraphIsMissing()
    {
        var config = Config("\"cottention\"");
        var dir = Path.Combine(_dir, "cli-model");
        using (var scope = NewDisposeScope())
        {
            manual_seed(11);
            using var model = new BertForMaskedLM(config);
            BertCheckpoint.Save(model, config, dir, SaveVocab());
        }
        var input = Path.Combine(_dir, "texts.json");
        File.WriteAllText(input, JsonSerializer.Serialize(Texts));
        string torchOut = Path.Combine(_dir, "torch.json"), onnxOut = Path.Combine(_dir, "onnx.json");

        var (code, message) = RunEmbed("--model", dir, "--input", input, "--output", onnxOut, "--runtime", "onnx");
        Assert.Equal(2, code);
        Assert.Contains($"no onnx/model.onnx for --runtime onnx; write it with `bertlab export onnx {dir}`", message);
        Assert.False(File.Exists(onnxOut));
        Assert.Equal(2, RunEmbed("--model", dir, "--input", input, "--output", onnxOut, "--runtime", "tensorflow").Code);

        OnnxExporter.Export(dir);
        Assert.Equal(0, RunEmbed("--model", dir, "--input", input, "--output", torchOut, "--batch-size", "2").Code);
        Assert.Equal(0, RunEmbed("--model", dir, "--input", input, "--output", onnxOut, "--batch-size", "2", "--runtime", "onnx").Code);
        var t = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(torchOut))!;
        var o = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(onnxOut))!;
        Assert.Equal(Texts.Length, o.Length);
        Assert.True(MaxDiff(t, o) <= 1e-4f, $"max |Δ| {MaxDiff(t, o)}");
    }

    static (int Code, string Message) RunEmbed(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(new EmbedVerb().Build());
        var error = new StringWriter();
        var saved = Console.Error;
        Console.SetError(error);
        try { return (Verb.Run(() => root.Parse(["embed", .. args]).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false })), error.ToString()); }
        finally { Console.SetError(saved); }
    }

    /// <summary>A graph that declares only input_ids and attention_mask (no token_type_ids) and whose last_hidden_state is an
    /// embedding lookup: the model feeds just those inputs, and the embedding is the hand-computed masked mean of the
    /// table's rows, L2-normalised.</summary>
    [Fact]
    public void AGraphWithoutTokenTypeIds_GetsOnlyItsInputs_AndTheMaskedMeanOfItsOutput()
    {
        const int D = 4;
        int V = 5 + Words.Length;
        var rng = new Random(3);
        var table = Enumerable.Range(0, V * D).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var b = new OnnxGraphBuilder();
        string ids = b.Input("input_ids", BertLab.Model.Onnx.Proto.OnnxDataType.Int64, "batch_size", "sequence_length");
        string mask = b.Input("attention_mask", BertLab.Model.Onnx.Proto.OnnxDataType.Int64, "batch_size", "sequence_length");
        string t = b.Initializer("table", table, V, D);
        // the mask enters the output only at padded positions (× mask, + 1000 × (1 − mask)): padding that leaked into the mean would show
        string m = b.Op("Unsqueeze", b.Op("Cast", new[] { mask }, OnnxAttr.Int("to", 1)), b.Int64s(-1));
        string h = b.Op("Add", b.Op("Mul", b.Op("Gather", t, ids), m), b.Op("Mul", b.Op("Sub", b.Scalar(1f), m), b.Scalar(1000f)));
        b.Node("Identity", new[] { h }, new[] { "last_hidden_state" });
        b.Output("last_hidden_state", BertLab.Model.Onnx.Proto.OnnxDataType.Float, "batch_size", "sequence_length", D.ToString());
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "lookup")).FullName;
        File.WriteAllBytes(Path.Combine(dir, "model.onnx"), b.Build("lookup", OnnxExporter.Opset, "0"));
        File.Copy(SaveVocab(), Path.Combine(dir, "vocab.txt"));

        using var onnx = BertOnnxModel.Load(dir, new OnnxModelOptions { BatchSize = 4 });
        Assert.Equal(D, onnx.HiddenSize);
        Assert.Equal("lookup", onnx.ModelId);
        var actual = onnx.Embed(Texts);
        var tokenizer = onnx.Tokenizer;
        for (int i = 0; i < Texts.Length; i++)
        {
            var tokens = tokenizer.Encode(Texts[i]).InputIds;
            var mean = new double[D];
            foreach (var id in tokens) for (int d = 0; d < D; d++) mean[d] += table[id * D + d] / tokens.Length;
            double norm = Math.Sqrt(mean.Sum(x => x * x));
            for (int d = 0; d < D; d++) Assert.Equal(mean[d] / norm, actual[i][d], 5);
        }
    }

    [Fact]
    public void Load_BadDirectories_AreOneMessageEach()
    {
        var missing = Path.Combine(_dir, "nowhere");
        Assert.Equal($"model directory not found: {missing}", Assert.Throws<BertLabException>(() => BertOnnxModel.Load(missing)).Message);
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        Assert.Equal($"{empty}: no model.onnx or onnx/model.onnx; write one with `bertlab export onnx {empty}`",
            Assert.Throws<BertLabException>(() => BertOnnxModel.Load(empty)).Message);
        File.WriteAllText(Path.Combine(empty, "model.onnx"), "not a graph");
        File.Copy(SaveVocab(), Path.Combine(empty, "vocab.txt"));
        Assert.StartsWith($"{Path.Combine(empty, "model.onnx")}: ONNX Runtime cannot load it", Assert.Throws<BertLabException>(() => BertOnnxModel.Load(empty)).Message);
        Assert.Equal("batch size must be at least 1, not 0", Assert.Throws<BertLabException>(() => BertOnnxModel.Load(empty, new OnnxModelOptions { BatchSize = 0 })).Message);
    }
}
