using BertLab.Data;
using Xunit;

namespace BertLab.Tests.Data;

public class ShardTests
{
    static PrepareOptions Options(double validation = 0.3) => new() { SequenceLength = 64, ValidationFraction = validation, Seed = 11, TokensPerShard = 64 * 500 };

    /// <summary>The token runs of a split: each sequence is [CLS] … [SEP] [PAD]*; internal [SEP]s separate documents.</summary>
    static List<int> ContentTokens(ShardDataset data)
    {
        var v = DataTestSupport.Vocab;
        var tokens = new List<int>();
        for (long i = 0; i < data.Count; i++)
        {
            var seq = data[i];
            Assert.Equal(v.ClsId, seq[0]);
            int end = Array.FindLastIndex(seq, t => t != v.PadId);
            Assert.Equal(v.SepId, seq[end]);
            Assert.All(seq[(end + 1)..], t => Assert.Equal(v.PadId, t));
            tokens.AddRange(seq[1..end].Where(t => t != v.SepId));
        }
        return tokens;
    }

    [Fact]
    public void ShardsDecodeBackToExactlyTheTokensOfTheCleanedText()
    {
        var dir = DataTestSupport.TempDir();
        // a slice of the default corpus plus duplicates, short lines, HTML and control characters
        var slice = DataTestSupport.DefaultCorpusSlice(dir, austen: 400, spurgeonPieces: 2, wordnet: 800);
        File.AppendAllText(slice, "A <b>duplicate</b> line, long enough.\nA duplicate line, long enough.\ntoo short\nZero\u200Bwidth\u0007 and <br/>breaks here.\n");
        var tokenizer = DataTestSupport.Tokenizer;
        var result = new DataPreparer(tokenizer, Options()).Prepare(CorpusFile.Resolve([slice]), Path.Combine(dir, "out"));
        Assert.False(result.UpToDate);

        // expected: documents cleaned, filtered and de-duplicated here independently, in order
        var cleaner = new TextCleaner(new CleaningOptions());
        var seen = new HashSet<string>();
        var expected = new List<int[]>();
        int duplicates = 0;
        foreach (var line in File.ReadLines(slice))
        {
            var text = cleaner.Clean(line);
            if (text.Length < 20) continue;
            if (!seen.Add(text)) { duplicates++; continue; }
            expected.Add(tokenizer.EncodeIds(text));
        }
        Assert.Equal(expected.Count, result.Manifest.Counts.DocumentsKept);
        Assert.True(duplicates >= 1);
        Assert.Equal(duplicates, result.Manifest.Counts.DuplicateDocuments);

        using var train = ShardDataset.Open(Path.Combine(dir, "out"), "train", DataTestSupport.Vocab);
        using var validation = ShardDataset.Open(Path.Combine(dir, "out"), "validation", DataTestSupport.Vocab);
        var streams = new[] { ContentTokens(train), ContentTokens(validation) };
        var at = new int[2];
        int toValidation = 0;
        foreach (var doc in expected)
        {
            // every document continues exactly one of the two streams
            int s = Enumerable.Range(0, 2).First(k => at[k] + doc.Length <= streams[k].Count && streams[k].Skip(at[k]).Take(doc.Length).SequenceEqual(doc));
            at[s] += doc.Length;
            toValidation += s;
        }
        Assert.Equal(streams[0].Count, at[0]);
        Assert.Equal(streams[1].Count, at[1]);
        Assert.Equal(expected.Sum(d => d.Length), result.Manifest.Counts.Tokens);
        Assert.InRange((double)toValidation / expected.Count, 0.25, 0.35);
        Assert.Equal("uint16", result.Manifest.TokenType);
        Assert.True(train.Manifest.Shards.Count(s => s.Split == "train") > 1);   // several shards, read as one
    }

    [Fact]
    public void RerunDoesNothingAndChangedInputOrCorruptShardIsDetected()
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.txt", string.Join("\n\n", Enumerable.Range(0, 300).Select(i => $"Document number {i} says something, then stops.")));
        var output = Path.Combine(dir, "out");
        var preparer = new DataPreparer(DataTestSupport.Tokenizer, Options(0.1));
        var first = preparer.Prepare(CorpusFile.Resolve([input]), output);
        Assert.False(first.UpToDate);
        var second = preparer.Prepare(CorpusFile.Resolve([input]), output);
        Assert.True(second.UpToDate, second.Reason);

        // a changed input file
        File.AppendAllText(input, "\n\nOne more document at the end, long enough.");
        Assert.Equal([Path.GetFullPath(input)], ShardManifest.Load(output).ChangedInputs());
        var third = preparer.Prepare(CorpusFile.Resolve([input]), output);
        Assert.False(third.UpToDate);
        Assert.Contains("input changed", third.Reason);
        Assert.Equal(first.Manifest.Counts.DocumentsKept + 1, third.Manifest.Counts.DocumentsKept);

        // a truncated shard
        var shard = Path.Combine(output, third.Manifest.Shards[0].File);
        var bytes = File.ReadAllBytes(shard);
        File.WriteAllBytes(shard, bytes[..^10]);
        var e = Assert.Throws<BertLabException>(() => ShardDataset.Open(output));
        Assert.Contains("corrupt or partial", e.Message);
        Assert.Contains(third.Manifest.Shards[0].File, e.Message);

