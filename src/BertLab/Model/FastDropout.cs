using TorchSharp;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Model;

/// <summary>
/// Dropout (Hugging Face's: in training each element is zeroed with probability p and the rest scaled by 1/(1 − p);
/// identity in evaluation) whose mask, on the CPU, is drawn by a counter-based generator in parallel instead of
/// libtorch's <c>bernoulli_</c>. On AMD CPUs libtorch takes its serial, mt19937-based Bernoulli kernel (its MKL path is
/// gated on an Intel vendor id), which cost 13 ms for one BERT-base attention-probability tensor (8×12×128×128) and
/// 6.7 ms for one hidden-state tensor on the project's 2-core VM: ~0.3 s of a 2.3 s training step. Here the mask costs
/// about a millisecond.
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
        using var mask = Mask(x.shape, p, NextSeed());
        return x.mul(mask);
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

    /// <summary>The fp32 mask: 0 for a dropped element, 1/(1 − p) for a kept one, as a function of the seed only.</summary>
    public static unsafe Tensor Mask(long[] shape, double p, ulong seed)
    {
        var mask = empty(shape, dtype: ScalarType.Float32);
        long n = mask.numel();
        if (n == 0) return mask;
        float* dst = TensorMemory.Float32(mask);
        uint threshold = (uint)Math.Min(uint.MaxValue, Math.Round(p * 4294967296.0));
        float keep = (float)(1.0 / (1.0 - p));
        nint address = (nint)dst;
        CpuParallel.ForSlices(n, Chunk, (start, end) => Fill((float*)address, start, end, seed, threshold, keep));
        return mask;
    }

    static unsafe void Fill(float* dst, long start, long end, ulong seed, uint threshold, float keep)
    {
        long i = start;
        for (; i + 2 <= end; i += 2)
        {
            ulong h = Mix(seed + (ulong)(i >> 1) * Gamma);
            dst[i] = (uint)h >= threshold ? keep : 0f;
            dst[i + 1] = (uint)(h >> 32) >= threshold ? keep : 0f;
        }
        if (i < end) dst[i] = (uint)Mix(seed + (ulong)(i >> 1) * Gamma) >= threshold ? keep : 0f;
    }

    /// <summary>SplitMix64's output function (Steele, Lea and Flood 2014).</summary>
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
