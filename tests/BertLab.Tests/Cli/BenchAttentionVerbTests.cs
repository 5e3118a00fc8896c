using System.CommandLine;
using System.Text.Json.Nodes;
using BertLab.Cli;
using Xunit;

namespace BertLab.Tests.Cli;

public class BenchAttentionVerbTests
{
    /// <summary>Runs `bench …` as the program does (also used by the other bench verbs' tests).</summary>
    internal static int Invoke(params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(new BenchVerb().Build());
        return Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    [Fact]
    public void WritesJsonRecordsAndPlots()
    {
        var dir = Directory.CreateTempSubdirectory("bench-attn-");
        try
        {
            var json = Path.Combine(dir.FullName, "a.json");
            var plot = Path.Combine(dir.FullName, "a.png");
            int rc = Invoke("bench", "attention", "--min-len", "16", "--max-len", "32", "--tokens", "64", "--lp-tokens", "32", "--reps", "1",
                "--json", json, "--plot", plot);
            Assert.Equal(0, rc);
            var arr = JsonNode.Parse(File.ReadAllText(json))!.AsArray();
            Assert.Equal(10, arr.Count);                                   // 5 variants × S ∈ {16, 32}
            foreach (var r in arr)
            {
                foreach (var key in new[] { "variant", "seq_len", "batch", "ms", "peak_mb" }) Assert.NotNull(r![key]);
                Assert.True(r!["ms"]!.GetValue<double>() > 0);
            }
            var first = arr[0]!;
            Assert.Equal("softmax-fused", first["variant"]!.GetValue<string>());
            Assert.Equal(16, first["seq_len"]!.GetValue<int>());
            Assert.Equal(4, first["batch"]!.GetValue<int>());
            Assert.Contains(arr, r => r!["variant"]!.GetValue<string>() == "lp" && r["batch"]!.GetValue<int>() == 2);
            foreach (var suffix in new[] { "-time", "-cpu-time", "-memory" })
                Assert.True(new FileInfo(Path.Combine(dir.FullName, "a" + suffix + ".png")).Length > 1000, suffix);
        }
        finally { dir.Delete(recursive: true); }
    }

    [Fact]
    public void UnknownVariantIsAUserError() => Assert.Equal(2, Invoke("bench", "attention", "--variants", "nope"));
}
