using System.CommandLine;
using System.IO.Compression;
using BertLab.Cli;
using BertLab.Text;
using Xunit;

namespace BertLab.Tests.Cli;

public sealed class VocabVerbTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-vocab-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // as Program.cs runs a verb: user errors become exit code 2
    internal static int Invoke(params string[] args) =>
        Verb.Run(() => new VocabVerb().Build().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));

    [Fact]
    public void TrainsFromAFolderOfTxtAndGzipFiles()
    {
        var corpus = Directory.CreateDirectory(Path.Combine(_dir, "corpus")).FullName;
        File.WriteAllText(Path.Combine(corpus, "a.txt"), "the cat sat\n\non the mat\n");
        using (var gz = new GZipStream(File.Create(Path.Combine(corpus, "b.txt.gz")), CompressionLevel.Fastest))
        using (var w = new StreamWriter(gz)) w.Write("The cat! The hat.\n");
        File.WriteAllText(Path.Combine(corpus, "ignored.json"), "zzzz qqqq");
        var output = Path.Combine(_dir, "out", "vocab.txt");

        Assert.Equal(0, Invoke("train", corpus, "--size", "40", "--out", output));

        var vocab = Vocabulary.Load(output);
        Assert.Equal(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }, vocab.Tokens.Take(5));
        Assert.Contains("the", vocab.Tokens);      // "the" ×4: the first merges build it
        Assert.DoesNotContain("z", vocab.Tokens);  // only .txt and .txt.gz files are read
        var tokenizer = new WordPieceTokenizer(vocab);
        Assert.DoesNotContain(vocab.UnkId, tokenizer.EncodeIds("the cat sat on the hat"));
    }

    [Fact]
    public void MissingCorpusOrBadFileIsAUserError()
    {
        var output = Path.Combine(_dir, "vocab.txt");
        Assert.Equal(Verb.UserError, Invoke("train", Path.Combine(_dir, "missing"), "--out", output));
        var json = Path.Combine(_dir, "corpus.json");
        File.WriteAllText(json, "[]");
        Assert.Equal(Verb.UserError, Invoke("train", json, "--out", output));
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        Assert.Equal(Verb.UserError, Invoke("train", empty, "--out", output));
        Assert.False(File.Exists(output));
    }
}
