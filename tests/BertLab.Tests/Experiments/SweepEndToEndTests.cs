using System.Diagnostics;
using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;
using Xunit.Abstractions;

namespace BertLab.Tests.Experiments;

/// <summary>Real sweeps: training runs as child processes of the CLI (`dotnet BertLab.Cli.dll train ...`).</summary>
public sealed class SweepEndToEndTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-sweep-e2e-").FullName;
    readonly ITestOutputHelper _out;
    public SweepEndToEndTests(ITestOutputHelper output) => _out = output;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    /// <summary>Two short runs (dropout on, so the RNG state must resume too) and one that fails (its corpus does not exist).</summary>
    string WriteSweep()
    {
        var corpus = SweepTestKit.WriteCorpus(_dir);
        var baseConfig = SweepTestKit.TinyBase(corpus, 6, 3);
        var path = Path.Combine(_dir, "resume.json");
        File.WriteAllText(path, "{\"name\": \"resume\", \"base\": " + baseConfig.ToJsonString() + """
            , "runs": [
                {"name": "a", "set": {"attention": "softmax"}},
                {"name": "b", "set": {"attention": "cottention", "run.steps": 24}},
                {"name": "bad", "set": {"data.corpus": ["/nonexistent/corpus.txt"]}}
              ]}
            """);
        return path;
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void KilledMidway_Restarted_SkipsFinishedRuns_AndMatchesAnUninterruptedSweep()
    {
        var file = WriteSweep();
        var def = SweepDefinition.Load(file);

        // uninterrupted reference
        var reference = Path.Combine(_dir, "reference");
        var refOutcomes = new SweepRunner(def, reference, SweepTestKit.Launcher(), new SweepRunOptions { Workers = 1 }, _out.WriteLine).Run();
        Assert.Equal(new[] { RunStatus.Completed, RunStatus.Completed, RunStatus.Failed }, refOutcomes.Select(o => o.Status));
        Assert.Contains("/nonexistent/corpus.txt", refOutcomes[2].Detail);

        // the same sweep through the CLI, killed (whole process tree) once run b has its first checkpoint
        var killed = Path.Combine(_dir, "killed");
        var psi = new ProcessStartInfo(ChildProcessLauncher.DotnetHost()) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { SweepTestKit.CliDll, "sweep", "run", file, "--out", killed, "--no-report" }) psi.ArgumentList.Add(a);
        using (var p = Process.Start(psi)!)
        {
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) _out.WriteLine("killed sweep: " + e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is not null) _out.WriteLine("killed sweep: " + e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var runB = Path.Combine(killed, "runs", "01-b");
            var until = DateTime.UtcNow.AddMinutes(4);
            while (Trainer.LatestCheckpoint(runB) is null && !p.HasExited && DateTime.UtcNow < until) Thread.Sleep(25);
            Assert.False(p.HasExited, "the sweep ended before it could be killed");
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        var runA = Path.Combine(killed, "runs", "00-a");
        var summaryA = File.ReadAllText(Path.Combine(runA, Trainer.SummaryFile));
        var metricsA = File.GetLastWriteTimeUtc(Path.Combine(runA, Trainer.MetricsFile));
        Assert.False(File.Exists(Path.Combine(killed, "runs", "01-b", Trainer.SummaryFile)) &&
                     File.ReadAllText(Path.Combine(killed, "runs", "01-b", Trainer.SummaryFile)).Contains("\"completed\""), "run b finished before the kill");

        // restart: a is skipped (untouched), b resumes from its checkpoint, bad is tried again and fails again
        var outcomes = new SweepRunner(def, killed, SweepTestKit.Launcher(), new SweepRunOptions { Workers = 1 }, _out.WriteLine).Run();
        Assert.Equal(new[] { "skipped", "resumed", "started" }, outcomes.Select(o => o.Action));
        Assert.Equal(new[] { RunStatus.Completed, RunStatus.Completed, RunStatus.Failed }, outcomes.Select(o => o.Status));
        Assert.Equal(summaryA, File.ReadAllText(Path.Combine(runA, Trainer.SummaryFile)));
        Assert.Equal(metricsA, File.GetLastWriteTimeUtc(Path.Combine(runA, Trainer.MetricsFile)));

        // the same results as the uninterrupted sweep: every logged loss, and the final validation
        foreach (var run in new[] { "00-a", "01-b" })
        {
            var expected = SweepTestKit.Losses(Path.Combine(reference, "runs", run));
            Assert.Equal(run == "00-a" ? 6 : 24, expected.Count);
            Assert.Equal(expected, SweepTestKit.Losses(Path.Combine(killed, "runs", run)));
            double Val(string root) => JsonNode.Parse(File.ReadAllText(Path.Combine(root, "runs", run, Trainer.SummaryFile)))!["validation"]!["val_loss"]!.GetValue<double>();
            Assert.Equal(Val(reference), Val(killed));
        }
        var state = SweepState.Read(killed)["points"]!.AsArray();
        Assert.Equal("failed", state[2]!["status"]!.GetValue<string>());
        Assert.Contains("/nonexistent/corpus.txt", state[2]!["error"]!.GetValue<string>());
        Assert.Equal(2, state[1]!["attempts"]!.GetValue<int>()); // b: started, killed, resumed
        Assert.Equal(1, state[2]!["attempts"]!.GetValue<int>()); // bad: not reached before the kill
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void ResearchLog_TinyBudget_RunsEveryPoint_AndTheReportAddressesEveryFinding()
    {
        var dir = Path.Combine(_dir, "research-log");
        var watch = Stopwatch.StartNew();
        var outcomes = new SweepRunner(ResearchLogSweep.Create("tiny"), dir, SweepTestKit.Launcher(),
            new SweepRunOptions { Workers = 2, PruneCheckpoints = true }, _out.WriteLine).Run();
        _out.WriteLine($"research-log tiny: {outcomes.Count} runs in {watch.Elapsed.TotalSeconds:F0} s");
        Assert.Equal(ResearchLogSweep.Create("tiny").Expand().Count, outcomes.Count);
        var failed = outcomes.Where(o => o.Status == RunStatus.Failed).ToList();
        if (failed.Count > 0)
        {
            // a failed run is retried by running the sweep again (as a user would); a failure that repeats fails the test.
            // Keep the evidence: libtorch has been seen failing once in a while on this loaded machine ("Expected false to be true").
            foreach (var f in failed)
                _out.WriteLine($"== {f.Dir} failed ({f.Detail}); its train.log ends:\n" +
                               string.Join("\n", File.ReadLines(Path.Combine(dir, f.Dir, ChildProcessLauncher.LogFile)).TakeLast(40)));
            var retried = new SweepRunner(ResearchLogSweep.Create("tiny"), dir, SweepTestKit.Launcher(),
                new SweepRunOptions { Workers = 2, PruneCheckpoints = true }, _out.WriteLine).Run();
            Assert.Equal(failed.Select(f => f.Index), retried.Where(o => o.Action != "skipped").Select(o => o.Index));
            outcomes = retried;
        }
        Assert.All(outcomes, o => Assert.True(o.Status is RunStatus.Completed or RunStatus.Diverged, $"point {o.Index} ({o.Dir}): {o.Status}: {o.Detail}"));
        var md = File.ReadAllText(SweepReport.Write(dir).Markdown);
        foreach (var id in ResearchLogFindings.Ids) Assert.Contains($"| {id} | ", md);
        Assert.Contains("### Loss against learning rate", md);
        Assert.DoesNotContain("inconclusive", md);
        // every finding carries one of the six classes, each with its reason
        var verdicts = ResearchLogFindings.Evaluate(SweepResults.Load(dir));
        Assert.All(verdicts, v => Assert.False(string.IsNullOrWhiteSpace(v.Result.Reason)));
        Assert.Contains("| #", md); // σ of the cottention runs
    }
}
