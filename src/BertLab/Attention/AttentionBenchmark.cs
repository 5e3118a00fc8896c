using System.Diagnostics;
using System.Runtime.InteropServices;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>One measured (or skipped) point of <see cref="AttentionBenchmark"/>.</summary>
/// <param name="Ms">Median wall-clock milliseconds of one forward + backward.</param>
/// <param name="CpuMs">Median process CPU milliseconds (all threads) of the same steps: robust to other load on the machine.</param>
/// <param name="FloorGflop">Arithmetic of the step's matmuls (forward + backward, GFLOP); null when no floor is modelled.</param>
/// <param name="FloorMb">Bytes the step must at least move (read Q, K, V and the output gradient, write O, dQ, dK, dV; MB).</param>
/// <param name="FloorMs">FloorGflop at the measured matmul peak plus FloorMb at the measured copy bandwidth.</param>
public sealed record AttentionBenchPoint(string Variant, int SeqLen, int Batch, double? Ms, double? PeakMb, string? Skipped = null, double? CpuMs = null,
    double? FloorGflop = null, double? FloorMb = null, double? FloorMs = null);

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
    /// <param name="Floor">(FLOPs, bytes) a step cannot go below, from (batch, heads, S, d); null: not modelled.</param>
    /// <param name="Headline">Measured at every length up to <see cref="HeadlineLen"/> regardless of the time limit (the comparison the JSON must hold).</param>
    /// <param name="Kernel">The kernel of <see cref="AttentionKernels"/> to run (null: the one the table chooses).</param>
    /// <param name="OptIn">Not run unless named in --variants.</param>
    public sealed record Variant(string Name, AttentionConfig Config, Func<long, long, long, long, double> EstimateBytes, int? TokensPerStep = null,
        Func<long, long, long, long, (double Flops, double Bytes)>? Floor = null, bool Headline = false, string? Kernel = null, bool OptIn = false);

    /// <summary>Headline variants are measured up to this length even past the time limit.</summary>
    public int HeadlineLen { get; init; } = 16384;

    /// <summary>fp32 matmul throughput (GFLOP/s, 2048², best of 3) and copy bandwidth (GB/s, read + write of 256 MB, best of 3),
    /// measured by <see cref="MeasureMachine"/> before the variants; the floors are priced with them.</summary>
    public double PeakGflops { get; private set; }
    public double BandwidthGBs { get; private set; }

    public Device Device { get; init; } = CPU;
    public int MinLen { get; init; } = 128;
    public int MaxLen { get; init; } = 65536;
    public int TokensPerStep { get; init; } = 16384;
    public int Heads { get; init; } = 12;
    public int HeadDim { get; init; } = 64;
    public double MemoryBudgetBytes { get; init; } = 16.0 * (1L << 30);
    public double TimeLimitSeconds { get; init; } = 20;
    public int Repetitions { get; init; } = 3;
    /// <summary>Tokens per step for lp, whose block-wise S×S×d work is far slower per token than the others.</summary>
    public int LpTokensPerStep { get; init; } = 1024;

    /// <summary>A warm-up longer than this (ms) gets one timed repetition instead of <see cref="Repetitions"/>.</summary>
    public const double OneRepetitionAboveMs = 2000;
    /// <summary>A warm-up longer than this (ms) is followed by one cold step that is both the memory and the time measurement.</summary>
    public const double ColdStepOnlyAboveMs = 8000;

    public string MemoryMethod => Device.type == DeviceType.CPU
        ? "sampled process RSS above the pre-step level (1 ms sampling; inputs excluded)"
        : "analytic estimate of the largest live tensors (TorchSharp exposes no CUDA allocator statistics)";

    /// <summary>softmax (fused SDPA and explicit), cottention (linear), cosine-relu and lp (quadratic, at
    /// <see cref="LpTokensPerStep"/>); opt-in: cottention through the named kernel "linear" (the torch-op composition).</summary>
    public IReadOnlyList<Variant> DefaultVariants()
    {
        static AttentionConfig C(string preset, AttentionImplementation impl) { var c = AttentionConfig.FromPreset(preset); c.Implementation = impl; return c; }
        const double f = 4;                                  // fp32 bytes
        // Floors: the matmuls of forward (2) and backward (4), and 11 passes over a (B, H, S, d) tensor (read Q, K, V, write O;
        // read dO, Q, K, V; write dQ, dK, dV). Linear: 2·S·d² per matmul per head; quadratic: 2·S²·d (no recomputation).
        // The explicit kernels also write and read the S×S matrix (forward and backward: ×4).
        static (double, double) LinearFloor(long b, long h, long s, long d) => (12.0 * b * h * s * d * d, 11 * f * b * h * s * d);
        static (double, double) QuadraticFloor(long b, long h, long s, long d) => (12.0 * b * h * s * s * d, 11 * f * b * h * s * d);
        static (double, double) ExplicitFloor(long b, long h, long s, long d) => (12.0 * b * h * s * s * d, 11 * f * b * h * s * d + 4 * f * b * h * s * s);
        return new[]
        {
            new Variant("softmax-fused", C("softmax", AttentionImplementation.Fused), (b, h, s, d) => f * b * h * s * d * 8, Floor: QuadraticFloor, Headline: true),
            new Variant("softmax-explicit", C("softmax", AttentionImplementation.Quadratic), (b, h, s, d) => f * b * h * s * s * 4, Floor: ExplicitFloor),
            new Variant("cottention-linear", C("cottention", AttentionImplementation.Linear), (b, h, s, d) => f * b * h * s * d * 10, Floor: LinearFloor, Headline: true),
            new Variant("cottention-composed", C("cottention", AttentionImplementation.Linear), (b, h, s, d) => f * b * h * s * d * 10, Floor: LinearFloor, Kernel: "linear", OptIn: true),
            new Variant("cosine-relu", C("cosine-relu", AttentionImplementation.Quadratic), (b, h, s, d) => f * b * h * s * s * 4, Floor: ExplicitFloor),
            new Variant("lp", C("lp", AttentionImplementation.Quadratic), (b, h, s, d) => f * b * h * s * s * 6 + f * BlockwiseLpDistance.TileElements * 6, LpTokensPerStep),
        };
    }

    /// <summary>Measures <see cref="PeakGflops"/> and <see cref="BandwidthGBs"/> on the benchmark's device.</summary>
    public void MeasureMachine()
    {
        PeakGflops = MachineSpeed.MatmulFlops(Device, ScalarType.Float32, Device.type == DeviceType.CUDA ? 8192 : 2048, 3) / 1e9;
        BandwidthGBs = MachineSpeed.CopyBytesPerSecond(Device) / 1e9;
    }

    public IEnumerable<AttentionBenchPoint> Run(IReadOnlyList<Variant> variants, Action<string>? progress = null)
    {
        foreach (var variant in variants)
        {
            string? stop = null;
            for (int s = MinLen; s <= MaxLen; s *= 2)
            {
                int batch = Math.Max(1, (variant.TokensPerStep ?? TokensPerStep) / s);
                if (stop is not null && variant.Headline && s <= HeadlineLen && stop.StartsWith("previous length")) stop = null;
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
                try
                {
                    point = Measure(variant, s, batch, estimate);
                }
                catch (Exception e) when (e is ExternalException or OutOfMemoryException || e.Message.Contains("alloc", StringComparison.OrdinalIgnoreCase))
                {
                    stop = "out of memory";
                    point = new AttentionBenchPoint(variant.Name, s, batch, null, null, stop);
                }
                if (point.Ms is not null && variant.Floor is not null)
                {
                    var (flops, bytes) = variant.Floor(batch, Heads, s, HeadDim);
                    double? floorMs = PeakGflops > 0 && BandwidthGBs > 0 ? Math.Round(flops / (PeakGflops * 1e9) * 1000 + bytes / (BandwidthGBs * 1e9) * 1000, 3) : null;
                    point = point with { FloorGflop = Math.Round(flops / 1e9, 3), FloorMb = Math.Round(bytes / (1 << 20), 1), FloorMs = floorMs };
                }
                yield return point;
                if (point.Ms is double ms && ms > TimeLimitSeconds * 1000)
                    stop = $"previous length took {ms / 1000:F0} s > {TimeLimitSeconds:F0} s";
            }
        }
    }

    AttentionBenchPoint Measure(Variant variant, int seqLen, int batch, double estimate)
    {
        var mech = new AttentionMechanism(variant.Config);
        var kernel = variant.Kernel is string name ? AttentionKernels.Named(name) : null;
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
            bool profile = Environment.GetEnvironmentVariable("BERTLAB_KERNEL_PROFILE") == "1";
            if (profile) Console.Error.WriteLine($"  [step] zero grads: {sw.Elapsed.TotalMilliseconds:F1} ms");
            var inputs = new AttentionInputs { Query = q, Key = k, Value = v, Parameter = n => parameters[n] };
            var o = (kernel is null ? mech.Forward(inputs) : mech.Forward(inputs, kernel)).Output;
            if (profile) Console.Error.WriteLine($"  [step] forward done: {sw.Elapsed.TotalMilliseconds:F1} ms");
            o.sum().backward();
            if (profile) Console.Error.WriteLine($"  [step] backward done: {sw.Elapsed.TotalMilliseconds:F1} ms");
            if (Device.type == DeviceType.CUDA) cuda.synchronize();
            double wall = sw.Elapsed.TotalMilliseconds;
            process.Refresh();
            return (wall, (process.TotalProcessorTime - cpu0).TotalMilliseconds);
        }

        double warm = Step().wall;                              // warm-up (also allocates the .grad tensors)
        // Long steps get fewer repetitions, so that the long lengths fit a few minutes on a small machine.
        int reps = warm > OneRepetitionAboveMs ? 1 : Repetitions;
        var times = new List<double>();
        var cpuTimes = new List<double>();
        double peak = 0;
        // The first timed step measures memory: freed memory is handed back to the kernel first, so its RSS peak is the
        // step's. That also makes it pay for faulting its pages in again, which a training step on a warm heap does not:
        // when there are further steps, they are timed on the warm heap and the memory step's time is not used.
        int memoryReps = warm > ColdStepOnlyAboveMs ? 0 : 1;    // a step that long is timed once, cold (its page faults are a small share)
        for (int r = 0; r < reps + memoryReps; r++)
        {
            // before the memory step, also the pool's idle buffers and malloc's free pages go back to the system
            if (r == 0) TorchRuntime.CollectNativeGarbage();
            else { GC.Collect(); GC.WaitForPendingFinalizers(); }
            using var sampler = r == 0 && Device.type == DeviceType.CPU ? new RssSampler() : null;
            var (wall, cpu) = Step();
            if (r >= memoryReps) { times.Add(wall); cpuTimes.Add(cpu); }
            if (sampler is not null) peak = Math.Max(peak, sampler.PeakAboveStartBytes());
        }
        static double Median(List<double> xs) { xs.Sort(); return xs[xs.Count / 2]; }
        double peakMb = (Device.type == DeviceType.CPU ? peak : estimate) / (1 << 20);
        return new AttentionBenchPoint(variant.Name, seqLen, batch, Median(times), peakMb, CpuMs: Median(cpuTimes));
    }

    /// <summary>Samples the resident set size (from /proc/self/statm) every millisecond on a background thread that does
    /// not allocate (<see cref="MemoryInfo.ResidentSampler"/>).</summary>
    sealed class RssSampler : IDisposable
    {
        readonly long _start;
        long _peak;
        volatile bool _stop;
        readonly Thread _thread;
        readonly MemoryInfo.ResidentSampler _sampler = new();

        public RssSampler()
        {
            _start = _sampler.Read();
            _peak = _start;
            _thread = new Thread(() => { while (!_stop) { long r = _sampler.Read(); if (r > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, r); Thread.Sleep(1); } }) { IsBackground = true };
            _thread.Start();
        }

        public double PeakAboveStartBytes() { long r = MemoryInfo.ResidentBytes(); if (r > Interlocked.Read(ref _peak)) Interlocked.Exchange(ref _peak, r); return Math.Max(0, Interlocked.Read(ref _peak) - _start); }

        public void Dispose() { _stop = true; _thread.Join(); _sampler.Dispose(); }
    }
}
