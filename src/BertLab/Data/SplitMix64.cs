namespace BertLab.Data;

/// <summary>
/// SplitMix64: a tiny, fast, seedable generator whose whole state is one ulong (so it can be saved and restored
/// exactly), and a mixing function to derive independent streams from (seed, epoch, index).
/// </summary>
public struct SplitMix64(ulong state)
{
    public ulong State = state;

    public ulong Next()
    {
        ulong z = State += 0x9E3779B97F4A7C15UL;
        return Mix(z);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) (Lemire's multiply-shift; bias below 2^-64·n, negligible).</summary>
    public ulong NextBelow(ulong n) => (ulong)(((UInt128)Next() * n) >> 64);

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A stream seed for (seed, a, b): different inputs give unrelated streams.</summary>
    public static ulong Derive(ulong seed, ulong a, ulong b) => Mix(Mix(Mix(seed ^ 0x5EED5EED5EED5EEDUL) + a) + b);
}
