using System.Text.Json.Nodes;
using BertLab.Experiments.Statistics;
using BertLab.Training;

namespace BertLab.Experiments.Study;

/// <summary>Where a mean difference a − b lies against ±margin, for a loss (lower is better).</summary>
public enum MarginRegion { ABetter, WithinMargin, BBetter }

/// <summary>One loss comparison of a decided finding at the study's horizon and at the follow-up's longer horizon.</summary>
public sealed record HorizonPair(StudyArm A, double LrA, StudyArm B, double LrB, PairedComparison? AtBudget, PairedComparison? AtLonger)
{
    /// <summary>The region the budget's verdict put the difference in: its decided outcome, else where its mean lies.</summary>
    public MarginRegion? BudgetRegion => AtBudget is null ? null : AtBudget.Outcome switch
    {
        ComparisonOutcome.ABetter => MarginRegion.ABetter,
        ComparisonOutcome.BBetter => MarginRegion.BBetter,
        ComparisonOutcome.Equivalent => MarginRegion.WithinMargin,
        _ => FollowUpResults.Region(AtBudget.MeanDifference, AtBudget.Margin),
    };

    /// <summary>Where the longer horizon's mean difference lies (few seeds: the point estimate, its interval beside it).</summary>
    public MarginRegion? LongerRegion => AtLonger is null ? null : FollowUpResults.Region(AtLonger.MeanDifference, AtLonger.Margin);
}

/// <summary>The horizon check of one decided finding: its pairs, the verdict class the same rule gives at the longer horizon,
/// and whether the verdict holds (every pair's difference stays in the region the budget's verdict put it in) or is
/// horizon-sensitive (a pair moved to another region; it flips when it moved from "a better" to "b better" or back).</summary>
public sealed record HorizonFinding(string Id, string BudgetVerdict, string LongerVerdict, IReadOnlyList<HorizonPair> Pairs)
{
    public bool Complete => Pairs.Count > 0 && Pairs.All(p => p.BudgetRegion is not null && p.LongerRegion is not null);
    public bool Holds => Complete && Pairs.All(p => p.BudgetRegion == p.LongerRegion);
    public bool Flips => Complete && Pairs.Any(p => (p.BudgetRegion, p.LongerRegion) is (MarginRegion.ABetter, MarginRegion.BBetter) or (MarginRegion.BBetter, MarginRegion.ABetter));
    public string Outcome => !Complete ? "runs missing" : Holds ? "holds" : Flips ? "flips (horizon-sensitive)" : "horizon-sensitive (moves across the margin)";
}

/// <summary>Kendall's τ-b between two rankings of the same mechanisms (by their mean ℓ at η*): +1 the same order, −1 reversed.</summary>
public sealed record RankCorrelation(IReadOnlyList<(string Arm, double AtBudget, double AtLonger)> Items, double Tau);

/// <summary>One mechanism's downstream accuracy on a task, per seed (the fine-tuning of that seed's first-stage model).</summary>
public sealed record DownstreamScores(StudyArm Arm, double Lr, DownstreamTask Task, IReadOnlyDictionary<long, double> BySeed);

/// <summary>The follow-up stage's results read back: the bisection, the horizon check and the downstream scores.</summary>
public static class FollowUpResults
{
    public static MarginRegion Region(double meanDifference, double margin) =>
        meanDifference < -margin ? MarginRegion.ABetter : meanDifference > margin ? MarginRegion.BBetter : MarginRegion.WithinMargin;

    public static string RegionName(MarginRegion? r) => r switch
    {
        MarginRegion.ABetter => "a better", MarginRegion.BBetter => "b better", MarginRegion.WithinMargin => "within ±margin", _ => "–",
    };

    /// <summary>The bisection rounds found under the sweep directory, in order (stops at the first missing round).</summary>
    public static IReadOnlyList<SweepResults> Bisection(string sweepDir)
    {
        var rounds = new List<SweepResults>();
        for (int r = 1; Directory.Exists(FollowUpPlan.BisectionDir(sweepDir, r)) && File.Exists(SweepState.PathOf(FollowUpPlan.BisectionDir(sweepDir, r))); r++)
            rounds.Add(SweepResults.Load(FollowUpPlan.BisectionDir(sweepDir, r)));
        return rounds;
    }

