using BertLab.Training;
using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Plotting;
using BertLab.Experiments.Study;

namespace BertLab.Experiments;

/// <summary>Where `bertlab report` wrote its files; <see cref="Findings"/>: findings.json of a study (null for other sweeps).</summary>
public sealed record ReportFiles(string Markdown, string Html, IReadOnlyList<string> Plots, string? Findings = null);

/// <summary>
/// `bertlab report SWEEP_DIR`: report.md and a self-contained report.html. A sweep's report opens with the stability matrix
/// (attention × learning rate) and the loss curves; a research-log study's with its verdicts and findings
/// (<see cref="ResearchLogReport"/>, which also writes findings.json). The per-run tables (runs, fine-tuning scores, learned σ and
/// p) come last, folded away in the HTML. Everything before the wall-clock section (tokens/s, peak memory, wall time) depends
/// only on the runs' results, so a sweep run on a cluster and the same sweep run locally give the same text there.
/// </summary>
public static class SweepReport
{
    public const string MarkdownFile = "report.md", HtmlFile = "report.html";

    static string N(double? v, string format = "0.0000") => v is double d ? (double.IsFinite(d) ? d.ToString(format, CultureInfo.InvariantCulture) : d.ToString(CultureInfo.InvariantCulture)) : "–";

    /// <param name="beside">another research-log study (its sweep directory, a report directory holding findings.json, or the
    /// file) whose verdicts the report sets beside this study's; research-log sweeps only.</param>
    public static ReportFiles Write(string sweepDir, string? outDir = null, string? beside = null)
    {
        var results = SweepResults.Load(sweepDir);
        bool study = results.Builtin == ResearchLogSweep.Name && results.Budget is string bn && ResearchLogSweep.Budgets.ContainsKey(bn);
        if (beside is not null && !study)
            throw new BertLabException($"--beside: {sweepDir} is not a research-log study of a known budget ({ResearchLogSweep.BudgetNames}); the table of both tasks compares two such studies");
        // read the other study first: an error there leaves nothing half written
        var other = beside is null ? null : StudyFindingsFile.Load(beside);
        outDir ??= sweepDir;
        Directory.CreateDirectory(outDir);
        var doc = new ReportDocument();
        var plots = new List<string>();
        var runs = results.Runs;

        doc.Heading(1, $"Sweep report: {results.Name}");
        if (results.Description is string desc) doc.Paragraph(desc);
        var counts = runs.GroupBy(r => r.Status.ToText()).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Count()} {g.Key}");
        doc.Paragraph($"{runs.Count} runs: {string.Join(", ", counts)}." + (results.Budget is string b ? $" Budget: `{b}`." : ""));

        string? findingsPath = null;
        if (study)
        {
            var plan = ResearchLogSweep.Plan(ResearchLogSweep.Budgets[results.Budget!]);
            var grid = new StudyRuns(results, plan);
            // a follow-up stage's bisection refines η_max (and its margin); its horizon check and downstream scores add sections
            var bisection = FollowUpResults.Bisection(sweepDir);
            var st = bisection.Count > 0 ? new StudyRuns(results, plan, bisection) : grid;
            var verdicts = ResearchLogFindings.Evaluate(st);
            var findings = StudyFindingsFile.Build(st, verdicts);
            var report = new StudyReport
            {
                Doc = doc, Study = st, Verdicts = verdicts, OutDir = outDir, Plots = plots, Beside = other,
                MaxLrBrackets = bisection.Count > 0 ? StudyPlots.Brackets(st) : StudyPlots.GridBrackets(st), Findings = findings,
                BracketOrigin = bisection.Count > 0 ? $"the lr grid and {bisection.Count} bisection round(s): last stable lr (η_max) to the first unstable lr run, union over seeds; dashed: open" : StudyReport.GridBracketOrigin,
                FollowUp = FollowUpReading.Load(sweepDir, grid, st),
            };
            foreach (var section in ResearchLogReport.Sections) section.Write(report);
            if (StudyFollowUpReport.Json(report) is JsonObject followUp) findings["follow_up"] = followUp;
            findingsPath = StudyFindingsFile.Write(outDir, findings);
        }
        else
        {
            if (results.Builtin == ResearchLogSweep.Name)
                doc.Paragraph($"This sweep's budget ('{results.Budget ?? "none"}') is not one of the research-log study's ({ResearchLogSweep.BudgetNames}): no finding can be decided from it.");
            StabilityMatrix(doc, runs, 2);
            LossCurves(doc, runs, outDir, plots, 2);
            doc.Heading(2, "Per-run tables");
            doc.BeginCollapsed($"Per-run tables ({runs.Count} runs)");
            RunTables(doc, runs, 3);
            Finetune(doc, runs, 3);
            LearnedParameters(doc, runs, 3);
            doc.EndCollapsed();
        }

        // wall-clock section
        doc.WallClockSection();
        Throughput(doc, runs, 2);

