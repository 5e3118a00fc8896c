using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Runtime;

/// <summary>
/// Dropout (Hugging Face's: in training each element is zeroed with probability p and the rest scaled by 1/(1 − p);
/// identity in evaluation) whose mask, on the CPU, is drawn by a counter-based generator in parallel instead of
/// libtorch's <c>bernoulli_</c>. On AMD CPUs libtorch takes its serial, mt19937-based Bernoulli kernel (its MKL path is
/// gated on an Intel vendor id), which cost 13 ms for one BERT-base attention-probability tensor (8×12×128×128) and
/// 6.7 ms for one hidden-state tensor on the project's 2-core VM: ~0.3 s of a 2.3 s training step. Here the mask for the
/// attention-probability tensor costs 0.07 ms (AVX-512: 16 elements per iteration; elsewhere a scalar loop).
/// <para>The generator: element i is kept when the i-th 32-bit half of SplitMix64(seed + ⌊i/2⌋·γ) is ≥ round(p·2³²),
/// so the mask depends only on the seed and the element's index (not on the thread count), and p is exact to 2⁻³².
/// The seed is one draw from libtorch's default generator per call, so <c>torch.manual_seed</c> and the saved RNG state
/// of a checkpoint reproduce it. CUDA tensors, dtypes other than fp32 and p outside (0, 1) use libtorch's dropout.</para>
/// </summary>
public sealed class FastDropout : nn.Module<Tensor, Tensor>
{
    public double P { get; }

    public FastDropout(double p) : base(nameof(FastDropout))
    {
        if (p < 0 || p >= 1) throw new ArgumentOutOfRangeException(nameof(p), p, "dropout probability must be in [0, 1)");
        P = p;
    }

    public override Tensor forward(Tensor x) => Apply(x, P, training);

    /// <summary>Dropout of <paramref name="x"/> with probability <paramref name="p"/> when <paramref name="training"/>.</summary>
    public static Tensor Apply(Tensor x, double p, bool training)
    {
        if (!training || p <= 0) return x;
        if (!Handles(x) || p >= 1)
            return nn.functional.dropout(x, p, training: true);
        ulong seed = NextSeed();
        if (!(x.requires_grad && is_grad_enabled())) return Masked(x, p, seed);
        // With autograd, x·mask through libtorch's mul (its backward, grad·mask, is native): a TorchSharp custom function
        // that regenerates the mask in backward instead of storing it cost 0.3–0.6 ms more per call in its managed
        // callbacks than the mask's memory traffic saves.
        using var mask = Mask(x.shape, p, seed);
        return x.mul(mask);
    }

    /// <summary>x ⊙ <see cref="Mask"/>(x.shape, p, seed) without the mask tensor (the same products, bit for bit).</summary>
    public static unsafe Tensor Masked(Tensor x, double p, ulong seed)
    {
        using var source = x.contiguous();
        var result = empty(x.shape, dtype: ScalarType.Float32);
        long n = result.numel();
        if (n == 0) return result;
        nint dst = (nint)TensorMemory.Float32(result), src = (nint)TensorMemory.Float32(source);
        var (threshold, keep) = Law(p);
        CpuParallel.ForSlices(n, Chunk, (start, end) => Fill((float*)dst, (float*)src, start, end, seed, threshold, keep));
        return result;
    }

    /// <summary>Whether <see cref="Apply"/> draws the mask itself for this tensor (fp32 on the CPU).</summary>
    public static bool Handles(Tensor x) => x.device.type == DeviceType.CPU && x.dtype == ScalarType.Float32;

    /// <summary>One 63-bit seed from libtorch's default CPU generator (advances it, as a Bernoulli draw would).</summary>
    public static ulong NextSeed()
    {
        using var t = randint(0, long.MaxValue, new long[] { 1 }, dtype: ScalarType.Int64);
        return unchecked((ulong)t.item<long>());
    }

