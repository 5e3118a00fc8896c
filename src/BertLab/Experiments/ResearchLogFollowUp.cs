using BertLab.Runtime;
using System.Diagnostics;
using System.Globalization;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using BertLab.Training;
using static BertLab.Experiments.ResearchLogArms;

namespace BertLab.Experiments;

/// <summary>
/// `bertlab sweep run research-log --budget B --stage follow-up --out DIR`: the second stage over a finished first stage in
/// DIR (<see cref="FollowUpPlan"/>): the η_max bisection rounds, the horizon check and the downstream fine-tuning, each
/// into DIR/follow-up/…, each restartable (finished runs are skipped). The downstream mechanisms are the AdamW grid arms;
/// the Cottention paper's downstream finding (BERT-base GLUE: softmax 83.1, cottention 81.8) is softmax against cottention.
/// </summary>
public static class ResearchLogFollowUp
{
    /// <summary>The mechanisms fine-tuned downstream, each at its η*.</summary>
    public static readonly IReadOnlyList<StudyArm> DownstreamArms = new[] { Softmax, Cosine, CosineRelu, CosineN, Cottention };
    /// <summary>The Cottention paper's claim: softmax ahead of cottention downstream (by ≈ 1.3 GLUE points at BERT-base).</summary>
    public static readonly (StudyArm A, StudyArm B) PaperClaim = (Softmax, Cottention);

    /// <summary>The first stage as it ran in <paramref name="sweepDir"/>, read with its plan (and the bisection rounds found).</summary>
    public static (SweepResults Results, StudyBudget Budget, StudyRuns Runs) Load(string sweepDir, bool withBisection)
    {
        var results = SweepResults.Load(sweepDir);
        if (results.Builtin != ResearchLogSweep.Name || results.Budget is not string name || !ResearchLogSweep.Budgets.TryGetValue(name, out var b))
            throw new BertLabException($"{sweepDir}: not a {ResearchLogSweep.Name} study (sweep.json names '{results.Builtin ?? results.Name}', budget '{results.Budget ?? "none"}')");
        var st = new StudyRuns(results, ResearchLogSweep.Plan(b), withBisection ? FollowUpResults.Bisection(sweepDir) : null);
        return (results, b, st);
    }

    /// <summary>Runs the follow-up stage. <paramref name="definition"/> is the first stage's definition as it runs in this
    /// directory (its base configuration carries the study's artefact paths); <paramref name="cliCommand"/> runs bertlab
    /// for the fine-tunings (host and the arguments before the verb).</summary>
    public static void Run(string sweepDir, SweepDefinition definition, IRunLauncher launcher, SweepRunOptions options, (string Host, IReadOnlyList<string> Prefix) cliCommand,
        Action<string> log, CancellationToken cancel = default)
    {
        var (_, budget, first) = Load(sweepDir, withBisection: false);
        var follow = budget.FollowUp ?? throw new BertLabException($"--stage follow-up: the '{budget.Name}' budget has no follow-up stage (budgets with one: {string.Join(", ", ResearchLogSweep.Budgets.Values.Where(x => x.FollowUp is not null).Select(x => x.Name))})");
        var unfinished = first.Results.Runs.Where(r => !(r.Completed || r.Diverged)).ToList();
        if (unfinished.Count > 0)
            throw new BertLabException($"--stage follow-up: {unfinished.Count} run(s) of the first stage in {sweepDir} have not finished (e.g. #{unfinished[0].Index} {unfinished[0].Name}: {unfinished[0].Status.ToText()}); run the first stage to its end first (the same command without --stage)");

        // cheapest first, the horizon check (the longest runs) last: a stage stopped part way has the most parts finished
        RunBisection(sweepDir, definition, launcher, options, log, cancel);
        var jobs = FollowUpPlan.Downstream(first, DownstreamArms, sweepDir);
        log($"follow-up: downstream: {jobs.Count} fine-tunings ({string.Join(", ", follow.Downstream.Select(t => t.Task))}) → {Path.GetRelativePath(sweepDir, FollowUpPlan.DownstreamDir(sweepDir))}");
        FineTune(jobs, cliCommand, Math.Max(1, options.Workers), Math.Max(1, options.Cores / Math.Max(1, options.Workers)), log, cancel);
        cancel.ThrowIfCancellationRequested();
        RunHorizon(sweepDir, definition, launcher, options, log, cancel);
    }

    /// <summary>The η_max bisection, one round after another: round r's probes come from the grid and rounds 1..r − 1 (so a
    /// stopped round is planned again identically and its finished runs are skipped).</summary>
    public static void RunBisection(string sweepDir, SweepDefinition definition, IRunLauncher launcher, SweepRunOptions options, Action<string> log, CancellationToken cancel = default)
    {
        var (_, budget, first) = Load(sweepDir, withBisection: false);
        for (int round = 1; round <= budget.FollowUp!.BisectionRounds; round++)
        {
            var earlier = FollowUpResults.Bisection(sweepDir).Take(round - 1).ToList();
            var st = new StudyRuns(first.Results, first.Plan, earlier);
            var def = FollowUpPlan.BisectionRound(st, definition, round);
            if (def is null) { log($"follow-up: bisection round {round}: no bracket left to split"); break; }
            string dir = FollowUpPlan.BisectionDir(sweepDir, round);
            log($"follow-up: bisection round {round}: {def.Expand().Count} runs → {Path.GetRelativePath(sweepDir, dir)}");
            new SweepRunner(def, dir, launcher, options, line => log($"  bisect-{round} {line}")).Run(cancel);
        }
    }

