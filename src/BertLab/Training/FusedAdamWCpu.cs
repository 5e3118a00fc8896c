using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>
/// <see cref="FlatAdamW"/>'s update on the CPU as one pass over the four flat buffers: each element's parameter,
/// gradient and moments are read once and written once (7 × 4 bytes per parameter), where the same update as libtorch
/// kernels over the whole buffer is ~8 kernels, each streaming buffers that do not fit in any cache, plus two
/// buffer-sized temporaries. The arithmetic is the kernels' (torch.optim.AdamW, single-tensor form), in fp32 and in
/// the same order: g ← g·clip; p ← p·(1 − lr·wd) (decay group only); m ← m + (1 − β₁)(g − m) (lerp);
/// v ← v·β₂ + (1 − β₂)·g·g; p ← p + (−lr/(1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
/// Work is split into 64 K-element chunks over libtorch's thread count.
/// </summary>
public static unsafe class FusedAdamWCpu
{
    const int Chunk = 1 << 16;

    /// <summary>
    /// The update with the gradients as separate tensors: <paramref name="grads"/> holds, in buffer order, each
    /// parameter's offset in the flat buffers and its gradient (contiguous fp32, that parameter's length), or null for a
    /// parameter that received none, which is skipped as torch.optim.AdamW skips it (no decay, moments unchanged).
    /// </summary>
    public static void Step(Tensor param, IReadOnlyList<(long Offset, Tensor? Grad)> grads, Tensor expAvg, Tensor expAvgSq,
        long decayCount, double lr, OptimizerSettings s, long step, double gradScale)
    {
        foreach (var t in new[] { param, expAvg, expAvgSq }) Check(t);
        long n = param.numel();
        var segments = new List<Segment>(grads.Count);
        foreach (var (offset, g) in grads)
        {
            if (g is null) continue;
            Check(g);
            long len = g.numel();
            if (offset < 0 || offset + len > n) throw new ArgumentException("FusedAdamWCpu: a gradient lies outside the parameter buffer");
            segments.Add(new Segment(offset, len, Runtime.TensorMemory.Float32(g)));
        }
        var k = new Constants
        {
            P = Runtime.TensorMemory.Float32(param), M = Runtime.TensorMemory.Float32(expAvg), V = Runtime.TensorMemory.Float32(expAvgSq),
            DecayCount = s.WeightDecay != 0 ? decayCount : 0,
            Decay = (float)(1 - lr * s.WeightDecay),
            Scale = (float)gradScale,
            W1 = (float)(1 - s.Beta1),
            B2 = (float)s.Beta2,
            C2 = (float)(1 - s.Beta2),
            SqrtBc2 = (float)Math.Sqrt(1 - Math.Pow(s.Beta2, step)),
            Eps = (float)s.Eps,
            StepSize = (float)(-lr / (1 - Math.Pow(s.Beta1, step))),
        };
        Runtime.CpuParallel.ForSlices(n, Chunk, (start, end) => Range(k, segments, start, end));
    }

    static void Check(Tensor t)
    {
        if (t.device.type != TorchSharp.DeviceType.CPU || t.dtype != ScalarType.Float32 || !t.is_contiguous())
            throw new ArgumentException("FusedAdamWCpu: buffers and gradients must be contiguous fp32 CPU tensors");
    }

    readonly struct Segment
    {
        public readonly long Offset, Length;
        public readonly float* G;
        public Segment(long offset, long length, float* g) { Offset = offset; Length = length; G = g; }
    }

    /// <summary>The part of every segment inside [start, end), split at the decay boundary.</summary>
    static void Range(Constants k, List<Segment> segments, long start, long end)
    {
        foreach (var seg in segments)
        {
            long a = Math.Max(start, seg.Offset), b = Math.Min(end, seg.Offset + seg.Length);
            if (a >= b) continue;
            float* g = seg.G - seg.Offset;   // indexed by the buffer position
            if (a < k.DecayCount) { Span(k, g, a, Math.Min(b, k.DecayCount), true); a = Math.Min(b, k.DecayCount); }
            if (a < b) Span(k, g, a, b, false);
        }
    }

    struct Constants
    {
        public float* P, M, V;
        public long DecayCount;
        public float Decay, Scale, W1, B2, C2, SqrtBc2, Eps, StepSize;
    }

    static void Span(Constants k, float* g, long start, long end, bool decay)
    {
        float* p = k.P, m = k.M, v = k.V;
        long i = start;
        if (Vector256.IsHardwareAccelerated)
        {
            var scale = Vector256.Create(k.Scale); var dec = Vector256.Create(decay ? k.Decay : 1f);
            var w1 = Vector256.Create(k.W1); var b2 = Vector256.Create(k.B2); var c2 = Vector256.Create(k.C2);
            var sq = Vector256.Create(k.SqrtBc2); var eps = Vector256.Create(k.Eps); var stepSize = Vector256.Create(k.StepSize);
            for (; i + 8 <= end; i += 8)
            {
                var gi = Vector256.Load(g + i) * scale;
                var pi = Vector256.Load(p + i);
                if (decay) pi *= dec;
                var mi = Vector256.Load(m + i);
                mi += w1 * (gi - mi);
                var vi = Vector256.Load(v + i) * b2 + c2 * gi * gi;
                var den = Vector256.Sqrt(vi) / sq + eps;
                pi += stepSize * (mi / den);
                mi.Store(m + i); vi.Store(v + i); pi.Store(p + i);
            }
        }
        for (; i < end; i++)
        {
            float gi = g[i] * k.Scale;
            float pi = p[i];
            if (decay) pi *= k.Decay;
            float mi = m[i] + k.W1 * (gi - m[i]);
            float vi = v[i] * k.B2 + k.C2 * gi * gi;
            float den = MathF.Sqrt(vi) / k.SqrtBc2 + k.Eps;
            p[i] = pi + k.StepSize * (mi / den);
            m[i] = mi; v[i] = vi;
        }
    }
}
