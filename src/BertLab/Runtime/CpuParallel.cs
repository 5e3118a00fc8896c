using static TorchSharp.torch;

namespace BertLab.Runtime;

/// <summary>How the hand-written CPU kernels (fused AdamW, dropout masks, the linear attention's row passes) spread
/// element-wise work over libtorch's thread count.</summary>
public static class CpuParallel
{
    /// <summary>
    /// body(start, end) over [0, n) in one contiguous slice per thread (no per-chunk scheduling across the thread pool),
    /// every slice but the last a whole number of <paramref name="chunk"/> elements; one thread when n is a single chunk.
    /// </summary>
    public static void ForSlices(long n, long chunk, Action<long, long> body)
    {
        long chunks = (n + chunk - 1) / chunk;
        int threads = (int)Math.Max(1, Math.Min(get_num_threads(), chunks));
        if (threads == 1) { body(0, n); return; }
        long per = (chunks + threads - 1) / threads * chunk;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            long start = t * per, end = Math.Min(n, start + per);
            if (start < end) body(start, end);
        });
    }
}
