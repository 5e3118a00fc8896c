using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using BertLab.Model;
using BertLab.Tests.EndToEnd;
using BertLab.Training;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Distributed;

/// <summary>A [Fact] that is skipped, with the reason, where Open MPI's mpirun is not installed.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public MpiFactAttribute()
    {
        if (MpiTrainingTests.MpiRun is null) Skip = "mpirun is not installed: `bash .ci/mpi-setup.sh` installs Open MPI (openmpi-bin, libopenmpi-dev)";
    }
}

/// <summary>One tiny corpus and the single-process reference run (1 rank × batch 32), shared by the MPI tests.</summary>
public sealed class MpiReferenceRun : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("bertlab-mpi-").FullName;
    public string Corpus { get; }
    readonly Lazy<string> _reference;

    public MpiReferenceRun()
    {
        Corpus = CliProcess.SmallCorpus(Root);   // the first paragraphs of the embedded corpus
        _reference = new Lazy<string>(() =>
        {
            var dir = Path.Combine(Root, "one-rank-32");
            var r = MpiTrainingTests.Run(null, MpiTrainingTests.TrainArgs(Corpus, dir, batch: 32, steps: MpiTrainingTests.Steps));
            Assert.True(r.ExitCode == 0, $"reference run failed ({r.ExitCode}):\n{r.Output}");
            return dir;
        });
    }

    /// <summary>The run directory of 1 process × batch 32 (made on first use).</summary>
    public string Reference => _reference.Value;

    public void Dispose() { try { Directory.Delete(Root, true); } catch { } }
}

/// <summary>
/// `mpirun -np 2 bertlab train` against one process: the same losses and parameters step by step, a killed rank
/// stopping the job, and a resume on one process.
/// </summary>
[Trait("Category", "Mpi")]
[Trait("Category", "Slow")]
public class MpiTrainingTests : IClassFixture<MpiReferenceRun>
{
    public const int Steps = 10;
    readonly MpiReferenceRun _fixture;
    public MpiTrainingTests(MpiReferenceRun fixture) => _fixture = fixture;

    public static string? MpiRun { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    public static string[] TrainArgs(string corpus, string dir, int batch, int steps, int checkpointInterval = 2) =>
    [
        "train", "--model", "tiny", "--attention", "softmax", "--corpus", corpus, "--out", dir, "--steps", steps.ToString(), "--threads", "1",
        "--set", "data.seq_len=32", "--set", "model.hidden_dropout_prob=0", "--set", "model.attention_probs_dropout_prob=0",
        "--set", $"run.batch_size={batch}", "--set", "run.log_interval=1", "--set", "run.eval_interval=3", "--set", "run.eval_batches=2",
        "--set", $"run.checkpoint_interval={checkpointInterval}", "--set", "run.keep_last=100", "--set", "schedule.warmup_steps=30",
    ];

    public sealed record Result(int ExitCode, string Output, double Seconds);

    /// <summary>Runs the CLI (under mpirun with <paramref name="ranks"/> processes, or directly when null).</summary>
    public static Result Run(int? ranks, string[] args, Action<Process>? whileRunning = null, Dictionary<string, string>? env = null, int timeoutSeconds = 300)
    {
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (ranks is int n)
        {
            psi.FileName = MpiRun!;
            // single_copy_mechanism none: containers often forbid the cross-memory attach that Open MPI's shared memory uses
            foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "btl_vader_single_copy_mechanism", "none", "-np", n.ToString() })
                psi.ArgumentList.Add(a);
            foreach (var name in env?.Keys ?? Enumerable.Empty<string>()) { psi.ArgumentList.Add("-x"); psi.ArgumentList.Add(name); }
        }
        else psi.FileName = "dotnet";
        if (ranks is not null) psi.ArgumentList.Add("dotnet");
        psi.ArgumentList.Add(CliProcess.Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new()) psi.Environment[k] = v;
        psi.Environment["NO_COLOR"] = "1";
        var output = new StringBuilder();
        var clock = Stopwatch.StartNew();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        try
        {
            whileRunning?.Invoke(p);
            if (!p.WaitForExit(timeoutSeconds * 1000)) Assert.Fail($"{psi.FileName} did not end within {timeoutSeconds} s:\n{output}");
            p.WaitForExit();
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        lock (output) return new Result(p.ExitCode, output.ToString(), clock.Elapsed.TotalSeconds);
    }

    static List<JsonObject> Records(string dir, string key) => TrainingPlots.ReadMetrics(dir).Where(m => m[key] is not null).ToList();

    static void AssertSameSteps(string expectedDir, string actualDir, int fromStep = 0)
    {
        foreach (var (key, fields) in new[] { ("loss", new[] { "loss", "grad_norm", "mlm_accuracy", "lr" }), ("val_loss", new[] { "val_loss", "val_accuracy" }) })
        {
            var expected = Records(expectedDir, key).Where(r => r["step"]!.GetValue<int>() > fromStep).ToList();
            var actual = Records(actualDir, key).Where(r => r["step"]!.GetValue<int>() > fromStep).ToList();
            Assert.Equal(expected.Select(r => r["step"]!.GetValue<int>()), actual.Select(r => r["step"]!.GetValue<int>()));
            Assert.NotEmpty(expected);
            for (int i = 0; i < expected.Count; i++)
                foreach (var f in fields)
                {
                    double e = expected[i][f]!.GetValue<double>(), a = actual[i][f]!.GetValue<double>();
                    Assert.True(Math.Abs(e - a) <= 1e-5 * Math.Max(1, Math.Abs(e)), $"step {expected[i]["step"]} {f}: {a} vs {e} (single process)");
                }
        }
    }

