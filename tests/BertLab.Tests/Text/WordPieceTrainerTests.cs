using System.IO.Compression;
using System.Text;
using BertLab.Text;
using Xunit;

namespace BertLab.Tests.Text;

public class WordPieceTrainerTests
{
    // Words: ab ×5, ac ×2, cd ×1. Symbol counts: a 7, ##b 5, ##c 2, c 1, ##d 1.
    // Pairs: (a,##b) 5, (a,##c) 2, (c,##d) 1.
    // Frequency: ab (5), ac (2), cd (1).
    // Likelihood: cd 1/(1·1) = 1 first; then ab and ac tie at 5/35 = 2/14, the more frequent wins: ab;
    // then a has count 2 and ac scores 2/(2·2).
    const string Toy = "ab ab ab ab ab ac ac cd";
    static readonly string[] ToyBase = { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "d", "##a", "##b", "##c", "##d" };

    static Vocabulary TrainToy(MergeRule rule, int size) =>
        new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = size, Rule = rule, MinPairFrequency = 1 }).Train(new[] { Toy });

    [Fact]
    public void FrequencyRuleMergesTheMostFrequentPairFirst() =>
        Assert.Equal(ToyBase.Concat(new[] { "ab", "ac", "cd" }), TrainToy(MergeRule.Frequency, 16).Tokens);

    [Fact]
    public void LikelihoodRuleMergesByWordPieceScore() =>
        Assert.Equal(ToyBase.Concat(new[] { "cd", "ab", "ac" }), TrainToy(MergeRule.Likelihood, 16).Tokens);

    [Fact]
    public void StopsAtTheRequestedSizeOrWhenNoPairIsLeft()
    {
        Assert.Equal(ToyBase.Append("cd"), TrainToy(MergeRule.Likelihood, 14).Tokens);
        Assert.Equal(16, TrainToy(MergeRule.Frequency, 100).Count); // only three merges exist
    }

    [Fact]
    public void MinPairFrequencyLeavesRarePairsOut()
    {
        var v = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 100, MinPairFrequency = 2 }).Train(new[] { Toy });
        Assert.Equal(ToyBase.Concat(new[] { "ab", "ac" }), v.Tokens); // cd (seen once) is never merged
    }

    [Fact]
    public void SmallSizeKeepsTheMostFrequentCharacters()
    {
        // room for 2 characters (×2 forms) after the 5 special tokens: a (7) and b (5) stay, c and d go
        var v = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 9 }).Train(new[] { Toy });
        Assert.Equal(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "##a", "##b" }, v.Tokens);
    }

    [Fact]
    public void EmptyCorpusIsAUserError() =>
        Assert.Throws<BertLabException>(() => new WordPieceTrainer().Train(new[] { "  ", "" }));

    static string AustenSlice(int chars)
    {
        using var gz = new GZipStream(File.OpenRead(DataPaths.Find("corpus/austen-novels.txt.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        var buffer = new char[chars];
        int n = reader.ReadBlock(buffer, 0, chars);
        var text = new string(buffer, 0, n);
        return text[..(text.LastIndexOf("\n\n", StringComparison.Ordinal) + 1)];
    }

    [Fact]
    public void TrainingIsDeterministic()
    {
        var documents = AustenSlice(300_000).Split("\n\n");
        foreach (var rule in new[] { MergeRule.Frequency, MergeRule.Likelihood })
        {
            var options = new WordPieceTrainerOptions { VocabSize = 1500, Rule = rule };
            Assert.Equal(new WordPieceTrainer(options).Train(documents).Tokens, new WordPieceTrainer(options).Train(documents.Reverse()).Tokens);
        }
    }

    [Fact]
    public void VocabularyLearntFromAustenCoversAustenWithFewUnknowns()
    {
        var text = AustenSlice(2_000_000);
        var documents = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var vocab = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 8000 }).Train(documents);

        Assert.Equal(8000, vocab.Count);
        Assert.Equal(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }, vocab.Tokens.Take(5));
        Assert.Equal(vocab.Count, vocab.Tokens.Distinct().Count());

        // the file round-trips through Vocabulary.Load and drives the tokenizer
        var path = Path.Combine(Path.GetTempPath(), $"bertlab-vocab-{Guid.NewGuid():N}.txt");
        try
        {
            vocab.Save(path);
            var tokenizer = new WordPieceTokenizer(Vocabulary.Load(path));
            long tokens = 0, unknown = 0;
            foreach (var d in documents)
            {
                var ids = tokenizer.EncodeIds(d);
                tokens += ids.Length;
                unknown += ids.Count(id => id == tokenizer.Vocabulary.UnkId);
            }
            double rate = (double)unknown / tokens;
            Assert.True(rate < 0.005, $"[UNK] rate {rate:P3} ({unknown} of {tokens})");
            // frequent words are learnt whole
            foreach (var word in new[] { "the", "and", "emma", "woodhouse" })
                Assert.True(tokenizer.Vocabulary.TryGetId(word, out _), $"'{word}' is not a whole token");
        }
        finally { File.Delete(path); }
    }
}
