using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;

namespace BertLab.Experiments;

/// <summary>
/// The research-log study's report (issue 17 item 10, issue 25 items 9, 10) as a list of sections over one
/// <see cref="StudyReport"/>: first what a reader came for (a failed A/A, the verdict summary, the findings table with each
/// statistic), then the table of both tasks (`--beside`), the plots (ℓ(η) per optimiser with η_max brackets, the stability
/// diagnostics, the loss curves), the method (recipe departures, margin and its origin, the gate, the A/A, ℓ(η) per arm,
/// every finding's rule, observation, gate and runs), and the per-run tables last (folded away in the HTML). A further
/// stage's section is one more entry of <see cref="Sections"/>.
/// </summary>
public static class ResearchLogReport
{
    /// <summary>summary.json object of the stability diagnostics (issue 17 item 2); absent in older runs.</summary>
    public const string StabilityKey = "stability";

    static string N(double v, string f = "0.0000") => double.IsFinite(v) ? v.ToString(f, CultureInfo.InvariantCulture) : "–";
    static string Lr(double lr) => SweepDefinition.FormatNumber(lr);
    static string Mi(MeanInterval m, string f = "0.0000") => m.N < 2 ? $"{N(m.Mean, f)} (1 seed)" : $"{N(m.Mean, f)} ± {N((m.Upper - m.Lower) / 2, f)}";
    static string Unit(PairedComparison c) => c.Unit is string u ? " " + u : "";

    /// <summary>"−0.2000 [−0.2500, −0.1500] nats".</summary>
    public static string Interval(PairedComparison c) => $"{N(c.MeanDifference)} [{N(c.Lower)}, {N(c.Upper)}]{Unit(c)}";

    /// <summary>The sections in the order the report shows them. The follow-up stage's sections (η_max bisection, the horizon
    /// check, downstream accuracy) go after "findings".</summary>
    public static readonly IReadOnlyList<ReportSection> Sections = new ReportSection[]
    {
        new("aa-warning", AAWarning),
        new("verdicts", VerdictSummary),
        new("findings", FindingsTable),
        new("edge-of-stability", StudyFollowUpReport.Bisection),
        new("horizon", StudyFollowUpReport.Horizon),
        new("downstream", StudyFollowUpReport.Downstream),
        new("beside", BesideTable),
        new("plots", Plots),
        new("method", Method),
        new("loss-vs-lr", LossVsLrTable),
        new("finding-details", FindingDetails),
        new("per-run", PerRunTables),
    };

    /// <summary>Why the A/A does not vouch for the procedure (not equivalent, or not computable), or null when it passed or
    /// the budget runs none.</summary>
    public static string? AAProblem(StudyRuns st)
    {
        if (st.Budget.CalibrationSeeds is not int all) return null;
        var cal = st.Plan.Design.Calibration;
        string what = $"{cal.Arm.Name} at lr {Lr(st.Lr(cal.Lr))}, seeds 1–{all / 2} against {all / 2 + 1}–{all}";
        if (st.AA is null) return $"the built-in A/A could not be computed ({what}): its runs are missing or unfinished";
        if (st.AA.Outcome == ComparisonOutcome.Equivalent) return null;
        return $"the built-in A/A did not come out equivalent ({what}: {Interval(st.AA)}, margin {N(st.AA.Margin)}, {st.AA.N} pairs: {PairedComparison.OutcomeName(st.AA.Outcome)})";
    }

    static void AAWarning(StudyReport r)
    {
        if (AAProblem(r.Study) is not string problem) return;
        r.Doc.Paragraph($"**Warning: {problem}.** Two halves of one configuration must be equivalent at the study's margin; " +
                        "where they are not, the procedure cannot tell identical arms apart at this margin, and every verdict below is suspect.");
    }

