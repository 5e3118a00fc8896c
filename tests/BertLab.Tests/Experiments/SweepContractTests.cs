using System.Text.Json.Nodes;
using BertLab.Cli;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;
using Xunit.Abstractions;

namespace BertLab.Tests.Experiments;

/// <summary>
/// The typed contract between a sweep and its runs: statuses through their one serialiser, the run request, and how a run
/// that ends without a summary is recorded: from its own failure record (failure.json, written by `train`), or, where it left
/// none, from its exit code and signal, never from its console output.
/// </summary>
public sealed class SweepContractTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-contract-").FullName;
    readonly ITestOutputHelper _out;
    public SweepContractTests(ITestOutputHelper output) => _out = output;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    // ---- statuses -----------------------------------------------------------------------------------------------

    [Fact]
    public void EveryRunStatus_RoundTripsThroughItsText_AndASummaryIsNeverPending()
    {
        var all = Enum.GetValues<RunStatus>();
        Assert.Equal(new[] { "running", "completed", "diverged", "stopped", "failed", "pending" }, all.Select(s => s.ToText()));
        foreach (var s in all) Assert.Equal(s, RunStatusText.Parse(s.ToText()));
        Assert.Null(RunStatusText.Parse("Completed"));
        Assert.Null(RunStatusText.Read(JsonValue.Create(3)));
        Assert.Throws<BertLabException>(() => RunSummary.FromJson(new JsonObject { ["status"] = "pending", ["step"] = 0 }));
        Assert.Equal(RunStatus.Stopped, RunSummary.FromJson(new JsonObject { ["status"] = "stopped", ["step"] = 4 }).Status);
    }

    [Fact]
    public void PointStatus_RoundTripsThroughSweepJson_InTheFormatReportsRead()
    {
        var def = SweepDefinition.Parse("""{"name": "s", "base": {"model": "tiny"}, "runs": [{"name": "a"}, {"name": "b"}]}""", "s.json");
        var sweep = Path.Combine(_dir, "sweep");
        SweepState.Initialize(sweep, def, def.Expand(), "s.json");
        Assert.Equal(PointStatus.Pending, SweepState.ReadPoint(sweep, 0));
        Assert.Equal("pending", SweepState.Read(sweep)["points"]![0]!["status"]!.GetValue<string>());

        var statuses = new[]
        {
            new PointStatus { Status = RunStatus.Running, Attempts = 1 },
            new PointStatus { Status = RunStatus.Diverged, Step = 7, Reason = "non-finite value at step 7: loss is NaN", Attempts = 2, ExitCode = 3 },
            PointStatus.Failed("killed by signal 9") with { Attempts = 1, ExitCode = 137, Signal = 9, Log = "runs/01-b/train.log" },
            new PointStatus { Status = RunStatus.Stopped, Step = 3, Reason = "stopped by SIGINT" },
        };
        foreach (var st in statuses)
        {
            SweepState.UpdatePoint(sweep, 1, st);
            Assert.Equal(st, SweepState.ReadPoint(sweep, 1));
            Assert.Equal(PointStatus.Pending, SweepState.ReadPoint(sweep, 0));
        }
        // on disk: the point's plan fields, then its status fields as before (absent values left out)
        SweepState.UpdatePoint(sweep, 1, statuses[2]);
        var point = SweepState.Read(sweep)["points"]![1]!.AsObject();
        Assert.Equal(new[] { "index", "name", "dir", "settings", "status", "error", "attempts", "exit_code", "signal", "log" }, point.Select(kv => kv.Key));
        Assert.Equal("failed", point["status"]!.GetValue<string>());
        Assert.Equal(137, point["exit_code"]!.GetValue<int>());
        // a point written by an earlier version (a null step and error) still reads
        var old = new JsonObject { ["index"] = 0, ["status"] = "failed", ["step"] = null, ["error"] = "boom", ["attempts"] = 2, ["exit_code"] = 1 };
        Assert.Equal(PointStatus.Failed("boom") with { Attempts = 2, ExitCode = 1 }, PointStatus.FromJson(old));
    }

    [Fact]
    public void FailureRecord_RoundTrips_IsRefusedWhenMalformed_AndASummaryRemovesIt()
    {
        var f = new RunFailure(FailureKind.NoRecord, "killed") { ExitCode = 137, Signal = 9, Log = "/x/train.log" };
        Assert.Equal(f, RunFailure.FromJson(JsonNode.Parse(f.ToJsonText())));
        Assert.Equal("failed", f.ToJson()["status"]!.GetValue<string>());
        Assert.Throws<BertLabException>(() => RunFailure.FromJson(new JsonObject { ["status"] = "completed", ["kind"] = "crash", ["message"] = "x" }));
        Assert.Throws<BertLabException>(() => RunFailure.FromJson(new JsonObject { ["status"] = "failed", ["kind"] = "oops", ["message"] = "x" }));

        var run = new RunDirectory(Path.Combine(_dir, "run"));
        run.Create();
        RunFailure.Record(run.Root, new BertLabException("bad data"), "bad data");
        Assert.Equal(new RunFailure(FailureKind.UserError, "bad data"), RunFailure.TryRead(run.Root));
        run.WriteSummary(new RunSummary { Status = RunStatus.Completed, Step = 2, Steps = 2 });
        Assert.Null(RunFailure.TryRead(run.Root));
    }

    // ---- the train verb's failure record ------------------------------------------------------------------------

    [Fact]
    public void TheVerbErrorPath_RecordsUserErrorsAndCrashes_InTheRunDirectory_AndKeepsTheCrashsException()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_dir, "verb")).FullName;
        Assert.Equal(ExitCodes.UserError, Verb.Run(() => throw new BertLabException("config: run.steps must be a positive integer, got 0"), dir));
        Assert.Equal(new RunFailure(FailureKind.UserError, "config: run.steps must be a positive integer, got 0"), RunFailure.TryRead(dir));

        var crash = Assert.Throws<InvalidOperationException>(() => Verb.Run(() => throw new InvalidOperationException("boom"), dir));
        Assert.Equal("boom", crash.Message);
        Assert.Equal(new RunFailure(FailureKind.Crash, "System.InvalidOperationException: boom"), RunFailure.TryRead(dir));

        // no record where the directory does not exist (nothing is created for it) or another process owns it
        var missing = Path.Combine(_dir, "missing");
        Verb.Run(() => throw new BertLabException("bad"), missing);
        Assert.False(Directory.Exists(missing));
        var owned = new RunDirectory(Path.Combine(_dir, "owned"));
        using (owned.Lock())
        {
            Verb.Run(() => throw new BertLabException("in use"), owned.Root);
            Assert.Null(RunFailure.TryRead(owned.Root));
        }
    }

    [Fact]
    public void AChildThatFailsBeforeItsSummary_IsRecordedWithTheMessageOfItsFailureRecord()
    {
        // the trainer rejects the data at start (its corpus does not exist): no summary, failure.json with the message
        var corpus = SweepTestKit.WriteCorpus(_dir);
        var baseConfig = SweepTestKit.TinyBase(corpus, 2, 2);
        var def = SweepDefinition.Parse("{\"name\": \"bad\", \"base\": " + baseConfig.ToJsonString() +
                                        """, "runs": [{"name": "bad", "set": {"data.corpus": ["/nonexistent/corpus.txt"]}}]}""", "bad.json");
        var sweep = Path.Combine(_dir, "sweep");
        var outcome = Assert.Single(new SweepRunner(def, sweep, SweepTestKit.Launcher(), null, _out.WriteLine).Run());
        var runDir = Path.Combine(sweep, outcome.Dir);
        var failure = RunFailure.TryRead(runDir)!;
        Assert.Equal(FailureKind.UserError, failure.Kind);
        Assert.Contains("/nonexistent/corpus.txt", failure.Message);
        Assert.False(File.Exists(Path.Combine(runDir, Trainer.SummaryFile)));

        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Equal(failure.Message, outcome.Detail);
        var point = SweepState.ReadPoint(sweep, 0)!;
        Assert.Equal(PointStatus.Failed(failure.Message) with { Attempts = 1, ExitCode = ExitCodes.UserError }, point);
        // the same message is what the user saw on the child's console (kept in train.log)
        Assert.Contains("error: " + failure.Message, File.ReadAllText(Path.Combine(runDir, ChildProcessLauncher.LogFile)));
    }

    // ---- children that leave no record ---------------------------------------------------------------------------

    /// <summary>A launcher whose "train" is a shell script ($1 = train, then the request's arguments; $5 = the run directory of a fresh run).</summary>
    static ChildProcessLauncher Shell(string script) => new("/bin/sh", new[] { "-c", script, "sh" });

    RunRequest Request(string name)
    {
        var dir = Path.Combine(_dir, name);
        Directory.CreateDirectory(dir);
        var config = Path.Combine(dir, SweepRunner.ResolvedConfigFile);
        File.WriteAllText(config, "{}");
        return new RunRequest(dir, config, Resume: false, Threads: 1);
    }

    [Fact]
    public void TheRunRequest_IsTheTrainCommandLine()
    {
        var fresh = new RunRequest("/s/runs/00-a", "/s/runs/00-a/resolved_config.json", false, 2);
        Assert.Equal(new[] { "train", "--config", "/s/runs/00-a/resolved_config.json", "--out", "/s/runs/00-a", "--threads", "2" }, fresh.TrainArguments());
        Assert.Equal(new[] { "train", "--resume", "/s/runs/00-a", "--threads", "2" }, (fresh with { Resume = true }).TrainArguments());
        var seen = Path.Combine(_dir, "args.txt");
        var r = Request("args");
        Shell($"echo \"$@\" > {seen}").Launch(r);
        Assert.Equal(string.Join(" ", r.TrainArguments()), File.ReadAllText(seen).Trim());
    }

    [Fact]
    public void AChildKilledBySignal_YieldsATypedFailureWithTheSignal_PointingToItsLog()
    {
        var r = Request("killed");
        var result = Shell("echo started; kill -KILL $$").Launch(r);
        Assert.Equal(128 + 9, result.ExitCode);
        Assert.Null(result.Summary);
        var f = result.Failure!;
        Assert.Equal(FailureKind.NoRecord, f.Kind);
        Assert.Equal(9, f.Signal);
        Assert.Contains("killed by signal 9 (SIGKILL)", f.Message);
        var log = Path.Combine(r.RunDir, ChildProcessLauncher.LogFile);
        Assert.Equal(log, f.Log);
        Assert.Contains(log, f.Message);
        Assert.Contains("started", File.ReadAllText(log));

        // the sweep records it as such: failed, with the signal and the log relative to the sweep directory
        // a generated task: nothing to prepare before the launch
        var def = SweepDefinition.Parse("""{"name": "k", "base": {"model": {"preset": "tiny", "vocab_size": 101}, "data": {"synthetic": "index:keys=64,values=32,pairs=4-32"}}, "runs": [{"name": "k"}]}""", "k.json");
        var sweep = Path.Combine(_dir, "ksweep");
        var outcome = Assert.Single(new SweepRunner(def, sweep, Shell("kill -KILL $$")).Run());
        Assert.Equal(RunStatus.Failed, outcome.Status);
        var point = SweepState.ReadPoint(sweep, 0)!;
        Assert.Equal(9, point.Signal);
        Assert.Equal(137, point.ExitCode);
        Assert.Equal("runs/00-k/train.log", point.Log);
        Assert.Contains("SIGKILL", point.Error);
    }

    /// <summary>Two `sweep run` on one directory: the second is turned away naming the first's PID, before it writes anything;
    /// one point's run (--only, as SLURM array tasks run side by side) is not.</summary>
    [Fact]
    public void ASecondSweepRunOnOneDirectory_IsRefusedNamingTheFirst_ButOnePointsRunIsNot()
    {
        var def = SweepDefinition.Parse("""{"name": "k", "base": {"model": {"preset": "tiny", "vocab_size": 101}, "data": {"synthetic": "index:keys=64,values=32,pairs=4-32"}}, "runs": [{"name": "k"}]}""", "k.json");
        var sweep = Path.Combine(_dir, "twice");
        using (var first = BertLab.IO.FileLock.TryAcquireNamed(Path.Combine(sweep, SweepRunner.SweepLockFile)))
        {
            Assert.NotNull(first);
            var e = Assert.Throws<BertLabException>(() => new SweepRunner(def, sweep, Shell("exit 0")).Run());
            Assert.Contains($"in use by another bertlab sweep run (PID {Environment.ProcessId})", e.Message);
            Assert.False(File.Exists(SweepState.PathOf(sweep)));
            // --only: the point's own lock decides
            var only = Assert.Single(new SweepRunner(def, sweep, Shell("exit 0"), new SweepRunOptions { Only = 0 }).Run());
            Assert.Equal(RunStatus.Failed, only.Status);   // the shell "run" wrote no summary: a failure, but it ran
        }
        // the first gone: the lock is free again
        Assert.Single(new SweepRunner(def, sweep, Shell("exit 0")).Run());
    }

    [Fact]
    public void TheChildsConsoleOutput_IsNeverTheFailureMessage_AndAnEarlierRecordDoesNotExplainANewAttempt()
    {
        var r = Request("stderr");
        File.WriteAllText(RunFailure.PathIn(r.RunDir), new RunFailure(FailureKind.UserError, "from an earlier attempt").ToJsonText());
        var result = Shell("echo 'error: text on stderr' >&2; exit 2").Launch(r);
        var f = result.Failure!;
        Assert.Equal(FailureKind.NoRecord, f.Kind);
        Assert.Null(f.Signal);
        Assert.StartsWith("exit code 2 without a summary or a failure record", f.Message);
        Assert.DoesNotContain("text on stderr", f.Message);
        Assert.Contains("error: text on stderr", File.ReadAllText(f.Log!));

        // a record this attempt writes is read; a summary that explains the exit leaves no failure
        var recorded = Shell("printf '{\"status\": \"failed\", \"kind\": \"user_error\", \"message\": \"bad\"}' > \"$5/failure.json\"; exit 2").Launch(Request("recorded"));
        Assert.Equal(new RunFailure(FailureKind.UserError, "bad") { ExitCode = 2 }, recorded.Failure);
        var done = Shell("printf '{\"status\": \"completed\", \"step\": 3}' > \"$5/summary.json\"").Launch(Request("done"));
        Assert.Null(done.Failure);
        Assert.Equal(RunStatus.Completed, done.Summary!.Status);
    }
}
