using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using BertLab.Text;

namespace BertLab.Data;

/// <summary>Unicode normalisation applied by <see cref="TextCleaner"/>.</summary>
public enum UnicodeNormalization
{
    /// <summary>
    /// Canonical composition (the default; NFKC is deliberately not offered). It only merges canonically equivalent spellings (e + combining acute = é),
    /// so no visible text changes, and the model is pre-trained on the same forms it later meets at fine-tuning and
    /// inference, where texts go through the tokenizer without any compatibility folding. NFKC would also fold
    /// ligatures (ﬁ→fi), superscripts (x²→x2), fractions (½→1⁄2) and full-width forms: fewer [UNK] on noisy web text,
    /// but it rewrites meaning-bearing characters and makes the pre-training text differ from what users later feed in.
    /// </summary>
    Nfc,
    None,
}

public sealed record CleaningOptions
{
    public UnicodeNormalization Normalization { get; init; } = UnicodeNormalization.Nfc;
    /// <summary>Documents shorter than this (in characters, after cleaning) are dropped. Pieces continuing a long document are never dropped.</summary>
    public int MinChars { get; init; } = 20;
    /// <summary>Turn &lt;br&gt; and &lt;/p&gt; into line breaks, drop other HTML tags, decode HTML entities.</summary>
    public bool StripHtml { get; init; } = true;
    /// <summary>Drop exact duplicates of an earlier document.</summary>
    public bool Deduplicate { get; init; } = true;
}

/// <summary>
/// Cleans one document: HTML line breaks and tags, Unicode normalisation, control and zero-width characters removed,
/// every run of whitespace (line breaks included) collapsed to one space, trimmed. Punctuation and case are kept.
/// </summary>
public sealed class TextCleaner(CleaningOptions options)
{
    public CleaningOptions Options { get; } = options;

    static readonly Regex LineBreakTag = new(@"<\s*(br\s*/?|/\s*p|/\s*div|/\s*li)\s*>", RegexOptions.Compiled | RegexOptions.IgnoreCase);
    static readonly Regex Tag = new(@"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>|<!--.*?-->", RegexOptions.Compiled | RegexOptions.Singleline);

    public string Clean(string text)
    {
        if (Options.StripHtml)
        {
            if (text.Contains('<'))
            {
                text = LineBreakTag.Replace(text, "\n");
                text = Tag.Replace(text, " ");
            }
            if (text.Contains('&')) text = WebUtility.HtmlDecode(text);
        }
        text = Options.Normalization switch
        {
            UnicodeNormalization.Nfc => UnicodeNfc.Normalize(text),
            _ => text,
        };
        return CollapseWhitespaceAndDropInvisible(text);
    }

    /// <summary>Drops control (Cc, but for whitespace) and format (Cf: zero-width space/joiners, BOM, soft hyphen) characters and U+FFFD; collapses whitespace.</summary>
    internal static string CollapseWhitespaceAndDropInvisible(string text)
    {
        var result = new StringBuilder(text.Length);
        bool pendingSpace = false;
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c)) { pendingSpace = result.Length > 0; continue; }
            if (c < 0x7f && c >= 0x20) { }
            else
            {
                var category = char.GetUnicodeCategory(c);
                if (category is UnicodeCategory.Control or UnicodeCategory.Format || c == '\uFFFD') continue;
            }
            if (pendingSpace) { result.Append(' '); pendingSpace = false; }
            result.Append(c);
        }
        return result.ToString();
    }

    /// <summary>A 64-bit hash of a cleaned document (first 8 bytes of its SHA-256), for exact-duplicate detection.</summary>
    public static ulong Hash(string text)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(text.AsSpan()), digest);
        return BitConverter.ToUInt64(digest);
    }
}
