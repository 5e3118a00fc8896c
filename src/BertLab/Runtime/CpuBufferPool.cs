using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace BertLab.Runtime;

/// <summary>
/// Reusable fp32 CPU buffers for the hand-written kernels' large per-step tensors. A tensor from <see cref="Empty"/>
/// is an ordinary libtorch tensor over memory this pool owns; when libtorch frees it (the last view or autograd's
/// saved copy gone), its memory returns here instead of to malloc, and the next request of the same size takes it
/// back with its pages already resident (2 MB-aligned and advised as transparent huge pages).
/// Why: on the project's 2-core VM a fresh 50 MB buffer cost 10–20 ms of page faulting and zeroing with huge pages and
/// ~90 ms without them, and malloc's heap cannot hold such buffers for reuse (see TorchRuntime's malloc settings);
/// the linear attention kernel at S = 16,384 makes six of them per step, against a floor of ~36 ms for the step.
/// At most <see cref="MaxFreeBytes"/> are kept idle; beyond that freed buffers go back to the system.
/// </summary>
public static unsafe class CpuBufferPool
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate void Deleter(IntPtr data);

    static readonly Deleter ReleaseDelegate = Release;   // referenced for the process's lifetime: libtorch calls it
    static readonly object Lock = new();
    static readonly Dictionary<long, Stack<IntPtr>> Idle = new();
    static readonly Dictionary<IntPtr, long> Sizes = new();
    static long _idleBytes;
    const long HugePage = 2L << 20;

    /// <summary>Idle memory kept for reuse (default 1 GiB).</summary>
    public static long MaxFreeBytes { get; set; } = 1L << 30;
    /// <summary>Bytes held idle now, and buffers handed out since start that were reused (for tests and benchmarks).</summary>
    public static long IdleBytes { get { lock (Lock) return _idleBytes; } }
    public static long Reused { get; private set; }

    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_new(IntPtr data, Deleter deleter, long* dims, int ndims, sbyte type, sbyte dtype,
        int deviceType, int deviceIndex, [MarshalAs(UnmanagedType.U1)] bool requiresGrad);

    [DllImport("libc", EntryPoint = "madvise")]
    static extern int MAdvise(IntPtr addr, nuint length, int advice);

    /// <summary>An uninitialised contiguous fp32 CPU tensor of this shape from the pool.</summary>
    public static Tensor Empty(long[] shape)
    {
        long n = 1;
        foreach (var s in shape) n *= s;
        long bytes = Math.Max(64, (n * 4 + 63) / 64 * 64);
        IntPtr data = IntPtr.Zero;
        lock (Lock)
        {
            if (Idle.TryGetValue(bytes, out var stack) && stack.Count > 0)
            {
                data = stack.Pop();
                _idleBytes -= bytes;
                Reused++;
            }
        }
        if (data == IntPtr.Zero)
        {
            bool big = bytes >= HugePage;
            data = (IntPtr)NativeMemory.AlignedAlloc((nuint)bytes, (nuint)(big ? HugePage : 64));
            if (big && OperatingSystem.IsLinux())
            {
                try { MAdvise(data, (nuint)bytes, 14 /* MADV_HUGEPAGE */); } catch (Exception) { }
            }
            lock (Lock) Sizes[data] = bytes;
        }
        IntPtr handle;
        fixed (long* dims = shape)
            handle = THSTensor_new(data, ReleaseDelegate, dims, shape.Length, (sbyte)ScalarType.Float32, (sbyte)ScalarType.Float32, 0, 0, false);
        if (handle == IntPtr.Zero)
        {
            Release(data);
            TorchSharp.torch.CheckForErrors();
            throw new InvalidOperationException("CpuBufferPool: libtorch did not create the tensor");
        }
        return Tensor.UnsafeCreateTensor(handle);
    }

    /// <summary>A pooled tensor with <paramref name="x"/>'s shape, dense, with its dimensions laid out in the order of x's
    /// strides (x's own layout when x is dense, e.g. a head-split view; as <c>empty_like</c> does otherwise).</summary>
    public static Tensor EmptyLike(Tensor x)
    {
        int nd = (int)x.dim();
        var order = Enumerable.Range(0, nd).OrderByDescending(i => x.stride(i)).ThenBy(i => i).ToArray();
        var buffer = Empty(order.Select(i => x.shape[i]).ToArray());
        if (order.SequenceEqual(Enumerable.Range(0, nd))) return buffer;
        var inverse = new long[nd];
        for (int j = 0; j < nd; j++) inverse[order[j]] = j;
        using (buffer) return buffer.permute(inverse);
    }

    /// <summary>Returns every idle buffer to the system (what a memory measurement or a long pause wants); buffers in
    /// use return to the pool as usual when freed.</summary>
    public static void Trim()
    {
        List<IntPtr> free;
        lock (Lock)
        {
            free = Idle.Values.SelectMany(s => s).ToList();
            foreach (var p in free) Sizes.Remove(p);
            Idle.Clear();
            _idleBytes = 0;
        }
        foreach (var p in free) NativeMemory.AlignedFree((void*)p);
    }

    static void Release(IntPtr data)
    {
        lock (Lock)
        {
            if (!Sizes.TryGetValue(data, out var bytes)) return;
            if (_idleBytes + bytes <= MaxFreeBytes)
            {
                if (!Idle.TryGetValue(bytes, out var stack)) Idle[bytes] = stack = new Stack<IntPtr>();
                stack.Push(data);
                _idleBytes += bytes;
                return;
            }
            Sizes.Remove(data);
        }
        NativeMemory.AlignedFree((void*)data);
    }
}
