using System.Text.RegularExpressions;
using BertLab.Text;

namespace BertLab.Data;

/// <summary>Cleans, hashes and tokenises documents; thread-safe (one instance is shared by all workers).</summary>
public sealed class DocumentProcessor(TextCleaner cleaner, ITokenizer tokenizer)
{
    public TextCleaner Cleaner { get; } = cleaner;
    public ITokenizer Tokenizer { get; } = tokenizer;
    /// <summary>Compute <see cref="TextStats"/> (for inspect).</summary>
    public bool CollectStats { get; init; }
    /// <summary>Record sentence starts (sentence-pair packing).</summary>
    public bool SplitSentences { get; init; }
    /// <summary>Keep the cleaned text on the result.</summary>
    public bool KeepText { get; init; }

    static readonly Regex SentenceEnd = new(@"(?<=[.!?\u2026][""'\u201D\u2019)\]]*)\s+", RegexOptions.Compiled);

    public ProcessedDocument Process(RawDocument raw)
    {
        var text = Cleaner.Clean(raw.Text);
        if (text.Length == 0) return new ProcessedDocument { ContinuesPrevious = raw.ContinuesPrevious, Empty = true };
        if (!raw.ContinuesPrevious && text.Length < Cleaner.Options.MinChars)
            return new ProcessedDocument { TooShort = true, Chars = text.Length, Text = KeepText ? text : null };
        int[] ids;
        int[]? starts = null;
        if (SplitSentences)
        {
            var all = new List<int>();
            var startList = new List<int>();
            foreach (var sentence in SentenceEnd.Split(text))
            {
                if (sentence.Length == 0) continue;
                var sentenceIds = Tokenizer.EncodeIds(sentence);
                if (sentenceIds.Length == 0) continue;
                startList.Add(all.Count);
                all.AddRange(sentenceIds);
            }
            ids = all.ToArray();
            starts = startList.ToArray();
        }
        else ids = Tokenizer.EncodeIds(text);
        var stats = default(TextStats);
        if (CollectStats)
        {
            stats = TextStats.Of(text);
            int unk = Tokenizer.Vocabulary.UnkId;
            foreach (var id in ids) if (id == unk) stats.UnknownTokens++;
            foreach (char c in raw.Text.AsSpan()) if (c == '\uFFFD') stats.UndecodableChars++;
        }
        return new ProcessedDocument
        {
            ContinuesPrevious = raw.ContinuesPrevious, Hash = TextCleaner.Hash(text), Chars = text.Length,
            Ids = ids, SentenceStarts = starts, Stats = stats, Text = KeepText ? text : null,
        };
    }
}
