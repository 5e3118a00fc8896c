using System.Globalization;
using System.Text;

namespace BertLab.Text;

/// <summary>
/// BERT's basic tokenization: text cleaning, CJK splitting, accent stripping, lower-casing, then splitting on
/// whitespace and punctuation. Reproduces Hugging Face's fast tokenizer (Rust <c>BertNormalizer</c> followed by
/// <c>BertPreTokenizer</c>), in that order:
/// <list type="number">
/// <item>clean text: drop U+0000, U+FFFD and "control" characters (categories Cc, Cf, Co except \t \n \r); every
/// White_Space character becomes a space. Dropping a character does not split a word ("a\u0007b" → "ab").</item>
/// <item>CJK ideographs (the Rust ranges, incl. its 0x2B920 lower bound of extension D/E) become words of their own.</item>
/// <item>strip accents (default: when lower-casing): NFD, then drop non-spacing marks (Mn).</item>
/// <item>lower-case each code point (İ → i + U+0307, like Rust's <c>char::to_lowercase</c>).</item>
/// <item>split on whitespace (dropped) and on punctuation (ASCII punctuation or Unicode P*; kept as one-character words).</item>
/// </list>
/// Immutable and thread-safe.
/// </summary>
public sealed class BasicTokenizer
{
    public BasicTokenizer(bool lowerCase = true, bool? stripAccents = null)
    {
        LowerCase = lowerCase;
        StripAccents = stripAccents ?? lowerCase;
    }

    public bool LowerCase { get; }
    public bool StripAccents { get; }

    /// <summary>The words of a text, normalised.</summary>
    public List<string> Split(string text)
    {
        var words = new WordBuffer();
        Split(text, words);
        var result = new List<string>(words.Count);
        for (int i = 0; i < words.Count; i++) result.Add(words[i].ToString());
        return result;
    }

    /// <summary>
    /// The plain reference: every character through the general (Unicode) path, no ASCII fast path. Same result as
    /// <see cref="Split(string)"/>; tests compare the two.
    /// </summary>
    public List<string> SplitWithoutFastPath(string text)
    {
        var words = new WordBuffer();
        SplitGeneral(text, words);
        words.EndWord();
        var result = new List<string>(words.Count);
        for (int i = 0; i < words.Count; i++) result.Add(words[i].ToString());
        return result;
    }

    // ASCII classes: 0 = dropped control, 1 = whitespace, 2 = punctuation, 3 = word character.
    static readonly byte[] AsciiClass = BuildAsciiClass();

    static byte[] BuildAsciiClass()
    {
        var table = new byte[128];
        for (int c = 0; c < 128; c++)
            table[c] = c is '\t' or '\n' or '\r' or ' ' ? (byte)1
                : c < 32 || c == 127 ? (byte)0
                : (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126) ? (byte)2
                : (byte)3;
        return table;
    }

    /// <summary>Appends the words of <paramref name="text"/> to <paramref name="words"/> (text is one segment: a word never continues across calls).</summary>
    internal void Split(ReadOnlySpan<char> text, WordBuffer words)
    {
        // ASCII runs take the fast path; each run of non-ASCII characters goes through the general path. NFD's
        // reordering never crosses an ASCII character (a starter), and a word may continue across the boundary.
        while (!text.IsEmpty)
        {
            int nonAscii = text.IndexOfAnyExceptInRange('\0', '\u007f');
            if (nonAscii < 0) { SplitAscii(text, words); break; }
            SplitAscii(text[..nonAscii], words);
            text = text[nonAscii..];
            int ascii = text.IndexOfAnyInRange('\0', '\u007f');
            if (ascii < 0) ascii = text.Length;
            SplitGeneral(text[..ascii], words);
            text = text[ascii..];
        }
        words.EndWord();
    }

    void SplitAscii(ReadOnlySpan<char> text, WordBuffer words)
    {
        var table = AsciiClass;
        bool lower = LowerCase;
        foreach (char c in text)
        {
            switch (table[c])
            {
                case 3:
                    words.Append(lower && (uint)(c - 'A') <= 'Z' - 'A' ? (char)(c | 0x20) : c);
                    break;
                case 1:
                    words.EndWord();
                    break;
                case 2:
                    words.EndWord(); words.Append(c); words.EndWord();
                    break;
                    // case 0: a control character is dropped without ending the word
            }
        }
    }

    [ThreadStatic] static List<int>? _codePoints;

