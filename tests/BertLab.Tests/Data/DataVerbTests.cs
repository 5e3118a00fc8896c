using System.CommandLine;
using System.Text.Json;
using System.Text.RegularExpressions;
using BertLab.Cli;
using BertLab.Data;
using Xunit;

namespace BertLab.Tests.Data;

public class DataVerbTests
{
    internal static int Bertlab(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(new DataVerb().Build());
        return Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    [Fact]
    public void InspectIsQuietOnTheShippedDefaultCorpusAndStrictFailsOnStrippedPunctuation()
    {
        var dir = DataTestSupport.TempDir();
        var json = Path.Combine(dir, "report.json");
        // the whole shipped default corpus (no corpus argument): no warning, so --strict passes
        Assert.Equal(0, Bertlab("data", "inspect", "--strict", "--json", json));
        var report = JsonDocument.Parse(File.ReadAllText(json)).RootElement;
        Assert.Equal(0, report.GetProperty("warnings").GetArrayLength());
        Assert.True(report.GetProperty("tokens").GetInt64() > 5_000_000);

        var stripped = DataTestSupport.DefaultCorpusSlice(dir, s => Regex.Replace(s, @"\p{P}", ""), 400, 2, 800);
        Assert.Equal(0, Bertlab("data", "inspect", stripped));
        Assert.Equal(1, Bertlab("data", "inspect", stripped, "--strict"));
    }

    [Fact]
    public void PrepareWritesShardsOnceAndUserErrorsExitWithTwo()
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.jsonl", string.Join("\n", Enumerable.Range(0, 100).Select(i => $"{{\"body\":\"Review {i}: a fine film, well worth seeing.\"}}")));
        var output = Path.Combine(dir, "out");
        Assert.Equal(0, Bertlab("data", "prepare", input, "--out", output, "--seq-len", "32", "--text-field", "body", "--validation", "0.1"));
        var manifest = ShardManifest.Load(output);
        Assert.Equal(32, manifest.SequenceLength);
        Assert.Equal(100, manifest.Counts.DocumentsKept);
        var written = File.GetLastWriteTimeUtc(Path.Combine(output, manifest.Shards[0].File));
        Assert.Equal(0, Bertlab("data", "prepare", input, "--out", output, "--seq-len", "32", "--text-field", "body", "--validation", "0.1"));
        Assert.Equal(written, File.GetLastWriteTimeUtc(Path.Combine(output, manifest.Shards[0].File)));   // nothing redone

        Assert.Equal(2, Bertlab("data", "prepare", Path.Combine(dir, "missing.txt"), "--out", output));
        Assert.Equal(2, Bertlab("data", "prepare", input, "--out", output));          // no "text" field in the JSON lines
        Assert.Equal(2, Bertlab("data", "prepare", input, "--out", output, "--text-field", "body", "--seq-len", "4"));
    }
}