    static void VerdictSummary(StudyReport r)
    {
        var v = r.Verdicts;
        var doc = r.Doc;
        doc.Heading(2, "Verdicts");
        int decided = v.Count(x => x.Result.Decided);
        string Count(VerdictClass c) => $"{v.Count(x => x.Result.Class == c)} {Verdict.ClassName(c)}";
        var undecided = Enum.GetValues<VerdictClass>().Where(c => c is not (VerdictClass.Agrees or VerdictClass.Disagrees) && v.Any(x => x.Result.Class == c)).Select(Count).ToList();
        doc.Paragraph($"**{decided} of {v.Count} findings decided** on {StudyFindingsFile.TaskLabel(r.Study)}, budget `{r.Study.Budget.Name}`: " +
                      $"{Count(VerdictClass.Agrees)}, {Count(VerdictClass.Disagrees)}" + (undecided.Count > 0 ? $". Not decided: {string.Join(", ", undecided)}." : "."));
        doc.Table(new[] { "verdict", "findings", "count" }, Enum.GetValues<VerdictClass>().Select(c =>
        {
            var ids = v.Where(x => x.Result.Class == c).Select(x => x.Id).ToList();
            return new[] { Verdict.ClassName(c), ids.Count == 0 ? "–" : string.Join(", ", ids), ids.Count.ToString(CultureInfo.InvariantCulture) };
        }));
        doc.Paragraph(AAText(r.Study));
    }

    /// <summary>The A/A as one sentence: a check of the procedure that must come out equivalent.</summary>
    public static string AAText(StudyRuns st)
    {
        if (st.Budget.CalibrationSeeds is not int all) return "Built-in A/A: none at this budget (its calibration arm runs the study's seeds only).";
        var cal = st.Plan.Design.Calibration;
        string head = $"Built-in A/A (a check of the procedure, which must come out equivalent): the calibration runs ({cal.Arm.Name} at lr {Lr(st.Lr(cal.Lr))}), " +
                      $"seeds 1–{all / 2} against {all / 2 + 1}–{all}, paired by position, at the study margin: ";
        if (st.AA is not PairedComparison aa) return head + "**not computed** (runs missing or unfinished).";
        return head + $"{Interval(aa)}, margin {N(aa.Margin)}, {aa.N} pairs: **{PairedComparison.OutcomeName(aa.Outcome)}**" +
               (aa.Outcome == ComparisonOutcome.Equivalent ? " — the procedure passes." : " — the procedure fails its own check; the verdicts are suspect.");
    }

    static void FindingsTable(StudyReport r)
    {
        var doc = r.Doc;
        doc.Heading(2, "Findings");
        doc.Paragraph("Verdict classes: agrees / disagrees (the 95% interval of the paired difference lies beyond the margin, or for a \"did not help\" claim the equivalence test within ±margin) / " +
                      "underpowered (with the paired seeds that would decide it at the observed spread) / not exercised (the mechanism never acted) / not applicable (why) / " +
                      "horizon too short (attention not in use). Statistic: the comparison that decided the verdict, mean paired difference a − b [95% interval], in nats (losses) or decades (η_max); " +
                      "where the interval excludes 0 but lies inside the margin, the reason says so (a consistent difference smaller than the margin). Every comparison, rule and run is listed under Method.");
        doc.Table(new[] { "finding", "claim", "verdict", "statistic: mean [95% interval]", "margin", "seeds", "why" },
            r.Verdicts.Select(v =>
            {
                var c = v.Result.Statistic;
                var what = v.Statistics.FirstOrDefault(x => ReferenceEquals(x.Statistic, c) && c is not null)?.Comparison;
                int others = v.Statistics.Count(x => x.Decides && !ReferenceEquals(x.Statistic, c));
                string stat = c is null ? "–" : (what is null ? "" : $"{what} = ") + Interval(c) + (others > 0 ? $" (+{others} more comparison{(others > 1 ? "s" : "")}, under Method)" : "");
                return new[]
                {
                    v.Id, v.Claim, "**" + v.VerdictName + "**" + (v.Result.SeedsNeeded is int k ? $" ({k} seeds needed)" : ""),
                    stat, c is null ? "–" : N(c.Margin) + Unit(c), c is null ? "–" : c.N.ToString(CultureInfo.InvariantCulture), v.Result.Reason,
                };
            }));
    }

