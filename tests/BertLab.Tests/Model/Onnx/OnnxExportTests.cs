using System.CommandLine;
using BertLab.Attention;
using BertLab.Cli;
using BertLab.Model;
using BertLab.Model.Onnx;
using BertLab.Model.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace BertLab.Tests.Model.Onnx;

/// <summary>
/// bertlab export onnx: the exported graph, run by ONNX Runtime (an independent engine), gives BertLab's own outputs
/// for every attention preset on a padded batch — every position, padded ones included (softmax's padded rows follow
/// Hugging Face, the others come from an attention output of exactly 0) — and the real tokens of a padded sequence
/// equal the same sequence run alone.
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    readonly ITestOutputHelper _out;
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-onnx-export-").FullName;
    public OnnxExportTests(ITestOutputHelper output) => _out = output;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    const float Tolerance = 1e-4f;
    const int Vocab = 60, B = 3, S = 11;
    static readonly int[] Lengths = { 11, 6, 2 };

    public static IEnumerable<object[]> Presets() => AttentionConfig.PresetNames.Select(p => new object[] { $"\"{p}\"" });

    /// <summary>Compositions outside the presets: rowsum, dot with relu / no activation, composed softmax over normalised q, k, lp with n^σ.</summary>
    public static IEnumerable<object[]> Custom() => new[]
    {
        new object[] { """{"similarity": "cosine", "activation": "none", "scaling": "rowsum"}""" },
        new object[] { """{"similarity": "dot", "activation": "none", "scaling": "sqrt_n", "normalize": "v"}""" },
        new object[] { """{"similarity": "dot", "activation": "relu", "scaling": "rowsum"}""" },
        // σ(0) = 0.5 on padded keys is invisible unless the row sums count it: only the key mask after the activation keeps it out.
        new object[] { """{"similarity": "cosine", "activation": "sigmoid", "scaling": "rowsum"}""" },
        new object[] { """{"preset": "softmax", "normalize": "qk"}""" },
        new object[] { """{"preset": "lp", "p_init": 3.5, "activation": "sigmoid", "scaling": "n_pow_sigma"}""" },
    };

    static BertConfig TinyConfig(string attentionJson, string act = "gelu", bool tied = true) => BertConfig.FromJson($$"""
        { "vocab_size": {{Vocab}}, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 48,
          "max_position_embeddings": 24, "hidden_act": "{{act}}", "tie_word_embeddings": {{(tied ? "true" : "false")}},
          "initializer_range": 0.2, "attention": {{attentionJson}} }
        """);

    /// <summary>A random masked-LM model; learnable attention parameters moved off their initial values (per head).</summary>
    static BertForMaskedLM RandomModel(BertConfig config, int seed)
    {
        manual_seed(seed);
        var model = new BertForMaskedLM(config);
        using (no_grad())
            foreach (var (name, p) in model.named_parameters())
            {
                if (name.EndsWith(LearnedExponentScaling.ParameterName)) p.copy_(randn(p.shape) * 1.5);
                else if (name.EndsWith(LpSimilarity.ParameterName)) p.copy_(p + rand(p.shape) * 2 - 1);
                else if (name.EndsWith("cls.predictions.bias")) p.copy_(randn(p.shape) * 0.1);
            }
        model.eval();
        return model;
    }

    static (long[] ids, long[] mask, long[] types) Batch(int seed)
    {
        var rng = new Random(seed);
        var ids = new long[B * S]; var mask = new long[B * S]; var types = new long[B * S];
        for (int b = 0; b < B; b++)
            for (int s = 0; s < Lengths[b]; s++)
            {
                ids[b * S + s] = s == 0 ? 2 : rng.Next(5, Vocab);
                mask[b * S + s] = 1;
                types[b * S + s] = s >= Lengths[b] / 2 ? 1 : 0;
            }
        return (ids, mask, types);
    }

    static Dictionary<string, float[]> RunOnnx(InferenceSession session, long[] ids, long[] mask, long[] types, int batch, int seq)
    {
        var dims = new[] { batch, seq };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
            NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types, dims)),
        };
        using var results = session.Run(inputs);
        return results.ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    static float MaxDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        float m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    void CheckAgainstBertLab(string attentionJson, string act = "gelu", bool tied = true)
    {
        var config = TinyConfig(attentionJson, act, tied);
        using var scope = NewDisposeScope();
        using var model = RandomModel(config, seed: 7);
        var bytes = OnnxExporter.Build(config, model.state_dict(), out bool mlm, out var builder);
        Assert.True(mlm);
        Assert.DoesNotContain(builder.OpTypes, op => op.StartsWith("com.", StringComparison.Ordinal));
        using var session = new InferenceSession(bytes);
        Assert.Equal(new[] { "input_ids", "attention_mask", "token_type_ids" }, session.InputMetadata.Keys);
        Assert.Equal(new[] { -1, -1 }, session.InputMetadata["input_ids"].Dimensions);

        var (ids, mask, types) = Batch(11);
        var onnx = RunOnnx(session, ids, mask, types, B, S);
        using var _ = no_grad();
        var shape = new long[] { B, S };
        var reference = model.Forward(tensor(ids, shape), tensor(mask, shape), tensor(types, shape));
        var hidden = reference.Encoder.LastHiddenState.contiguous().data<float>().ToArray();
        var logits = reference.Logits.contiguous().data<float>().ToArray();
        float dh = MaxDiff(hidden, onnx["last_hidden_state"]);
        float dl = MaxDiff(logits, onnx["logits"]);

        // The padded batch's real tokens = the shortest sequence run alone (padding changes nothing in the graph).
        int len = Lengths[2];
        var alone = RunOnnx(session, ids.Skip(2 * S).Take(len).ToArray(), mask.Skip(2 * S).Take(len).ToArray(), types.Skip(2 * S).Take(len).ToArray(), 1, len);
        var paddedRows = onnx["last_hidden_state"].Skip(2 * S * 32).Take(len * 32).ToArray();
        float dAlone = MaxDiff(paddedRows, alone["last_hidden_state"]);
        _out.WriteLine($"{config.Attention.Describe()} [{OnnxExporter.AttentionForm(config.Attention)}]: max |Δ| last_hidden_state {dh:E2}, logits {dl:E2}, padded vs alone {dAlone:E2}");
        Assert.True(dh <= Tolerance, $"last_hidden_state differs from BertLab by {dh}");
        Assert.True(dl <= Tolerance, $"logits differ from BertLab by {dl}");
        Assert.True(dAlone <= Tolerance, $"padding changes the real tokens' output by {dAlone}");
    }

    [Theory]
    [MemberData(nameof(Presets))]
    public void EveryPreset_OnnxRuntimeEqualsBertLab_WithPadding(string attention) => CheckAgainstBertLab(attention);

    [Theory]
    [MemberData(nameof(Custom))]
    public void CustomCompositions_OnnxRuntimeEqualsBertLab(string attention) => CheckAgainstBertLab(attention);

    [Theory]
    [InlineData("gelu_new", false)]
    [InlineData("relu", true)]
    public void OtherActivationsAndAnUntiedDecoder_OnnxRuntimeEqualsBertLab(string act, bool tied) => CheckAgainstBertLab("\"cottention\"", act, tied);

    /// <summary>A fine-tuned classifier (what <c>bertlab finetune</c> saves): the graph's logits (batch, num_labels) equal
    /// BertLab's libtorch BertForSequenceClassification on a padded batch, for classification and regression heads.</summary>
    [Theory]
    [InlineData("\"softmax\"", 3)]
    [InlineData("\"cosine\"", 3)]
    [InlineData("\"cottention\"", 2)]
    [InlineData("\"cottention\"", 1)]
    public void SequenceClassifier_ExportedLogits_EqualBertLab_WithPadding(string attention, int labels)
    {
        var config = TinyConfig(attention);
        config.NumLabels = labels;
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new BertForSequenceClassification(config);
        model.eval();
        var modelDir = Path.Combine(_dir, "classifier");
        BertCheckpoint.Save(model, config, modelDir);
        var report = OnnxExporter.Export(modelDir, Path.Combine(_dir, "served"));
        Assert.Equal(OnnxHead.SequenceClassification, report.Head);
        Assert.Equal(new[] { "last_hidden_state", "logits" }, report.Outputs);
        using var session = new InferenceSession(report.ModelPath);
        Assert.Equal(new[] { -1, labels }, session.OutputMetadata["logits"].Dimensions);

        var (ids, mask, types) = Batch(13);
        var onnx = RunOnnx(session, ids, mask, types, B, S);
        using var _ = no_grad();
        var shape = new long[] { B, S };
        var reference = model.Forward(tensor(ids, shape), tensor(mask, shape), tensor(types, shape));
        var logits = reference.Logits.contiguous().data<float>().ToArray();
        Assert.Equal(B * labels, onnx["logits"].Length);
        float dl = MaxDiff(logits, onnx["logits"]);
        float dh = MaxDiff(reference.Encoder.LastHiddenState.contiguous().data<float>().ToArray(), onnx["last_hidden_state"]);
        // the shortest sequence alone gives the same logits as inside the padded batch
        int len = Lengths[2];
        var alone = RunOnnx(session, ids.Skip(2 * S).Take(len).ToArray(), mask.Skip(2 * S).Take(len).ToArray(), types.Skip(2 * S).Take(len).ToArray(), 1, len);
        float dAlone = MaxDiff(onnx["logits"].Skip(2 * labels).Take(labels).ToArray(), alone["logits"]);
        _out.WriteLine($"{attention}, {labels} label(s): max |Δ| logits {dl:E2}, last_hidden_state {dh:E2}, padded vs alone {dAlone:E2}; logits {string.Join(" ", logits.Select(x => x.ToString("F4")))}");
        Assert.True(logits.Max() - logits.Min() > 1e-3, "the logits do not depend on the input: the test could not tell heads apart");
        Assert.True(dl <= Tolerance, $"logits differ from BertLab by {dl}");
        Assert.True(dh <= Tolerance, $"last_hidden_state differs from BertLab by {dh}");
        Assert.True(dAlone <= Tolerance, $"padding changes the logits by {dAlone}");
    }

    [Fact]
    public void Cli_ExportsIntoOut_WithConfigAndTokenizerFiles_AndRejectsAMissingModel()
    {
        var config = TinyConfig("\"cottention\"");
        var modelDir = Path.Combine(_dir, "model");
        using (var model = RandomModel(config, seed: 3)) BertCheckpoint.Save(model, config, modelDir);
        var outDir = Path.Combine(_dir, "served");
        Assert.Equal(0, Run("export", "onnx", modelDir, "--out", outDir));
        foreach (var f in new[] { "onnx/model.onnx", "config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        Assert.Equal("bert", BertConfig.Load(outDir).Extra("model_type")?.GetValue<string>());
        var read = OnnxModel.Load(Path.Combine(outDir, "onnx", "model.onnx"));   // BertLab's own reader parses what the writer wrote
        Assert.Equal(OnnxExporter.Opset, read.Opsets[""]);
        Assert.Equal(new[] { "last_hidden_state", "logits" }, read.Graph.Outputs.Select(o => o.Name));
        Assert.Equal(new[] { "batch_size", "sequence_length", "32" }, read.Graph.Outputs[0].Shape);
        Assert.All(read.Graph.Nodes, n => Assert.Equal("", n.Domain));

        // Default: into MODEL_DIR/onnx/
        Assert.Equal(0, Run("export", "onnx", modelDir));
        Assert.True(File.Exists(Path.Combine(modelDir, "onnx", "model.onnx")));
        Assert.Equal(2, Run("export", "onnx", Path.Combine(_dir, "nowhere")));
    }

    static int Run(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(new ExportVerb().Build());
        return Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }
}
