using BertLab.Training;
using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Plotting;

namespace BertLab.Experiments;

/// <summary>Where `bertlab report` wrote its files.</summary>
public sealed record ReportFiles(string Markdown, string Html, IReadOnlyList<string> Plots);

/// <summary>
/// `bertlab report SWEEP_DIR`: report.md and a self-contained report.html with overlaid loss curves, the stability matrix
/// (attention × learning rate), final validation loss / accuracy / perplexity, fine-tuning scores where run, the learned
/// σ exponents and p values, and for the built-in research-log sweep each finding beside what was observed. Everything
/// before the wall-clock section (tokens/s, peak memory, wall time) depends only on the runs' results, so a sweep run
/// on a cluster and the same sweep run locally give the same text there.
/// </summary>
public static class SweepReport
{
    public const string MarkdownFile = "report.md", HtmlFile = "report.html";

    static string N(double? v, string format = "0.0000") => v is double d ? (double.IsFinite(d) ? d.ToString(format, CultureInfo.InvariantCulture) : d.ToString(CultureInfo.InvariantCulture)) : "–";

    public static ReportFiles Write(string sweepDir, string? outDir = null)
    {
        var results = SweepResults.Load(sweepDir);
        outDir ??= sweepDir;
        Directory.CreateDirectory(outDir);
        var plotDir = Path.Combine(outDir, "plots");
        var doc = new ReportDocument();
        var plots = new List<string>();
        var runs = results.Runs;
        int commonSeq = runs.Select(r => RunRecord.Num(r.Config?["data"]?["seq_len"])).Where(x => x is not null)
            .GroupBy(x => (int)x!.Value).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).FirstOrDefault();