    /// <summary>How two studies' verdicts on one finding relate: "yes" (both decide, same class), "no" (both decide, opposite
    /// classes); without a decision on both sides there is nothing to agree on, and the text says which side decides or, when
    /// both have the same undecided class, that class.</summary>
    public static string Agreement(string here, bool hereDecided, string? there, bool thereDecided)
    {
        if (there is null) return "– (not in the other study)";
        if (hereDecided && thereDecided) return here == there ? "yes" : "no";
        if (hereDecided) return "– (decided here only)";
        if (thereDecided) return "– (decided beside only)";
        return here == there ? $"– (both {here})" : "– (neither decides)";
    }

    static void BesideTable(StudyReport r)
    {
        if (r.Beside is not StudyFindingsSummary other) return;
        var doc = r.Doc;
        var mine = StudyFindingsFile.FromJson(r.Findings, "this study");
        string source = Path.GetRelativePath(Path.GetFullPath(r.OutDir), Path.GetFullPath(other.Source)).Replace(Path.DirectorySeparatorChar, '/');
        doc.Heading(2, "Both tasks");
        doc.Paragraph($"This study: {mine.Task}, budget `{mine.Budget}`. Beside it: {other.Task}, budget `{other.Budget}` (`{source}`). " +
                      "Agree: **yes** where both studies decide (agrees or disagrees) with the same class, **no** where both decide with opposite classes. " +
                      "Underpowered, not exercised, not applicable and horizon too short are no decisions: where either side has one there is no agreement to state, " +
                      "and the column says which side decides, or the class both share.");
        var byId = other.Findings.ToDictionary(f => f.Id);
        static string Cell(FindingSummary f) => $"**{f.Verdict}**" + (f.Statistic is string s ? $": {s}" : "");
        var rows = mine.Findings.Select(f =>
        {
            byId.TryGetValue(f.Id, out var o);
            return new[] { f.Id, f.Claim, Cell(f), o is null ? "–" : Cell(o), Agreement(f.Verdict, f.Decided, o?.Verdict, o?.Decided ?? false) };
        }).ToList();
        rows.AddRange(other.Findings.Where(f => mine.Findings.All(m => m.Id != f.Id)).Select(o => new[] { o.Id, o.Claim, "–", Cell(o), "– (not in this study)" }));
        doc.Table(new[] { "finding", "claim", $"this study (`{mine.Budget}`)", $"beside (`{other.Budget}`)", "agree" }, rows);
        int both = mine.Findings.Count(f => f.Decided && byId.TryGetValue(f.Id, out var o) && o.Decided);
        int same = mine.Findings.Count(f => f.Decided && byId.TryGetValue(f.Id, out var o) && o.Decided && o.Verdict == f.Verdict);
        int hereOnly = mine.Findings.Count(f => f.Decided && !(byId.TryGetValue(f.Id, out var o) && o.Decided));
        int thereOnly = other.Findings.Count(o => o.Decided && !mine.Findings.Any(f => f.Id == o.Id && f.Decided));
        doc.Paragraph($"Both decide {both} finding{(both == 1 ? "" : "s")}: they agree on {same} and contradict each other on {both - same}; decided here only: {hereOnly}; beside only: {thereOnly}.");
    }

