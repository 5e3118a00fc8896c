using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Experiments;

/// <summary>The runner's bookkeeping with a fake launcher (no training): threads, skip, resume, failures, --only, mismatches.</summary>
public sealed class SweepRunnerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-sweep-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    /// <summary>Writes what the trainer would: run_config.json and summary.json; "fail" in the run name exits 1 with a typed failure.</summary>
    sealed class FakeLauncher : IRunLauncher
    {
        public readonly ConcurrentBag<RunRequest> Calls = new();
        public LaunchResult Launch(RunRequest r, CancellationToken cancel = default)
        {
            Calls.Add(r);
            var config = JsonNode.Parse(File.ReadAllText(r.ConfigPath))!.AsObject();
            config["run"]!["threads"] = r.Threads;
            File.WriteAllText(Path.Combine(r.RunDir, Trainer.ConfigFile), config.ToJsonString());
            if (r.RunDir.Contains("fail")) return new LaunchResult(1) { Failure = new RunFailure(FailureKind.Crash, "boom: out of memory") };
            bool diverge = config["optimizer"]!["lr"]!.GetValue<double>() >= 1;
            var summary = diverge
                ? new JsonObject { ["status"] = "diverged", ["step"] = 7, ["reason"] = "non-finite value at step 7: loss is NaN" }
                : new JsonObject { ["status"] = "completed", ["step"] = 10, ["validation"] = new JsonObject { ["val_loss"] = 5.0 } };
            File.WriteAllText(Path.Combine(r.RunDir, Trainer.SummaryFile), summary.ToJsonString());
            return new LaunchResult(diverge ? 3 : 0);
        }
    }

    SweepDefinition Definition(string runsJson = """[{"name": "ok"}, {"name": "fail"}, {"name": "hot", "set": {"optimizer.lr": 2.0}}, {"name": "three", "set": {"run.threads": 3}}]""")
    {
        var corpus = SweepTestKit.WriteCorpus(_dir);
        return Sweep(SweepTestKit.TinyBase(corpus, 10, 5), runsJson);
    }

    static SweepDefinition Sweep(JsonObject baseConfig, string runsJson) =>
        SweepDefinition.Parse("{\"name\": \"fake\", \"base\": " + baseConfig.ToJsonString() + ", \"runs\": " + runsJson + "}", "fake.json");

    static JsonObject Point(string sweepDir, int index) =>
        (JsonObject)SweepState.Read(sweepDir)["points"]!.AsArray().Single(p => p!["index"]!.GetValue<int>() == index)!;

    [Fact]
    public void RecordsEachStatus_DividesThreads_AndAFailureDoesNotStopTheSweep()
    {
        var def = Definition();
        // run.threads is set to 1 by the base: clear it on all but "three" so the division shows
        var launcher = new FakeLauncher();
        var sweep = Path.Combine(_dir, "s");
        var noThreads = Sweep(WithoutThreads(def.Base), """[{"name": "ok"}, {"name": "fail"}, {"name": "hot", "set": {"optimizer.lr": 2.0}}, {"name": "three", "set": {"run.threads": 3}}]""");
        var outcomes = new SweepRunner(noThreads, sweep, launcher, new SweepRunOptions { Workers = 2, Cores = 4 }).Run();

        Assert.Equal(new[] { RunStatus.Completed, RunStatus.Failed, RunStatus.Diverged, RunStatus.Completed }, outcomes.Select(o => o.Status));
        Assert.Equal(4, launcher.Calls.Count);
        Assert.All(launcher.Calls.Where(c => !c.RunDir.Contains("three")), c => Assert.Equal(2, c.Threads)); // 4 cores / 2 workers
        Assert.Equal(3, launcher.Calls.Single(c => c.RunDir.Contains("three")).Threads);                     // the run's own setting wins
        Assert.All(launcher.Calls, c => Assert.False(c.Resume));

        Assert.Equal("failed", Point(sweep, 1)["status"]!.GetValue<string>());
        Assert.Equal("boom: out of memory", Point(sweep, 1)["error"]!.GetValue<string>());
        Assert.Equal("diverged", Point(sweep, 2)["status"]!.GetValue<string>());
        Assert.Equal(7, Point(sweep, 2)["step"]!.GetValue<int>());
        Assert.Contains("NaN", Point(sweep, 2)["reason"]!.GetValue<string>());
        Assert.Equal("runs/00-ok", Point(sweep, 0)["dir"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(sweep, "runs", "00-ok", SweepRunner.ResolvedConfigFile)));
        Assert.True(Directory.Exists(Path.Combine(sweep, "runs", ".cache")), "the data is prepared once in the shared cache");

        // again: finished runs are skipped, the failed one is retried, an interrupted one (checkpoint present) resumes
        var ckpt = Path.Combine(sweep, "runs", "03-three", "checkpoints", "step-00000005");
        Directory.CreateDirectory(ckpt);
        File.WriteAllText(Path.Combine(ckpt, "trainer_state.json"), "{}");
        File.WriteAllText(Path.Combine(sweep, "runs", "03-three", Trainer.SummaryFile), """{"status": "stopped", "step": 5}""");
        var again = new FakeLauncher();
        outcomes = new SweepRunner(noThreads, sweep, again, new SweepRunOptions { Workers = 1, Cores = 4 }).Run();
        Assert.Equal(new[] { "skipped", "started", "skipped", "resumed" }, outcomes.Select(o => o.Action));
        Assert.Equal(2, again.Calls.Count);
        Assert.True(again.Calls.Single(c => c.RunDir.Contains("three")).Resume);
        Assert.Equal(2, Point(sweep, 1)["attempts"]!.GetValue<int>());
    }

    static JsonObject WithoutThreads(JsonObject b)
    {
        var c = (JsonObject)b.DeepClone();
        c["run"]!.AsObject().Remove("threads");
        return c;
    }

    [Fact]
    public void Only_RunsOnePoint_AndChecksTheIndex()
    {
        var def = Definition();
        var sweep = Path.Combine(_dir, "s");
        var launcher = new FakeLauncher();
        var outcomes = new SweepRunner(def, sweep, launcher, new SweepRunOptions { Only = 2 }).Run();
        Assert.Equal(2, Assert.Single(outcomes).Index);
        Assert.Contains("02-hot", Assert.Single(launcher.Calls).RunDir);
        Assert.Equal("pending", Point(sweep, 0)["status"]!.GetValue<string>());
        var e = Assert.Throws<BertLabException>(() => new SweepRunner(def, sweep, launcher, new SweepRunOptions { Only = 4 }).Run());
        Assert.Contains("grid points 0..3", e.Message);
    }

    [Fact]
    public void ARunDirectoryWithAnotherConfiguration_IsRefused_NamingTheKey()
    {
        var def = Definition("""[{"name": "ok"}]""");
        var sweep = Path.Combine(_dir, "s");
        new SweepRunner(def, sweep, new FakeLauncher()).Run();
        var changed = Sweep(def.Base, """[{"name": "ok", "set": {"optimizer.lr": 0.002}}]""");
        var launcher = new FakeLauncher();
        var outcome = Assert.Single(new SweepRunner(changed, sweep, launcher).Run());
        Assert.Equal(RunStatus.Failed, outcome.Status);
        Assert.Contains("optimizer.lr", outcome.Detail);
        Assert.Empty(launcher.Calls);

        // a different grid in the same directory is refused outright
        var other = Sweep(def.Base, """[{"name": "other"}]""");
        var e = Assert.Throws<BertLabException>(() => new SweepRunner(other, sweep, launcher).Run());
        Assert.Contains("holds a different sweep", e.Message);
    }
}
