using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using static BertLab.Experiments.Study.StudyFormat;

namespace BertLab.Experiments;

/// <summary>
/// A study's follow-up stage as read back for its report (<see cref="FollowUpPlan"/> made the runs): the η_max bisection
/// rounds, the horizon check (every decided loss finding compared again at the longer horizon, and Kendall's τ of the grid
/// arms' ranking at both horizons) and the downstream accuracy per mechanism with the Cottention paper's claim. Null parts:
/// that part of the stage has not run (or has not finished) in the sweep directory.
/// </summary>
public sealed record FollowUpReading
{
    public required FollowUpSettings Settings { get; init; }
    public required IReadOnlyList<SweepResults> Bisection { get; init; }
    /// <summary>The horizon sweep read through the study's plan (same names, same margin), or null when it has not run.</summary>
    public StudyRuns? Longer { get; init; }
    public IReadOnlyList<HorizonFinding> Horizon { get; init; } = Array.Empty<HorizonFinding>();
    public RankCorrelation? Ranking { get; init; }
    public IReadOnlyList<DownstreamScores> Downstream { get; init; } = Array.Empty<DownstreamScores>();
    public Verdict? Paper { get; init; }
    public IReadOnlyList<(DownstreamTask Task, PairedComparison? Comparison)> PaperParts { get; init; } = Array.Empty<(DownstreamTask, PairedComparison?)>();

    public bool Any => Bisection.Count > 0 || Longer is not null || Downstream.Any(d => d.BySeed.Count > 0);

    /// <summary>Reads the follow-up stage under <paramref name="sweepDir"/>; null when the budget has none or nothing of it ran.
    /// <paramref name="grid"/> is the first stage read without the bisection: the horizon check's pairs come from its verdicts,
    /// as the stage planned them.</summary>
    public static FollowUpReading? Load(string sweepDir, StudyRuns grid, StudyRuns withBisection)
    {
        if (grid.Budget.FollowUp is not FollowUpSettings settings || !Directory.Exists(Path.Combine(sweepDir, FollowUpPlan.Folder))) return null;
        StudyRuns? longer = null;
        IReadOnlyList<HorizonFinding> horizon = Array.Empty<HorizonFinding>();
        RankCorrelation? ranking = null;
        string hdir = FollowUpPlan.HorizonDir(sweepDir);
        if (File.Exists(SweepState.PathOf(hdir)))
        {
            longer = new StudyRuns(SweepResults.Load(hdir), grid.Plan);
            horizon = FollowUpResults.Horizon(grid, longer, ResearchLogFindings.Evaluate(grid), ResearchLogFindings.Evaluate);
            ranking = FollowUpResults.Ranking(grid, longer, settings.HorizonSeeds);
        }
        var (scores, paper, parts) = ResearchLogFollowUp.Downstream(grid, sweepDir);
        var reading = new FollowUpReading
        {
            Settings = settings, Bisection = withBisection.Bisection, Longer = longer, Horizon = horizon, Ranking = ranking,
            Downstream = scores, Paper = scores.Any(s => s.BySeed.Count > 0) ? paper : null, PaperParts = parts,
        };
        return reading.Any ? reading : null;
    }
}

/// <summary>The report sections of the follow-up stage (after the findings table): η_max at the bisection's resolution, the
/// horizon check, downstream accuracy beside masked-LM loss; and their part of findings.json.</summary>
public static class StudyFollowUpReport
{
    static string Pct(double v) => double.IsFinite(v) ? (100 * v).ToString("0.00", CultureInfo.InvariantCulture) : "–";
    static string Mi(IReadOnlyList<double> v, Func<double, string> f) =>
        v.Count == 0 ? "–" : v.Count == 1 ? $"{f(v[0])} (1 seed)" : MeanInterval.Of(v) is var m ? $"{f(m.Mean)} [{f(m.Lower)}, {f(m.Upper)}]" : "";

    /// <summary>The command that runs the stage over this study.</summary>
    public static string Command(StudyRuns st) => $"bertlab sweep run research-log --budget {st.Budget.Name} --stage follow-up --out <study directory>";