    static void Plots(StudyReport r)
    {
        var doc = r.Doc;
        var st = r.Study;
        doc.Heading(2, "Plots");
        var path = Path.Combine(r.OutDir, StudyPlots.LossVsLrFile);
        if (StudyPlots.LossVsLr(path, st, r.MaxLrBrackets, "η_max per arm: between the last stable and the first unstable lr"))
        {
            doc.Paragraph($"ℓ(η) per arm with an lr grid (mean over seeds, 95% bars), one panel per optimiser, the same y axis; under each panel the η_max bracket of each of its arms, from {r.BracketOrigin}.");
            r.Image(StudyPlots.LossVsLrFile, "loss against learning rate per arm, one panel per optimiser, with η_max brackets");
        }
        var stab = Path.Combine(r.OutDir, StudyPlots.StabilityFile);
        if (StudyPlots.Stability(stab, st))
        {
            doc.Paragraph("Stability diagnostics against the learning rate, per arm with an lr grid (mean over the seeds whose run wrote them; summary.json \"stability\"): " +
                          string.Join("; ", StudyPlots.Diagnostics.Select(d => d.Title)) + ". Per run in the tables at the end.");
            r.Image(StudyPlots.StabilityFile, "stability diagnostics against learning rate per arm");
        }
        SweepReport.LossCurves(doc, r.Results.Runs, r.OutDir, r.Plots, 3);
    }

    static void Method(StudyReport r)
    {
        var doc = r.Doc;
        var st = r.Study;
        var b = st.Budget;
        doc.Heading(2, "Method");
        doc.Heading(3, "How this study departs from the original recipe");
        doc.Paragraph("The original work: BERT-base (12×768), batch 256 of sentence pairs of varying length (up to 512), Adam then AdamW (ε 1e-7, weight decay 0.01 on all parameters), " +
                      "no clipping in the committed runs, lr 1e-5 then 1e-4 after 10k warmup steps, bf16, up to 1M steps. Every arm here keeps ε 1e-7, weight decay 0.01 on every parameter " +
                      "(no_decay []), warmup then a constant lr, and clips only in the clipping arm.");
        var arms = st.Plan.Arms;
        doc.Table(new[] { "arm", "model", "batch × seq_len", "tokens seen (1st run)", "optimiser", "clipping", "precision", "data", "lrs", "seeds" },
            arms.Select(a =>
            {
                var run = st.Seeds.Select(s => st.Run(a.Arm, a.Lrs[0], s)).FirstOrDefault(x => x?.Config is not null);
                var c = run?.Config;
                int batch = (int)(RunRecord.Num(c?["run"]?["batch_size"]) ?? b.BatchSize), seq = (int)(RunRecord.Num(c?["data"]?["seq_len"]) ?? b.SeqLen);
                int steps = (int)(RunRecord.Num(c?["run"]?["steps"]) ?? b.Steps);
                string opt = c?["optimizer"] is JsonObject o
                    ? $"{o["name"]} (wd {Lr(RunRecord.Num(o["weight_decay"]) ?? double.NaN)}{(o["name"]?.GetValue<string>() == "adam" ? " as L2" : " decoupled")}, ε {Lr(RunRecord.Num(o["eps"]) ?? double.NaN)})" : "–";
                double clip = RunRecord.Num(c?["optimizer"]?["clip_norm"]) ?? 0;
                var extra = a.Lrs.Where(lr => st.Plan.SeedsOf(a.Arm, lr) != b.Seeds).Select(lr => $"{st.Plan.SeedsOf(a.Arm, lr)} at {Lr(lr)}").ToList();
                return new[]
                {
                    a.Arm.Name, c?["model"]?["hidden_size"] is JsonNode h ? $"{c["model"]!["num_hidden_layers"]}×{h}" : b.Model, $"{batch} × {seq}",
                    // real tokens trained (summary.json) where the run says; else the slots batch × seq_len × steps
                    (RunRecord.Num(run?.Summary?["tokens"]) is double real && real > 0 ? (long)real : (long)batch * seq * steps).ToString("N0", CultureInfo.InvariantCulture), opt, clip > 0 ? Lr(clip) : "none",
                    c?["run"]?["precision"]?.GetValue<string>() ?? b.Precision, c?["data"]?["synthetic"]?.GetValue<string>() is string task ? $"synthetic {task.Split(':')[0]} (variable n)" : c?["data"]?["packing"]?.GetValue<string>() ?? "packed (n = seq_len)",
                    string.Join(", ", a.Lrs.Select(Lr)), st.Seeds.Count.ToString(CultureInfo.InvariantCulture) + (extra.Count > 0 ? $" ({string.Join(", ", extra)})" : ""),
                };
            }));

        doc.Heading(3, "Margin, the \"attention in use\" gate and the A/A");
        doc.Paragraph($"Margin: {N(st.Margin)} nats, {st.MarginOrigin}; one margin for every loss comparison of this study. η_max orderings use {N(st.LrMarginDecades, "0.000")} decade. " +
                      $"Learning rates map the log's decades onto this model: the log's 1e-4 is the anchor {Lr(b.Log1e4)} (the small model's softmax optimum), its 1e-5 is {Lr(b.Log1e5)}. " +
                      $"ℓ(η) = mean of a run's last two validation losses, capped at ln V = {N(st.LnV, "0.000")} (a diverged run scores ln V).");
        doc.Paragraph($"Task: every arm trains and is validated on {st.TaskText}" + (st.Task is not null
            ? " (BertLab's generated positional lookup: a query @j must be answered with the j-th value of the sequence, so a masked value can only be recovered by attending to its position; sequence lengths vary within every batch)."
            : $" ({StudyFindingsFile.TaskLabel(st)}; sentence pairs of natural length)."));
        doc.Paragraph($"Gate: {st.GateText}" + (st.GateLr(b.Log1e5) != b.Log1e4 ? $"; at the log's 1e-5: {st.GateTextAt(b.Log1e5)}" : "") +
                      ". Loss comparisons are decided only where attention is in use at the comparison's lr; otherwise they are \"horizon too short\".");
        doc.Paragraph(AAText(st));
    }

