using System.CommandLine;
using System.Text.Json;
using BertLab.Cli;
using BertLab.Tests.Text;
using Xunit;

namespace BertLab.Tests.Cli;

public sealed class TokenizeVerbTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-tokenize-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    // as Program.cs runs a verb: user errors become exit code 2
    static int Invoke(params string[] args) =>
        Verb.Run(() => new TokenizeVerb().Build().Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));

    [Fact]
    public void CliWritesTheHuggingFaceIdsOfEveryText()
    {
        var f = TokenizerFixture.Instance;
        var input = Write("texts.json", JsonSerializer.Serialize(f.Texts));
        var output = Path.Combine(_dir, "out", "ids.json");
        Assert.Equal(0, Invoke("--input", input, "--output", output));
        var ids = JsonSerializer.Deserialize<int[][]>(File.ReadAllText(output))!;
        Assert.Equal(f.Ids.Length, ids.Length);
        for (int i = 0; i < ids.Length; i++) Assert.Equal(f.Ids[i], ids[i]);
    }

    [Fact]
    public void MaxLengthTruncatesWithoutPadding()
    {
        var input = Write("texts.json", "[\"Hello, world!\", \"hi\"]");
        var output = Path.Combine(_dir, "ids.json");
        TokenizeVerb.Run(input, output, maxLength: 4);
        Assert.Equal("[[101,7592,1010,102],[101,7632,102]]", File.ReadAllText(output));
    }

    [Fact]
    public void ExplicitVocabularyIsUsed()
    {
        var vocab = Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n##lo\nhel\n");
        var input = Write("texts.json", "[\"Hello hello! hello\"]");
        var output = Path.Combine(_dir, "ids.json");
        Assert.Equal(0, Invoke("--vocab", vocab, "--input", input, "--output", output));
        Assert.Equal("[[2,5,5,1,5,3]]", File.ReadAllText(output)); // "!" is not in this vocabulary
    }

    [Theory]
    [InlineData("{\"texts\": []}", "found an object")]
    [InlineData("[\"a\", 3]", "element 1 is a number")]
    [InlineData("[\"a\", null]", "element 1 is null")]
    [InlineData("[\"a\"", "is not valid JSON")]
    public void BadInputIsAUserErrorThatNamesTheProblem(string json, string expected)
    {
        var input = Write("bad.json", json);
        var e = Assert.Throws<BertLabException>(() => TokenizeVerb.Run(input, Path.Combine(_dir, "ids.json")));
        Assert.Contains(expected, e.Message);
        Assert.Contains(input, e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "ids.json")));
    }

    [Fact]
    public void CliReportsUserErrorsWithExitCode2()
    {
        var output = Path.Combine(_dir, "ids.json");
        Assert.Equal(Verb.UserError, Invoke("--input", Path.Combine(_dir, "missing.json"), "--output", output));
        Assert.Equal(Verb.UserError, Invoke("--input", Write("bad.json", "{}"), "--output", output));
        Assert.Equal(Verb.UserError, Invoke("--input", Write("ok.json", "[\"a\"]"), "--output", output, "--max-length", "1"));
        Assert.False(File.Exists(output));
    }
}
