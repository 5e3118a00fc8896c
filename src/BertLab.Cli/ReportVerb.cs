using System.CommandLine;
using BertLab.Experiments;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab report SWEEP_DIR: the comparison report of a sweep (Markdown and a self-contained HTML page).</summary>
public sealed class ReportVerb : IVerb
{
    public int Order => 41;

    public Command Build()
    {
        var dir = new Argument<string>("sweep-dir") { Description = "Sweep directory (made by `bertlab sweep run` or by the array tasks of `bertlab sweep slurm`)" };
        var output = Verb.Opt<string?>("--out", "Where report.md, report.html, plots/ and (for research-log) findings.json go (default: the sweep directory)");
        var beside = Verb.Opt<string?>("--beside", "research-log only: another study's verdicts to set beside this one's in one table (e.g. the text study beside the generated-task study): " +
                                                   "its sweep directory (its verdicts are evaluated from its runs), or a report directory holding its findings.json, or that file");
        var cmd = new Command("report", "Write a sweep's comparison report: loss curves, stability matrix (attention × lr), final validation loss/accuracy/perplexity, " +
                                        "fine-tuning scores, learned σ and p, throughput and memory; for research-log, the verdicts first, each finding with its statistic, " +
                                        "the plots, the method, and findings.json (per finding: task, verdict, statistic, runs) beside the report");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(output);
        cmd.Options.Add(beside);
        cmd.SetAction(r =>
        {
            var files = SweepReport.Write(r.GetValue(dir)!, r.GetValue(output), r.GetValue(beside));
            AnsiConsole.MarkupLine($"report: {Markup.Escape(files.Markdown)}");
            AnsiConsole.MarkupLine($"        {Markup.Escape(files.Html)} (self-contained, {files.Plots.Count} plot(s) embedded)");
            if (files.Findings is string f) AnsiConsole.MarkupLine($"        {Markup.Escape(f)}");
            return 0;
        });
        return cmd;
    }
}
