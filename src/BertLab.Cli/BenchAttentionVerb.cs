using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Plotting;
using BertLab.Runtime;
using Spectre.Console;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Cli;

/// <summary>
/// <c>bertlab bench attention</c>: forward+backward time and peak memory of one attention call versus sequence length
/// (constant tokens per step) for <see cref="AttentionBenchmark.DefaultVariants"/>; the option defaults are
/// <see cref="AttentionBenchmark"/>'s, declared there once.
/// </summary>
public static class BenchAttentionVerb
{
    public static Command Build()
    {
        var d = new AttentionBenchmark();
        var variantNames = d.DefaultVariants();
        var device = Verb.Opt<string>("--device", "cpu or cuda.", () => d.Device.type == DeviceType.CPU ? "cpu" : "cuda");
        var maxLen = Verb.Opt<int>("--max-len", "Longest sequence length (powers of two from --min-len up to this).", () => d.MaxLen);
        var minLen = Verb.Opt<int>("--min-len", "Shortest sequence length.", () => d.MinLen);
        var tokens = Verb.Opt<int>("--tokens", "Tokens per step: batch = max(1, tokens / S).", () => d.TokensPerStep);
        var lpTokens = Verb.Opt<int>("--lp-tokens", "Tokens per step for lp (its block-wise distance is much slower per token).", () => d.LpTokensPerStep);
        var budget = Verb.Opt<double>("--memory-budget-gb", "Skip a variant from the first length whose estimated memory exceeds this (GiB).", () => d.MemoryBudgetBytes / (1L << 30));
        var timeLimit = Verb.Opt<double>("--time-limit-s", "Skip a variant's longer lengths once one length took longer than this (seconds).", () => d.TimeLimitSeconds);
        var reps = Verb.Opt<int>("--reps", string.Create(CultureInfo.InvariantCulture,
            $"Timed repetitions after one warm-up (median reported; 1 when the warm-up took over {AttentionBenchmark.OneRepetitionAboveMs / 1000} s)."), () => d.Repetitions);
        var variantsOpt = Verb.Opt<string?>("--variants",
            $"Comma-separated subset of: {string.Join(", ", variantNames.Where(v => !v.OptIn).Select(v => v.Name))} (the default set); opt-in: "
            + string.Join(", ", variantNames.Where(v => v.OptIn).Select(v => v.Kernel is string k ? $"{v.Name} (kernel '{k}')" : v.Name)) + ".");
        var json = Verb.Opt<string?>("--json", "Write the measurements as a JSON array of {variant, seq_len, batch, ms, peak_mb} (plus cpu_ms: process CPU time).");
        var plot = Verb.Opt<string?>("--plot", "Write log-log PNG plots: FILE.png gives FILE-time.png (wall clock), FILE-cpu-time.png and FILE-memory.png.");

        var cmd = new Command("attention", "Time (forward + backward) and peak memory of one attention layer's mechanism versus sequence length.");
        foreach (var o in new Option[] { device, maxLen, minLen, tokens, lpTokens, budget, timeLimit, reps, variantsOpt, json, plot }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            TorchRuntime.Initialize();   // the MKL fast path on AMD CPUs and the malloc settings, as every other verb
            var dev = TorchRuntime.Device(r.GetValue(device)!);
            int lo = r.GetValue(minLen), hi = r.GetValue(maxLen);
            if (lo < 1 || hi < lo) throw new BertLabException($"--min-len/--max-len: need 1 ≤ min ≤ max, got {lo} and {hi}");
            if (r.GetValue(tokens) < 1) throw new BertLabException("--tokens must be positive");
            if (r.GetValue(reps) < 1) throw new BertLabException("--reps must be positive");
            if (r.GetValue(lpTokens) < 1) throw new BertLabException("--lp-tokens must be positive");
            var bench = new AttentionBenchmark
            {
                Device = dev, MinLen = lo, MaxLen = hi, TokensPerStep = r.GetValue(tokens), LpTokensPerStep = r.GetValue(lpTokens),
                MemoryBudgetBytes = r.GetValue(budget) * (1L << 30), TimeLimitSeconds = r.GetValue(timeLimit), Repetitions = r.GetValue(reps),
            };
            var all = bench.DefaultVariants();
            IReadOnlyList<AttentionBenchmark.Variant> chosen = all.Where(v => !v.OptIn).ToList();
            if (r.GetValue(variantsOpt) is string list)
            {
                var names = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                foreach (var n in names)
                    if (all.All(v => v.Name != n)) throw new BertLabException($"--variants: unknown variant '{n}'; allowed: {string.Join(", ", all.Select(v => v.Name))}");
                chosen = all.Where(v => names.Contains(v.Name)).ToList();
            }
            AnsiConsole.MarkupLine($"[bold]bench attention[/] on {Markup.Escape(dev.ToString())}: H = {bench.Heads}, d = {bench.HeadDim}, {bench.TokensPerStep} tokens per step (lp: {bench.LpTokensPerStep})");
            AnsiConsole.MarkupLine($"peak memory: {Markup.Escape(bench.MemoryMethod)}");
            bench.MeasureMachine();
            AnsiConsole.MarkupLine($"machine: {Markup.Escape(TorchRuntime.Describe())}; fp32 matmul peak {bench.PeakGflops:F1} GFLOP/s (2048²), copy bandwidth {bench.BandwidthGBs:F1} GB/s (256 MB); floor = matmul FLOPs at that peak + 11 passes over (B, H, S, d) at that bandwidth");
            var points = new List<AttentionBenchPoint>();
            foreach (var p in bench.Run(chosen, msg => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(msg)}[/]")))
            {
                points.Add(p);
                if (p.Ms is double ms) AnsiConsole.MarkupLine($"[grey]  {ms:F1} ms (CPU {p.CpuMs:F0} ms), {p.PeakMb:F1} MB{(p.FloorMs is double fl ? $"; floor {p.FloorGflop:F2} GFLOP + {p.FloorMb:F0} MB = {fl:F1} ms ({ms / fl:F1}× the floor)" : "")}[/]");
            }
            PrintTable(points);
            var measured = points.Where(p => p.Ms is not null).ToList();
            PrintRatios(measured, bench.HeadlineLen);
            if (r.GetValue(json) is string jsonPath) WriteJson(jsonPath, measured, bench);
            if (r.GetValue(plot) is string plotPath)
            {
                string Suffixed(string suffix) => Path.Combine(Path.GetDirectoryName(plotPath) ?? "", Path.GetFileNameWithoutExtension(plotPath) + suffix + (Path.HasExtension(plotPath) ? Path.GetExtension(plotPath) : ".png"));
                string timePath = Suffixed("-time"), memPath = Suffixed("-memory");
                LinePlot.Save(timePath, "One attention layer: forward + backward time", "sequence length S", "ms per step",
                    Series(measured, p => p.Ms!.Value), logX: true, logY: true);
                string cpuPath = Suffixed("-cpu-time");
                LinePlot.Save(cpuPath, "One attention layer: forward + backward process CPU time (all threads)", "sequence length S", "CPU ms per step",
                    Series(measured.Where(p => p.CpuMs > 0).ToList(), p => p.CpuMs!.Value), logX: true, logY: true);
                LinePlot.Save(memPath, $"One attention layer: peak memory ({(dev.type == DeviceType.CPU ? "sampled RSS" : "estimate")})", "sequence length S", "peak MB",
                    Series(measured.Where(p => p.PeakMb > 0).ToList(), p => p.PeakMb!.Value), logX: true, logY: true);
                AnsiConsole.MarkupLine($"plots: {Markup.Escape(timePath)}, {Markup.Escape(cpuPath)}, {Markup.Escape(memPath)}");
            }
            return 0;
        });
        return cmd;
    }

