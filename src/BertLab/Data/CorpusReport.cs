using System.Text.Json;
using System.Text.Json.Serialization;

namespace BertLab.Data;

/// <summary>One bucket of the document length histogram: documents with MinTokens ≤ length ≤ MaxTokens.</summary>
public sealed record LengthBucket(long MinTokens, long MaxTokens, long Documents);

/// <summary>What <c>bertlab data inspect</c> measures about a corpus, with plain-language warnings.</summary>
public sealed record CorpusReport
{
    public required IReadOnlyList<string> Files { get; init; }
    public required string VocabularySha256 { get; init; }
    /// <summary>Documents read (a long document cut into pieces counts once).</summary>
    public long DocumentsRead { get; init; }
    public long DocumentsTooShort { get; init; }
    public long DuplicateDocuments { get; init; }
    /// <summary>Documents kept after the length filter and de-duplication; all figures below are over these.</summary>
    public long Documents { get; init; }
    public long Characters { get; init; }
    public long Tokens { get; init; }
    public long UnknownTokens { get; init; }
    /// <summary>Characters that were not valid UTF-8 in the input (shown as U+FFFD, removed by cleaning).</summary>
    public long UndecodableCharacters { get; init; }
    public double PunctuationPer1000Chars { get; init; }
    /// <summary>Share of documents (paragraphs, or lines in one-per-line files) ending in . ! ? or ….</summary>
    public double SentenceEndShare { get; init; }
    public double UnknownRate { get; init; }
    /// <summary>Duplicates among the documents that passed the length filter.</summary>
    public double DuplicateRate { get; init; }
    /// <summary>Share of characters outside ASCII.</summary>
    public double NonAsciiShare { get; init; }
    /// <summary>Share of letters that are upper-case.</summary>
    public double UpperCaseShare { get; init; }
    public double MeanDocumentChars { get; init; }
    public double MeanDocumentTokens { get; init; }
    public bool VocabularyIsCased { get; init; }
    public required IReadOnlyList<LengthBucket> LengthHistogram { get; init; }
    public required IReadOnlyList<string> Warnings { get; init; }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Thresholds of the warnings (English-like prose has 20–40 punctuation marks per 1000 characters).</summary>
    public const double MinPunctuationPer1000 = 5, MinSentenceEndShare = 0.01, LongDocumentChars = 200,
        MaxUnknownRate = 0.01, MaxDuplicateRate = 0.10, MaxUpperCaseShare = 0.5, MinUpperCaseShareForCased = 0.001, MaxTooShortShare = 0.5, MaxUndecodableShare = 0.0001;

    internal static List<string> WarningsFor(CorpusReport r)
    {
        var w = new List<string>();
        if (r.Documents == 0)
        {
            w.Add("the corpus has no usable documents (all empty, too short or duplicates)");
            return w;
        }
        if (r.PunctuationPer1000Chars < MinPunctuationPer1000)
            w.Add($"only {r.PunctuationPer1000Chars:0.0} punctuation marks per 1000 characters (ordinary prose has 20-40): punctuation looks stripped. " +
                  "BERT learns sentence structure from punctuation; use the original text.");
        if (r.SentenceEndShare < MinSentenceEndShare && r.MeanDocumentChars > LongDocumentChars)
            w.Add($"only {r.SentenceEndShare:P1} of documents end in . ! or ? although they average {r.MeanDocumentChars:0} characters: sentence punctuation looks stripped.");
        if (r.UpperCaseShare > MaxUpperCaseShare)
            w.Add($"{r.UpperCaseShare:P0} of letters are upper-case: the text looks case-folded to upper case (or is shouting); lower-case it properly or use the original.");
        if (r.VocabularyIsCased && r.UpperCaseShare < MinUpperCaseShareForCased)
            w.Add($"the vocabulary is cased but only {r.UpperCaseShare:P2} of letters are upper-case: the corpus looks lower-cased, so the model never sees capitals; use the original text or an uncased vocabulary.");
        if (r.UnknownRate > MaxUnknownRate)
            w.Add($"{r.UnknownRate:P1} of tokens are [UNK]: the vocabulary does not fit this text (another language or script, a cased/uncased mismatch, or encoding damage).");
        if (r.DuplicateRate > MaxDuplicateRate)
            w.Add($"{r.DuplicateRate:P0} of documents are exact duplicates (removed): heavy duplication; check how the corpus was collected.");
        if (r.Characters > 0 && (double)r.UndecodableCharacters / r.Characters > MaxUndecodableShare)
            w.Add($"{r.UndecodableCharacters:N0} characters were not valid UTF-8 (removed): the corpus is probably in another encoding (Latin-1, Windows-1252?); convert it to UTF-8.");
        long considered = r.DocumentsRead;
        if (considered > 0 && (double)r.DocumentsTooShort / considered > MaxTooShortShare)
            w.Add($"{(double)r.DocumentsTooShort / considered:P0} of documents are shorter than the minimum length: is the document split right (blank lines vs --line-docs)?");
        return w;
    }
}
