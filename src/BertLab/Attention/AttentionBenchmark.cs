using System.Diagnostics;
using System.Runtime.InteropServices;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>One measured (or skipped) point of <see cref="AttentionBenchmark"/>.</summary>
/// <param name="Ms">Median wall-clock milliseconds of one forward + backward.</param>
/// <param name="CpuMs">Median process CPU milliseconds (all threads) of the same steps: robust to other load on the machine.</param>
public sealed record AttentionBenchPoint(string Variant, int SeqLen, int Batch, double? Ms, double? PeakMb, string? Skipped = null, double? CpuMs = null);

/// <summary>
/// Time and memory of one attention mechanism call (forward + backward through Q, K, V and the mechanism's
/// parameters; no projections) versus sequence length, at a constant number of tokens per step.
/// A variant stops at the first length whose estimated memory exceeds the budget, or after a length
/// that took longer than the time limit. Memory on CPU is the sampled process RSS above the level before the
/// step (glibc is asked to return freed memory first); on CUDA it is the analytic estimate.
/// </summary>
public sealed class AttentionBenchmark
{
    /// <param name="TokensPerStep">Overrides the benchmark's tokens per step for a variant too slow for it (null: the common value).</param>
    public sealed record Variant(string Name, AttentionConfig Config, Func<long, long, long, long, double> EstimateBytes, int? TokensPerStep = null);

    public Device Device { get; init; } = CPU;
    public int MinLen { get; init; } = 128;
    public int MaxLen { get; init; } = 65536;
    public int TokensPerStep { get; init; } = 16384;
    public int Heads { get; init; } = 12;
    public int HeadDim { get; init; } = 64;
    public double MemoryBudgetBytes { get; init; } = 16.0 * (1L << 30);
    public double TimeLimitSeconds { get; init; } = 20;
    public int Repetitions { get; init; } = 3;

    public string MemoryMethod => Device.type == DeviceType.CPU
        ? "sampled process RSS above the pre-step level (1 ms sampling; inputs excluded)"
        : "analytic estimate of the largest live tensors (TorchSharp exposes no CUDA allocator statistics)";

    /// <summary>softmax (fused SDPA and explicit), cottention (linear), cosine-relu and lp (quadratic).</summary>
    /// <param name="lpTokens">Tokens per step for lp, whose block-wise S×S×d work is far slower per token than the others.</param>
    public static IReadOnlyList<Variant> DefaultVariants(int? lpTokens = null)
    {
        static AttentionConfig C(string preset, AttentionImplementation impl) { var c = AttentionConfig.FromPreset(preset); c.Implementation = impl; return c; }
        const double f = 4;                                  // fp32 bytes
        return new[]
        {
            new Variant("softmax-fused", C("softmax", AttentionImplementation.Fused), (b, h, s, d) => f * b * h * s * d * 8),
            new Variant("softmax-explicit", C("softmax", AttentionImplementation.Quadratic), (b, h, s, d) => f * b * h * s * s * 4),
            new Variant("cottention-linear", C("cottention", AttentionImplementation.Linear), (b, h, s, d) => f * b * h * s * d * 10),
            new Variant("cosine-relu", C("cosine-relu", AttentionImplementation.Quadratic), (b, h, s, d) => f * b * h * s * s * 4),
            new Variant("lp", C("lp", AttentionImplementation.Quadratic), (b, h, s, d) => f * b * h * s * s * 6 + f * BlockwiseLpDistance.TileElements * 6, lpTokens),
        };
    }

