namespace BertLab.Data;

/// <summary>Character statistics of one cleaned document, for the quality report.</summary>
public struct TextStats
{
    public long Letters, UpperCase, NonAscii, Punctuation, UnknownTokens;
    /// <summary>U+FFFD in the raw text: bytes that were not valid UTF-8 (removed by cleaning).</summary>
    public long UndecodableChars;
    public bool EndsWithSentencePunctuation;

    public static TextStats Of(string text)
    {
        var s = new TextStats();
        foreach (char c in text)
        {
            if (c > 0x7f) s.NonAscii++;
            if (char.IsLetter(c)) { s.Letters++; if (char.IsUpper(c)) s.UpperCase++; }
            else if (char.IsPunctuation(c)) s.Punctuation++;
        }
        s.EndsWithSentencePunctuation = EndsSentence(text);
        return s;
    }

    /// <summary>Ends in . ! ? … (possibly followed by closing quotes or brackets).</summary>
    public static bool EndsSentence(string text)
    {
        for (int i = text.Length - 1; i >= 0; i--)
        {
            char c = text[i];
            if (c is '"' or '\'' or ')' or ']' or '\u201D' or '\u2019' or '»' or '*' or '_') continue;
            return c is '.' or '!' or '?' or '\u2026';
        }
        return false;
    }
}

/// <summary>A document after cleaning and tokenisation (one piece of it if it was long).</summary>
public sealed class ProcessedDocument
{
    /// <summary>Continues the previous piece of the same document (no [SEP] between them).</summary>
    public bool ContinuesPrevious { get; init; }
    /// <summary>Shorter than the minimum length: dropped.</summary>
    public bool TooShort { get; init; }
    /// <summary>Nothing left after cleaning.</summary>
    public bool Empty { get; init; }
    /// <summary>64-bit hash of the cleaned text (duplicate detection, train/validation split).</summary>
    public ulong Hash { get; init; }
    public int Chars { get; init; }
    /// <summary>WordPiece ids, no special tokens.</summary>
    public int[] Ids { get; init; } = [];
    /// <summary>Token offsets at which sentences start (sentence-pair mode only).</summary>
    public int[]? SentenceStarts { get; init; }
    public TextStats Stats { get; init; }
    /// <summary>The cleaned text (kept only when asked for).</summary>
    public string? Text { get; init; }
}
