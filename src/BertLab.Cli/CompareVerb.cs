using System.CommandLine;
using System.Text.Json;
using BertLab.Experiments;

namespace BertLab.Cli;

/// <summary>bertlab compare SWEEP_DIR --a NAME --b NAME: a paired comparison of two arms of a sweep over their common seeds.</summary>
public sealed class CompareVerb : IVerb
{
    public int Order => 42;

    public Command Build()
    {
        var dir = new Argument<string>("sweep-dir") { Description = "Sweep directory (made by `bertlab sweep run` or `bertlab sweep slurm`)" };
        var a = Verb.Opt<string?>("--a", "Arm a: a run name without its seed label (e.g. \"cosine lr=1e-3\"), or its slug");
        var b = Verb.Opt<string?>("--b", "Arm b, likewise");
        var metric = Verb.Opt<string>("--metric", $"Metric: {string.Join(", ", SweepComparison.Metrics)}", () => "val_loss");
        var margin = Verb.Opt<double?>("--margin", "Margin fixed before the runs, in the metric's units: differences within ±margin count as equivalent. " +
                                                   "Default: max(0.02, 2 × the pooled seed-to-seed SD of the two arms), computed from the very runs it then judges " +
                                                   "(0.01 floor for val_accuracy); a noisy pair of arms thus widens its own margin. For a pre-registered comparison give --margin, " +
                                                   "fixed from a pilot or a stated principle before the runs");
        var json = Verb.Opt<bool>("--json", "Print the result as JSON");
        var cmd = new Command("compare", "Compare two arms of a sweep paired by seed: mean difference with a 95% t-interval, pooled seed SD, margin, " +
                                         "and the outcome (a better / b better / equivalent / underpowered with the seeds needed); where the 95% interval excludes 0 but lies within the margin, " +
                                         "the reason says so (a consistent difference smaller than the margin). The default margin is derived from the runs compared; " +
                                         "use --margin for a pre-registered comparison");
        cmd.Arguments.Add(dir);
        foreach (var o in new Option[] { a, b, metric, margin, json }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            string? na = r.GetValue(a), nb = r.GetValue(b);
            if (string.IsNullOrWhiteSpace(na) || string.IsNullOrWhiteSpace(nb)) throw new BertLabException("compare: give both --a NAME and --b NAME");
            var sweep = SweepResults.Load(r.GetValue(dir)!);
            var result = SweepComparison.Compare(sweep, na, nb, r.GetValue(metric)!, r.GetValue(margin));
            Console.WriteLine(r.GetValue(json) ? result.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) : result.Describe());
            return 0;
        });
        return cmd;
    }
}
