using System.CommandLine;
using System.Diagnostics;
using BertLab.Cli;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;
using Xunit.Abstractions;

namespace BertLab.Tests.Experiments;

/// <summary>A test that needs a SLURM cluster: skipped, saying so, when <c>sbatch</c> is not on PATH (start one with .ci/slurm-setup.sh).</summary>
public sealed class SlurmFactAttribute : FactAttribute
{
    public SlurmFactAttribute()
    {
        if (FindOnPath("sbatch") is null)
            Skip = "SLURM is not available (sbatch is not on PATH): run .ci/slurm-setup.sh (as root) to start a one-node cluster on localhost";
        else if (NodeState() is var state && state is null || !System.Text.RegularExpressions.Regex.IsMatch(state!, "idle|mixed|allocated|completing"))
            Skip = $"SLURM is installed but no node is up (sinfo: '{state ?? "no answer"}'): run .ci/slurm-setup.sh (as root)";
    }

    /// <summary>The node states sinfo reports, or null when the controller does not answer within 15 s.</summary>
    static string? NodeState()
    {
        try
        {
            var psi = new ProcessStartInfo("sinfo") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-h", "-o", "%T" }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(15_000)) { p.Kill(); return null; }
            return p.ExitCode == 0 ? output.Result.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception) { return null; }
    }

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}

public sealed class SlurmSweepTests : IDisposable
{
    readonly string _dir;
    readonly ITestOutputHelper _out;

    public SlurmSweepTests(ITestOutputHelper output)
    {
        _out = output;
        // the compute node reads and writes the sweep directory: a path it can see (one node here; shared storage on a cluster)
        _dir = Directory.CreateTempSubdirectory("bertlab-slurm-").FullName;
    }

    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    static int Cli(IVerb verb, params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(verb.Build());
        return Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false }));
    }

    [SlurmFact]
    [Trait("Category", "Slurm")]
    public void JobArray_OfFourPoints_Completes_AndItsReportEqualsTheLocalSweeps()
    {
        var corpus = SweepTestKit.WriteCorpus(_dir);
        var file = Path.Combine(_dir, "slurm.json");
        File.WriteAllText(file, "{\"name\": \"slurm-test\", \"base\": " + SweepTestKit.TinyBase(corpus, 6, 3).ToJsonString() +
                                ", \"axes\": {\"attention\": [\"softmax\", \"cottention\"]}, \"seeds\": [1, 2]}");
        var clusterDir = Path.Combine(_dir, "cluster");
        Assert.Equal(0, Cli(new SweepVerb(), "sweep", "slurm", file, "--out", clusterDir, "--cpus", "1", "--time", "00:15:00"));
        var script = Path.Combine(clusterDir, SlurmScript.FileName);
        var text = File.ReadAllText(script);
        Assert.Contains("#SBATCH --array=0-3", text);
        Assert.Contains("--only \"$SLURM_ARRAY_TASK_ID\"", text);

        // submit and wait for every array task (bounded)
        var psi = new ProcessStartInfo("sbatch") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = _dir };
        foreach (var a in new[] { "--wait", script }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(8)))
            {
                string jobId = so.IsCompleted ? so.Result.Trim().Split(' ').Last() : "";
                if (jobId.Length > 0) Process.Start("scancel", jobId)?.WaitForExit(10_000);
                p.Kill();
                Assert.Fail("the SLURM job array did not finish within 8 minutes");
            }
            _out.WriteLine(so.Result + se.Result);
            foreach (var log in Directory.EnumerateFiles(Path.Combine(clusterDir, "slurm")).OrderBy(x => x)) _out.WriteLine($"== {log}\n{File.ReadAllText(log)}");
            Assert.True(p.ExitCode == 0, $"sbatch --wait exited {p.ExitCode}: {se.Result}");
        }
        var points = SweepState.Read(clusterDir)["points"]!.AsArray();
        Assert.Equal(4, points.Count);
        Assert.All(points, x => Assert.Equal("completed", x!["status"]!.GetValue<string>()));

        // the same sweep run locally gives the same report (all but the wall-clock section)
        var localDir = Path.Combine(_dir, "local");
        var local = new SweepRunner(SweepDefinition.Load(file), localDir, SweepTestKit.Launcher(), new SweepRunOptions { Workers = 2 }).Run();
        Assert.All(local, o => Assert.Equal(RunStatus.Completed, o.Status));
        var clusterReport = File.ReadAllText(SweepReport.Write(clusterDir).Markdown);
        var localReport = File.ReadAllText(SweepReport.Write(localDir).Markdown);
        Assert.Contains("4 runs: 4 completed.", clusterReport);
        Assert.Equal(ReportDocument.DeterministicPart(localReport), ReportDocument.DeterministicPart(clusterReport));
    }
}

