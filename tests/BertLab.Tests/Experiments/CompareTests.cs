using System.CommandLine;
using System.Text.Json.Nodes;
using BertLab.Cli;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Experiments;

/// <summary>bertlab compare on a sweep directory written by the sweep's own writers (plan via SweepState, runs with summary.json,
/// run_config.json and metrics.jsonl as the trainer writes them), with hand-written results.</summary>
public class CompareTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-compare-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

    static int Invoke(TextWriter output, params string[] args)
    {
        var root = new RootCommand("test");
        root.Subcommands.Add(new CompareVerb().Build());
        var saved = Console.Out;
        Console.SetOut(output);
        try { return Verb.Run(() => root.Parse(args).Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false })); }
        finally { Console.SetOut(saved); }
    }

    /// <summary>Arms "good", "same" (≈ good), "bad" (+0.3 nats), "boom" (like bad, but its seed 4 diverged) and "close" (+0.01
    /// nats on every seed, ± 0.0002), seeds 1–4.</summary>
    string WriteSweep()
    {
        var def = SweepDefinition.Parse("""
            {"name": "t", "base": {"model": "tiny"},
             "runs": [{"name": "good"}, {"name": "same", "set": {"optimizer.lr": 2e-3}}, {"name": "bad", "set": {"optimizer.lr": 1e-5}},
                      {"name": "boom", "set": {"optimizer.lr": 1e-1}}, {"name": "close", "set": {"optimizer.lr": 3e-3}}],
             "seeds": [1, 2, 3, 4]}
            """, "test");
        var points = def.Expand();
        SweepState.Initialize(_dir, def, points, "test");
        var plan = SweepState.Read(_dir);
        double[] seedEffect = { 0.05, -0.03, 0.02, -0.04 };
        double[] noise = { 0.002, -0.001, 0.001, -0.002 };
        foreach (var p in points)
        {
            string arm = p.Name.Split(' ')[0];
            int s = (int)p.Config["run"]!["seed"]!.GetValue<long>() - 1;
            string dir = Path.Combine(_dir, plan["points"]![p.Index]!["dir"]!.GetValue<string>());
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, Trainer.ConfigFile), p.Config.ToJsonString());
            double val = 3.0 + seedEffect[s] + arm switch { "good" => 0, "same" => noise[s], "close" => 0.01 + noise[s] / 10, _ => 0.3 + noise[s] };
            bool diverged = arm == "boom" && s == 3;
            var summary = new JsonObject { ["status"] = diverged ? "diverged" : "completed", ["validation"] = new JsonObject { ["val_loss"] = val, ["val_accuracy"] = 1 / val } };
            File.WriteAllText(Path.Combine(dir, Trainer.SummaryFile), summary.ToJsonString());
            File.WriteAllText(Path.Combine(dir, Trainer.MetricsFile), new JsonObject { ["step"] = 10, ["val_loss"] = val + 0.1 }.ToJsonString() + "\n" + new JsonObject { ["step"] = 20, ["val_loss"] = val }.ToJsonString() + "\n");
        }
        return _dir;
    }

    [Fact]
    public void PairsBySeedAndDecides()
    {
        var sweep = SweepResults.Load(WriteSweep());
        Assert.Equal(new[] { "good", "same", "bad", "boom", "close" }, SweepComparison.Arms(sweep).Select(a => a.Arm));
        var eq = SweepComparison.Compare(sweep, "good", "same");
        Assert.Equal(4, eq.Statistic.N);
        Assert.Equal(BertLab.Experiments.Statistics.ComparisonOutcome.Equivalent, eq.Statistic.Outcome);
        var better = SweepComparison.Compare(sweep, "good", "bad");
        Assert.Equal(BertLab.Experiments.Statistics.ComparisonOutcome.ABetter, better.Statistic.Outcome);
        Assert.Equal(-0.3, better.Statistic.MeanDifference, 6);
        // the diverged run counts as ln V (tiny model: 30522 words)
        var boom = SweepComparison.Compare(sweep, "good", "boom");
        Assert.Single(boom.Capped);
        Assert.Equal(Math.Log(30522), boom.Statistic.Pairs.Single(p => p.Seed == 4).B, 9);
        var reverse = SweepComparison.Compare(sweep, "bad", "good", metric: "val_loss_last2");
        Assert.True(reverse.Statistic.MeanDifference > 0.3);
        var acc = SweepComparison.Compare(sweep, "good", "same", metric: "val_accuracy");
        Assert.False(acc.Statistic.LowerIsBetter);
    }

    [Fact]
    public void CliPrintsTextAndJson()
    {
        WriteSweep();
        var text = new StringWriter();
        Assert.Equal(0, Invoke(text, "compare", _dir, "--a", "good", "--b", "same"));
        Assert.Contains("verdict         equivalent", text.ToString());
        Assert.Contains("95% CI", text.ToString());
        var json = new StringWriter();
        Assert.Equal(0, Invoke(json, "compare", _dir, "--a", "good", "--b", "bad", "--json", "--margin", "0.1"));
        var o = JsonNode.Parse(json.ToString())!;
        Assert.Equal("a better", o["outcome"]!.GetValue<string>());
        Assert.Equal(0.1, o["margin"]!.GetValue<double>());
        Assert.Equal(4, o["pairs"]!.AsArray().Count);
        Assert.True(o["ci95"]![1]!.GetValue<double>() < -0.1);
    }

    [Fact]
    public void ASmallConsistentDifference_IsNamed_AndTheHelpSaysWhatTheDefaultMarginIs()
    {
        WriteSweep();
        // close − good = 0.0102, 0.0099, 0.0101, 0.0098 (mean 0.01, SD 0.000183, t(0.975, 3) = 3.1824: [0.0097, 0.0103]); the default
        // margin is 2 × the pooled seed SD of the arms (≈ 0.042 from the seed effects) = 0.085
        var text = new StringWriter();
        Assert.Equal(0, Invoke(text, "compare", _dir, "--a", "close", "--b", "good"));
        Assert.Contains("verdict         equivalent", text.ToString());
        Assert.Contains("a consistent difference of 0.01 [0.0097, 0.0103] nats, smaller than the margin", text.ToString());
        Assert.Contains("computed from the runs it judges", text.ToString());
        var json = new StringWriter();
        Assert.Equal(0, Invoke(json, "compare", _dir, "--a", "close", "--b", "good", "--json"));
        Assert.True(JsonNode.Parse(json.ToString())!["consistent_within_margin"]!.GetValue<bool>());
        // a margin below the difference: decided, and no longer "smaller than the margin"
        var tight = new StringWriter();
        Assert.Equal(0, Invoke(tight, "compare", _dir, "--a", "close", "--b", "good", "--margin", "0.005"));
        Assert.Contains("verdict         b better", tight.ToString());
        Assert.DoesNotContain("consistent difference", tight.ToString());

        var help = new StringWriter();
        Invoke(help, "compare", "--help");
        var h = string.Join(" ", help.ToString().Split((char[])null!, StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("max(0.02, 2 × the pooled seed-to-seed SD of the two arms), computed from the very runs it then judges", h);
        Assert.Contains("pre-registered comparison give --margin", h);
    }

    [Fact]
    public void UserErrorsExitWith2()
    {
        WriteSweep();
        var sink = new StringWriter();
        Assert.Equal(2, Invoke(sink, "compare", _dir, "--a", "good", "--b", "nope"));
        Assert.Equal(2, Invoke(sink, "compare", _dir, "--a", "good", "--b", "good"));
        Assert.Equal(2, Invoke(sink, "compare", _dir, "--a", "good", "--b", "same", "--metric", "bleu"));
        Assert.Equal(2, Invoke(sink, "compare", _dir, "--a", "good"));
        Assert.Equal(2, Invoke(sink, "compare", Path.Combine(_dir, "missing"), "--a", "good", "--b", "same"));
    }
}
