using System.Diagnostics;
using System.Text.Json.Nodes;
using BertLab.Model;
using BertLab.Tests.Training;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.EndToEnd;

/// <summary>`bertlab train` as a user runs it: kill and resume, bad input, memory over thousands of steps.</summary>
[Trait("Category", "Slow")]
public class TrainCliTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-e2e-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    string[] TinyRun(string outDir, int steps, params string[] extra) => new[]
    {
        "train", "--model", "tiny", "--attention", "cottention", "--steps", steps.ToString(), "--out", outDir, "--threads", "1",
        "--corpus", CliProcess.SmallCorpus(_tmp),
        "--set", "data.seq_len=32", "--set", "run.batch_size=8", "--set", "run.log_interval=1", "--set", "run.checkpoint_interval=3",
        "--set", "run.eval_interval=10", "--set", "run.eval_batches=2", "--set", "data.cache_dir=" + Path.Combine(_tmp, "cache"),
    }.Concat(extra).ToArray();

    static List<double> Losses(string dir) =>
        TrainingPlots.ReadMetrics(dir).Where(m => m["loss"] is not null).Select(m => m["loss"]!.GetValue<double>()).ToList();

    [Fact]
    public void KilledAtARandomStepAndResumed_GivesTheUninterruptedLossSequence()
    {
        const int steps = 24;
        var full = Path.Combine(_tmp, "full");
        var (code, output) = CliProcess.Run(TinyRun(full, steps), _tmp, TimeSpan.FromMinutes(10));
        Assert.True(code == 0, output);
        var expected = Losses(full);
        Assert.Equal(steps, expected.Count);

        var cut = Path.Combine(_tmp, "cut");
        int killAt = new Random().Next(5, steps - 3);
        using (var p = CliProcess.Start(TinyRun(cut, steps), _tmp))
        {
            p.BeginOutputReadLine(); p.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && Losses(cut).Count < killAt && clock.Elapsed < TimeSpan.FromMinutes(10)) Thread.Sleep(20);
            Assert.False(p.HasExited, "the run finished before it could be killed");
            p.Kill(entireProcessTree: true); // SIGKILL
            p.WaitForExit();
        }
        AssertEveryCheckpointLoads(cut);
        var (code2, output2) = CliProcess.Run(new[] { "train", "--resume", cut }, _tmp, TimeSpan.FromMinutes(10));
        Assert.True(code2 == 0, output2);
        Assert.Equal(expected, Losses(cut));
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(cut, "summary.json")))!;
        Assert.Equal("completed", summary["status"]!.GetValue<string>());
        Assert.Equal(steps, summary["step"]!.GetValue<int>());
    }

    [Fact]
    public void KillsDuringCheckpointWrites_NeverLeaveACheckpointThatLoadsWrongly()
    {
        // a checkpoint every step makes a kill land inside a write often
        var dir = Path.Combine(_tmp, "ckpt");
        var args = TinyRun(dir, 60, "--set", "run.checkpoint_interval=1", "--set", "run.keep_last=3");
        var random = new Random(1);
        for (int attempt = 0; attempt < 3; attempt++)
        {
            using var p = CliProcess.Start(attempt == 0 ? args : new[] { "train", "--resume", dir }, _tmp);
            p.BeginOutputReadLine(); p.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && Trainer.LatestCheckpoint(dir) is null && clock.Elapsed < TimeSpan.FromMinutes(5)) Thread.Sleep(10);
            Thread.Sleep(random.Next(50, 400));
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit();
            AssertEveryCheckpointLoads(dir);
        }
    }

    static void AssertEveryCheckpointLoads(string runDir)
    {
        var root = Path.Combine(runDir, "checkpoints");
        if (!Directory.Exists(root)) return;
        foreach (var d in Directory.GetDirectories(root, "step-*"))
        {
            // a step-* directory exists only after its complete write (temporary name, then rename)
            Assert.True(File.Exists(Path.Combine(d, RunDirectory.StateFile)), $"{d} lacks its trainer state");
            using var m = BertCheckpoint.LoadMaskedLM(d);
        }
    }

    [Fact]
    public void PartialCheckpointDirectories_AreIgnoredOnResume()
    {
        var dir = Path.Combine(_tmp, "partial");
        var (code, output) = CliProcess.Run(TinyRun(dir, 6), _tmp, TimeSpan.FromMinutes(5));
        Assert.True(code == 0, output);
        var latest = Trainer.LatestCheckpoint(dir)!;
        Assert.EndsWith("step-00000006", latest);
        // the CLI attaches TensorBoard: one loss per logged step (TensorBoardTests checks the values)
        var events = TfEvents.ReadFolder(Path.Combine(dir, TensorBoardWriter.Folder));
        Assert.Equal(new long[] { 1, 2, 3, 4, 5, 6 }, events.Where(e => e.Tag == "train/loss").Select(e => e.Step).Order());
        // what a kill mid-write can leave: a temporary directory, and (never made by BertLab, but be safe) a step dir without state
        Directory.CreateDirectory(Path.Combine(dir, "checkpoints", ".tmp-step-00000009"));
        File.WriteAllText(Path.Combine(dir, "checkpoints", ".tmp-step-00000009", "model.safetensors"), "partial");
        Directory.CreateDirectory(Path.Combine(dir, "checkpoints", "step-00000012"));
        Assert.Equal(latest, Trainer.LatestCheckpoint(dir));
    }

    [Theory]
    [InlineData("--corpus", "/nonexistent/corpus.txt", "corpus")]
    [InlineData("--attention", "flash", "cottention")]
    [InlineData("--set", "run.batch_size=-1", "run.batch_size")]
    [InlineData("--set", "run.colour=red", "run.colour")]
    [InlineData("--set", "optimizer.lr=1e400", "optimizer.lr must be a finite number")]
    [InlineData("--config", "/nonexistent.json", "not found")]
    public void BadInput_GivesOneMessageAndExitCode2(string option, string value, string mentioned)
    {
        var (code, output) = CliProcess.Run(new[] { "train", "--out", Path.Combine(_tmp, "bad"), option, value }, _tmp, TimeSpan.FromMinutes(2));
        Assert.Equal(2, code);
        Assert.Contains(mentioned, output);
        Assert.DoesNotContain("   at ", output); // no stack trace
    }

    [Fact]
    public void ResidentMemory_After2000Steps_IsWithin10PercentOf200()
    {
        var dir = Path.Combine(_tmp, "memory");
        var (code, output) = CliProcess.Run(new[]
        {
            "train", "--model", "tiny", "--attention", "softmax", "--steps", "2000", "--out", dir, "--threads", "1",
            "--corpus", CliProcess.SmallCorpus(_tmp), "--set", "data.seq_len=32", "--set", "run.batch_size=8",
            // evaluation and checkpoints every 100 steps, so both measuring points have seen every kind of work
            "--set", "run.log_interval=100", "--set", "run.checkpoint_interval=100", "--set", "run.eval_interval=100",
            "--set", "run.eval_batches=2", "--set", "data.cache_dir=" + Path.Combine(_tmp, "cache"),
        }, _tmp, TimeSpan.FromMinutes(15));
        Assert.True(code == 0, output);
        var rss = TrainingPlots.ReadMetrics(dir).Where(m => m["rss_mb"] is not null).ToDictionary(m => m["step"]!.GetValue<int>(), m => m["rss_mb"]!.GetValue<double>());
        double at200 = rss[200], at2000 = rss[2000];
        Assert.True(at2000 <= 1.10 * at200, $"resident memory grew from {at200} MB at step 200 to {at2000} MB at step 2000");
    }
}