    static void AssertSameParameters(string expectedModel, string actualModel)
    {
        using var scope = NewDisposeScope();
        var e = BertCheckpoint.LoadWeights(expectedModel);
        var a = BertCheckpoint.LoadWeights(actualModel);
        Assert.Equal(e.Keys.Order(), a.Keys.Order());
        foreach (var (name, t) in e)
        {
            double diff = (a[name].to_type(ScalarType.Float64) - t.to_type(ScalarType.Float64)).abs().max().item<double>();
            Assert.True(diff <= 1e-5, $"{name}: max |Δ| {diff:E2} > 1e-5");
        }
    }

    [MpiFact]
    public void TwoRanksOf16_EqualOneRankOf32_StepByStep()
    {
        var dir = Path.Combine(_fixture.Root, "two-ranks-16");
        var r = Run(2, TrainArgs(_fixture.Corpus, dir, batch: 16, steps: Steps));
        Assert.True(r.ExitCode == 0, $"mpirun -np 2 failed ({r.ExitCode}):\n{r.Output}");
        Assert.Contains("data-parallel over 2 MPI ranks", r.Output);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(r.Output, "completed"));   // rank 1 prints nothing
        AssertSameSteps(_fixture.Reference, dir);
        AssertSameParameters(Path.Combine(_fixture.Reference, "model"), Path.Combine(dir, "model"));
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, Trainer.SummaryFile)))!;
        Assert.Equal(2, summary["ranks"]!.GetValue<int>());
        Assert.True(summary["allreduce_mb"]!.GetValue<double>() > 0);
    }

    /// <summary>The processes of this test's job (by a tag in their environment) and their MPI rank.</summary>
    static int? FindRank(string tag, int rank)
    {
        foreach (var d in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            string env;
            try { env = File.ReadAllText(Path.Combine(d, "environ")); } catch { continue; }
            var vars = env.Split('\0');
            if (vars.Contains($"BERTLAB_TEST_TAG={tag}") && vars.Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
        }
        return null;
    }

    static void AfterCheckpoint(string dir, int step, Process job)
    {
        var path = Path.Combine(dir, "checkpoints", $"step-{step:D8}");
        var clock = Stopwatch.StartNew();
        while (!Directory.Exists(path))
        {
            Assert.False(job.HasExited, $"the job ended before writing {path}");
            Assert.True(clock.Elapsed.TotalSeconds < 240, $"no {path} after 240 s");
            Thread.Sleep(20);
        }
    }

    [MpiFact]
    public void KilledRank_EndsTheJob_AndOneProcessResumesFromTheLastCheckpoint()
    {
        var dir = Path.Combine(_fixture.Root, "killed");
        var tag = Guid.NewGuid().ToString("N");
        double killedAt = 0;
        var clock = Stopwatch.StartNew();
        var r = Run(2, TrainArgs(_fixture.Corpus, dir, batch: 16, steps: 1000), job =>
        {
            AfterCheckpoint(dir, 2, job);
            int pid = FindRank(tag, 1) ?? throw new InvalidOperationException("rank 1 not found in /proc");
            killedAt = clock.Elapsed.TotalSeconds;
            Process.GetProcessById(pid).Kill();   // SIGKILL: no chance to clean up
        }, new() { ["BERTLAB_TEST_TAG"] = tag });
        double stoppedAfter = clock.Elapsed.TotalSeconds - killedAt;
        Assert.NotEqual(0, r.ExitCode);
        Assert.True(stoppedAfter < 60, $"the job took {stoppedAfter:F1} s to stop after the kill");
        Assert.Matches("rank 1 .*(signal 9|Killed)", r.Output);

        // The last checkpoint is complete and loads; one process (batch 32 = the same global batch) continues from it
        // exactly as the single-process reference run did.
        var last = Trainer.LatestCheckpoint(dir);
        Assert.NotNull(last);
        int lastStep = int.Parse(Path.GetFileName(last)["step-".Length..]);
        Assert.InRange(lastStep, 2, Steps - 1);
        var resumed = Run(null, ["train", "--resume", dir, "--steps", Steps.ToString(), "--set", "run.batch_size=32"]);
        Assert.True(resumed.ExitCode == 0, $"resume failed ({resumed.ExitCode}):\n{resumed.Output}");
        Assert.Contains($"resumed from {last}", resumed.Output);
        AssertSameSteps(_fixture.Reference, dir, fromStep: lastStep);
        AssertSameParameters(Path.Combine(_fixture.Reference, "model"), Path.Combine(dir, "model"));
    }

    [MpiFact]
    public void HungRank_IsStoppedByTheWatchdog()
    {
        var dir = Path.Combine(_fixture.Root, "hung");
        var tag = Guid.NewGuid().ToString("N");
        int? stopped = null;
        try
        {
            var r = Run(2, TrainArgs(_fixture.Corpus, dir, batch: 16, steps: 1000), job =>
            {
                AfterCheckpoint(dir, 2, job);
                stopped = FindRank(tag, 1) ?? throw new InvalidOperationException("rank 1 not found in /proc");
                Process.Start("kill", ["-STOP", stopped.Value.ToString()])!.WaitForExit();   // alive but stuck
            }, new() { ["BERTLAB_TEST_TAG"] = tag, ["BERTLAB_MPI_TIMEOUT_S"] = "5" }, timeoutSeconds: 120);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Matches("rank [01] of 2 waited more than 5 s", r.Output);
        }
        finally
        {
            // mpirun kills it too; should it survive, end it (found again by its tag, never by a stale pid)
            if (stopped is not null && FindRank(tag, 1) is int pid) try { Process.GetProcessById(pid).Kill(); } catch (ArgumentException) { } catch (InvalidOperationException) { }
        }
    }
}
