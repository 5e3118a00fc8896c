using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Model;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Model;

/// <summary>Non-softmax models carry their own transformers modeling code; its PyTorch-only attention part
/// (bertlab_attention.py) computes BertLab's attention.</summary>
public sealed class RemoteCodeTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-remote-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    /// <summary>A tiny random BertModel with this attention (learnable attention parameters moved off their init, one value per head).</summary>
    (string Dir, BertModel Model) TinyModel(string name, JsonNode attention)
    {
        var config = BertConfig.FromJson("""
            { "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 32, "vocab_size": 120,
              "max_position_embeddings": 32, "initializer_range": 0.2, "hidden_dropout_prob": 0, "attention_probs_dropout_prob": 0 }
            """);
        config.Attention = AttentionConfig.FromJson(attention, "attention");
        manual_seed(3);
        var model = new BertModel(config, addPoolingLayer: false);
        using (no_grad())
            foreach (var (n, p) in model.named_parameters())
                if (n.EndsWith("scale_logit") || n.EndsWith("p_logit")) p.copy_(tensor(new[] { -0.7f, 1.3f }) + p);
        model.eval();
        var dir = Path.Combine(_tmp, name);
        BertCheckpoint.Save(model, config, dir);
        return (dir, model);
    }

    [Fact]
    public void Softmax_IsPlainBert_OtherAttention_HasItsOwnModelTypeAndCode()
    {
        var (soft, m1) = TinyModel("softmax", "softmax");
        m1.Dispose();
        var c1 = JsonNode.Parse(File.ReadAllText(Path.Combine(soft, "config.json")))!;
        Assert.Equal("bert", c1["model_type"]!.GetValue<string>());
        Assert.Null(c1["auto_map"]);
        Assert.All(ModelFiles.RemoteCodeFiles, f => Assert.False(File.Exists(Path.Combine(soft, f))));

        var (cot, m2) = TinyModel("cottention", "cottention");
        m2.Dispose();
        var c2 = JsonNode.Parse(File.ReadAllText(Path.Combine(cot, "config.json")))!;
        Assert.Equal("bertlab-bert", c2["model_type"]!.GetValue<string>());   // plain transformers refuses it: no silent softmax
        Assert.Equal("modeling_bertlab.BertLabForMaskedLM", c2["auto_map"]!["AutoModelForMaskedLM"]!.GetValue<string>());
        Assert.Equal("configuration_bertlab.BertLabConfig", c2["auto_map"]!["AutoConfig"]!.GetValue<string>());
        Assert.All(ModelFiles.RemoteCodeFiles, f => Assert.True(File.Exists(Path.Combine(cot, f)), f));
        Assert.Contains("trust_remote_code", File.ReadAllText(Path.Combine(cot, "README.md")));
        Assert.Equal("cottention", BertCheckpoint.LoadConfig(cot).Attention.Preset);   // BertLab still reads it
    }

    [PythonTorchFact]
    public void ShippedPyTorchAttention_GivesBertLabsHiddenStates_ForEveryPreset_WithPadding()
    {
        var presets = new (string Name, JsonNode Attention)[]
        {
            ("softmax", "softmax"), ("cottention", "cottention"), ("cosine-relu", "cosine-relu"), ("cosine-sqrt-n", "cosine-sqrt-n"),
            ("qkv-norm", "qkv-norm"), ("cosine-sigmoid", "cosine-sigmoid"), ("cosine-softmax", "cosine-softmax"), ("euclidean", "euclidean"),
            ("manhattan", "manhattan"), ("lp", "lp"), ("angular", "angular"),
            ("rowsum", new JsonObject { ["preset"] = "cosine", ["activation"] = "relu", ["scaling"] = "rowsum" }),
            ("cottention-linear", new JsonObject { ["preset"] = "cottention", ["implementation"] = "linear" }),
        };
        // Two sequences, the second padded (3 of 9 positions): padded keys must not count, padded rows must stay exact.
        long[,] ids = { { 2, 17, 54, 9, 33, 81, 5, 12, 3 }, { 2, 44, 7, 90, 61, 3, 0, 0, 0 } };
        long[,] mask = { { 1, 1, 1, 1, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1, 0, 0, 0 } };
        long[,] types = { { 0, 0, 0, 0, 1, 1, 1, 1, 1 }, { 0, 0, 0, 1, 1, 1, 0, 0, 0 } };
        var input = Path.Combine(_tmp, "input.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { input_ids = Rows(ids), attention_mask = Rows(mask), token_type_ids = Rows(types) }));
        var codeDir = Path.Combine(_tmp, "code");
        Directory.CreateDirectory(codeDir);
        ModelFiles.WriteRemoteCode(codeDir);   // softmax models ship none: the same module computes softmax too

        var jobs = new JsonArray();
        var expected = new Dictionary<string, List<float[]>>();
        foreach (var (name, attention) in presets)
        {
            using var scope = NewDisposeScope();
            var (dir, model) = TinyModel(name, attention);
            using (model)
            using (no_grad())
            {
                var output = model.Forward(tensor(ids), tensor(mask), tensor(types), new ForwardOptions { HiddenStates = true });
                expected[name] = output.HiddenStates.Select(h => h.contiguous().data<float>().ToArray()).ToList();
            }
            jobs.Add(new JsonObject { ["model"] = dir, ["code"] = codeDir, ["input"] = input, ["output"] = Path.Combine(_tmp, name + ".out.json") });
        }
        var jobsPath = Path.Combine(_tmp, "jobs.json");
        File.WriteAllText(jobsPath, jobs.ToJsonString());
        PythonTorch.Run("bertlab_reference_encoder.py", [jobsPath]);

        foreach (var (name, _) in presets)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(_tmp, name + ".out.json")));
            var states = doc.RootElement.GetProperty("hidden_states").EnumerateArray()
                .Select(s => s.EnumerateArray().SelectMany(b => b.EnumerateArray()).SelectMany(t => t.EnumerateArray()).Select(x => x.GetSingle()).ToArray()).ToList();
            Assert.Equal(expected[name].Count, states.Count);
            for (int layer = 0; layer < states.Count; layer++)
            {
                var e = expected[name][layer]; var a = states[layer];
                Assert.Equal(e.Length, a.Length);
                var diffs = e.Zip(a).Select(p => Math.Abs(p.First - p.Second)).ToArray();
                int worst = Array.IndexOf(diffs, diffs.Max());
                int d = e.Length / ids.Length;   // values per position
                Assert.True(diffs[worst] <= 1e-4, $"{name}, hidden state {layer}: max |BertLab − bertlab_attention.py| = {diffs[worst]:E2} " +
                    $"at sequence {worst / (d * ids.GetLength(1))}, position {worst / d % ids.GetLength(1)} (BertLab {e[worst]}, PyTorch {a[worst]})");
            }
        }
    }

    static long[][] Rows(long[,] m) => Enumerable.Range(0, m.GetLength(0)).Select(r => Enumerable.Range(0, m.GetLength(1)).Select(c => m[r, c]).ToArray()).ToArray();
}
