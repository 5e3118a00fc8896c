using System.CommandLine;
using BertLab.Experiments;
using BertLab.Training;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab sweep run | slurm: run a grid of training runs (locally in parallel workers, or as a SLURM job array).</summary>
public sealed class SweepVerb : IVerb
{
    public int Order => 40;

    const string SweepFileCopy = "sweep_file.json";

    public Command Build()
    {
        var cmd = new Command("sweep", "Run experiment sweeps: a base configuration × axes (attention, lr, optimizer, seeds, ...) or named runs; "
                                       + $"built-in: {ResearchLogSweep.Name} (the findings of ATTENTION.md §5)");
        cmd.Subcommands.Add(BuildRun());
        cmd.Subcommands.Add(BuildSlurm());
        return cmd;
    }

    static Argument<string> SourceArgument() => new("sweep")
    {
        Description = $"A sweep file (JSON: name, base, axes, runs, seeds) or a built-in sweep: {ResearchLogSweep.Name}",
    };

    static Option<string?> BudgetOption() => Verb.Opt<string?>("--budget",
        $"Scale of the built-in {ResearchLogSweep.Name} sweep: {string.Join("; ", ResearchLogSweep.Budgets.Values.Select(b => $"{b.Name} = model {b.Model}, seq {b.SeqLen}, {b.Steps} steps ({b.Expectation})"))}. Default: cpu");

    /// <summary>The definition, the arguments that name it again (for job scripts), and a label.</summary>
    /// <param name="dir">The sweep directory (--out), null for its default; returned resolved.</param>
    static (SweepDefinition def, string label, string dir) Resolve(string source, string? budget, string? dir, IReadOnlyList<string>? corpus)
    {
        if (source == ResearchLogSweep.Name)
        {
            string name = budget ?? "cpu";
            dir ??= DefaultOut(ResearchLogSweep.Name, name);
            var def = ResearchLogSweep.Create(name, dir, corpus);
            return (def, $"{source} (budget {name}" + (corpus is { Count: > 0 } ? $", corpus {string.Join(", ", corpus)}" : "") + ")", dir);
        }
        if (corpus is { Count: > 0 })
            throw new BertLabException($"--corpus applies to the built-in {ResearchLogSweep.Name} sweep; a sweep file sets data.corpus in \"base\"");
        if (budget is not null)
            throw new BertLabException($"--budget applies to the built-in {ResearchLogSweep.Name} sweep; a sweep file sets its scale in \"base\" (run.steps, model, data.seq_len)");
        if (!File.Exists(source))
            throw new BertLabException($"sweep '{source}' is neither a file nor a built-in sweep; built-in: {ResearchLogSweep.Name}");
        var loaded = SweepDefinition.Load(source);
        return (loaded, Path.GetFullPath(source), dir ?? DefaultOut(loaded.Name, null));
    }

    static string DefaultOut(string name, string? budget) => Path.Combine("sweeps", SweepDefinition.Slug(name) + (budget is string b ? "-" + b : ""));

    static Option<string[]> CorpusOption() => new("--corpus")
    {
        Description = $"The built-in {ResearchLogSweep.Name} sweep's text budgets only: train the whole study on these corpus files, folders or globs instead of the embedded corpus (the study vocabulary is learnt from them)",
        AllowMultipleArgumentsPerToken = true,
    };

    static string CliDll() => typeof(Program).Assembly.Location;

