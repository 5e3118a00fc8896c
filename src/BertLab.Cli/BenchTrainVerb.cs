using System.CommandLine;
using System.Text.Json;
using BertLab.Runtime;
using BertLab.Training;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab bench train: masked-LM training throughput and MFU for the BERT-base and small shapes.</summary>
public static class BenchTrainVerb
{
    public static Command Build()
    {
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var json = new Option<string?>("--json") { Description = "Write the records as a JSON array to this file" };
        var steps = new Option<int>("--steps") { Description = "Timed steps per configuration (after 2 warm-up steps)", DefaultValueFactory = _ => 4 };
        var only = new Option<string?>("--only") { Description = "Only configurations whose 'model/attention/seq' contains this text, e.g. base/softmax/128" };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0 = all cores)", DefaultValueFactory = _ => 0 };
        var precision = new Option<string?>("--precision") { Description = "fp32, bf16 (bf16 matmuls and activations, fp32 master weights) or bf16-autocast (fp32 activations, as torch.autocast); default bf16 on cuda, fp32 on cpu" };
        var optimizerImpl = new Option<string>("--optimizer") { Description = "auto (what `bertlab train` uses: flat for AdamW), flat (AdamW over one buffer: a few kernels per step on a GPU, one fused pass on a CPU) or torch (TorchSharp's per-tensor AdamW)", DefaultValueFactory = _ => "auto" };
        var breakdown = new Option<bool>("--breakdown") { Description = "Also time forward, backward and the optimiser step on their own (where a step's time goes)" };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps per configuration before the timed ones (default 2 on cpu, 3 on cuda)" };
        var cmd = new Command("train", "Masked-LM training steps/s, tokens/s, FLOPs per token, MFU against the matmul peak measured in the same run, and peak memory");
        foreach (var o in new Option[] { device, json, steps, only, threads, precision, optimizerImpl, warmup, breakdown }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            TorchRuntime.Initialize(r.GetValue(threads));
            var dev = TorchRuntime.Device(r.GetValue(device)!);
            bool cuda = dev.type == TorchSharp.DeviceType.CUDA;
            var compute = MixedPrecision.Parse(r.GetValue(precision) ?? (cuda ? "bf16" : "fp32"), "--precision");
            var impl = r.GetValue(optimizerImpl)!;
            if (!OptimizerSettings.Implementations.Contains(impl)) throw new BertLabException($"--optimizer: '{impl}' is not allowed; allowed: {string.Join(", ", OptimizerSettings.Implementations)}");
            if (r.GetValue(steps) < 1) throw new BertLabException("--steps must be at least 1");
            var bench = new TrainBenchmark
            {
                Device = dev, Steps = r.GetValue(steps), Precision = compute, OptimizerImplementation = impl, Breakdown = r.GetValue(breakdown),
                WarmupSteps = r.GetValue(warmup) is > 0 and var w ? w : (cuda ? 3 : 2),
            };
            AnsiConsole.MarkupLine($"[bold]bench train[/] on {Markup.Escape(dev.type.ToString())}: {Markup.Escape(TorchRuntime.Describe())}");
            // The peak is measured right before each configuration and again after its timed steps (a shared machine's speed
            // drifts; MFU is priced at the best reading).
            double peak = bench.MeasureMatmulPeak();
            AnsiConsole.MarkupLine($"  {(compute.Compute is null ? "fp32" : "bf16")} matmul peak: {peak * 1000:F1} GFLOP/s; precision {compute.Name}, optimizer {TrainingOptimizer.Resolve(new OptimizerSettings { Implementation = impl }, dev)} (--optimizer {impl})");
            var records = new List<TrainBenchRecord>();
            var table = new PlainTable("model", "attention", "seq", "batch", "ms/step", "tokens/s", "GFLOP/token", "GFLOP/s", "peak GFLOP/s", "MFU", "peak MB");
            foreach (var k in TrainBenchmark.DefaultCases(cuda))
            {
                if (r.GetValue(only) is string filter && !$"{k.Model}/{k.Attention}/{k.SeqLen}".Contains(filter)) continue;
                peak = Math.Max(bench.MeasureMatmulPeak(), bench.MeasureMatmulPeak());
                var rec = bench.Run(k, peak, m => AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(m)}[/]"));
                records.Add(rec);
                table.AddRow(rec.Model, rec.Attention, rec.SeqLen.ToString(), rec.Batch.ToString(), rec.MsPerStep.ToString("F1"), rec.TokensPerS.ToString("N0"),
                    (rec.FlopsPerToken / 1e9).ToString("F3"), (rec.AchievedTflops * 1000).ToString("F1"), (rec.PeakTflops * 1000).ToString("F1"), rec.Mfu.ToString("P1"), rec.PeakMb?.ToString("N0") ?? "-");
            }
            table.Write();
            if (r.GetValue(json) is string path)
            {
                var rows = records.Select(x => new Dictionary<string, object?>
                {
                    ["model"] = x.Model, ["attention"] = x.Attention, ["seq_len"] = x.SeqLen, ["batch"] = x.Batch, ["steps_per_s"] = x.StepsPerS,
                    ["tokens_per_s"] = x.TokensPerS, ["flops_per_token"] = x.FlopsPerToken, ["achieved_tflops"] = x.AchievedTflops,
                    ["peak_tflops"] = x.PeakTflops, ["mfu"] = x.Mfu, ["peak_mb"] = x.PeakMb, ["device"] = x.Device,
                    ["precision"] = x.Precision, ["optimizer"] = x.Optimizer, ["ms_per_step"] = x.MsPerStep, ["breakdown_ms"] = x.BreakdownMs, ["step_ms"] = x.StepMs,
                    ["peak_mb_measure"] = x.Device == "cuda" ? $"device memory in use after the timed steps minus before the model ({CudaMemory.Source ?? "unavailable"})" : "resident set size peak minus before the model",
                    ["cpu"] = TorchRuntime.Describe(), ["mkl_fast_path"] = TorchRuntime.MklFastPath, ["malloc_huge_pages"] = TorchRuntime.HugePages,
                });
                TextArrayFile.WriteAtomically(path, JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
                AnsiConsole.MarkupLine($"  records → {Markup.Escape(path)}");
            }
            return 0;
        });
        return cmd;
    }
}