    static IEnumerable<Series> Series(List<AttentionBenchPoint> points, Func<AttentionBenchPoint, double> y) =>
        points.GroupBy(p => p.Variant).Select(g => new Series(g.Key, g.Select(p => (double)p.SeqLen).ToArray(), g.Select(y).ToArray()));

    static void PrintTable(List<AttentionBenchPoint> points)
    {
        var table = new PlainTable("variant", "S", "batch", "ms (fwd+bwd)", "CPU ms", "peak MB", "MB per 1k tokens", "floor ms", "× floor", "note");
        foreach (var p in points)
            table.AddRow(p.Variant, p.SeqLen.ToString(CultureInfo.InvariantCulture), p.Batch.ToString(CultureInfo.InvariantCulture),
                p.Ms?.ToString("F1", CultureInfo.InvariantCulture) ?? "-", p.CpuMs?.ToString("F0", CultureInfo.InvariantCulture) ?? "-", p.PeakMb?.ToString("F1", CultureInfo.InvariantCulture) ?? "-",
                p.PeakMb is double mb ? (mb / (p.SeqLen * (double)p.Batch) * 1000).ToString("F2", CultureInfo.InvariantCulture) : "-",
                p.FloorMs?.ToString("F1", CultureInfo.InvariantCulture) ?? "-",
                p.FloorMs is double fl && p.Ms is double m ? (m / fl).ToString("F1", CultureInfo.InvariantCulture) : "-",
                p.Skipped is null ? "" : "skipped: " + p.Skipped);
        table.Write();
    }

