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
        var output = Verb.Opt<string?>("--out", "Where report.md, report.html and plots/ go (default: the sweep directory)");
        var cmd = new Command("report", "Write a sweep's comparison report: loss curves, stability matrix (attention × lr), final validation loss/accuracy/perplexity, " +
                                        "fine-tuning scores, learned σ and p, throughput and memory; for research-log, each finding beside the reproduction");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(output);
        cmd.SetAction(r =>
        {
            var files = SweepReport.Write(r.GetValue(dir)!, r.GetValue(output));
            AnsiConsole.MarkupLine($"report: {Markup.Escape(files.Markdown)}");
            AnsiConsole.MarkupLine($"        {Markup.Escape(files.Html)} (self-contained, {files.Plots.Count} plot(s) embedded)");
            return 0;
        });
        return cmd;
    }
}
