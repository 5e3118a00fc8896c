using BertLab.Text;
using Xunit;

namespace BertLab.Tests.Text;

public class WordPieceTokenizerTests
{
    static readonly WordPieceTokenizer Tokenizer = new(Vocabulary.Load());
    static TokenizerFixture F => TokenizerFixture.Instance;

    static string Show(string s) => System.Text.Json.JsonSerializer.Serialize(s.Length > 60 ? s[..60] : s);

    [Fact]
    public void FixtureHasTheDocumentedSize()
    {
        Assert.Equal(183, F.Texts.Length);
        Assert.Equal(20, F.Pairs.Length);
        Assert.Equal(10, F.TruncatedTexts.Length);
    }

    [Fact]
    public void IdsEqualHuggingFaceOnAllFixtureTexts()
    {
        var wrong = new List<string>();
        for (int i = 0; i < F.Texts.Length; i++)
        {
            var ids = Tokenizer.Encode(F.Texts[i]).InputIds;
            if (!ids.SequenceEqual(F.Ids[i])) wrong.Add($"#{i} {Show(F.Texts[i])}: got {string.Join(' ', ids)}, want {string.Join(' ', F.Ids[i])}");
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count}/{F.Texts.Length} texts differ:\n" + string.Join('\n', wrong));
    }

    [Fact]
    public void TokensEqualHuggingFaceOnAllFixtureTexts()
    {
        var wrong = new List<string>();
        for (int i = 0; i < F.Texts.Length; i++)
        {
            var tokens = new[] { "[CLS]" }.Concat(Tokenizer.Tokenize(F.Texts[i])).Append("[SEP]").ToArray();
            if (!tokens.SequenceEqual(F.Tokens[i])) wrong.Add($"#{i} {Show(F.Texts[i])}: got {string.Join(' ', tokens)}");
        }
        Assert.True(wrong.Count == 0, string.Join('\n', wrong));
    }

    [Fact]
    public void PairsEqualHuggingFaceWithTokenTypes()
    {
        foreach (var (a, b, ids, types) in F.Pairs)
        {
            var enc = Tokenizer.Encode(a, b);
            Assert.Equal(ids, enc.InputIds);
            Assert.Equal(types, enc.TokenTypeIds);
            Assert.All(enc.AttentionMask, m => Assert.Equal(1, m));
        }
    }

    [Fact]
    public void TruncatedAndPaddedBatchEqualsHuggingFace()
    {
        for (int i = 0; i < F.TruncatedTexts.Length; i++)
        {
            var enc = Tokenizer.Encode(F.TruncatedTexts[i], maxLength: 32, padToMaxLength: true);
            Assert.Equal(F.TruncatedIds[i], enc.InputIds);
            Assert.Equal(F.TruncatedMask[i], enc.AttentionMask);
            Assert.All(enc.TokenTypeIds, t => Assert.Equal(0, t));
        }
    }

    [Fact]
    public void ConcurrentUseGivesTheSameIds()
    {
        var fresh = new WordPieceTokenizer(Vocabulary.Load()); // empty cache: threads race to fill it
        var failures = 0;
        Parallel.For(0, F.Texts.Length * 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, k =>
        {
            int i = k % F.Texts.Length;
            if (!fresh.Encode(F.Texts[i]).InputIds.SequenceEqual(F.Ids[i])) Interlocked.Increment(ref failures);
        });
        Assert.Equal(0, failures);
    }

    [Fact]
    public void EmptyAndBlankTextGiveOnlyClsSep()
    {
        Assert.Equal(new[] { 101, 102 }, Tokenizer.Encode("").InputIds);
        Assert.Equal(new[] { 101, 102 }, Tokenizer.Encode(" \t\n\u00a0\u200b").InputIds);
        Assert.Empty(Tokenizer.EncodeIds(""));
    }

    [Fact]
    public void AccentsAreStrippedAndCaseLowered()
    {
        Assert.Equal(new[] { "cafe", "naive", "resume" }, Tokenizer.Tokenize("CAFÉ Naïve R\u00c9SUM\u00c9"));
        // the same accent written with a combining mark (NFD input) gives the same tokens
        Assert.Equal(Tokenizer.EncodeIds("caf\u00e9"), Tokenizer.EncodeIds("cafe\u0301"));
    }