    public static void Bisection(StudyReport r)
    {
        if (r.FollowUp is not { Bisection.Count: > 0 } f) return;
        var st = r.Study;
        var doc = r.Doc;
        doc.Heading(2, "Edge of stability at the bisection's resolution (follow-up)");
        doc.Paragraph($"{f.Bisection.Count} bisection round(s) after the grid ({f.Bisection.Sum(b => b.Runs.Count)} runs; `{Command(st)}`): " +
                      $"per arm and seed, the geometric mean of the bracket between the last stable and the first unstable lr, so η_max is known to " +
                      $"{N(st.LrMarginDecades, "0.000")} decade, which is the η_max margin of findings 4c, 5, 6b and 8 in this report (a quarter decade on the grid alone). " +
                      "Stable: finished, and within 0.1 nat of the seed's best ℓ over its lrs.");
        var arms = FollowUpPlan.MaxLrArms(st.Plan);
        doc.Table(new[] { "arm" }.Concat(st.Seeds.Select(s => $"seed {s}: (η_max, first unstable]")).ToArray(),
            arms.Select(a => new[] { a.Name }.Concat(st.Seeds.Select(s => st.Bracket(a, s) is { } br
                ? $"({Lr(br.Lo)}, {(br.Hi is double h ? Lr(h) : "none above")}]" : "no stable lr")).ToArray()));
    }

    public static void Horizon(StudyReport r)
    {
        if (r.FollowUp is not { Longer: not null } f) return;
        var doc = r.Doc;
        var st = r.Study;
        int steps = st.Budget.Steps * f.Settings.HorizonFactor;
        doc.Heading(2, $"Horizon check: {f.Settings.HorizonFactor} × the steps (follow-up)");
        doc.Paragraph($"Every decided loss finding's comparisons trained again to {steps:N0} steps on seeds 1–{f.Settings.HorizonSeeds}, continuing the first stage's runs from their " +
                      $"{st.Budget.Steps}-step checkpoints where the first stage kept them, else from step 0 with the same seed and configuration ({f.Longer.Results.Runs.Count} runs; `{Command(st)}`). A verdict **holds** when every " +
                      "comparison's mean difference stays in the region the budget's verdict put it in (a better / within ±margin / b better); it is **horizon-sensitive** " +
                      "when one moves to another region, and **flips** when one moves from a better to b better or back. With few seeds the longer horizon's region is read from " +
                      "the mean; its interval is beside it.");
        if (f.Horizon.Count == 0) doc.Paragraph("No decided loss finding had comparisons to check.");
        else
            doc.Table(new[] { "finding", "verdict at budget", "verdict at longer horizon", "comparison (a − b)", $"at {st.Budget.Steps} steps", $"at {steps} steps", "region", "outcome" },
                f.Horizon.SelectMany(h => h.Pairs.Select((p, i) => new[]
                {
                    i == 0 ? h.Id : "", i == 0 ? h.BudgetVerdict : "", i == 0 ? h.LongerVerdict : "",
                    $"{p.A.Name} @ {Lr(p.LrA)} − {p.B.Name} @ {Lr(p.LrB)}",
                    p.AtBudget is null ? "–" : ResearchLogReport.Interval(p.AtBudget) + $" ({p.AtBudget.N} seeds)",
                    p.AtLonger is null ? "runs missing" : ResearchLogReport.Interval(p.AtLonger) + $" ({p.AtLonger.N} seeds)",
                    $"{FollowUpResults.RegionName(p.BudgetRegion)} → {FollowUpResults.RegionName(p.LongerRegion)}",
                    i == 0 ? "**" + h.Outcome + "**" : "",
                })));
        if (f.Ranking is RankCorrelation rk)
        {
            var byBudget = rk.Items.OrderBy(x => x.AtBudget).Select(x => x.Arm).ToList();
            var byLonger = rk.Items.OrderBy(x => x.AtLonger).Select(x => x.Arm).ToList();
            doc.Paragraph($"Ranking of the grid mechanisms, each at its η* (mean ℓ over seeds 1–{f.Settings.HorizonSeeds}): **Kendall's τ-b = {N(rk.Tau, "0.00")}** " +
                          $"between the ranking at {st.Budget.Steps} and at {steps} steps ({rk.Items.Count} mechanisms; +1 the same order, −1 reversed).");
            doc.Table(new[] { "mechanism", $"ℓ at {st.Budget.Steps}", "rank", $"ℓ at {steps}", "rank" },
                rk.Items.Select(x => new[] { x.Arm, N(x.AtBudget), (byBudget.IndexOf(x.Arm) + 1).ToString(CultureInfo.InvariantCulture), N(x.AtLonger), (byLonger.IndexOf(x.Arm) + 1).ToString(CultureInfo.InvariantCulture) }));
        }
    }