    static void LossVsLrTable(StudyReport r)
    {
        var doc = r.Doc;
        var st = r.Study;
        doc.Heading(3, "Loss against learning rate");
        doc.Paragraph("Per arm with a grid: ℓ(η) as mean ± 95% half-width over seeds, then η* (best lr), η_max (largest lr within 0.5 nat of ℓ* that did not diverge), " +
                      "the η_max bracket the plot marks, and the LR sensitivity (mean over the grid of ℓ(η) − ℓ*), per seed and as mean ± 95% half-width (η on log10).");
        var rows = new List<string[]>();
        foreach (var (a, _) in StudyPlots.GridArms(st))
        {
            var cells = new List<string>();
            foreach (var lr in a.Lrs)
            {
                var vals = st.Seeds.Select(s => st.Score(a.Arm, lr, s)).Where(v => v is not null).Select(v => v!.Value).ToList();
                int div = st.Seeds.Count(s => st.Run(a.Arm, lr, s) is { Diverged: true });
                cells.Add(vals.Count == 0 ? $"{Lr(lr)}: –" : $"{Lr(lr)}: {Mi(MeanInterval.Of(vals), "0.000")}" + (div > 0 ? $" ({div} diverged)" : ""));
            }
            var per = st.Sensitivity(a.Arm);
            string eta = "–", etaMax = "–", sens = "–";
            if (per.Count > 0)
            {
                eta = string.Join(", ", per.OrderBy(kv => kv.Key).Select(kv => Lr(kv.Value.BestLr)));
                etaMax = string.Join(", ", per.OrderBy(kv => kv.Key).Select(kv => double.IsFinite(kv.Value.MaxStableLr) ? Lr(kv.Value.MaxStableLr) : "none"));
                sens = Mi(MeanInterval.Of(per.Values.Select(v => v.Sensitivity).ToList()), "0.000");
            }
            string bracket = r.MaxLrBrackets.TryGetValue(a.Arm, out var br) ? $"({(br.LastStable is double lo ? Lr(lo) : "below the grid")}, {(br.FirstUnstable is double hi ? Lr(hi) : "above the grid")}]" : "–";
            rows.Add(new[] { a.Arm.Name, string.Join("; ", cells), eta, etaMax, bracket, sens });
        }
        doc.Table(new[] { "arm", "ℓ(η) by lr (mean ± 95%)", "η* per seed", "η_max per seed", "edge of stability in", "LR sensitivity" }, rows);
    }

