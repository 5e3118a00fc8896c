using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.EndToEnd;

/// <summary>
/// Faults injected into the real `bertlab train` process (issue 14): SIGINT and SIGTERM mid-run, two processes on one
/// run directory and on one new data cache, a corrupt latest checkpoint, a rejected or pointless resume, an empty
/// validation split, --out naming a file. Every case trains a tiny model for a few steps.
/// </summary>
[Trait("Category", "Slow")]
public class FaultInjectionTests : IDisposable
{
    readonly string _tmp = Directory.CreateTempSubdirectory("bertlab-faults-").FullName;
    public void Dispose() { try { Directory.Delete(_tmp, true); } catch { } }

    string Cache => Path.Combine(_tmp, "cache");

    string[] TinyRun(string outDir, int steps, params string[] extra) => TinyRunOn(CliProcess.SmallCorpus(_tmp, 400), outDir, steps, extra);

    string[] TinyRunOn(string corpus, string outDir, int steps, params string[] extra) => new[]
    {
        "train", "--model", "tiny", "--attention", "cottention", "--steps", steps.ToString(), "--out", outDir, "--threads", "1",
        "--corpus", corpus,
        "--set", "data.seq_len=32", "--set", "run.batch_size=4", "--set", "run.log_interval=1", "--set", "run.checkpoint_interval=3",
        "--set", "run.eval_interval=100", "--set", "run.eval_batches=1", "--set", "data.cache_dir=" + Cache,
    }.Concat(extra).ToArray();

    static List<double> Losses(string dir) =>
        TrainingPlots.ReadMetrics(dir).Where(m => m["loss"] is not null).Select(m => m["loss"]!.GetValue<double>()).ToList();

    (int code, string output) Run(params string[] args) => CliProcess.Run(args, _tmp, TimeSpan.FromMinutes(5));

    static string Read(string path) => File.Exists(path) ? File.ReadAllText(path) : "<none>";