    [Fact]
    public void WordLongerThan100CodePointsIsOneUnk()
    {
        Assert.Equal(new[] { "[UNK]" }, Tokenizer.Tokenize(new string('a', 101)));
        var hundred = Tokenizer.Tokenize(new string('a', 100));
        Assert.True(hundred.Count > 1 && !hundred.Contains("[UNK]"), string.Join(' ', hundred));
        // the limit counts code points, not UTF-16 units: 60 pairs of (a + emoji) = 120 code points, 180 chars
        Assert.Equal(new[] { "the", "[UNK]", "end" }, Tokenizer.Tokenize("the " + string.Concat(Enumerable.Repeat("a\U0001F600", 60)) + " end"));
    }

    [Fact]
    public void LiteralSpecialTokensAreKeptButOnlyWhenSpelledExactly()
    {
        Assert.Equal(new[] { "x", "[SEP]", "y" }, Tokenizer.Tokenize("x[SEP]y"));
        Assert.Equal(new[] { "[", "sep", "]" }, Tokenizer.Tokenize("[sep]"));
        Assert.Equal(new[] { "[", "[MASK]", "]" }, Tokenizer.Tokenize("[[MASK]]"));
    }

    [Fact]
    public void UnknownCharactersBecomeUnkPerWord()
    {
        // "∑∫" is one word (math symbols are not punctuation) that no piece covers
        Assert.Equal(new[] { "a", "[UNK]", "b" }, Tokenizer.Tokenize("a ∑∫ b"));
    }

    [Fact]
    public void CasedOptionKeepsCaseAndAccents()
    {
        var basic = new BasicTokenizer(lowerCase: false);
        Assert.Equal(new[] { "Café", ",", "Zürich" }, basic.Split("Café, Zürich"));
        var stripOnly = new BasicTokenizer(lowerCase: false, stripAccents: true);
        Assert.Equal(new[] { "Cafe", ",", "Zurich" }, stripOnly.Split("Café, Zürich"));
    }

    [Theory] // Hugging Face tokenizers' own table (truncation.rs, max_length 7): lengths of the two sequences after longest_first
    [InlineData(0, 0, 0, 0)] [InlineData(0, 8, 0, 7)] [InlineData(2, 8, 2, 5)] [InlineData(4, 4, 3, 4)]
    [InlineData(4, 8, 3, 4)] [InlineData(8, 2, 5, 2)] [InlineData(8, 4, 4, 3)] [InlineData(8, 8, 3, 4)] [InlineData(2, 4, 2, 4)]
    public void LongestFirstTruncationFollowsHuggingFace(int first, int second, int wantFirst, int wantSecond) =>
        Assert.Equal((wantFirst, wantSecond), WordPieceTokenizer.TruncatedLengths(first, second, 7, isPair: true));

    [Fact]
    public void PairTruncationAndPadding()
    {
        // "a b c d e f g h" is 8 tokens, "x y" 2 tokens; maxLength 10 leaves 7: first keeps 5, second 2
        var enc = Tokenizer.Encode("a b c d e f g h", "x y", maxLength: 10, padToMaxLength: true);
        var v = Tokenizer.Vocabulary;
        string[] tokens = enc.InputIds.Select(id => v[id]).ToArray();
        Assert.Equal(new[] { "[CLS]", "a", "b", "c", "d", "e", "[SEP]", "x", "y", "[SEP]" }, tokens);
        Assert.Equal(new[] { 0, 0, 0, 0, 0, 0, 0, 1, 1, 1 }, enc.TokenTypeIds);
        var padded = Tokenizer.Encode("a b", "x", maxLength: 8, padToMaxLength: true);
        Assert.Equal(new[] { "[CLS]", "a", "b", "[SEP]", "x", "[SEP]", "[PAD]", "[PAD]" }, padded.InputIds.Select(id => v[id]));
        Assert.Equal(new[] { 1, 1, 1, 1, 1, 1, 0, 0 }, padded.AttentionMask);
        Assert.Equal(new[] { 0, 0, 0, 0, 1, 1, 0, 0 }, padded.TokenTypeIds);
        Assert.Throws<ArgumentOutOfRangeException>(() => Tokenizer.Encode("a", "b", maxLength: 2));
    }
}