        // a shard of the right length with altered content
        bytes[100] ^= 1;
        File.WriteAllBytes(shard, bytes);
        Assert.Contains("SHA-256", Assert.Throws<BertLabException>(() => ShardDataset.Open(output)).Message);
        // ... which prepare repairs
        var fourth = preparer.Prepare(CorpusFile.Resolve([input]), output);
        Assert.False(fourth.UpToDate);
        Assert.Contains("SHA-256", fourth.Reason);
        using var ok = ShardDataset.Open(output);
        Assert.Equal(fourth.Manifest.Counts.TrainSequences, ok.Count);
    }

    [Fact]
    public void OtherOptionsOrVocabularyMeanPreparingAgain()
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.txt", string.Join("\n", Enumerable.Range(0, 50).Select(i => $"Line document {i}, with some words.")));
        var output = Path.Combine(dir, "out");
        new DataPreparer(DataTestSupport.Tokenizer, Options()).Prepare(CorpusFile.Resolve([input]), output);
        var again = new DataPreparer(DataTestSupport.Tokenizer, Options() with { SequenceLength = 32 }).Prepare(CorpusFile.Resolve([input]), output);
        Assert.False(again.UpToDate);
        Assert.Equal(32, ShardManifest.Load(output).SequenceLength);

        var otherVocab = new BertLab.Text.Vocabulary(DataTestSupport.Vocab.Tokens.Take(2000));
        var e = Assert.Throws<BertLabException>(() => ShardDataset.Open(output, "train", otherVocab));
        Assert.Contains("another vocabulary", e.Message);
        Assert.Throws<BertLabException>(() => ShardDataset.Open(Path.Combine(dir, "nothing-here")));
    }

    [Fact]
    public void AnEmptyCorpusIsAUserError()
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.txt", "short\n\ntiny\n");
        var e = Assert.Throws<BertLabException>(() => new DataPreparer(DataTestSupport.Tokenizer).Prepare(CorpusFile.Resolve([input]), Path.Combine(dir, "out")));
        Assert.Contains("no usable documents", e.Message);
    }
}

public class SentencePairPreparationTests
{
    [Fact]
    public void SentencePairShardsGiveTokenTypesOneForTheSecondSegment()
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.txt", string.Join("\n\n", Enumerable.Range(0, 60).Select(i =>
            $"First sentence of story {i}. The second one follows here! Does a third ask something? A fourth ends it.")));
        var output = Path.Combine(dir, "out");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "notes.bin"), "keep me");
        new DataPreparer(DataTestSupport.Tokenizer, new PrepareOptions { SequenceLength = 48, Mode = PackingMode.SentencePairs, ValidationFraction = 0 })
            .Prepare(CorpusFile.Resolve([input]), output);
        Assert.True(File.Exists(Path.Combine(output, "notes.bin")));      // only our own shard files are ever deleted
        var v = DataTestSupport.Vocab;
        using var data = ShardDataset.Open(output);
        Assert.Equal(60, data.Count);                                      // one pair per (short) story
        var loader = new MlmDataLoader(data, v, 4, seed: 2);
        using var batch = loader.Next();
        var types = batch.TokenTypeIds.data<long>().ToArray();
        var mask = batch.AttentionMask.data<long>().ToArray();
        var ids = new long[48];
        // variable-length modes cut a batch to its longest sequence: the batch is w ≤ 48 wide
        int w = (int)batch.InputIds.shape[1];
        for (int r = 0; r < 4; r++)
        {
            data.Read(loader.SequenceAt(0, r), ids);
            int sep1 = Array.IndexOf(ids, (long)v.SepId), sep2 = Array.IndexOf(ids, (long)v.SepId, sep1 + 1);
            Assert.True(sep1 > 1 && sep2 > sep1 + 1 && sep2 < w);
            Assert.Contains(ids[sep1 - 1], new long[] { v.IdOf("."), v.IdOf("!"), v.IdOf("?") });   // A ends with a whole sentence
            for (int i = 0; i < w; i++)
            {
                Assert.Equal(i > sep1 && i <= sep2 ? 1 : 0, types[r * w + i]);
                Assert.Equal(i <= sep2 ? 1 : 0, mask[r * w + i]);
            }
        }
    }
}

public class PreparationFingerprintTests
{
    [Fact]
    public void ATokenizerWithOtherSettingsMeansPreparingAgain()
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.txt", string.Join("\n", Enumerable.Range(0, 40).Select(i => $"Line Number {i} With Capitals.")));
        var output = Path.Combine(dir, "out");
        var options = new PrepareOptions { SequenceLength = 16, ValidationFraction = 0 };
        new DataPreparer(new BertLab.Text.WordPieceTokenizer(DataTestSupport.Vocab), options).Prepare(CorpusFile.Resolve([input]), output);
        Assert.True(new DataPreparer(new BertLab.Text.WordPieceTokenizer(DataTestSupport.Vocab), options).Prepare(CorpusFile.Resolve([input]), output).UpToDate);
        var cased = new DataPreparer(new BertLab.Text.WordPieceTokenizer(DataTestSupport.Vocab, lowerCase: false), options).Prepare(CorpusFile.Resolve([input]), output);
        Assert.False(cased.UpToDate);
    }
}
