using BertLab.Data;
using Xunit;

namespace BertLab.Tests.Data;

public class CorpusReaderTests
{
    static List<RawDocument> Read(string path, CorpusReaderOptions? o = null) =>
        CorpusReader.Read(CorpusFile.Resolve([path]), o).ToList();

    [Fact]
    public void BlankLinesSeparateDocumentsAndLinesInsideAreJoined()
    {
        var dir = DataTestSupport.TempDir();
        var path = DataTestSupport.Write(dir, "a.txt", "First line\nof doc one.\n\n\n  \nDoc two.\r\nStill two.\n\nThree");
        var docs = Read(path);
        Assert.Equal(["First line\nof doc one.", "Doc two.\nStill two.", "Three"], docs.Select(d => d.Text));
        Assert.All(docs, d => Assert.False(d.ContinuesPrevious));
    }

    [Fact]
    public void LineDocsAndAutoDetection()
    {
        var dir = DataTestSupport.TempDir();
        var path = DataTestSupport.Write(dir, "lines.txt.gz", "one\ntwo\n\nthree\n");
        Assert.Equal(["one", "two", "three"], Read(path, new CorpusReaderOptions { Split = DocumentSplit.Lines }).Select(d => d.Text));
        Assert.Equal(["one\ntwo", "three"], Read(path, new CorpusReaderOptions { Split = DocumentSplit.BlankLines }).Select(d => d.Text));
        // auto: no blank line in the file → one document per line (the default corpus mixes both layouts)
        var plain = DataTestSupport.Write(dir, "plain.txt", "alpha\nbeta\ngamma\n");
        Assert.Equal(DocumentSplit.Lines, CorpusReader.DetectSplit(CorpusFile.Resolve([plain])[0]));
        Assert.Equal(["alpha", "beta", "gamma"], Read(plain).Select(d => d.Text));
        Assert.Equal(DocumentSplit.BlankLines, CorpusReader.DetectSplit(CorpusFile.Resolve([path])[0]));
    }

    [Fact]
    public void JsonLinesWithConfigurableFieldAndGzip()
    {
        var dir = DataTestSupport.TempDir();
        var path = DataTestSupport.Write(dir, "d.jsonl.gz", "{\"text\":\"hello there\",\"label\":1}\n\n{\"body\":\"x\",\"text\":\"second\\nline\"}\n");
        Assert.Equal(["hello there", "second\nline"], Read(path).Select(d => d.Text));
        var other = DataTestSupport.Write(dir, "e.jsonl", "{\"body\":\"abc\"}\n");
        Assert.Equal(["abc"], Read(other, new CorpusReaderOptions { TextField = "body" }).Select(d => d.Text));
        var e = Assert.Throws<BertLabException>(() => Read(other));
        Assert.Contains("e.jsonl:1", e.Message);
        Assert.Contains("body", e.Message);
        var bad = DataTestSupport.Write(dir, "bad.jsonl", "{\"text\":\"ok\"}\n{not json\n");
        Assert.Contains("bad.jsonl:2", Assert.Throws<BertLabException>(() => Read(bad)).Message);
    }

    [Fact]
    public void AVeryLongLineComesInPiecesCutAtWhitespace()
    {
        var dir = DataTestSupport.TempDir();
        var words = string.Join(' ', Enumerable.Range(0, 5000).Select(i => $"w{i}"));
        var path = DataTestSupport.Write(dir, "long.txt", words + "\nshort\n");
        var docs = Read(path, new CorpusReaderOptions { Split = DocumentSplit.Lines, MaxPieceChars = 1000 });
        Assert.True(docs.Count > 20);
        Assert.False(docs[0].ContinuesPrevious);
        Assert.All(docs.Skip(1).SkipLast(1), d => Assert.True(d.ContinuesPrevious));
        Assert.Equal(words, string.Concat(docs.SkipLast(1).Select(d => d.Text)));
        Assert.All(docs.SkipLast(2), d => Assert.EndsWith(" ", d.Text)); // cut after a space, never inside a word
        Assert.Equal(new RawDocument("short", false), docs[^1]);
        // the same in blank-line mode
        var para = Read(path, new CorpusReaderOptions { Split = DocumentSplit.BlankLines, MaxPieceChars = 1000 });
        Assert.Equal(words + "\nshort", string.Concat(para.Select(d => d.Text)));
        Assert.All(para.Skip(1), d => Assert.True(d.ContinuesPrevious));
    }

    [Fact]
    public void DirectoriesAndGlobsResolveToSortedFiles()
    {
        var dir = DataTestSupport.TempDir();
        DataTestSupport.Write(dir, "b/x.txt", "x");
        DataTestSupport.Write(dir, "a.jsonl", "{\"text\":\"a\"}");
        DataTestSupport.Write(dir, "c.txt.gz", "c");
        DataTestSupport.Write(dir, "ignored.csv", "no");
        Assert.Equal(["a.jsonl", "b/x.txt", "c.txt.gz"], CorpusFile.Resolve([dir]).Select(f => Path.GetRelativePath(dir, f.Path)));
        Assert.Equal(["c.txt.gz"], CorpusFile.Resolve([Path.Combine(dir, "*.gz")]).Select(f => Path.GetFileName(f.Path)));
        Assert.Equal(["x.txt", "c.txt.gz"], CorpusFile.Resolve([Path.Combine(dir, "**/*.txt"), Path.Combine(dir, "c.*")]).Select(f => Path.GetFileName(f.Path)));
        Assert.Throws<BertLabException>(() => CorpusFile.Resolve([Path.Combine(dir, "nope.txt")]));
        Assert.Throws<BertLabException>(() => CorpusFile.Resolve([Path.Combine(dir, "*.parquet")]));
    }

    [Fact]
    public void NoCorpusMeansTheEmbeddedDefault()
    {
        var files = CorpusFile.Resolve(null);
        Assert.Equal(["austen-novels.txt.gz", "spurgeon-treasury-of-david.txt.gz", "wordnet-glosses.txt.gz"], files.Select(f => Path.GetFileName(f.Path)));
    }
}
