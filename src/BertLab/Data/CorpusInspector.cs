using BertLab.Text;

namespace BertLab.Data;

/// <summary>Computes a <see cref="CorpusReport"/>: streams the corpus through cleaning and tokenisation on all cores.</summary>
public sealed class CorpusInspector(ITokenizer tokenizer, CleaningOptions? cleaning = null, CorpusReaderOptions? reading = null)
{
    public CleaningOptions Cleaning { get; } = cleaning ?? new CleaningOptions();
    public CorpusReaderOptions Reading { get; } = reading ?? new CorpusReaderOptions();
    /// <summary>Called every few batches with (documents so far, tokens so far).</summary>
    public Action<long, long>? Progress { get; init; }
    public int Workers { get; init; }

    public CorpusReport Inspect(IReadOnlyList<CorpusFile> files)
    {
        var processor = new DocumentProcessor(new TextCleaner(Cleaning), tokenizer) { CollectStats = true };
        var seen = new HashSet<ulong>();
        long read = 0, tooShort = 0, duplicates = 0, kept = 0, chars = 0, tokens = 0, unk = 0, punct = 0, ends = 0,
            letters = 0, upper = 0, nonAscii = 0, undecodable = 0;
        var histogram = new long[16];
        long currentTokens = -1; // length of the document being assembled from pieces; -1 = none
        bool currentEnds = false; // whether its last piece ends in sentence punctuation
        bool skippingDocument = false;

        void CloseDocument()
        {
            if (currentTokens >= 0)
            {
                histogram[Bucket(currentTokens)]++;
                if (currentEnds) ends++;
            }
            currentTokens = -1;
        }

        ParallelPipeline.Run(CorpusReader.Read(files, Reading), processor.Process, (_, docs) =>
        {
            foreach (var d in docs)
            {
                if (d.ContinuesPrevious)
                {
                    if (skippingDocument || d.Empty || currentTokens < 0) continue;
                    currentTokens += d.Ids.Length;
                    currentEnds = d.Stats.EndsWithSentencePunctuation;
                }
                else
                {
                    CloseDocument();
                    if (d.Empty) { skippingDocument = true; continue; }
                    read++;
                    skippingDocument = false;
                    if (d.TooShort) { tooShort++; skippingDocument = true; continue; }
                    if (Cleaning.Deduplicate && !seen.Add(d.Hash)) { duplicates++; skippingDocument = true; continue; }
                    kept++;
                    currentTokens = d.Ids.Length;
                    currentEnds = d.Stats.EndsWithSentencePunctuation;
                }
                chars += d.Chars; tokens += d.Ids.Length; unk += d.Stats.UnknownTokens; punct += d.Stats.Punctuation;
                letters += d.Stats.Letters; upper += d.Stats.UpperCase; nonAscii += d.Stats.NonAscii; undecodable += d.Stats.UndecodableChars;
            }
            Progress?.Invoke(read, tokens);
        }, Workers, weight: d => d.Text.Length, maxBatchWeight: 1 << 20);
        CloseDocument();

        int lastBucket = Array.FindLastIndex(histogram, c => c > 0);
        var buckets = new List<LengthBucket>();
        for (int b = 0; b <= lastBucket; b++)
            buckets.Add(new LengthBucket(b == 0 ? 0 : 1L << (b + 3), b == histogram.Length - 1 ? long.MaxValue : (1L << (b + 4)) - 1, histogram[b]));
        var vocab = tokenizer.Vocabulary;
        var report = new CorpusReport
        {
            Files = files.Select(f => f.Path).ToList(),
            VocabularySha256 = vocab.Sha256,
            DocumentsRead = read, DocumentsTooShort = tooShort, DuplicateDocuments = duplicates, Documents = kept,
            Characters = chars, Tokens = tokens, UnknownTokens = unk, UndecodableCharacters = undecodable,
            PunctuationPer1000Chars = chars == 0 ? 0 : 1000.0 * punct / chars,
            SentenceEndShare = kept == 0 ? 0 : (double)ends / kept,
            UnknownRate = tokens == 0 ? 0 : (double)unk / tokens,
            DuplicateRate = kept + duplicates == 0 ? 0 : (double)duplicates / (kept + duplicates),
            NonAsciiShare = chars == 0 ? 0 : (double)nonAscii / chars,
            UpperCaseShare = letters == 0 ? 0 : (double)upper / letters,
            MeanDocumentChars = kept == 0 ? 0 : (double)chars / kept,
            MeanDocumentTokens = kept == 0 ? 0 : (double)tokens / kept,
            VocabularyIsCased = IsCased(vocab),
            LengthHistogram = buckets,
            Warnings = [],
        };
        return report with { Warnings = CorpusReport.WarningsFor(report) };
    }

    /// <summary>Bucket 0: 0–15 tokens; bucket b: 2^(b+3) … 2^(b+4)−1; the last bucket is open-ended.</summary>
    static int Bucket(long tokens)
    {
        if (tokens < 16) return 0;
        int b = 63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)tokens) - 3;
        return Math.Min(b, 15);
    }

    /// <summary>A vocabulary is cased by the one rule of <see cref="TextCasing"/>.</summary>
    public static bool IsCased(Vocabulary vocab) => TextCasing.IsCasedVocabulary(vocab);
}
