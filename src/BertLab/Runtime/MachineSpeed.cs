using System.Diagnostics;
using static TorchSharp.torch;

namespace BertLab.Runtime;

/// <summary>
/// The machine's dense-matmul peak and copy bandwidth as the benchmarks state them (MFU and floors are priced at these),
/// measured so that nothing but the arithmetic and the memory traffic is timed: the product is written into one
/// preallocated output (addmm_ with β = 0) instead of a fresh tensor per repetition. With a fresh 16 MB output per
/// repetition kept alive until the end (as <c>bench train</c> measured before), each repetition also paid for faulting
/// in new pages, and the "peak" read 206–245 GFLOP/s on the project's 2-core VM where the same sgemm reads ~375:
/// MFU was flattered by ×1.5.
/// </summary>
public static class MachineSpeed
{
    /// <summary>Best n×n·n×n matmul throughput in FLOP/s over <paramref name="reps"/> repetitions after one warm-up.</summary>
    public static double MatmulFlops(Device device, ScalarType dtype, int n, int reps)
    {
        using var scope = NewDisposeScope();
        var a = randn(n, n, device: device).to_type(dtype);
        var b = randn(n, n, device: device).to_type(dtype);
        var c = empty(n, n, dtype: dtype, device: device);
        double best = Best(device, () => c.addmm_(a, b, beta: 0, alpha: 1), reps);
        return 2.0 * n * n * n / best;
    }

    /// <summary>Best copy bandwidth in bytes/s (read + write) of a 256 MB fp32 buffer into a preallocated one.</summary>
    public static double CopyBytesPerSecond(Device device, int reps = 3)
    {
        using var scope = NewDisposeScope();
        long m = 64L << 20;
        var src = randn(m, device: device); var dst = empty(m, device: device);
        return 2.0 * 4 * m / Best(device, () => dst.copy_(src), reps);
    }

    static double Best(Device device, Action a, int reps)
    {
        void Sync() { if (device.type == TorchSharp.DeviceType.CUDA) TorchSharp.torch.cuda.synchronize(); }
        a(); Sync();
        double best = double.MaxValue;
        for (int i = 0; i < Math.Max(1, reps); i++)
        {
            var sw = Stopwatch.StartNew();
            a(); Sync();
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