    const ulong Gamma = 0x9E3779B97F4A7C15UL;
    const long Chunk = 1 << 16;   // even, so every chunk starts on a whole 64-bit draw

    internal static (uint threshold, float keep) Law(double p) =>
        ((uint)Math.Min(uint.MaxValue, Math.Round(p * 4294967296.0)), (float)(1.0 / (1.0 - p)));

    /// <summary>The fp32 mask: 0 for a dropped element, 1/(1 − p) for a kept one, as a function of the seed only.</summary>
    public static unsafe Tensor Mask(long[] shape, double p, ulong seed)
    {
        var mask = empty(shape, dtype: ScalarType.Float32);
        long n = mask.numel();
        if (n == 0) return mask;
        nint dst = (nint)TensorMemory.Float32(mask);
        var (threshold, keep) = Law(p);
        CpuParallel.ForSlices(n, Chunk, (start, end) => Fill((float*)dst, null, start, end, seed, threshold, keep));
        return mask;
    }

    /// <summary>Whether the 512-bit path runs (AVX-512 with 64-bit lane products); tests turn it off to compare.</summary>
    internal static bool Vectorized { get; set; } = Vector512.IsHardwareAccelerated && Avx512DQ.IsSupported;

    /// <summary>dst[i] = mask[i] (src null) or src[i]·mask[i] for i in [start, end), any start (dst and src are indexed
    /// from element 0 of the masked tensor; dst may be src).</summary>
    internal static unsafe void FillRange(float* dst, float* src, long start, long end, ulong seed, uint threshold, float keep)
    {
        if (start >= end) return;
        if ((start & 1) != 0)
        {
            float m = (uint)(Mix(seed + (ulong)(start >> 1) * Gamma) >> 32) >= threshold ? keep : 0f;
            dst[start] = src is null ? m : src[start] * m;
            start++;
        }
        Fill(dst, src, start, end, seed, threshold, keep);
    }

    /// <summary>dst[i] = mask[i] (src null) or src[i]·mask[i] for i in [start, end), start even.</summary>
    static unsafe void Fill(float* dst, float* src, long start, long end, ulong seed, uint threshold, float keep)
    {
        long i = start;
        if (Vectorized)
        {
            // Lane j holds the draw for the pair (i + 2j, i + 2j + 1): as 16 uint lanes, lane 2j is its low half
            // (element i + 2j) and 2j + 1 its high half, the order of the scalar loop below.
            var counter = Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7) * Gamma + Vector512.Create(seed + (ulong)(i >> 1) * Gamma);
            var step = Vector512.Create(unchecked(8 * Gamma));
            var limit = Vector512.Create(threshold);
            var kept = Vector512.Create(keep);
            for (; i + 16 <= end; i += 16, counter += step)
            {
                var m = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(Mix(counter).AsUInt32(), limit).AsSingle(), kept, Vector512<float>.Zero);
                if (src is not null) m *= Vector512.Load(src + i);
                m.Store(dst + i);
            }
        }
        for (; i + 2 <= end; i += 2)
        {
            ulong h = Mix(seed + (ulong)(i >> 1) * Gamma);
            float lo = (uint)h >= threshold ? keep : 0f, hi = (uint)(h >> 32) >= threshold ? keep : 0f;
            dst[i] = src is null ? lo : src[i] * lo;
            dst[i + 1] = src is null ? hi : src[i + 1] * hi;
        }
        if (i < end)
        {
            float m = (uint)Mix(seed + (ulong)(i >> 1) * Gamma) >= threshold ? keep : 0f;
            dst[i] = src is null ? m : src[i] * m;
        }
    }

    static Vector512<ulong> Mix(Vector512<ulong> z)
    {
        z = (z ^ Vector512.ShiftRightLogical(z, 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ Vector512.ShiftRightLogical(z, 27)) * 0x94D049BB133111EBUL;
        return z ^ Vector512.ShiftRightLogical(z, 31);
    }

    /// <summary>SplitMix64's output function (Steele, Lea and Flood 2014).</summary>
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