        var md = Path.Combine(outDir, MarkdownFile);
        File.WriteAllText(md, doc.ToMarkdown());
        var html = Path.Combine(outDir, HtmlFile);
        File.WriteAllText(html, doc.ToHtml($"Sweep report: {results.Name}", outDir));
        return new ReportFiles(md, html, plots, findingsPath);
    }

    /// <summary>The sequence length most runs use (the attention labels name the others').</summary>
    public static int CommonSeqLen(IReadOnlyList<RunRecord> runs) => runs.Select(r => RunRecord.Num(r.Config?["data"]?["seq_len"])).Where(x => x is not null)
        .GroupBy(x => (int)x!.Value).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).Select(g => g.Key).FirstOrDefault();

    /// <summary>Every run's final validation, and the diverged and failed runs with their reason.</summary>
    public static void RunTables(ReportDocument doc, IReadOnlyList<RunRecord> runs, int level)
    {
        int commonSeq = CommonSeqLen(runs);
        doc.Heading(level, "Runs");
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
    }

    /// <summary>Attention × learning rate: each cell lists the runs there with their outcome.</summary>
    public static void StabilityMatrix(ReportDocument doc, IReadOnlyList<RunRecord> runs, int level)
    {
        int commonSeq = CommonSeqLen(runs);
        doc.Heading(level, "Stability matrix (attention × learning rate)");
        doc.Paragraph("Each cell lists the runs with that attention and learning rate: ✓ converged (completed; final val loss), ✗ diverged at step k, ! failed, … not finished.");
        var lrs = runs.Select(r => r.Lr).Where(x => x is not null).Select(x => x!.Value).Distinct().OrderBy(x => x).ToList();
        var attentions = runs.Select(r => r.AttentionLabel(commonSeq)).Distinct().ToList();
        doc.Table(new[] { "attention" }.Concat(lrs.Select(lr => "lr " + SweepDefinition.FormatNumber(lr))).ToArray(),
            attentions.Select(a => new[] { a }.Concat(lrs.Select(lr => string.Join("; ", runs
                .Where(r => r.AttentionLabel(commonSeq) == a && r.Lr == lr)
                .Select(r => $"#{r.Index} {Cell(r)}")))).ToArray()));
    }

    /// <summary>Training and validation loss of every run against the step.</summary>
    public static void LossCurves(ReportDocument doc, IReadOnlyList<RunRecord> runs, string outDir, List<string> plots, int level)
    {
        doc.Heading(level, "Loss curves");
        foreach (var (file, title, validation) in new[] { ("plots/train_loss.png", "Training loss (all runs)", false), ("plots/val_loss.png", "Validation loss (all runs)", true) })
        {
            if (!LossPlot(Path.Combine(outDir, file), title, runs, validation)) continue;
            plots.Add(Path.Combine(outDir, file));
            if (runs.Count > LinePlot.MaxLegendEntries) doc.Paragraph($"{title}: one line per run, {runs.Count} runs, too many to name in a legend (the per-run tables hold every run's final losses).");
            doc.Image(file, title);
        }
    }

    /// <summary>Fine-tuning results found in the run directories.</summary>
    public static void Finetune(ReportDocument doc, IReadOnlyList<RunRecord> runs, int level)
    {
        var ft = runs.SelectMany(r => r.Finetune.Select(f => (r, f))).ToList();
        doc.Heading(level, "Fine-tuning");
        if (ft.Count == 0) doc.Paragraph("No fine-tuning results (results.json of `bertlab finetune --from <run>/model --out <run>/finetune-<task>`) were found in the run directories.");
        else
        {
            var metricNames = ft.SelectMany(x => x.f.Metrics.Keys).Distinct().OrderBy(k => k == "score" ? "" : k, StringComparer.Ordinal).ToList();
            doc.Table(new[] { "#", "run", "task" }.Concat(metricNames).ToArray(),
                ft.Select(x => new[] { x.r.Index.ToString(CultureInfo.InvariantCulture), x.r.Name, x.f.Task }
                    .Concat(metricNames.Select(m => x.f.Metrics.TryGetValue(m, out var v) ? N(v) : "–")).ToArray()));
        }
    }

    /// <summary>The learned σ exponents and p values of the runs that have them.</summary>
    public static void LearnedParameters(ReportDocument doc, IReadOnlyList<RunRecord> runs, int level)
    {
        doc.Heading(level, "Learned attention parameters (σ exponents and p values)");
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
    }

    /// <summary>Tokens/s, peak memory and wall time per run (after the wall-clock marker: they differ between machines).</summary>
    public static void Throughput(ReportDocument doc, IReadOnlyList<RunRecord> runs, int level)
    {
        doc.Heading(level, "Throughput and memory");
        doc.Paragraph("Measured by each run on its own machine and thread count: these numbers differ between machines and between runs.");
        doc.BeginCollapsed($"Throughput and memory per run ({runs.Count} runs)");
        doc.Table(new[] { "#", "run", "tokens/s", "peak RSS (MB)", "wall (s)", "cpu" },
            runs.Select(r => new[]
            {
                r.Index.ToString(CultureInfo.InvariantCulture), r.Name, N(RunRecord.Num(r.Summary?["tokens_per_s"]), "0"),
                N(RunRecord.Num(r.Summary?["peak_rss_mb"]), "0"), N(RunRecord.Num(r.Summary?["wall_s"]), "0.0"), r.Summary?["cpu"]?.GetValue<string>() ?? "–",
            }));
        doc.EndCollapsed();
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
