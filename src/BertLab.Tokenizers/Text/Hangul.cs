namespace BertLab.Text;

/// <summary>
/// Hangul syllables, decomposed into and composed from their conjoining jamo arithmetically (The Unicode Standard, §3.12)
/// instead of through tables: the one declaration of these constants, for <see cref="UnicodeNfd"/> and <see cref="UnicodeNfc"/>.
/// </summary>
static class Hangul
{
    public const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7;
    public const int LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    /// <summary>True for the 11,172 precomposed syllables U+AC00..U+D7A3.</summary>
    public static bool IsSyllable(int codePoint) => (uint)(codePoint - SBase) < SCount;

    /// <summary>Appends the leading consonant, the vowel and (unless the syllable has none) the trailing consonant of a syllable.</summary>
    public static void AppendJamo(int syllable, List<int> output)
    {
        int s = syllable - SBase;
        output.Add(LBase + s / NCount);
        output.Add(VBase + s % NCount / TCount);
        if (s % TCount != 0) output.Add(TBase + s % TCount);
    }

    /// <summary>The syllable of a leading consonant and a vowel (LV), or of an LV syllable and a trailing consonant (LVT); −1 otherwise.</summary>
    public static int Compose(int first, int second)
    {
        int l = first - LBase, v = second - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount) return SBase + (l * VCount + v) * TCount;
        int s = first - SBase, t = second - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount) return first + t;
        return -1;
    }
}