    public IEnumerable<AttentionBenchPoint> Run(IReadOnlyList<Variant> variants, Action<string>? progress = null)
    {
        foreach (var variant in variants)
        {
            string? stop = null;
            for (int s = MinLen; s <= MaxLen; s *= 2)
            {
                int batch = Math.Max(1, (variant.TokensPerStep ?? TokensPerStep) / s);
                if (stop is not null) { yield return new AttentionBenchPoint(variant.Name, s, batch, null, null, stop); continue; }
                double estimate = variant.EstimateBytes(batch, Heads, s, HeadDim);
                if (estimate > MemoryBudgetBytes)
                {
                    stop = $"estimated {estimate / (1 << 30):F1} GiB > budget {MemoryBudgetBytes / (1 << 30):F1} GiB";
                    yield return new AttentionBenchPoint(variant.Name, s, batch, null, null, stop);
                    continue;
                }
                progress?.Invoke($"{variant.Name}: S = {s}, batch = {batch}");
                AttentionBenchPoint point;
                try { point = Measure(variant, s, batch, estimate); }
                catch (Exception e) when (e is ExternalException or OutOfMemoryException || e.Message.Contains("alloc", StringComparison.OrdinalIgnoreCase))
                {
                    stop = "out of memory";
                    point = new AttentionBenchPoint(variant.Name, s, batch, null, null, stop);
                }
                yield return point;
                if (point.Ms is double ms && ms > TimeLimitSeconds * 1000)
                    stop = $"previous length took {ms / 1000:F0} s > {TimeLimitSeconds:F0} s";
            }
        }
    }

    AttentionBenchPoint Measure(Variant variant, int seqLen, int batch, double estimate)
    {
        var mech = new ComposedAttention(variant.Config);
        using var outer = NewDisposeScope();
        manual_seed(0);
        var shape = new long[] { batch, Heads, seqLen, HeadDim };
        var q = randn(shape, device: Device).requires_grad_();
        var k = randn(shape, device: Device).requires_grad_();
        var v = randn(shape, device: Device).requires_grad_();
        var parameters = mech.CreateParameters(Heads).ToDictionary(kv => kv.Key, kv => kv.Value.to(Device).requires_grad_());

        var process = Process.GetCurrentProcess();
        (double wall, double cpu) Step()
        {
            using var scope = NewDisposeScope();
            foreach (var t in new[] { q, k, v }.Concat(parameters.Values)) t.grad?.zero_();
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            var o = mech.Forward(new AttentionInputs { Query = q, Key = k, Value = v, Parameter = n => parameters[n] }).Output;
            o.sum().backward();
            if (Device.type == DeviceType.CUDA) cuda.synchronize();
            double wall = sw.Elapsed.TotalMilliseconds;
            process.Refresh();
            return (wall, (process.TotalProcessorTime - cpu0).TotalMilliseconds);
        }

        double warm = Step().wall;                              // warm-up (also allocates the .grad tensors)
        int reps = warm > 8000 ? 1 : Repetitions;
        var times = new List<double>();
        var cpuTimes = new List<double>();
        double peak = 0;
        for (int r = 0; r < reps; r++)
        {
            GC.Collect(); GC.WaitForPendingFinalizers();
            ReleaseFreedMemory();
            using var sampler = Device.type == DeviceType.CPU ? new RssSampler() : null;
            var (wall, cpu) = Step();
            times.Add(wall); cpuTimes.Add(cpu);
            if (sampler is not null) peak = Math.Max(peak, sampler.PeakAboveStartBytes());
        }
        static double Median(List<double> xs) { xs.Sort(); return xs[xs.Count / 2]; }
        double peakMb = (Device.type == DeviceType.CPU ? peak : estimate) / (1 << 20);
        return new AttentionBenchPoint(variant.Name, seqLen, batch, Median(times), peakMb, CpuMs: Median(cpuTimes));
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(UIntPtr pad);

    static void ReleaseFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { MallocTrim(UIntPtr.Zero); } catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    /// <summary>Samples the resident set size (from /proc/self/statm) every millisecond on a background thread.</summary>
    sealed class RssSampler : IDisposable
    {
        readonly long _start;
        long _peak;
        volatile bool _stop;
        readonly Thread _thread;

        public RssSampler()
        {
            _start = Rss();
            _peak = _start;
            _thread = new Thread(() => { while (!_stop) { long r = Rss(); if (r > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, r); Thread.Sleep(1); } }) { IsBackground = true };
            _thread.Start();
        }

        public double PeakAboveStartBytes() { long r = Rss(); if (r > _peak) _peak = r; return Math.Max(0, Interlocked.Read(ref _peak) - _start); }

        public void Dispose() { _stop = true; _thread.Join(); }

        static long Rss() => MemoryInfo.ResidentBytes();
    }
}