    public static void Downstream(StudyReport r)
    {
        if (r.FollowUp is not { } f || !f.Downstream.Any(d => d.BySeed.Count > 0)) return;
        var doc = r.Doc;
        var st = r.Study;
        doc.Heading(2, "Downstream accuracy per mechanism (follow-up)");
        doc.Paragraph("Each mechanism's first-stage model at its η* (the grid lr with the lowest mean ℓ), one fine-tuning per seed, the task's official metric on its dev set: " +
                      string.Join("; ", f.Settings.Downstream.Select(t => $"{t.Task} (lr {Lr(t.Lr)}, {t.Epochs} epochs, batch {t.BatchSize}, {t.MaxLength} tokens" +
                                                                         (t.MaxTrainExamples > 0 ? $", the first {t.MaxTrainExamples:N0} training examples" : "") + ")")) +
                      $". Masked-LM ℓ and accuracy are means with their 95% intervals over the seeds. Accuracy margin {Pct(f.Settings.AccuracyMargin)} points, {f.Settings.AccuracyMarginOrigin}. " +
                      $"`{Command(st)}`.");
        var arms = ResearchLogFollowUp.DownstreamArms;
        var tasks = f.Settings.Downstream;
        doc.Table(new[] { "mechanism", "η*", "masked-LM ℓ at η*" }.Concat(tasks.Select(t => $"{t.Task} {t.Metric} (%)")).ToArray(),
            arms.Select(a =>
            {
                var scores = f.Downstream.Where(d => d.Arm == a).ToList();
                double? lr = scores.FirstOrDefault()?.Lr ?? FollowUpPlan.BestLr(st, a);
                var losses = lr is double l ? st.Seeds.Select(s => st.Score(a, l, s)).Where(x => x is not null).Select(x => x!.Value).ToList() : new List<double>();
                return new[] { a.Name, lr is double x ? Lr(x) : "–", Mi(losses, v => N(v)) }
                    .Concat(tasks.Select(t => scores.FirstOrDefault(d => d.Task == t) is DownstreamScores d ? Mi(d.BySeed.Values.ToList(), Pct) : "–")).ToArray();
            }));
        var softmax = arms[0];
        doc.Paragraph($"Paired by seed against {softmax.Name} (a − b in accuracy points; higher is better):");
        doc.Table(new[] { "comparison", "task", "difference [95% interval]", "seeds", "outcome" },
            arms.Skip(1).SelectMany(a => tasks.Select(t =>
            {
                var sa = f.Downstream.FirstOrDefault(d => d.Arm == softmax && d.Task == t);
                var sb = f.Downstream.FirstOrDefault(d => d.Arm == a && d.Task == t);
                var c = sa is null || sb is null ? null : FollowUpResults.Compare(sa, sb, f.Settings.AccuracyMargin);
                return new[]
                {
                    $"{softmax.Name} − {a.Name}", t.Task, c is null ? "–" : $"{Pct(c.MeanDifference)} [{Pct(c.Lower)}, {Pct(c.Upper)}]",
                    c?.N.ToString(CultureInfo.InvariantCulture) ?? "–", c is null ? "–" : PairedComparison.OutcomeName(c.Outcome),
                };
            })));
        if (f.Paper is Verdict v)
            doc.Paragraph($"**The Cottention paper's downstream finding** (BERT-base GLUE: softmax 83.1 against cosine attention 81.8, softmax ahead by ≈ 1.3 points), " +
                          $"as {ResearchLogFollowUp.PaperClaim.A.Name} ahead of {ResearchLogFollowUp.PaperClaim.B.Name} on every task at the accuracy margin: **{Verdict.ClassName(v.Class)}** — " +
                          string.Join("; ", f.PaperParts.Select(p => $"{p.Task.Task}: " + (p.Comparison is PairedComparison c
                              ? $"{Pct(c.MeanDifference)} [{Pct(c.Lower)}, {Pct(c.Upper)}] points ({PairedComparison.OutcomeName(c.Outcome)})" : "not run"))) +
                          $". {v.Reason}. At this scale only: a 2-layer, 128-wide model pre-trained for {st.Budget.Steps} steps, not BERT-base on GLUE.");
    }

