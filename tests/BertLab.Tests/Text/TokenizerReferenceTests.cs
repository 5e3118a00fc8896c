using System.IO.Compression;
using System.Text;
using BertLab.Text;
using Xunit;

namespace BertLab.Tests.Text;

/// <summary>The fast paths (ASCII runs, word cache, span lookups) against plain references, on real and random text.</summary>
public class TokenizerReferenceTests
{
    static readonly Vocabulary Vocab = Vocabulary.Load();

    static IEnumerable<string> Texts()
    {
        foreach (var t in TokenizerFixture.Instance.Texts) yield return t;
        using var gz = new GZipStream(File.OpenRead(DataPaths.Find("corpus/austen-novels.txt.gz")), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        var buffer = new char[600_000];
        int n = reader.ReadBlock(buffer, 0, buffer.Length);
        foreach (var p in new string(buffer, 0, n).Split("\n\n")) yield return p;
        var random = new Random(1234);
        string[] pool = { "a", "Z", "q", " ", "  ", "\t", "\n", "\r\n", ",", "!", "$", "'", "é", "e\u0301", "a\u0301\u0323", "Å", "中", "文",
            "\U0001F600", "\u200b", "\u00ad", "\u0007", "\0", "İ", "ß", "Σ", "ﬁ", "한", "ア", "≠", "—", "«", "\uFFFD", "\uF900", "Ǆ", "\u0345" };
        for (int i = 0; i < 500; i++)
        {
            var sb = new StringBuilder();
            int len = random.Next(1, 40);
            for (int k = 0; k < len; k++) sb.Append(pool[random.Next(pool.Length)]);
            yield return sb.ToString();
        }
    }

    [Fact]
    public void AsciiFastPathEqualsTheGeneralPath()
    {
        foreach (var basic in new[] { new BasicTokenizer(), new BasicTokenizer(lowerCase: false), new BasicTokenizer(lowerCase: true, stripAccents: false) })
            foreach (var text in Texts())
                Assert.Equal(basic.SplitWithoutFastPath(text), basic.Split(text));
    }

    /// <summary>Plain WordPiece: strings and "##" concatenation, looked up in the vocabulary one by one.</summary>
    static List<string> ReferenceTokenize(BasicTokenizer basic, string text)
    {
        var tokens = new List<string>();
        foreach (var word in basic.Split(text))
        {
            var runes = word.EnumerateRunes().Select(r => r.ToString()).ToArray();
            if (runes.Length > 100) { tokens.Add("[UNK]"); continue; }
            var pieces = new List<string>();
            int start = 0;
            while (start < runes.Length)
            {
                string? found = null;
                int end = runes.Length;
                for (; end > start; end--)
                {
                    var piece = (start > 0 ? "##" : "") + string.Concat(runes[start..end]);
                    if (Vocab.TryGetId(piece, out _)) { found = piece; break; }
                }
                if (found is null) { pieces = new List<string> { "[UNK]" }; break; }
                pieces.Add(found);
                start = end;
            }
            tokens.AddRange(pieces);
        }
        return tokens;
    }

    [Fact]
    public void CachedSpanWordPieceEqualsThePlainReference()
    {
        var tokenizer = new WordPieceTokenizer(Vocab);
        int compared = 0;
        for (int pass = 0; pass < 2; pass++) // the second pass is served from the word cache
            foreach (var text in Texts().Where(t => !t.Contains('[')))
            {
                Assert.Equal(ReferenceTokenize(tokenizer.Basic, text), tokenizer.Tokenize(text));
                compared++;
            }
        Assert.True(compared > 2000);
    }
}
