using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Runtime;
using BertLab.Tests.Training;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>What ran is recorded: summary.json holds, per layer, the kernels of the run's calls with their counts; the
/// start-of-run table names the kernel each preset's calls get.</summary>
public sealed class KernelUsageTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-kernels-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    [Fact]
    public void Summary_RecordsPerLayerTheKernelsOfTrainingAndEvaluation()
    {
        using var scope = NewDisposeScope();
        var json = RunConfig.DefaultJson();
        json["model"] = new JsonObject { ["preset"] = "tiny", ["vocab_size"] = 200, ["hidden_dropout_prob"] = 0.1, ["attention_probs_dropout_prob"] = 0.1, ["max_position_embeddings"] = 64 };
        json["attention"] = "softmax";
        json["data"] = new JsonObject { ["seq_len"] = 32 };
        json["run"] = new JsonObject { ["steps"] = 3, ["batch_size"] = 8, ["accumulation"] = 2, ["log_interval"] = 1, ["eval_interval"] = 100, ["checkpoint_interval"] = 100, ["threads"] = 2 };
        var config = RunConfig.FromJson(json);
        var dir = Path.Combine(_tmp, "run");
        var summary = new Trainer(config, dir, FixedBatchSource.Random(16, 32, 200, 3)).Run();
        Assert.Equal(RunStatus.Completed, summary.Status);

        // Training with attention dropout on fp32 CPU tensors: the CPU softmax function, once per micro-batch and layer;
        // validation (no dropout): libtorch's SDPA.
        var onDisk = RunSummary.FromJson(JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json"))));
        Assert.NotNull(onDisk.AttentionKernels);
        Assert.Equal(config.Model.NumHiddenLayers, onDisk.AttentionKernels!.Count);
        foreach (var layer in onDisk.AttentionKernels)
        {
            Assert.Equal(new[] { "sdpa", "softmax-cpu" }, layer.Kernels.Select(k => k.Kernel));   // table order
            Assert.True(layer.Kernels[0].Calls >= 1);
            Assert.Equal(3 * 2, layer.Kernels[1].Calls);
        }
        Assert.Equal(Enumerable.Range(0, config.Model.NumHiddenLayers), onDisk.AttentionKernels.Select(l => l.Layer));
        Assert.Equal(summary.ToJsonText(), onDisk.ToJsonText());
        var raw = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "summary.json")))!;
        Assert.Equal(6, raw["attention_kernels"]![1]!["calls"]!["softmax-cpu"]!.GetValue<long>());
    }

    [Fact]
    public void Plan_NamesEachPresetsKernels_ForTheRunsShape()
    {
        var run = AttentionConfig.FromPreset("cottention");
        // S ≤ d: the matrix is the smaller form; S > d: the right product, on the CPU the cosine kernel.
        var shortLines = KernelPlan.Describe(run, DeviceType.CPU, 64, 64, 0.1, MixedPrecision.Fp32);
        var longLines = KernelPlan.Describe(run, DeviceType.CPU, 128, 64, 0.1, MixedPrecision.Fp32);
        Assert.Equal(AttentionConfig.PresetNames.Count + 1, shortLines.Count);
        Assert.Matches(@"^\s+cottention\s+quadratic / quadratic\s+← this run$", shortLines.Single(l => l.TrimStart().StartsWith("cottention")));
        Assert.Matches(@"^\s+cottention\s+linear-cosine-cpu / linear-cosine-cpu\s+← this run$", longLines.Single(l => l.TrimStart().StartsWith("cottention")));
        Assert.Matches(@"^\s+softmax\s+softmax-cpu / sdpa$", longLines.Single(l => l.TrimStart().StartsWith("softmax ")));
        // Under the bf16 policy the linear kernels keep bf16 inputs, which the fp32 CPU kernel does not take.
        Assert.Equal("linear", KernelPlan.For(run, DeviceType.CPU, 128, 64, 0.1, training: true, MixedPrecision.Bf16).Name);
        Assert.Equal("linear-cosine-cpu", KernelPlan.For(run, DeviceType.CPU, 128, 64, 0.1, training: true, MixedPrecision.Bf16Autocast).Name);
        Assert.Equal("linear", KernelPlan.For(run, DeviceType.CUDA, 128, 64, 0.1, training: true, MixedPrecision.Fp32).Name);
        Assert.Equal("sdpa", KernelPlan.For(AttentionConfig.FromPreset("softmax"), DeviceType.CUDA, 128, 64, 0.1, training: true, MixedPrecision.Fp32).Name);
        // A run that is not a plain preset gets its own line.
        var custom = AttentionConfig.FromPreset("softmax"); custom.TokenDropout = 0.1;
        var lines = KernelPlan.Describe(custom, DeviceType.CPU, 128, 64, 0.1, MixedPrecision.Fp32);
        Assert.Matches(@"^\s+this run\s+fused-explicit / fused\s+\(softmax \(.*token_dropout=0\.1\)\)$", lines[^1]);
        Assert.DoesNotContain(lines, l => l.Contains("← this run"));
    }
}