    static void FindingDetails(StudyReport r)
    {
        var doc = r.Doc;
        doc.Heading(3, "Findings in detail");
        doc.Paragraph("Per finding: the rule as stated before the runs, every comparison it computed (mean paired difference [95% interval], margin, seeds (outcome)), " +
                      "the \"attention in use\" gate at the finding's lr, and the runs it rests on (by # of the runs table; findings.json names their directories).");
        doc.Table(new[] { "finding", "rule", "observed", "gate", "runs" },
            r.Verdicts.Select(v => new[]
            {
                v.Id, v.Rule, v.Observed, v.Gate,
                v.Runs.Count == 0 ? "–" : $"{v.Runs.Count} runs: " + string.Join(", ", v.Runs.Select(n => r.Results.Find(n) is RunRecord run ? $"#{run.Index}" : "missing").Distinct()),
            }));
    }

    static void PerRunTables(StudyReport r)
    {
        var doc = r.Doc;
        var runs = r.Results.Runs;
        doc.Heading(2, "Per-run tables");
        doc.BeginCollapsed($"Per-run tables ({runs.Count} runs): final validation, stability matrix, stability diagnostics, fine-tuning, learned parameters");
        SweepReport.RunTables(doc, runs, 3);
        SweepReport.StabilityMatrix(doc, runs, 3);
        StabilityTable(r);
        SweepReport.Finetune(doc, runs, 3);
        SweepReport.LearnedParameters(doc, runs, 3);
        doc.EndCollapsed();
    }

    static void StabilityTable(StudyReport r)
    {
        var doc = r.Doc;
        doc.Heading(3, "Stability diagnostics");
        var withStab = r.Results.Runs.Where(x => StudyPlots.StabilityOf(x) is not null).ToList();
        if (withStab.Count == 0)
        {
            doc.Paragraph($"No run wrote stability diagnostics (summary.json \"{StabilityKey}\": attention-output norms and growth, slope against log n, logit range, loss and gradient spikes); the runs predate them.");
            return;
        }
        doc.Paragraph("Per run (summary.json \"stability\"): the lowest training loss, steps with a loss spike (> 1 nat above the running minimum) and with a gradient-norm spike (> 10 × the median so far), " +
                      "the median gradient norm, and per layer the attention-output norm growth (end ÷ end of warmup), the mean slope of the output norm against ln n and the largest logit range.");
        static string Layers(JsonObject s, string key) => s["layers"] is JsonArray a && a.Count > 0
            ? string.Join(", ", a.Select(l => RunRecord.Num(l?[key]) is double d ? N(d, "0.###") : "–")) : "–";
        doc.Table(new[] { "#", "run", "loss min", "loss spikes", "grad spikes", "grad-norm median", "norm growth per layer", "slope vs ln n per layer", "logit range max per layer" },
            withStab.Select(x =>
            {
                var s = StudyPlots.StabilityOf(x)!;
                return new[]
                {
                    x.Index.ToString(CultureInfo.InvariantCulture), x.Name, N(RunRecord.Num(s["loss_min"]) ?? double.NaN, "0.000"),
                    N(RunRecord.Num(s["loss_spike_steps"]) ?? double.NaN, "0"), N(RunRecord.Num(s["grad_spike_steps"]) ?? double.NaN, "0"), N(RunRecord.Num(s["grad_norm_median"]) ?? double.NaN, "0.###"),
                    Layers(s, "output_norm_growth"), Layers(s, "norm_slope_log_n_mean"), Layers(s, "logit_range_max"),
                };
            }));
    }
}
