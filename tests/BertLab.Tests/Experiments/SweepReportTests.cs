using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Training;
using Xunit;

namespace BertLab.Tests.Experiments;

/// <summary>The report and the findings' decision rules over hand-written sweep directories (no training).</summary>
public sealed class SweepReportTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-report-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    /// <summary>A run as the trainer leaves it: run_config.json, metrics.jsonl, summary.json.</summary>
    static void WriteRun(string sweepDir, string rel, string attention, double lr, string status, double? valLoss, int step, JsonObject? attentionStats = null, double tokensPerS = 1000)
    {
        var dir = Path.Combine(sweepDir, rel);
        Directory.CreateDirectory(dir);
        var config = RunConfig.DefaultJson();
        config["attention"] = attention;
        config["optimizer"]!["lr"] = lr;
        File.WriteAllText(Path.Combine(dir, Trainer.ConfigFile), RunConfig.FromJson(config).ToJson().ToJsonString());
        var lines = new List<string>();
        for (int s = 1; s <= step; s++)
        {
            var rec = new JsonObject { ["step"] = s, ["loss"] = 10.0 - s * 0.1, ["tokens_per_s"] = tokensPerS };
            if (s == step && attentionStats is not null) rec["attention"] = attentionStats.DeepClone();
            lines.Add(rec.ToJsonString());
        }
        if (valLoss is double v) lines.Add(new JsonObject { ["step"] = step, ["val_loss"] = v, ["val_accuracy"] = 0.25, ["val_perplexity"] = Math.Exp(v) }.ToJsonString());
        File.WriteAllLines(Path.Combine(dir, Trainer.MetricsFile), lines);
        var summary = new JsonObject { ["status"] = status, ["step"] = step, ["tokens_per_s"] = tokensPerS, ["peak_rss_mb"] = 512.5, ["wall_s"] = 3.25 };
        if (status == "diverged") summary["reason"] = $"non-finite value at step {step}: loss is NaN";
        if (valLoss is double v2) summary["validation"] = new JsonObject { ["val_loss"] = v2, ["val_accuracy"] = 0.25, ["val_perplexity"] = Math.Exp(v2) };
        File.WriteAllText(Path.Combine(dir, Trainer.SummaryFile), summary.ToJsonString());
    }

    static void WritePlan(string sweepDir, string name, string? builtin, params (string name, string dir, string status)[] points)
    {
        Directory.CreateDirectory(sweepDir);
        var plan = new JsonObject
        {
            ["name"] = name, ["builtin"] = builtin,
            ["points"] = new JsonArray(points.Select((p, i) => (JsonNode?)new JsonObject
            {
                ["index"] = i, ["name"] = p.name, ["dir"] = p.dir, ["settings"] = new JsonObject(), ["status"] = p.status,
                ["error"] = p.status == "failed" ? "boom: could not allocate 8 GB" : null,
            }).ToArray()),
        };
        File.WriteAllText(Path.Combine(sweepDir, SweepState.FileName), plan.ToJsonString());
    }

    [Fact]
    public void Report_HasTheStabilityMatrix_Validation_Finetune_LearnedParameters_AndIsDeterministic()
    {
        var sweep = Path.Combine(_dir, "s");
        WritePlan(sweep, "lr-scan", null, ("softmax lr=1e-4", "runs/0-a", "completed"), ("softmax lr=0.001", "runs/1-b", "diverged"),
            ("cottention lr=1e-4", "runs/2-c", "completed"), ("lp lr=1e-4", "runs/3-d", "failed"));
        WriteRun(sweep, "runs/0-a", "softmax", 1e-4, "completed", 6.5, 4);
        WriteRun(sweep, "runs/1-b", "softmax", 1e-3, "diverged", null, 3);
        var stats = JsonNode.Parse("""{"layers": [{"output_norm": 1.5, "sigma": [0.25, 0.75]}, {"output_norm": 2.0, "sigma": [0.5, 0.125]}]}""")!.AsObject();
        WriteRun(sweep, "runs/2-c", "cottention", 1e-4, "completed", 6.25, 4, stats);
        Directory.CreateDirectory(Path.Combine(sweep, "runs/0-a/finetune-sentiment"));
        File.WriteAllText(Path.Combine(sweep, "runs/0-a/finetune-sentiment/results.json"), """{"task": "sentiment", "metrics": {"accuracy": 0.8125, "score": 0.8125}}""");

        var files = SweepReport.Write(sweep);
        var md = File.ReadAllText(files.Markdown);
        Assert.Contains("# Sweep report: lr-scan", md);
        Assert.Contains("4 runs: 2 completed, 1 diverged, 1 failed.", md);
        Assert.Contains("| attention | lr 1e-4 | lr 0.001 |", md);
        Assert.Contains("| softmax | #0 ✓ 6.500 | #1 ✗ step 3 |", md);
        Assert.Contains("| cottention | #2 ✓ 6.250 |  |", md);
        Assert.Contains("| 0 | softmax lr=1e-4 | softmax | adamw | 1e-4 | completed | 4 | 9.6000 | 6.5000 | 0.2500 | 665.1 |", md);
        Assert.Contains("| 1 | softmax lr=0.001 | diverged | non-finite value at step 3: loss is NaN |", md);
        Assert.Contains("| 3 | lp lr=1e-4 | failed | boom: could not allocate 8 GB |", md);
        Assert.Contains("| 0 | softmax lr=1e-4 | sentiment | 0.8125 | 0.8125 |", md);   // fine-tuning: score first, then accuracy
        Assert.Contains("| #2 cottention lr=1e-4 | 0 | 0.250, 0.750 | – | 1.500 |", md);
        Assert.Contains("| #2 cottention lr=1e-4 | 1 | 0.500, 0.125 | – | 2.000 |", md);
        Assert.Contains("![Training loss (all runs)](plots/train_loss.png)", md);
        Assert.True(File.Exists(Path.Combine(sweep, "plots", "train_loss.png")));
        Assert.Contains("| 0 | softmax lr=1e-4 | 1000 | 513 | 3.3 |", md);

        var html = File.ReadAllText(files.Html);
        Assert.Contains("<img alt=\"Training loss (all runs)\" src=\"data:image/png;base64,iVBOR", html); // the PNG is embedded
        Assert.DoesNotContain("src=\"plots/", html);
        Assert.Contains("<td>#0 ✓ 6.500</td>", html);

        // deterministic: the same directory gives the same text; throughput changes only the wall-clock section
        Assert.Equal(md, File.ReadAllText(SweepReport.Write(sweep).Markdown));
        WriteRun(sweep, "runs/0-a", "softmax", 1e-4, "completed", 6.5, 4, tokensPerS: 2222);
        var md2 = File.ReadAllText(SweepReport.Write(sweep, Path.Combine(_dir, "elsewhere")).Markdown);
        Assert.NotEqual(md, md2);
        Assert.Equal(ReportDocument.DeterministicPart(md), ReportDocument.DeterministicPart(md2));
        Assert.DoesNotContain("tokens/s", ReportDocument.DeterministicPart(md));
    }
    // the research-log study's rules and report section: ResearchLogStudyTests
}
