using System.Runtime.Intrinsics;

namespace BertLab.Runtime;

/// <summary>Small vector helpers shared by the hand-written CPU row passes (the linear attention's normalisation, the
/// softmax attention's backward).</summary>
internal static unsafe class RowMath
{
    /// <summary>Σ a[i]·b[i] over n floats (8 lanes at a time, then a scalar tail).</summary>
    public static float Dot(float* a, float* b, long n)
    {
        long i = 0;
        float sum = 0;
        if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; i + 8 <= n; i += 8) acc += Vector256.Load(a + i) * Vector256.Load(b + i);
            sum = Vector256.Sum(acc);
        }
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }
}
