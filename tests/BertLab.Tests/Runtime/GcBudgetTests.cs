using BertLab.Runtime;
using BertLab.Tests.EndToEnd;
using Xunit;

namespace BertLab.Tests.Runtime;

/// <summary>The GC generation-0 budget that makes collections during TorchSharp's native calls rare
/// (<see cref="TorchRuntime.Gen0Size"/>): the command-line program gives it to itself when it re-executes, a value the
/// user set is kept, and the test host gets it from test.runsettings.</summary>
public sealed class GcBudgetTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-gc-").FullName;

    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    /// <summary>The output with its line breaks as spaces (the console wraps the machine line at 80 columns).</summary>
    static string OneLine(string output) => System.Text.RegularExpressions.Regex.Replace(output, @"\s+", " ");

    static long Bytes(string hex) => Convert.ToInt64(hex, 16);

    [Fact]
    public void TheTestHost_RunsWithTheProgramsBudget()
    {
        Assert.Equal(Bytes(TorchRuntime.Gen0Size), TorchRuntime.Gen0Budget);
    }

    string[] OneStep(string name) => new[]
    {
        "train", "--model", "tiny", "--steps", "1", "--out", Path.Combine(_tmp, name), "--threads", "1",
        "--corpus", CliProcess.SmallCorpus(_tmp, 400), "--set", "data.seq_len=32", "--set", "run.batch_size=2",
        "--set", "run.eval_batches=1", "--set", "data.cache_dir=" + Path.Combine(_tmp, "cache"),
    };

    [Fact]
    public void Train_ReexecutesWithTheBudget_AndKeepsOneTheUserSet()
    {
        var (code, output) = CliProcess.Run(OneStep("default"), _tmp, TimeSpan.FromMinutes(3),
            new Dictionary<string, string?> { [TorchRuntime.Gen0SizeVariable] = null });
        Assert.True(code == 0, output);
        Assert.Contains($"GC gen0 budget {Bytes(TorchRuntime.Gen0Size) >> 20} MB", OneLine(output));

        (code, output) = CliProcess.Run(OneStep("users"), _tmp, TimeSpan.FromMinutes(3),
            new Dictionary<string, string?> { [TorchRuntime.Gen0SizeVariable] = "0x4000000" });
        Assert.True(code == 0, output);
        Assert.Contains("GC gen0 budget 64 MB", OneLine(output));
    }
}