    /// <summary>Starts bertlab, waits until <paramref name="ready"/> holds, calls <paramref name="act"/> with the process,
    /// and waits for it to end.</summary>
    (int code, string output) RunAndInterrupt(string[] args, Func<bool> ready, Action<Process> act, bool sigintIgnored = false, Func<string, bool>? readyOutput = null)
    {
        using var p = CliProcess.Start(args, _tmp, sigintIgnored);
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine(); p.BeginErrorReadLine();
        var clock = Stopwatch.StartNew();
        bool Ready() { if (readyOutput is null) return ready(); lock (output) return readyOutput(output.ToString()); }
        while (!p.HasExited && !Ready() && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(readyOutput is null ? 20 : 5);
        Assert.False(p.HasExited, "the run ended before the fault could be injected:\n" + output);
        act(p);
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); Assert.Fail("still running after the fault:\n" + output); }
        p.WaitForExit();
        lock (output) return (p.ExitCode, output.ToString());
    }

    [Fact]
    public void SigintAndSigterm_StopAfterTheStepWithACheckpoint_AndTheResumeGivesTheUninterruptedLosses()
    {
        const int steps = 30;   // room for the signal: the test polls the losses while the run goes on (~0.1 s a step)
        // no checkpoint interval falls inside the run: the checkpoint a resume starts from is the one the stop wrote
        string[] extra = { "--set", "run.checkpoint_interval=1000" };
        var full = Path.Combine(_tmp, "full");
        var (code, output) = Run(TinyRun(full, steps, extra));
        Assert.True(code == 0, output);
        var expected = Losses(full);
        Assert.Equal(steps, expected.Count);

        foreach (var (signal, exit) in new[] { (StopSignal.SigInt, 130), (StopSignal.SigTerm, 143) })
        {
            var cut = Path.Combine(_tmp, "cut" + signal);
            var (c1, o1) = RunAndInterrupt(TinyRun(cut, steps, extra), () => Losses(cut).Count >= 3,
                p => Assert.True(StopSignal.Send(p.Id, signal)));
            Assert.True(c1 == exit, $"signal {signal}: exit {c1}\n{o1}");
            var summary = new RunDirectory(cut).ReadSummary()!;
            Assert.Equal(RunStatus.Stopped, summary.Status);
            Assert.True(summary.Step is >= 3 and < steps, o1);
            Assert.Contains($"--resume {cut}", summary.Reason);
            Assert.EndsWith($"step-{summary.Step:D8}", new RunDirectory(cut).LatestCheckpoint());
            Assert.Equal(expected.Take(summary.Step), Losses(cut));

            var (c2, o2) = Run("train", "--resume", cut);
            Assert.True(c2 == 0, o2);
            Assert.Equal(expected, Losses(cut));
            Assert.Equal(RunStatus.Completed, new RunDirectory(cut).ReadSummary()!.Status);
        }
    }

    /// <summary>The harness starts bertlab with SIGINT ignored (as `command &amp;` in a script does): SIGINT still stops the
    /// run at a checkpoint with exit 130. Without the program's own reset the run ignores the signal and completes.</summary>
    [Fact]
    public void ARunStartedWithSigintIgnored_StillStopsAtACheckpointOnSigint()
    {
        var cut = Path.Combine(_tmp, "ignored");
        int? ignoredAtStart = null;
        var (code, output) = RunAndInterrupt(TinyRun(cut, 100000), () => Losses(cut).Count >= 2, p =>
        {
            ignoredAtStart = SigIgnMask(p.Id) is ulong mask ? (int)((mask >> (StopSignal.SigInt - 1)) & 1) : null;
            Assert.True(StopSignal.Send(p.Id, StopSignal.SigInt));
        }, sigintIgnored: true);
        Assert.True(code == 130, $"exit {code}\n{output}");
        Assert.Equal(0, ignoredAtStart);   // the program took SIGINT's default back (bit 2 of SigIgn cleared)
        var summary = new RunDirectory(cut).ReadSummary()!;
        Assert.Equal(RunStatus.Stopped, summary.Status);
        Assert.EndsWith($"step-{summary.Step:D8}", new RunDirectory(cut).LatestCheckpoint());
    }

    /// <summary>SIGTERM while the run is still starting up (its first line printed, the data of a fresh cache still to be
    /// prepared from a 4 MB corpus, the model not built yet): the run stops at its first step with a checkpoint, a "stopped" summary
    /// and exit 143, and resumes to the end, instead of dying half-started with nothing written (what happens when the
    /// handlers are installed only just before training).</summary>
    [Fact]
    public void ASignalDuringStartUp_StopsTheRunAtItsFirstStep_AndItResumes()
    {
        var corpus = Path.Combine(_tmp, "whole-austen.txt");
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(DataPaths.Find("corpus/austen-novels.txt.gz")), System.IO.Compression.CompressionMode.Decompress))
        using (var file = File.Create(corpus)) gz.CopyTo(file);
        var dir = Path.Combine(_tmp, "startup");
        var args = TinyRunOn(corpus, dir, 6);
        var (code, output) = RunAndInterrupt(args, () => false, p => Assert.True(StopSignal.Send(p.Id, StopSignal.SigTerm)),
            readyOutput: text => text.Contains("bertlab train"));
        Assert.True(code == 143, $"exit {code}\n{output}");
        Assert.False(File.Exists(Path.Combine(dir, RunDirectory.MetricsFile)) && Losses(dir).Count > 1, "the signal came after training began: the test proves nothing\n" + output);
        Assert.Contains("received while starting up", output);
        var summary = new RunDirectory(dir).ReadSummary();
        Assert.True(summary is { Status: RunStatus.Stopped }, output);
        Assert.EndsWith($"step-{summary!.Step:D8}", new RunDirectory(dir).LatestCheckpoint());
        var (c2, o2) = Run("train", "--resume", dir);
        Assert.True(c2 == 0, o2);
        Assert.Equal(RunStatus.Completed, new RunDirectory(dir).ReadSummary()!.Status);
        Assert.Equal(6, Losses(dir).Count);
    }

    /// <summary>A run started by a process that names itself in BERTLAB_PARENT_PID (as a sweep does) stops at a checkpoint
    /// when that process is SIGKILLed, instead of training on as an orphan.</summary>
    [Fact]
    public void ARunWhoseParentIsKilled_StopsAtACheckpoint_InsteadOfTrainingOnAsAnOrphan()
    {
        var dir = Path.Combine(_tmp, "orphan");
        var childPid = Path.Combine(_tmp, "child.pid");
        string Quote(string a) => "'" + a.Replace("'", "'\\''") + "'";
        var command = $"BERTLAB_PARENT_PID=$$ dotnet {Quote(CliProcess.Dll)} {string.Join(' ', TinyRun(dir, 100000).Select(Quote))} > {Quote(Path.Combine(_tmp, "orphan.log"))} 2>&1 & echo $! > {Quote(childPid)}; wait";
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false, WorkingDirectory = _tmp };
        psi.Environment.Remove("DOTNET_GCgen0size");
        foreach (var a in new[] { "-c", command }) psi.ArgumentList.Add(a);
        using var parent = Process.Start(psi)!;
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(Path.Combine(dir, RunDirectory.MetricsFile)) && Losses(dir).Count >= 2) && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(50);
        Assert.True(Losses(dir).Count >= 2, "the run did not start:\n" + Read(Path.Combine(_tmp, "orphan.log")));
        int pid = int.Parse(File.ReadAllText(childPid).Trim());
        parent.Kill();   // SIGKILL: the parent gets no chance to pass anything on
        parent.WaitForExit();
        clock.Restart();
        while (Directory.Exists($"/proc/{pid}") && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
        bool orphanGone = !Directory.Exists($"/proc/{pid}");
        if (!orphanGone) StopSignal.Send(pid, 9);
        Assert.True(orphanGone, "the run trained on after its parent died:\n" + Read(Path.Combine(_tmp, "orphan.log")));
        var summary = new RunDirectory(dir).ReadSummary();
        Assert.True(summary is { Status: RunStatus.Stopped }, Read(Path.Combine(_tmp, "orphan.log")));
        Assert.EndsWith($"step-{summary!.Step:D8}", new RunDirectory(dir).LatestCheckpoint());
        Assert.Contains("SIGTERM received", Read(Path.Combine(_tmp, "orphan.log")));
    }

    /// <summary>The harness itself: a process started the same way does have SIGINT ignored (else the test above proves nothing).</summary>
    [Fact]
    public void TheHarness_StartsAProcessWithSigintIgnored()
    {
        var psi = new ProcessStartInfo("bash") { UseShellExecute = false };
        foreach (var a in new[] { "-c", "trap '' INT; exec sleep 5" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        try
        {
            Thread.Sleep(300);
            Assert.True(SigIgnMask(p.Id) is ulong mask && ((mask >> (StopSignal.SigInt - 1)) & 1) == 1);
        }
        finally { p.Kill(); p.WaitForExit(); }
    }

    static ulong? SigIgnMask(int pid)
    {
        var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("SigIgn:"));
        return line is null ? null : Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16);
    }

    [Fact]
    public void ASecondProcessOnARunDirectory_IsTurnedAwayNamingTheOwner_AndAKilledOwnerDoesNotBlockTheResume()
    {
        var dir = Path.Combine(_tmp, "shared");
        (int code, string output) second = default;
        var (c1, _) = RunAndInterrupt(TinyRun(dir, 100000), () => Losses(dir).Count >= 1, p =>
        {
            second = Run(TinyRun(dir, 100000));
            var resume = Run("train", "--resume", dir);
            Assert.True(resume.code == 2, resume.output);
            Assert.Contains($"PID {p.Id}", resume.output);
            p.Kill(entireProcessTree: true); // SIGKILL: the kernel drops the lock
        });
        Assert.True(second.code == 2, second.output);
        Assert.Contains($"in use by another bertlab process", second.output);
        var steps = Losses(dir).Count;
        // the turned-away processes changed nothing: one run's steps, in order
        Assert.Equal(Enumerable.Range(1, steps), TrainingPlots.ReadMetrics(dir).Select(m => m["step"]!.GetValue<int>()));
        var (c3, o3) = Run("train", "--resume", dir, "--steps", "6");
        Assert.True(c3 == 0 || o3.Contains("already at step"), o3);
        Assert.DoesNotContain("in use", o3);
    }

    [Fact]
    public async Task TwoRunsNeedingTheSameNewDataCache_BothSucceed()
    {
        var a = CliProcess.Start(TinyRun(Path.Combine(_tmp, "a"), 2), _tmp);
        var b = CliProcess.Start(TinyRun(Path.Combine(_tmp, "b"), 2), _tmp);
        var outA = a.StandardOutput.ReadToEndAsync();
        var errA = a.StandardError.ReadToEndAsync();
        var outB = b.StandardOutput.ReadToEndAsync();
        var errB = b.StandardError.ReadToEndAsync();
        Assert.True(a.WaitForExit(TimeSpan.FromMinutes(5)) && b.WaitForExit(TimeSpan.FromMinutes(5)));
        a.WaitForExit(); b.WaitForExit();
        Assert.True(a.ExitCode == 0, await outA + await errA);
        Assert.True(b.ExitCode == 0, await outB + await errB);
    }

    [Fact]
    public void ACorruptLatestCheckpoint_FallsBackToTheNewestIntactOne_AndNoneIntactIsAClearError()
    {
        var dir = Path.Combine(_tmp, "corrupt");
        var (c1, o1) = Run(TinyRun(dir, 9));
        Assert.True(c1 == 0, o1);
        var expected = Losses(dir);
        // as a kill right after the last checkpoint's write leaves it, but with that checkpoint's optimiser state truncated
        File.Delete(Path.Combine(dir, RunDirectory.SummaryFile));
        var latest = Path.Combine(dir, "checkpoints", "step-00000009");
        foreach (var f in Directory.GetFiles(latest, "optimizer.*")) Truncate(f);

        var (c2, o2) = Run("train", "--resume", dir);
        Assert.True(c2 == 0, o2);
        Assert.Contains("skipped checkpoint", o2);
        Assert.Contains("step-00000009", o2);
        Assert.Contains("resumed from", o2);
        Assert.Contains("step-00000006", o2);
        Assert.Equal(expected, Losses(dir));

        foreach (var ckpt in new RunDirectory(dir).Checkpoints()) Truncate(Path.Combine(ckpt.Dir, "model.safetensors"));
        var config = Read(Path.Combine(dir, RunDirectory.ConfigFile));
        var (c3, o3) = Run("train", "--resume", dir, "--steps", "12");
        Assert.True(c3 == 2, o3);
        Assert.Contains("no checkpoint can be resumed", o3);
        Assert.DoesNotContain("   at ", o3);
        Assert.Equal(config, Read(Path.Combine(dir, RunDirectory.ConfigFile)));
    }

    static void Truncate(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        s.SetLength(s.Length / 2);
    }

    [Theory]
    [InlineData("--attention", "softmax")]
    [InlineData("--model", "small")]
    public void ARejectedResume_ChangesNoFile_AndAPlainResumeStillWorks(string option, string value)
    {
        var dir = Path.Combine(_tmp, "rejected");
        var (c1, o1) = Run(TinyRun(dir, 3));
        Assert.True(c1 == 0, o1);
        var before = Snapshot(dir);
        var (c2, o2) = Run("train", "--resume", dir, "--steps", "6", option, value);
        Assert.True(c2 == 2, o2);
        Assert.DoesNotContain("   at ", o2);
        Assert.Equal(before, Snapshot(dir));
        // beside the run's files: the failure record with the message the user saw (for sweeps), which the next summary removes
        var failure = RunFailure.TryRead(dir)!;
        Assert.Equal(FailureKind.UserError, failure.Kind);
        Assert.Contains("error: " + failure.Message, o2);
        var (c3, o3) = Run("train", "--resume", dir, "--steps", "6");
        Assert.True(c3 == 0, o3);
        Assert.Equal(RunStatus.Completed, new RunDirectory(dir).ReadSummary()!.Status);
        Assert.Null(RunFailure.TryRead(dir));
    }

    /// <summary>The run's files (names and contents), but its lock files and the failure record of a refused attempt.</summary>
    static Dictionary<string, string> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith(".bertlab-train.lock") && Path.GetFileName(f) != RunFailure.FileName)
            .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToBase64String(File.ReadAllBytes(f)));

    [Fact]
    public void ResumingACompletedRun_SaysSoAndChangesNothing_AndAShorterStepsIsRefused()
    {
        var dir = Path.Combine(_tmp, "done");
        var (c1, o1) = Run(TinyRun(dir, 4));
        Assert.True(c1 == 0, o1);
        var before = Snapshot(dir);
        var (c2, o2) = Run("train", "--resume", dir);
        Assert.True(c2 == 0, o2);
        Assert.Contains("already completed", o2);
        Assert.Equal(before, Snapshot(dir));
        var (c3, o3) = Run("train", "--resume", dir, "--steps", "2");
        Assert.True(c3 == 2, o3);
        Assert.Contains("already at step 4", o3);
        Assert.Equal(before, Snapshot(dir));
    }

    /// <summary>A resume after a line was appended to the corpus is refused (exit 2, naming the file, nothing written);
    /// --accept-changed-data goes on and records the change in summary.json and metrics.jsonl.</summary>
    [Fact]
    public void AResumeOnChangedData_IsRefusedNamingTheFile_AndTheOverrideRecordsTheChange()
    {
        var corpus = Path.Combine(_tmp, "changing.txt");
        File.Copy(CliProcess.SmallCorpus(_tmp, 400), corpus);
        var dir = Path.Combine(_tmp, "changed");
        var (c1, o1) = Run(TinyRunOn(corpus, dir, 4));
        Assert.True(c1 == 0, o1);
        File.AppendAllText(corpus, "\n\nA line appended after the run started, so the data is no longer what it trained on.\n");
        string metricsBefore = File.ReadAllText(Path.Combine(dir, RunDirectory.MetricsFile));
        string summaryBefore = File.ReadAllText(Path.Combine(dir, RunDirectory.SummaryFile));

        var (c2, o2) = Run("train", "--resume", dir, "--steps", "8");
        Assert.True(c2 == 2, o2);
        Assert.Contains("the training data changed", o2);
        Assert.Contains($"{corpus} changed", o2);
        Assert.Contains("--accept-changed-data", o2);
        Assert.Equal(metricsBefore, File.ReadAllText(Path.Combine(dir, RunDirectory.MetricsFile)));
        Assert.Equal(summaryBefore, File.ReadAllText(Path.Combine(dir, RunDirectory.SummaryFile)));

        var (c3, o3) = Run("train", "--resume", dir, "--steps", "8", "--accept-changed-data");
        Assert.True(c3 == 0, o3);
        var summary = new RunDirectory(dir).ReadSummary()!;
        Assert.Equal(RunStatus.Completed, summary.Status);
        var change = Assert.Single(summary.DataChanges!);
        Assert.Equal(4, change.Step);
        Assert.Contains($"{corpus} changed", change.What);
        Assert.NotEqual(change.From, change.To);
        var records = TrainingPlots.ReadMetrics(dir);
        Assert.Equal(new[] { 5 }, records.Where(m => m["data_changed"] is not null).Select(m => m["step"]!.GetValue<int>()));
        Assert.Equal(Enumerable.Range(1, 8), records.Select(m => m["step"]!.GetValue<int>()));
    }

    [Fact]
    public void AnEmptyValidationSplit_IsAnErrorBeforeTraining()
    {
        var corpus = Path.Combine(_tmp, "random.txt");
        var bytes = new byte[100_000];
        new Random(3).NextBytes(bytes);
        File.WriteAllBytes(corpus, bytes);
        var dir = Path.Combine(_tmp, "empty-validation");
        var (code, output) = Run(TinyRunOn(corpus, dir, 4));
        Assert.True(code == 2, output);
        Assert.Contains("validation split is empty", output);
        Assert.Contains("data.validation_fraction", output);
        Assert.False(File.Exists(Path.Combine(dir, RunDirectory.MetricsFile)));
    }

    [Fact]
    public void ASweepStoppedBySigint_StopsItsRunAtACheckpoint_AndMarksItStopped()
    {
        var corpus = BertLab.Tests.Experiments.SweepTestKit.WriteCorpus(_tmp);
        var baseConfig = BertLab.Tests.Experiments.SweepTestKit.TinyBase(corpus, 100000, 1000);
        var file = Path.Combine(_tmp, "stop.json");
        File.WriteAllText(file, "{\"name\": \"stop\", \"base\": " + baseConfig.ToJsonString() + ", \"runs\": [{\"name\": \"long\", \"set\": {}}]}");
        var sweep = Path.Combine(_tmp, "sweep");
        var run = Path.Combine(sweep, "runs", "00-long");
        // the signal goes to the sweep process alone: the sweep must pass it on to its run
        var (code, output) = RunAndInterrupt(new[] { "sweep", "run", file, "--out", sweep, "--no-report" },
            () => File.Exists(Path.Combine(run, RunDirectory.MetricsFile)) && Losses(run).Count >= 2,
            p => Assert.True(StopSignal.Send(p.Id, StopSignal.SigInt)));
        Assert.True(code == 130, output);
        var summary = new RunDirectory(run).ReadSummary();
        Assert.True(summary is { Status: RunStatus.Stopped }, output);
        Assert.EndsWith($"step-{summary!.Step:D8}", new RunDirectory(run).LatestCheckpoint());
        Assert.Equal("stopped", BertLab.Experiments.SweepState.Read(sweep)["points"]![0]!["status"]!.GetValue<string>());
    }

    /// <summary>SIGKILL of `sweep run` with two runs in flight: the runs stop by themselves (parent-death signal), and
    /// the same command run again at once resumes them: every point ends completed, none is reported failed.</summary>
    [Fact]
    public void ASweepKilledWithSigkill_LeavesNoOrphans_AndARerunAtOnceCompletesEveryRun()
    {
        var corpus = BertLab.Tests.Experiments.SweepTestKit.WriteCorpus(_tmp);
        var baseConfig = BertLab.Tests.Experiments.SweepTestKit.TinyBase(corpus, 60, 20);
        var file = Path.Combine(_tmp, "killed.json");
        File.WriteAllText(file, "{\"name\": \"killed\", \"base\": " + baseConfig.ToJsonString() +
                                ", \"runs\": [{\"name\": \"a\", \"set\": {}}, {\"name\": \"b\", \"set\": {\"run.seed\": 2}}]}");
        var sweep = Path.Combine(_tmp, "sweep");
        string[] runs = { Path.Combine(sweep, "runs", "00-a"), Path.Combine(sweep, "runs", "01-b") };
        string[] command = { "sweep", "run", file, "--out", sweep, "--workers", "2", "--no-report" };
        int[] children = Array.Empty<int>();
        RunAndInterrupt(command,
            () => runs.All(r => File.Exists(Path.Combine(r, RunDirectory.MetricsFile)) && Losses(r).Count >= 2),
            p =>
            {
                children = runs.Select(r => int.Parse(File.ReadAllText(Path.Combine(r, RunDirectory.LockFile + ".pid")).Trim())).ToArray();
                p.Kill();   // SIGKILL of the sweep alone (not its process tree)
            });
        var clock = Stopwatch.StartNew();
        while (children.Any(c => Directory.Exists($"/proc/{c}")) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
        var orphans = children.Where(c => Directory.Exists($"/proc/{c}")).ToList();
        foreach (var o in orphans) StopSignal.Send(o, 9);
        Assert.Empty(orphans);

        var (code, output) = Run(command);
        Assert.True(code == 0, output);
        var points = BertLab.Experiments.SweepState.Read(sweep)["points"]!.AsArray();
        Assert.All(points, pt => Assert.Equal("completed", pt!["status"]!.GetValue<string>()));
        Assert.DoesNotContain("failed", output);
        foreach (var r in runs) Assert.Equal(Enumerable.Range(1, 60), TrainingPlots.ReadMetrics(r).Where(m => m["loss"] is not null).Select(m => m["step"]!.GetValue<int>()));
    }

    /// <summary>A seeded matrix of SIGKILLs (the OOM killer, a node failure, SLURM's KillWait): up to three times, at a
    /// random point of a 3-run, 2-worker sweep, SIGKILL either the sweep (its runs then stop by their parent-death signal)
    /// or one of its running runs, and start the sweep again; a last `sweep run` must end with every run completed and
    /// each run's loss sequence equal to the same sweep's uninterrupted one, with no process left behind.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void SeededSigkillsOfTheSweepOrItsRuns_EndWithEveryRunCompleted_AndTheUninterruptedLosses(int seed)
    {
        const int steps = 40;
        var corpus = BertLab.Tests.Experiments.SweepTestKit.WriteCorpus(_tmp);
        var baseConfig = BertLab.Tests.Experiments.SweepTestKit.TinyBase(corpus, steps, 10);
        var file = Path.Combine(_tmp, "matrix.json");
        File.WriteAllText(file, "{\"name\": \"matrix\", \"base\": " + baseConfig.ToJsonString() + ", \"runs\": [{\"name\": \"a\", \"set\": {}}, " +
                                "{\"name\": \"b\", \"set\": {\"run.seed\": 2}}, {\"name\": \"c\", \"set\": {\"run.seed\": 3}}]}");
        string[] names = { "00-a", "01-b", "02-c" };
        var reference = Path.Combine(_tmp, "reference");
        var (rc, ro) = Run("sweep", "run", file, "--out", reference, "--workers", "2", "--no-report");
        Assert.True(rc == 0, ro);
        var expected = names.ToDictionary(n => n, n => Losses(Path.Combine(reference, "runs", n)));
        Assert.All(expected.Values, l => Assert.Equal(steps, l.Count));

        var sweep = Path.Combine(_tmp, "killed");
        string[] runs = names.Select(n => Path.Combine(sweep, "runs", n)).ToArray();
        string[] command = { "sweep", "run", file, "--out", sweep, "--workers", "2", "--no-report" };
        int Logged() => runs.Sum(r => File.Exists(Path.Combine(r, RunDirectory.MetricsFile)) ? Losses(r).Count : 0);
        var rng = new Random(seed);
        var story = new StringBuilder();
        for (int kill = 0; kill < 3; kill++)
        {
            int before = Logged();
            if (before >= names.Length * steps) break;
            int at = before + 1 + rng.Next(Math.Max(1, (names.Length * steps - before) / 2));
            bool killTheSweep = rng.Next(2) == 0;
            using var p = CliProcess.Start(command, _tmp);
            var output = new StringBuilder();
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
            p.BeginOutputReadLine(); p.BeginErrorReadLine();
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && Logged() < at && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(10);
            var children = RunningRuns(runs);
            string what;
            if (p.HasExited) what = "the sweep ended first";
            else if (killTheSweep || children.Count == 0) { p.Kill(); what = $"SIGKILL of the sweep (runs {string.Join(", ", children)} running)"; }
            else { int victim = children[rng.Next(children.Count)]; StopSignal.Send(victim, 9); what = $"SIGKILL of run process {victim}"; }
            if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); Assert.Fail($"the sweep did not end after {what}:\n{story}{output}"); }
            p.WaitForExit();
            clock.Restart();
            while (children.Any(c => Directory.Exists($"/proc/{c}")) && clock.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(50);
            var orphans = children.Where(c => Directory.Exists($"/proc/{c}")).ToList();
            foreach (var o in orphans) StopSignal.Send(o, 9);
            story.AppendLine($"kill {kill + 1} at {at} logged steps ({before} before): {what}; sweep exit {p.ExitCode}");
            Assert.True(orphans.Count == 0, $"run processes {string.Join(", ", orphans)} outlived their sweep:\n{story}{output}");
        }

        Assert.True(story.ToString().Contains("SIGKILL of"), "no kill landed while the sweep ran: the case proves nothing\n" + story);
        var (code, last) = Run(command);
        Assert.True(code == 0, $"{story}{last}");
        var points = BertLab.Experiments.SweepState.Read(sweep)["points"]!.AsArray();
        Assert.All(points, pt => Assert.True(pt!["status"]!.GetValue<string>() == "completed", $"{story}{last}"));
        foreach (var (name, dir) in names.Zip(runs)) Assert.True(expected[name].SequenceEqual(Losses(dir)), $"{name}: the losses differ from the uninterrupted run's\n{story}");
    }

    /// <summary>The processes that hold the run directories' locks now (their pid files, checked to be bertlab).</summary>
    static List<int> RunningRuns(IEnumerable<string> runDirs)
    {
        var pids = new List<int>();
        foreach (var r in runDirs)
        {
            var pidFile = Path.Combine(r, RunDirectory.LockFile + ".pid");
            if (!File.Exists(pidFile) || !int.TryParse(Read(pidFile).Trim(), out int pid)) continue;
            var cmdline = $"/proc/{pid}/cmdline";
            if (File.Exists(cmdline) && Read(cmdline).Contains("BertLab.Cli.dll")) pids.Add(pid);
        }
        return pids;
    }

    [BertLab.Tests.Cli.MountFact]
    public void ADiskFullDuringACheckpointWrite_NamesTheCheckpoint_AndLeavesNoTemporaryFolder()
    {
        using var fs = new BertLab.Tests.Cli.SmallFileSystem(size: "256k");
        var dir = Path.Combine(fs.Root, "run");
        var (code, output) = Run(TinyRun(dir, 6));
        Assert.True(code == 2, output);
        Assert.Contains($"cannot write {Path.Combine(dir, "checkpoints", "step-00000003")}: no space left on device", output);
        Assert.DoesNotContain("   at ", output);
        Assert.Empty(Directory.GetDirectories(Path.Combine(dir, "checkpoints")));
        Assert.Equal(3, Losses(dir).Count);   // what was written before stays
    }

    [Fact]
    public void OutNamingAFile_FailsBeforePreparingData()
    {
        var file = Path.Combine(_tmp, "a-file");
        File.WriteAllText(file, "x");
        var (code, output) = Run(TinyRun(file, 2, "--set", "data.cache_dir=" + Path.Combine(_tmp, "unused-cache")));
        Assert.True(code == 2, output);
        Assert.Contains("is a file", output);
        Assert.False(Directory.Exists(Path.Combine(_tmp, "unused-cache")), output);
    }
}