    /// <summary>The horizon check of every loss finding the first stage decided.</summary>
    public static void RunHorizon(string sweepDir, SweepDefinition definition, IRunLauncher launcher, SweepRunOptions options, Action<string> log, CancellationToken cancel = default)
    {
        var (_, _, first) = Load(sweepDir, withBisection: false);
        var horizon = FollowUpPlan.Horizon(first, definition, ResearchLogFindings.Evaluate(first.Results), sweepDir);
        if (horizon is null) { log("follow-up: horizon check: no loss finding was decided"); return; }
        string dir = FollowUpPlan.HorizonDir(sweepDir);
        log($"follow-up: horizon check: {horizon.Expand().Count} runs → {Path.GetRelativePath(sweepDir, dir)}");
        new SweepRunner(horizon, dir, launcher, options, line => log($"  horizon {line}")).Run(cancel);
    }

    /// <summary>Runs the fine-tunings that have no results.json yet, <paramref name="workers"/> at a time, each `bertlab finetune`
    /// in its own process (its log beside its result).</summary>
    static void FineTune(IReadOnlyList<DownstreamJob> jobs, (string Host, IReadOnlyList<string> Prefix) cli, int workers, int threads, Action<string> log, CancellationToken cancel)
    {
        var todo = jobs.Where(j => !File.Exists(j.ResultPath)).ToList();
        log($"follow-up: downstream: {jobs.Count - todo.Count} done, {todo.Count} to run");
        var gate = new object();
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(todo, System.Collections.Concurrent.EnumerablePartitionerOptions.NoBuffering),
            new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancel }, job =>
            {
                Directory.CreateDirectory(job.OutDir);
                var t = job.Task;
                var args = new List<string>
                {
                    "finetune", "--task", t.Task, "--from", job.ModelDir, "--out", job.OutDir, "--lr", t.Lr.ToString("R", CultureInfo.InvariantCulture),
                    "--epochs", t.Epochs.ToString(CultureInfo.InvariantCulture), "--batch-size", t.BatchSize.ToString(CultureInfo.InvariantCulture),
                    "--max-length", t.MaxLength.ToString(CultureInfo.InvariantCulture), "--max-train-examples", t.MaxTrainExamples.ToString(CultureInfo.InvariantCulture),
                    "--seeds", "1", "--threads", threads.ToString(CultureInfo.InvariantCulture), "--no-save",
                };
                var clock = Stopwatch.StartNew();
                int code = RunCli(cli, args, Path.Combine(job.OutDir, "finetune.log"), cancel);
                string what = $"{StudyPlan.PointName(job.Arm.Name, job.Lr, job.Seed)} {t.Task}";
                lock (gate) log(code == 0 && File.Exists(job.ResultPath)
                    ? $"  downstream {what}: done in {clock.Elapsed.TotalSeconds:F0} s"
                    : $"  downstream {what}: failed (exit {code}; see {Path.Combine(job.OutDir, "finetune.log")})");
            });
    }

    static int RunCli((string Host, IReadOnlyList<string> Prefix) cli, IReadOnlyList<string> args, string logPath, CancellationToken cancel)
    {
        var psi = new ProcessStartInfo(cli.Host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in cli.Prefix.Concat(args)) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "200";
        ParentDeath.MarkChild(psi);
        using var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var gate = new object();
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (gate) log.WriteLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        using (cancel.Register(() => { try { if (!p.HasExited) StopSignal.Send(p.Id, StopSignal.SigInt); } catch (InvalidOperationException) { } }))
            p.WaitForExit();
        return p.ExitCode;
    }

    /// <summary>The downstream comparisons: every downstream arm against softmax per task, and the paper's claim (softmax
    /// ahead of cottention) over both tasks, as a verdict at the fixed accuracy margin.</summary>
    public static (IReadOnlyList<DownstreamScores> Scores, Verdict? Paper, IReadOnlyList<(DownstreamTask Task, PairedComparison? Comparison)> PaperParts) Downstream(StudyRuns st, string sweepDir)
    {
        var follow = st.Budget.FollowUp!;
        var scores = FollowUpResults.Downstream(FollowUpPlan.Downstream(st, DownstreamArms, sweepDir));
        var parts = new List<(DownstreamTask, PairedComparison?)>();
        var verdicts = new List<Verdict>();
        foreach (var task in follow.Downstream)
        {
            var a = scores.FirstOrDefault(s => s.Arm == PaperClaim.A && s.Task == task);
            var b = scores.FirstOrDefault(s => s.Arm == PaperClaim.B && s.Task == task);
            var c = a is null || b is null ? null : FollowUpResults.Compare(a, b, follow.AccuracyMargin);
            parts.Add((task, c));
            verdicts.Add(ClaimRules.Decide(ClaimKind.ABetter, c));
        }
        return (scores, verdicts.Count == 0 ? null : AllOf.Combine(verdicts.ToArray()), parts);
    }
}
