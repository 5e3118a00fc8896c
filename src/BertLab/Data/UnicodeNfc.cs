using System.Globalization;
using System.Text;

namespace BertLab.Data;

/// <summary>
/// Unicode NFC (canonical decomposition, canonical ordering, canonical composition) from generated tables, because
/// BertLab runs with InvariantGlobalization, where <see cref="string.Normalize()"/> does nothing.
/// </summary>
public static class UnicodeNfc
{
    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28, NCount = VCount * TCount, SCount = LCount * NCount;

    static readonly Dictionary<int, int[]> Decomposition = new();
    static readonly Dictionary<long, int> Composition = new();

    static UnicodeNfc()
    {
        var excluded = new HashSet<int>(NfcTables.CompositionExclusions.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(Hex));
        foreach (var entry in NfcTables.Decompositions.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = entry.IndexOf(':');
            int cp = Hex(entry[..colon]);
            var parts = entry[(colon + 1)..].Split(',').Select(Hex).ToArray();
            Decomposition[cp] = parts;
            if (parts.Length == 2 && !excluded.Contains(cp)) Composition[Pair(parts[0], parts[1])] = cp;
        }
    }

    static int Hex(string s) => int.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    static long Pair(int a, int b) => ((long)a << 21) | (uint)b;
    static int Ccc(int cp) => Text.UnicodeNfd.CombiningClass(cp);

    /// <summary>True when the text certainly is NFC already (all code units below U+0300): the fast path.</summary>
    public static bool IsTriviallyNfc(ReadOnlySpan<char> text)
    {
        foreach (char c in text) if (c >= '\u0300') return false;
        return true;
    }

    public static string Normalize(string text)
    {
        if (IsTriviallyNfc(text)) return text;
        // 1. full canonical decomposition
        var cps = new List<int>(text.Length + 8);
        foreach (var rune in text.EnumerateRunes()) Decompose(rune.Value, cps);
        // 2. canonical ordering: stable sort of each run of non-starters by combining class
        for (int i = 1; i < cps.Count; i++)
        {
            int k = Ccc(cps[i]);
            if (k == 0) continue;
            for (int j = i; j > 0 && Ccc(cps[j - 1]) > k; j--) (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
        }
        // 3. canonical composition
        var result = new List<int>(cps.Count);
        int starter = -1, lastClass = 0;
        foreach (int cp in cps)
        {
            int k = Ccc(cp);
            if (starter >= 0 && (lastClass < k || lastClass == 0 && result.Count - 1 == starter))
            {
                int composite = Compose(result[starter], cp);
                if (composite >= 0 && (lastClass < k || lastClass == 0))
                {
                    result[starter] = composite;
                    continue;
                }
            }
            if (k == 0) starter = result.Count;
            lastClass = k;
            result.Add(cp);
        }
        var sb = new StringBuilder(text.Length);
        foreach (int cp in result) sb.Append(new Rune(cp).ToString());
        return sb.ToString();
    }

    static void Decompose(int cp, List<int> output)
    {
        int s = cp - SBase;
        if (s is >= 0 and < SCount)
        {
            output.Add(LBase + s / NCount);
            output.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) output.Add(TBase + s % TCount);
            return;
        }
        if (Decomposition.TryGetValue(cp, out var parts))
            foreach (var part in parts) Decompose(part, output);
        else output.Add(cp);
    }

    static int Compose(int a, int b)
    {
        int l = a - LBase, v = b - VBase;
        if (l is >= 0 and < LCount && v is >= 0 and < VCount) return SBase + (l * VCount + v) * TCount;
        int s = a - SBase, t = b - TBase;
        if (s is >= 0 and < SCount && s % TCount == 0 && t is > 0 and < TCount) return a + t;
        return Composition.TryGetValue(Pair(a, b), out int c) ? c : -1;
    }
}