/// <summary>
/// The array script's signal handling, run by bash outside SLURM (the task's environment set by hand, a fake
/// <c>scontrol</c> on PATH that records its arguments): SIGUSR1, the time-limit warning, stops the run at a checkpoint and
/// requeues the task; SIGTERM, preemption or scancel, stops it without a requeue; the requeued task resumes the run to
/// its end with the losses of an uninterrupted run.
/// </summary>
[Trait("Category", "Slow")]
public sealed class SlurmScriptSignalTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-slurm-script-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    [Fact]
    public void TheTimeLimitWarning_StopsAtACheckpointAndRequeues_PreemptionStopsWithoutRequeue_AndTheRequeuedTaskResumes()
    {
        var corpus = SweepTestKit.WriteCorpus(_dir);
        var file = Path.Combine(_dir, "s.json");
        File.WriteAllText(file, "{\"name\": \"s\", \"base\": " + SweepTestKit.TinyBase(corpus, 200, 1000).ToJsonString() + ", \"runs\": [{\"name\": \"a\", \"set\": {}}]}");
        var sweep = Path.Combine(_dir, "sweep");
        var run = Path.Combine(sweep, "runs", "00-a");
        var bertlab = ChildProcessLauncher.ForAssembly(SweepTestKit.CliDll).CommandLine();
        var script = Path.Combine(_dir, SlurmScript.FileName);
        File.WriteAllText(script, SlurmScript.Create("s", 1, sweep, _dir, bertlab, new[] { file }, new SlurmOptions { Cpus = 1 }));
        var text = File.ReadAllText(script);
        Assert.Contains("#SBATCH --requeue", text);
        Assert.Contains("#SBATCH --signal=B:USR1@180", text);
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        var calls = Path.Combine(_dir, "scontrol.calls");
        File.WriteAllText(Path.Combine(bin, "scontrol"), $"#!/bin/bash\necho \"$@\" >> '{calls}'\n");
        File.SetUnixFileMode(Path.Combine(bin, "scontrol"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        List<int> Steps() => File.Exists(Path.Combine(run, RunDirectory.MetricsFile))
            ? TrainingPlots.ReadMetrics(run).Where(m => m["loss"] is not null).Select(m => m["step"]!.GetValue<int>()).ToList() : new();

        (int code, string output) Task(int? signal, int atStep)
        {
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _dir };
            psi.ArgumentList.Add(script);
            psi.Environment["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH");
            psi.Environment["SLURM_ARRAY_JOB_ID"] = "77";
            psi.Environment["SLURM_ARRAY_TASK_ID"] = "0";
            psi.Environment.Remove("DOTNET_GCgen0size");
            using var p = Process.Start(psi)!;
            var so = p.StandardOutput.ReadToEndAsync();
            var se = p.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            if (signal is int sig)
            {
                while (!p.HasExited && Steps().LastOrDefault() < atStep && clock.Elapsed < TimeSpan.FromMinutes(3)) Thread.Sleep(20);
                if (p.HasExited) Assert.Fail("the task ended before the signal:\n" + so.Result + se.Result);   // (the output is complete only once it ended)
                Assert.True(StopSignal.Send(p.Id, sig));   // to the batch shell alone, as --signal=B: does
            }
            if (!p.WaitForExit(TimeSpan.FromMinutes(4))) { p.Kill(true); Assert.Fail("the task did not end"); }
            p.WaitForExit();
            return (p.ExitCode, so.Result + se.Result);
        }

        // the uninterrupted losses, from a plain sweep run of the same file elsewhere
        var reference = Path.Combine(_dir, "reference");
        var local = new SweepRunner(SweepDefinition.Load(file), reference, SweepTestKit.Launcher(), new SweepRunOptions()).Run();
        Assert.All(local, o => Assert.Equal(RunStatus.Completed, o.Status));
        var expected = TrainingPlots.ReadMetrics(Path.Combine(reference, "runs", "00-a")).Where(m => m["loss"] is not null).Select(m => m["loss"]!.GetValue<double>()).ToList();

        const int SigUsr1 = 10;
        var (c1, o1) = Task(SigUsr1, 3);
        Assert.True(c1 == 0, $"exit {c1}\n{o1}");
        Assert.Equal(new[] { "requeue 77_0" }, File.ReadAllLines(calls));
        Assert.True(new RunDirectory(run).ReadSummary() is { Status: RunStatus.Stopped }, o1);
        Assert.NotNull(new RunDirectory(run).LatestCheckpoint());

        var (c2, o2) = Task(StopSignal.SigTerm, Steps().Last() + 3);
        Assert.True(c2 == 143, $"exit {c2}\n{o2}");
        Assert.Single(File.ReadAllLines(calls));   // no second requeue
        Assert.True(new RunDirectory(run).ReadSummary() is { Status: RunStatus.Stopped }, o2);

        var (c3, o3) = Task(null, 0);
        Assert.True(c3 == 0, $"exit {c3}\n{o3}");
        Assert.True(new RunDirectory(run).ReadSummary() is { Status: RunStatus.Completed }, o3);
        Assert.Equal(expected, TrainingPlots.ReadMetrics(run).Where(m => m["loss"] is not null).Select(m => m["loss"]!.GetValue<double>()));
        Assert.Single(File.ReadAllLines(calls));
    }
}