    void SplitGeneral(ReadOnlySpan<char> text, WordBuffer words)
    {
        // 1-3: clean, isolate CJK, decompose (NFD) into a code point stream.
        var cps = _codePoints ??= new List<int>(256);
        cps.Clear();
        int i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text[i..], out var rune, out int used) != System.Buffers.OperationStatus.Done) rune = Rune.ReplacementChar;
            i += used;
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(cp)) continue;
            if (IsWhitespace(cp)) cps.Add(' ');
            else if (IsChineseChar(cp))
            {
                cps.Add(' ');
                if (StripAccents) UnicodeNfd.AppendDecomposition(cp, cps); // compatibility ideographs have canonical decompositions
                else cps.Add(cp);
                cps.Add(' ');
            }
            else if (StripAccents) UnicodeNfd.AppendDecomposition(cp, cps);
            else cps.Add(cp);
        }
        if (StripAccents) UnicodeNfd.ReorderCombiningMarks(cps);

        // 3-5: drop non-spacing marks, lower-case, split on whitespace and punctuation.
        foreach (int cp0 in cps)
        {
            int cp = cp0;
            if (cp < 128)
            {
                switch (AsciiClass[cp])
                {
                    case 3: words.Append(LowerCase && (uint)(cp - 'A') <= 'Z' - 'A' ? (char)(cp | 0x20) : (char)cp); break;
                    case 1: words.EndWord(); break;
                    case 2: words.EndWord(); words.Append((char)cp); words.EndWord(); break;
                }
                continue;
            }
            if (StripAccents && CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.NonSpacingMark) continue;
            if (IsWhitespace(cp)) { words.EndWord(); continue; }
            if (LowerCase)
            {
                if (cp == 0x130) { words.Append('i'); words.Append('\u0307'); continue; }
                cp = Rune.ToLowerInvariant(new Rune(cp)).Value;
            }
            if (IsPunctuation(cp)) { words.EndWord(); words.AppendCodePoint(cp); words.EndWord(); }
            else words.AppendCodePoint(cp);
        }
    }

    /// <summary>Cc, Cf or Co (not \t \n \r): removed by text cleaning.</summary>
    public static bool IsControl(int cp)
    {
        if (cp == '\t' || cp == '\n' || cp == '\r') return false;
        var cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        return cat is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.PrivateUse;
    }

    /// <summary>Unicode White_Space (Rust's <c>char::is_whitespace</c>).</summary>
    public static bool IsWhitespace(int cp) => cp switch
    {
        >= 0x09 and <= 0x0D => true,
        0x20 or 0x85 or 0xA0 or 0x1680 or 0x2028 or 0x2029 or 0x202F or 0x205F or 0x3000 => true,
        >= 0x2000 and <= 0x200A => true,
        _ => false,
    };

    /// <summary>ASCII punctuation (includes $ + &lt; = &gt; ^ ` | ~) or a Unicode punctuation category (P*).</summary>
    public static bool IsPunctuation(int cp)
    {
        if (cp < 128) return AsciiClass[cp] == 2;
        return CharUnicodeInfo.GetUnicodeCategory(cp) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>CJK ideographs that BERT splits into single-character words (ranges of Hugging Face's Rust normalizer).</summary>
    public static bool IsChineseChar(int cp) =>
        (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/// <summary>Words produced by <see cref="BasicTokenizer"/>, stored in one reusable char buffer (no per-word strings).</summary>
internal sealed class WordBuffer
{
    char[] _chars = new char[512];
    int _length;
    (int Start, int Length)[] _words = new (int, int)[128];
    int _count;
    int _wordStart = -1;

    public int Count => _count;
    public bool IsLarge => _chars.Length > 1 << 20;
    public ReadOnlySpan<char> this[int index] => _chars.AsSpan(_words[index].Start, _words[index].Length);

    public void Clear() { _length = 0; _count = 0; _wordStart = -1; }

    public void Append(char c)
    {
        if (_wordStart < 0) _wordStart = _length;
        if (_length == _chars.Length) Array.Resize(ref _chars, _chars.Length * 2);
        _chars[_length++] = c;
    }

    public void AppendCodePoint(int cp)
    {
        if (cp < 0x10000) Append((char)cp);
        else
        {
            Append((char)(0xD800 + ((cp - 0x10000) >> 10)));
            Append((char)(0xDC00 + ((cp - 0x10000) & 0x3FF)));
        }
    }

    public void EndWord()
    {
        if (_wordStart < 0) return;
        if (_count == _words.Length) Array.Resize(ref _words, _words.Length * 2);
        _words[_count++] = (_wordStart, _length - _wordStart);
        _wordStart = -1;
    }
}