    Command BuildRun()
    {
        var source = SourceArgument();
        var output = Verb.Opt<string?>("--out", "Sweep directory: sweep.json, runs/<index>-<name>/, report.md (default sweeps/<name>)");
        var workers = Verb.Opt("--workers", "Runs trained at once, each its own process with max(1, cores / workers) threads", () => 1);
        var budget = BudgetOption();
        var corpus = CorpusOption();
        var only = Verb.Opt<int?>("--only", "Run only this grid point (0-based index; a SLURM array task's $SLURM_ARRAY_TASK_ID)");
        var keep = Verb.Opt("--keep-checkpoints", "Keep finished runs' checkpoints/ (default: delete them; model/ keeps the final weights)", () => false);
        var noReport = Verb.Opt("--no-report", "Do not write report.md / report.html at the end", () => false);
        var stage = Verb.Opt<string?>("--stage", $"The built-in {ResearchLogSweep.Name} study's second stage over a finished first stage in --out: 'follow-up' runs the η_max bisection, the horizon check at longer training and the downstream fine-tuning (budgets with one: {string.Join(", ", ResearchLogSweep.Budgets.Values.Where(b => b.FollowUp is not null).Select(b => b.Name))})");
        var cmd = new Command("run", "Run a sweep's grid points: skips finished runs, resumes interrupted ones, records each run's status in sweep.json, then writes the report");
        cmd.Arguments.Add(source);
        foreach (var o in new Option[] { output, workers, budget, corpus, only, keep, noReport, stage }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            var (def, label, dir) = Resolve(r.GetValue(source)!, r.GetValue(budget), r.GetValue(output), r.GetValue(corpus));
            // a study with a follow-up stage keeps its runs' last checkpoints: the horizon check continues them
            bool keepCheckpoints = r.GetValue(keep) || (def.Budget is string bn && ResearchLogSweep.Budgets.TryGetValue(bn, out var sb) && sb.FollowUp is not null);
            var options = new SweepRunOptions { Workers = r.GetValue(workers), Only = r.GetValue(only), PruneCheckpoints = !keepCheckpoints };
            if (r.GetValue(stage) is string st)
            {
                if (st != "follow-up") throw new BertLabException($"--stage '{st}' is not allowed; allowed: follow-up");
                if (def.Builtin != ResearchLogSweep.Name) throw new BertLabException($"--stage applies to the built-in {ResearchLogSweep.Name} sweep");
                if (r.GetValue(output) is null) throw new BertLabException("--stage follow-up needs --out: the directory of the finished first stage");
                return FollowUp(def, dir, options, label);
            }
            int count = def.Expand().Count;
            AnsiConsole.MarkupLine($"[bold]bertlab sweep run[/] {Markup.Escape(label)}: {count} grid point(s) → {Markup.Escape(Path.GetFullPath(dir))}");
            AnsiConsole.MarkupLine($"  {options.Workers} worker(s), {options.Cores} core(s)" + (options.Only is int o ? $", only point {o}" : ""));
            var gate = new object();
            var runner = new SweepRunner(def, dir, ChildProcessLauncher.ForAssembly(CliDll()), options,
                line => { lock (gate) AnsiConsole.MarkupLine("  " + Markup.Escape(line)); }, label);
            using var cancel = new CancellationTokenSource();
            // SIGINT / SIGTERM: the runs stop at their next step with a checkpoint (marked stopped, resumable); a second signal: at once
            StopSignal.Install(_ => { try { cancel.Cancel(); } catch (ObjectDisposedException) { } });
            IReadOnlyList<PointOutcome> outcomes;
            try { outcomes = runner.Run(cancel.Token); }
            catch (OperationCanceledException) { Verb.Error("interrupted: the runs were stopped at a checkpoint; run the same command again to resume"); return StopSignal.ExitCode; }

            var table = new Table().Border(TableBorder.Rounded).AddColumn("#").AddColumn("run").AddColumn("this time").AddColumn("status").AddColumn("detail");
            foreach (var x in outcomes)
                table.AddRow(x.Index.ToString(), Markup.Escape(x.Dir), x.Action, x.Status.ToText() + (x.Step is int s && x.Status == RunStatus.Diverged ? $" at step {s}" : ""), Markup.Escape(x.Detail ?? ""));
            AnsiConsole.Write(table);
            if (options.Only is null && !r.GetValue(noReport))
            {
                var files = SweepReport.Write(dir);
                AnsiConsole.MarkupLine($"report: {Markup.Escape(files.Markdown)} and {Markup.Escape(files.Html)}");
            }
            AnsiConsole.MarkupLine($"status of every run: {Markup.Escape(SweepState.PathOf(dir))}");
            return outcomes.Any(x => x.Status == RunStatus.Failed) ? ExitCodes.Failed : ExitCodes.Ok;
        });
        return cmd;
    }

    static int FollowUp(SweepDefinition def, string dir, SweepRunOptions options, string label)
    {
        AnsiConsole.MarkupLine($"[bold]bertlab sweep run[/] {Markup.Escape(label)} --stage follow-up over {Markup.Escape(Path.GetFullPath(dir))}");
        var gate = new object();
        using var cancel = new CancellationTokenSource();
        StopSignal.Install(_ => { try { cancel.Cancel(); } catch (ObjectDisposedException) { } });
        // the study's artefacts (vocabulary, stripped corpus) as the first stage made them: a study directory copied
        // without them (a committed report has no corpus copy) gets them again, identical, before any run needs them
        SweepRunner.BuildSetup(def, dir, line => { lock (gate) AnsiConsole.MarkupLine("  " + Markup.Escape(line)); });
        try
        {
            ResearchLogFollowUp.Run(Path.GetFullPath(dir), def, ChildProcessLauncher.ForAssembly(CliDll()), options, (ChildProcessLauncher.DotnetHost(), new[] { CliDll() }),
                line => { lock (gate) AnsiConsole.MarkupLine("  " + Markup.Escape(line)); }, cancel.Token);
        }
        catch (OperationCanceledException) { Verb.Error("interrupted: the runs were stopped at a checkpoint; run the same command again to resume"); return StopSignal.ExitCode; }
        var files = SweepReport.Write(dir);
        AnsiConsole.MarkupLine($"report: {Markup.Escape(files.Markdown)} and {Markup.Escape(files.Html)}");
        return 0;
    }

    Command BuildSlurm()
    {
        var source = SourceArgument();
        var output = new Option<string>("--out") { Description = "Sweep directory on storage shared with the compute nodes (the job script, sweep.json and runs/ go there)", Required = true };
        var budget = BudgetOption();
        var corpus = CorpusOption();
        var partition = Verb.Opt<string?>("--partition", "SLURM partition (default: the cluster's default partition)");
        var time = Verb.Opt("--time", "Time limit per array task, HH:MM:SS", () => "04:00:00");
        var cpus = Verb.Opt("--cpus", "CPUs per array task (the run's thread count)", () => 2);
        var mem = Verb.Opt<string?>("--mem", "Memory per array task, e.g. 8G (default: the partition's default)");
        var warning = Verb.Opt("--warning", "Seconds before the time limit at which a task stops its run at a checkpoint and requeues itself to resume it (sbatch --signal)", () => 180);
        var maxRequeues = Verb.Opt("--max-requeues", "A task requeues itself at most this many times (then its run stays stopped at its checkpoint)", () => 20);
        var bertlab = Verb.Opt<string?>("--bertlab", "Command that runs bertlab on the compute nodes (default: this dotnet and this BertLab.Cli.dll)");
        var cmd = new Command("slurm", "Write an sbatch job-array script (one array task per grid point, each `bertlab sweep run ... --only $SLURM_ARRAY_TASK_ID`) into the sweep directory. " +
                                       "Tasks are requeueable: near the time limit a task stops its run at a checkpoint and requeues itself; a preempted task stops at a checkpoint and resumes when SLURM requeues it");
        cmd.Arguments.Add(source);
        foreach (var o in new Option[] { output, budget, corpus, partition, time, cpus, mem, warning, maxRequeues, bertlab }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            string src = r.GetValue(source)!;
            var (def, label, resolved) = Resolve(src, r.GetValue(budget), Path.GetFullPath(r.GetValue(output)!), r.GetValue(corpus));
            string dir = resolved;
            var points = def.Expand();
            SweepState.Initialize(dir, def, points, label);
            Directory.CreateDirectory(Path.Combine(dir, "slurm"));
            List<string> sourceArgs;
            if (def.Builtin is not null)
            {
                sourceArgs = new() { src, "--budget", def.Budget! };
                if (r.GetValue(corpus) is { Length: > 0 } c) { sourceArgs.Add("--corpus"); sourceArgs.AddRange(c.Select(Path.GetFullPath)); }
                // the array tasks find the study's artefacts made once here, instead of racing to make them
                SweepRunner.BuildSetup(def, dir, line => AnsiConsole.MarkupLine("  " + Markup.Escape(line)));
            }
            else
            {
                // the array tasks read a copy inside the shared sweep directory: later edits of the file do not change a submitted sweep
                var copy = Path.Combine(dir, SweepFileCopy);
                if (Path.GetFullPath(src) != copy) File.Copy(src, copy, overwrite: true);
                sourceArgs = new() { copy };
            }
            string command = r.GetValue(bertlab) ?? ChildProcessLauncher.ForAssembly(CliDll()).CommandLine();
            var script = SlurmScript.Create(def.Name, points.Count, dir, Directory.GetCurrentDirectory(), command, sourceArgs,
                new SlurmOptions { Partition = r.GetValue(partition), Time = r.GetValue(time)!, Cpus = r.GetValue(cpus), Memory = r.GetValue(mem), WarningSeconds = r.GetValue(warning), MaxRequeues = r.GetValue(maxRequeues) });
            var path = Path.Combine(dir, SlurmScript.FileName);
            File.WriteAllText(path, script);
            AnsiConsole.MarkupLine($"[bold]bertlab sweep slurm[/] {Markup.Escape(label)}: {points.Count} array task(s)");
            AnsiConsole.MarkupLine($"  job script: {Markup.Escape(path)}");
            AnsiConsole.MarkupLine($"  submit:     sbatch {Markup.Escape(ChildProcessLauncher.ShellQuote(path))}");
            AnsiConsole.MarkupLine($"  afterwards: bertlab report {Markup.Escape(ChildProcessLauncher.ShellQuote(dir))}  (rerun failed points with `bertlab sweep run ... --out {Markup.Escape(dir)}`)");
            return 0;
        });
        return cmd;
    }
}