    /// <summary>findings.json's "follow_up" object: the bisection's resolution, the horizon check per finding (pairs with both
    /// statistics, outcome) and τ, the downstream scores per mechanism and task, the paper's claim.</summary>
    public static JsonObject? Json(StudyReport r)
    {
        if (r.FollowUp is not { } f) return null;
        static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
        var o = new JsonObject
        {
            ["bisection_rounds"] = f.Bisection.Count,
            ["lr_margin_decades"] = Num(r.Study.LrMarginDecades),
        };
        if (f.Longer is not null)
        {
            o["horizon_steps"] = r.Study.Budget.Steps * f.Settings.HorizonFactor;
            o["horizon"] = new JsonArray(f.Horizon.Select(h => (JsonNode?)new JsonObject
            {
                ["id"] = h.Id, ["verdict_at_budget"] = h.BudgetVerdict, ["verdict_at_longer"] = h.LongerVerdict, ["outcome"] = h.Outcome,
                ["holds"] = h.Holds, ["flips"] = h.Flips,
                ["pairs"] = new JsonArray(h.Pairs.Select(p => (JsonNode?)new JsonObject
                {
                    ["a"] = p.A.Name, ["lr_a"] = p.LrA, ["b"] = p.B.Name, ["lr_b"] = p.LrB,
                    ["at_budget"] = StudyFindingsFile.Statistic(p.AtBudget), ["at_longer"] = StudyFindingsFile.Statistic(p.AtLonger),
                    ["region_at_budget"] = FollowUpResults.RegionName(p.BudgetRegion), ["region_at_longer"] = FollowUpResults.RegionName(p.LongerRegion),
                }).ToArray()),
            }).ToArray());
            if (f.Ranking is RankCorrelation rk)
                o["ranking"] = new JsonObject
                {
                    ["kendall_tau_b"] = Num(rk.Tau),
                    ["items"] = new JsonArray(rk.Items.Select(x => (JsonNode?)new JsonObject { ["arm"] = x.Arm, ["at_budget"] = Num(x.AtBudget), ["at_longer"] = Num(x.AtLonger) }).ToArray()),
                };
        }
        if (f.Downstream.Any(d => d.BySeed.Count > 0))
        {
            o["accuracy_margin"] = f.Settings.AccuracyMargin;
            o["downstream"] = new JsonArray(f.Downstream.Select(d => (JsonNode?)new JsonObject
            {
                ["arm"] = d.Arm.Name, ["lr"] = d.Lr, ["task"] = d.Task.Task, ["metric"] = d.Task.Metric,
                ["by_seed"] = new JsonObject(d.BySeed.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key.ToString(CultureInfo.InvariantCulture), Num(kv.Value)))),
            }).ToArray());
            if (f.Paper is Verdict v)
                o["paper_downstream_claim"] = new JsonObject
                {
                    ["claim"] = $"{ResearchLogFollowUp.PaperClaim.A.Name} ahead of {ResearchLogFollowUp.PaperClaim.B.Name} downstream (Cottention paper: GLUE 83.1 against 81.8)",
                    ["verdict"] = Verdict.ClassName(v.Class), ["reason"] = v.Reason,
                    ["tasks"] = new JsonArray(f.PaperParts.Select(p => (JsonNode?)new JsonObject { ["task"] = p.Task.Task, ["statistic"] = StudyFindingsFile.Statistic(p.Comparison) }).ToArray()),
                };
        }
        return o;
    }
}