    /// <summary>The horizon check of every decided finding over the horizon sweep's runs (<paramref name="longer"/>, read
    /// through the same plan and margin).</summary>
    public static IReadOnlyList<HorizonFinding> Horizon(StudyRuns budget, StudyRuns longer, IReadOnlyList<FindingVerdict> verdicts, Func<StudyRuns, IReadOnlyList<FindingVerdict>> evaluate)
    {
        var atLonger = evaluate(longer);
        var list = new List<HorizonFinding>();
        foreach (var f in budget.Plan.Design.Findings)
        {
            if (verdicts.FirstOrDefault(v => v.Id == f.Id) is not { Result.Decided: true } v) continue;
            var pairs = FollowUpPlan.LossPairs(budget, f).Select(p => new HorizonPair(p.A, p.LrA, p.B, p.LrB,
                budget.Compare(p.A, p.LrA, p.B, p.LrB), longer.Compare(p.A, p.LrA, p.B, p.LrB))).ToList();
            if (pairs.Count == 0) continue;
            list.Add(new HorizonFinding(f.Id, v.VerdictName, atLonger.FirstOrDefault(x => x.Id == f.Id)?.VerdictName ?? "–", pairs));
        }
        return list;
    }

    /// <summary>Kendall's τ-b of the grid arms ranked by mean ℓ at their η* over the horizon seeds, at the budget's horizon and the longer one.</summary>
    public static RankCorrelation? Ranking(StudyRuns budget, StudyRuns longer, int seeds)
    {
        var items = new List<(string, double, double)>();
        foreach (var (arm, lr) in FollowUpPlan.RankedArms(budget))
        {
            var a = Enumerable.Range(1, seeds).Select(s => budget.Score(arm, lr, s)).ToList();
            var b = Enumerable.Range(1, seeds).Select(s => longer.Score(arm, lr, s)).ToList();
            if (a.Any(x => x is null) || b.Any(x => x is null)) continue;
            items.Add((arm.Name, a.Average(x => x!.Value), b.Average(x => x!.Value)));
        }
        return items.Count < 2 ? null : new RankCorrelation(items, KendallTauB(items.Select(i => i.Item2).ToList(), items.Select(i => i.Item3).ToList()));
    }

    /// <summary>Kendall's τ-b (ties counted as neither concordant nor discordant, with the tie correction).</summary>
    public static double KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count || x.Count < 2) throw new ArgumentException("Kendall's τ needs two rankings of the same ≥ 2 items");
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
        for (int i = 0; i < x.Count; i++)
            for (int j = i + 1; j < x.Count; j++)
            {
                int sx = Math.Sign(x[i] - x[j]), sy = Math.Sign(y[i] - y[j]);
                if (sx == 0 && sy == 0) continue;
                if (sx == 0) { tiesX++; continue; }
                if (sy == 0) { tiesY++; continue; }
                if (sx == sy) concordant++; else discordant++;
            }
        double n0 = concordant + discordant;
        double denominator = Math.Sqrt((n0 + tiesX) * (n0 + tiesY));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }

    /// <summary>The downstream scores found for the jobs (a job without its results.json is left out).</summary>
    public static IReadOnlyList<DownstreamScores> Downstream(IReadOnlyList<DownstreamJob> jobs)
    {
        var list = new List<DownstreamScores>();
        foreach (var g in jobs.GroupBy(j => (j.Arm, j.Lr, j.Task)))
        {
            var bySeed = new SortedDictionary<long, double>();
            foreach (var j in g)
            {
                if (!File.Exists(j.ResultPath)) continue;
                var o = JsonNode.Parse(File.ReadAllText(j.ResultPath)) as JsonObject;
                if (RunRecord.Num(o?["metrics"]?[j.Task.Metric]) is double v) bySeed[j.Seed] = v;
            }
            list.Add(new DownstreamScores(g.Key.Arm, g.Key.Lr, g.Key.Task, bySeed));
        }
        return list;
    }

    /// <summary>a's accuracy against b's on one task, paired by seed (higher is better), at the fixed accuracy margin.</summary>
    public static PairedComparison? Compare(DownstreamScores a, DownstreamScores b, double margin)
    {
        var pairs = a.BySeed.Keys.Intersect(b.BySeed.Keys).OrderBy(s => s).Select(s => new SeedPair(s, a.BySeed[s], b.BySeed[s])).ToList();
        return pairs.Count == 0 ? null : PairedComparison.Compute(pairs, lowerIsBetter: false, margin);
    }
}