    /// <summary>Fused softmax ÷ each linear variant at the same length (the headline comparison), printed.</summary>
    static void PrintRatios(List<AttentionBenchPoint> measured, int headlineLen)
    {
        foreach (var lin in measured.Where(p => p.Variant.StartsWith("cottention")))
        {
            var soft = measured.FirstOrDefault(p => p.Variant == "softmax-fused" && p.SeqLen == lin.SeqLen && p.Batch == lin.Batch);
            if (soft?.Ms is double sm && lin.Ms is double lm && (lin.SeqLen == headlineLen || lin.SeqLen >= 4096))
                AnsiConsole.MarkupLine($"S = {lin.SeqLen}: softmax-fused / {lin.Variant} = {sm / lm:F1}× (wall), {(soft.CpuMs / lin.CpuMs):F1}× (CPU time)");
        }
    }

    static void WriteJson(string path, List<AttentionBenchPoint> points, AttentionBenchmark bench)
    {
        var arr = new JsonArray(points.Select(p => (JsonNode)new JsonObject
        {
            ["variant"] = p.Variant,
            ["seq_len"] = p.SeqLen,
            ["batch"] = p.Batch,
            ["ms"] = Math.Round(p.Ms!.Value, 3),
            ["peak_mb"] = Math.Round(p.PeakMb!.Value, 3),
            ["cpu_ms"] = p.CpuMs is double c ? Math.Round(c, 1) : null,
            ["floor_gflop"] = p.FloorGflop, ["floor_mb"] = p.FloorMb, ["floor_ms"] = p.FloorMs,
            ["times_floor"] = p.FloorMs is double fl && fl > 0 ? Math.Round(p.Ms!.Value / fl, 2) : null,
            ["matmul_peak_gflops"] = Math.Round(bench.PeakGflops, 1), ["copy_bandwidth_gbs"] = Math.Round(bench.BandwidthGBs, 2),
            ["speedup_vs_softmax_fused"] = points.FirstOrDefault(s => s.Variant == "softmax-fused" && s.SeqLen == p.SeqLen && s.Batch == p.Batch)?.Ms is double sm && p.Variant != "softmax-fused" ? Math.Round(sm / p.Ms!.Value, 2) : null,
        }).ToArray());
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        File.WriteAllText(path, arr.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        AnsiConsole.MarkupLine($"json: {Markup.Escape(path)}");
    }
}
