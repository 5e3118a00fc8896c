using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace BertLab.Runtime;

/// <summary>Raw access to a CPU tensor's storage for the hand-written CPU kernels (fused AdamW, linear attention).</summary>
public static unsafe class TensorMemory
{
    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>Pointer to the first fp32 element of a CPU tensor (its storage offset included).</summary>
    public static float* Float32(Tensor t)
    {
        if (t.device.type != TorchSharp.DeviceType.CPU || t.dtype != ScalarType.Float32)
            throw new ArgumentException("TensorMemory.Float32: needs an fp32 CPU tensor");
        var p = THSTensor_data(t.Handle);
        if (p == IntPtr.Zero && t.numel() > 0) throw new InvalidOperationException("TensorMemory.Float32: no data pointer");
        return (float*)p;
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int param, int value);

    const int M_MMAP_MAX = -4;
    static int _heapOnly;

    /// <summary>The process's M_MMAP_MAX outside a <see cref="HeapOnly"/> scope: glibc's default, or 0 when
    /// <see cref="TorchRuntime"/> tuned malloc (then every scope is a no-op).</summary>
    internal static int BaseMmapMax = 65536;
    static bool _noMallopt;

    /// <summary>
    /// While the returned scope is open, glibc serves every allocation from its heap instead of a fresh mmap for blocks
    /// above the mmap threshold (32 MB at most), so a buffer freed by the previous step is reused instead of being
    /// faulted in page by page again. Measured on the project's 2-core VM (loaded): producing a 50 MB tensor (q·2) cost
    /// 185 ms of CPU time with fresh pages and 8 ms from the heap; the linear attention kernel at S = 16,384 makes ~7 such
    /// tensors per step. Only allocations made inside the scope are affected (frees need nothing); nests and is shared
    /// across threads (a count). A no-op where mallopt is not glibc's.
    /// </summary>
    public static HeapScope HeapOnly()
    {
        if (!OperatingSystem.IsLinux() || _noMallopt || BaseMmapMax == 0) return default;
        if (Interlocked.Increment(ref _heapOnly) == 1) Set(0);
        return new HeapScope(true);
    }

    static void Set(int value)
    {
        try { MallOpt(M_MMAP_MAX, value); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { _noMallopt = true; }
    }

    public readonly struct HeapScope : IDisposable
    {
        readonly bool _active;
        internal HeapScope(bool active) => _active = active;
        public void Dispose()
        {
            if (_active && Interlocked.Decrement(ref _heapOnly) == 0) Set(BaseMmapMax);
        }
    }
}
