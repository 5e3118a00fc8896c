using System.Text.RegularExpressions;
using BertLab.Data;
using Xunit;

namespace BertLab.Tests.Data;

public class CorpusInspectorTests
{
    static CorpusReport Inspect(string path, int minChars = 20) =>
        new CorpusInspector(DataTestSupport.Tokenizer, new CleaningOptions { MinChars = minChars }).Inspect(CorpusFile.Resolve([path]));

    [Fact]
    public void CountsAHandMadeCorpus()
    {
        var dir = DataTestSupport.TempDir();
        var path = DataTestSupport.Write(dir, "c.txt", "Hello, World. Fine.\n\nHello,   World.  Fine.\n\nshort\n\nNo end mark here at all");
        var r = Inspect(path, minChars: 10);
        Assert.Equal(4, r.DocumentsRead);
        Assert.Equal(1, r.DocumentsTooShort);
        Assert.Equal(1, r.DuplicateDocuments);
        Assert.Equal(2, r.Documents);
        Assert.Equal("Hello, World. Fine.".Length + "No end mark here at all".Length, r.Characters);
        Assert.Equal(6 + 6, r.Tokens);                       // hello , world . fine . | no end mark here at all
        Assert.Equal(1000.0 * 3 / r.Characters, r.PunctuationPer1000Chars, 6);
        Assert.Equal(0.5, r.SentenceEndShare);
        Assert.Equal(1.0 / 3, r.DuplicateRate, 9);         // 1 duplicate among 3 documents of sufficient length
        Assert.Equal(4.0 / 32, r.UpperCaseShare, 6);       // H W F N of 32 letters
        Assert.Equal(0, r.UnknownTokens);
        Assert.Equal(2, r.LengthHistogram.Sum(b => b.Documents));
        Assert.Equal(new LengthBucket(0, 15, 2), r.LengthHistogram[0]);
    }

    [Fact]
    public void ALongDocumentReadInPiecesCountsOnce()
    {
        var dir = DataTestSupport.TempDir();
        var text = string.Join(' ', Enumerable.Range(0, 1000).Select(i => "word")) + " end.";   // 5004 characters, 1001 tokens + "."
        var path = DataTestSupport.Write(dir, "long.txt", text + "\nA second, shorter document here.\n");
        var r = new CorpusInspector(DataTestSupport.Tokenizer, reading: new CorpusReaderOptions { MaxPieceChars = 1000 }).Inspect(CorpusFile.Resolve([path]));
        Assert.Equal(2, r.Documents);
        Assert.Equal(1002 + 7, r.Tokens);
        Assert.Equal(1.0, r.SentenceEndShare);
        Assert.Equal(new LengthBucket(512, 1023, 1), r.LengthHistogram.Single(b => b.MinTokens == 512));
    }

    [Fact]
    public void TheDefaultCorpusAsShippedDoesNotWarn()
    {
        var dir = DataTestSupport.TempDir();
        var r = Inspect(DataTestSupport.DefaultCorpusSlice(dir));
        Assert.True(r.Tokens > 200_000, $"{r.Tokens} tokens");
        Assert.Empty(r.Warnings);
    }

    [Fact]
    public void WarnsWhenPunctuationIsStripped()
    {
        var dir = DataTestSupport.TempDir();
        var r = Inspect(DataTestSupport.DefaultCorpusSlice(dir, s => Regex.Replace(s, @"\p{P}", "")));
        Assert.Contains(r.Warnings, w => w.Contains("punctuation looks stripped"));
        Assert.True(r.PunctuationPer1000Chars < 1);
    }

    [Fact]
    public void WarnsOnUpperCaseFoldingDuplicationAndUnknownTokens()
    {
        var dir = DataTestSupport.TempDir();
        var upper = Inspect(DataTestSupport.DefaultCorpusSlice(dir, s => s.ToUpperInvariant(), 300, 1, 300));
        Assert.Contains(upper.Warnings, w => w.Contains("upper-case"));

        var lines = File.ReadAllLines(DataTestSupport.DefaultCorpusSlice(dir, null, 300, 1, 300));
        var dup = DataTestSupport.Write(dir, "dup.txt", string.Join("\n", lines.Concat(lines).Concat(lines)));
        var dupReport = Inspect(dup);
        Assert.Contains(dupReport.Warnings, w => w.Contains("duplicat"));
        Assert.InRange(dupReport.DuplicateRate, 0.6, 0.7);

        var unk = DataTestSupport.Write(dir, "unk.txt", string.Join("\n", lines.Select(l => l + " ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ")));
        Assert.Contains(Inspect(unk).Warnings, w => w.Contains("[UNK]"));
    }

    [Fact]
    public void WarnsOnTextThatIsNotUtf8()
    {
        var dir = DataTestSupport.TempDir();
        var lines = File.ReadAllLines(DataTestSupport.DefaultCorpusSlice(dir, s => s.Replace("e", "é"), 300, 1, 300));
        var latin1 = Path.Combine(dir, "latin1.txt");
        File.WriteAllBytes(latin1, System.Text.Encoding.Latin1.GetBytes(string.Join("\n", lines)));
        var r = Inspect(latin1);
        Assert.True(r.UndecodableCharacters > 1000);
        Assert.Contains(r.Warnings, w => w.Contains("UTF-8"));
    }

    [Fact]
    public void ACasedVocabularyWithALowerCasedCorpusWarns()
    {
        var dir = DataTestSupport.TempDir();
        var v = DataTestSupport.Vocab;
        var cased = new BertLab.Text.Vocabulary(v.Tokens.Select((t, i) => i > 2000 && i % 5 == 0 && !t.StartsWith("##") ? char.ToUpperInvariant(t[0]) + t[1..] : t));
        Assert.True(CorpusInspector.IsCased(cased));
        Assert.False(CorpusInspector.IsCased(v));
        var lower = DataTestSupport.DefaultCorpusSlice(dir, s => s.ToLowerInvariant(), 300, 1, 300);
        var r = new CorpusInspector(new BertLab.Text.WordPieceTokenizer(cased, lowerCase: false)).Inspect(CorpusFile.Resolve([lower]));
        Assert.Contains(r.Warnings, w => w.Contains("lower-cased"));
    }
}