        doc.Heading(1, $"Sweep report: {results.Name}");
        if (results.Description is string desc) doc.Paragraph(desc);
        var counts = runs.GroupBy(r => r.Status.ToText()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
        doc.Paragraph($"{runs.Count} runs: {string.Join(", ", counts)}." + (results.Budget is string b ? $" Budget: `{b}`." : ""));

        // runs table
        doc.Heading(2, "Runs");
        doc.Paragraph("Final validation after the last step (masked-LM loss in nats, accuracy over masked tokens, perplexity = e^loss). " +
                      "Status: completed, diverged at step k (with the reason), failed (with the error).");
        doc.Table(new[] { "#", "run", "attention", "optimizer", "lr", "status", "step", "train loss", "val loss", "val accuracy", "val perplexity" },
            runs.Select(r => new[]
            {
                r.Index.ToString(CultureInfo.InvariantCulture), r.Name, r.AttentionLabel(commonSeq), r.Optimizer,
                r.Lr is double lr ? SweepDefinition.FormatNumber(lr) : "–", StatusText(r), r.Step?.ToString(CultureInfo.InvariantCulture) ?? "–",
                N(r.LastLoss), N(r.ValLoss), N(r.ValAccuracy), N(r.ValPerplexity, "0.0"),
            }));
        var problems = runs.Where(r => r.Detail is not null && r.Status is RunStatus.Diverged or RunStatus.Failed).ToList();
        if (problems.Count > 0)
            doc.Table(new[] { "#", "run", "status", "reason / error" }, problems.Select(r => new[] { r.Index.ToString(CultureInfo.InvariantCulture), r.Name, r.Status.ToText(), r.Detail! }));

        // stability matrix
        doc.Heading(2, "Stability matrix (attention × learning rate)");
        doc.Paragraph("Each cell lists the runs with that attention and learning rate: ✓ converged (completed; final val loss), ✗ diverged at step k, ! failed, … not finished.");
        var lrs = runs.Select(r => r.Lr).Where(x => x is not null).Select(x => x!.Value).Distinct().OrderBy(x => x).ToList();
        var attentions = runs.Select(r => r.AttentionLabel(commonSeq)).Distinct().ToList();
        doc.Table(new[] { "attention" }.Concat(lrs.Select(lr => "lr " + SweepDefinition.FormatNumber(lr))).ToArray(),
            attentions.Select(a => new[] { a }.Concat(lrs.Select(lr => string.Join("; ", runs
                .Where(r => r.AttentionLabel(commonSeq) == a && r.Lr == lr)
                .Select(r => $"#{r.Index} {Cell(r)}")))).ToArray()));

        // research-log findings (issue 17: paired seeds, lr grids, verdict classes)
        if (results.Builtin == ResearchLogSweep.Name) ResearchLogReport.Write(doc, results, outDir, plots);

        // loss curves
        doc.Heading(2, "Loss curves");
        foreach (var (file, title, validation) in new[] { ("plots/train_loss.png", "Training loss (all runs)", false), ("plots/val_loss.png", "Validation loss (all runs)", true) })
        {
            if (!LossPlot(Path.Combine(outDir, file), title, runs, validation)) continue;
            plots.Add(Path.Combine(outDir, file));
            doc.Image(file, title);
        }

        // fine-tuning
        var ft = runs.SelectMany(r => r.Finetune.Select(f => (r, f))).ToList();
        doc.Heading(2, "Fine-tuning");
        if (ft.Count == 0) doc.Paragraph("No fine-tuning results (results.json of `bertlab finetune --from <run>/model --out <run>/finetune-<task>`) were found in the run directories.");
        else
        {
            var metricNames = ft.SelectMany(x => x.f.Metrics.Keys).Distinct().OrderBy(k => k == "score" ? "" : k, StringComparer.Ordinal).ToList();
            doc.Table(new[] { "#", "run", "task" }.Concat(metricNames).ToArray(),
                ft.Select(x => new[] { x.r.Index.ToString(CultureInfo.InvariantCulture), x.r.Name, x.f.Task }
                    .Concat(metricNames.Select(m => x.f.Metrics.TryGetValue(m, out var v) ? N(v) : "–")).ToArray()));
        }

        // learned exponents and p
        doc.Heading(2, "Learned attention parameters (σ exponents and p values)");
        var learned = runs.Where(r => r.AttentionStats?["layers"] is JsonArray layers && layers.Any(l => l?["sigma"] is not null || l?["p"] is not null)).ToList();
        if (learned.Count == 0) doc.Paragraph("No run has learned attention parameters (the cottention / n_pow_sigma scaling and the lp similarity learn them).");
        else
        {
            doc.Paragraph("From the last logged training step: σ(m_h) per head (the exponent of n in cottention's n^σ(m_h) scaling) and p per head (lp similarity), per layer; output norm = mean ‖o‖ of the layer's attention output.");
            var rows = new List<string[]>();
            foreach (var r in learned)
            {
                var layers = (JsonArray)r.AttentionStats!["layers"]!;
                for (int i = 0; i < layers.Count; i++)
                    rows.Add(new[] { $"#{r.Index} {r.Name}", i.ToString(CultureInfo.InvariantCulture), List(layers[i]?["sigma"]), List(layers[i]?["p"]), N(RunRecord.Num(layers[i]?["output_norm"]), "0.000") });
            }
            doc.Table(new[] { "run", "layer", "σ(m_h) per head", "p per head", "output norm" }, rows);
        }

        // wall-clock section
        doc.WallClockSection();
        doc.Heading(2, "Throughput and memory");
        doc.Paragraph("Measured by each run on its own machine and thread count: these numbers differ between machines and between runs.");
        doc.Table(new[] { "#", "run", "tokens/s", "peak RSS (MB)", "wall (s)", "cpu" },
            runs.Select(r => new[]
            {
                r.Index.ToString(CultureInfo.InvariantCulture), r.Name, N(RunRecord.Num(r.Summary?["tokens_per_s"]), "0"),
                N(RunRecord.Num(r.Summary?["peak_rss_mb"]), "0"), N(RunRecord.Num(r.Summary?["wall_s"]), "0.0"), r.Summary?["cpu"]?.GetValue<string>() ?? "–",
            }));

        var md = Path.Combine(outDir, MarkdownFile);
        File.WriteAllText(md, doc.ToMarkdown());
        var html = Path.Combine(outDir, HtmlFile);
        File.WriteAllText(html, doc.ToHtml($"Sweep report: {results.Name}", outDir));
        return new ReportFiles(md, html, plots);
    }

    static string StatusText(RunRecord r) => r.Status switch
    {
        RunStatus.Diverged => $"diverged at step {r.Step}",
        _ => r.Status.ToText(),
    };

    static string Cell(RunRecord r) => r.Status switch
    {
        RunStatus.Completed => $"✓ {N(r.ValLoss, "0.000")}",
        RunStatus.Diverged => $"✗ step {r.Step}",
        RunStatus.Failed => "! failed",
        _ => "… " + r.Status.ToText(),
    };

    static string List(JsonNode? n) => n is JsonArray a ? string.Join(", ", a.Select(x => N(RunRecord.Num(x), "0.000"))) : "–";

    static bool LossPlot(string path, string title, IReadOnlyList<RunRecord> runs, bool validation)
    {
        var series = runs.Select(r =>
        {
            var recs = validation ? r.Eval : r.Train;
            string key = validation ? MetricKeys.ValLoss : MetricKeys.Loss;
            return new Series($"#{r.Index} {r.Name}", recs.Select(m => RunRecord.Num(m[MetricKeys.Step]) ?? 0).ToList(), recs.Select(m => RunRecord.Num(m[key]) ?? double.NaN).ToList());
        }).Where(s => s.X.Count > 0).ToList();
        if (File.Exists(path)) File.Delete(path);
        if (series.Count == 0) return false;
        LinePlot.Save(path, title, "step", validation ? "validation loss" : "training loss", series, width: 1000, height: 620);
        return File.Exists(path);
    }
}
