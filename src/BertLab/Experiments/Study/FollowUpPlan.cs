using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Experiments.Statistics;
using BertLab.Training;

namespace BertLab.Experiments.Study;

/// <summary>A fine-tuning of one first-stage model on one downstream task: where its model is and where its result goes.</summary>
public sealed record DownstreamJob(StudyArm Arm, double Lr, long Seed, DownstreamTask Task, string ModelDir, string OutDir)
{
    public string ResultPath => Path.Combine(OutDir, FineTuneResult.FileName);
}

/// <summary>
/// What the follow-up stage runs, built from the first stage's results by rules declared before they are read:
/// <list type="bullet">
/// <item>η_max bisection (<see cref="BisectionRound"/>): per η_max arm and seed, the geometric mean of η_max's bracket (the
/// last stable and the first unstable lr run so far), one round after another; arms whose grid never reached an edge of
/// stability get no probe;</item>
/// <item>the horizon check (<see cref="Horizon"/>): the arms of every decided loss comparison (at their lrs; best-loss
/// comparisons at each arm's η*), the gate arm at those lrs and every grid arm at its η* (for Kendall's τ), trained
/// <see cref="FollowUpSettings.HorizonFactor"/> times as long on seeds 1..<see cref="FollowUpSettings.HorizonSeeds"/> — as
/// continuations of the first stage's runs where their checkpoints were kept;</item>
/// <item>downstream fine-tuning (<see cref="Downstream"/>): each downstream arm's model at its η*, every seed, every task.</item>
/// </list>
/// </summary>
public static class FollowUpPlan
{
    public const string Folder = "follow-up";

    public static string BisectionDir(string sweepDir, int round) => Path.Combine(sweepDir, Folder, $"bisect-{round}");
    public static string HorizonDir(string sweepDir) => Path.Combine(sweepDir, Folder, "horizon");
    public static string DownstreamDir(string sweepDir) => Path.Combine(sweepDir, Folder, "downstream");

    /// <summary>The arms whose η_max a finding compares (the grids of its <see cref="MaxLrOrdering"/> rules), in design order.</summary>
    public static IReadOnlyList<StudyArm> MaxLrArms(StudyPlan plan) =>
        plan.Design.Arms.Where(a => plan.LrsOf(a).Count >= 2 && plan.Design.Findings.SelectMany(f => f.Rule.Descendants()).OfType<MaxLrOrdering>().Any(m => m.A == a || m.B == a)).ToList();

    /// <summary>Round <paramref name="round"/> of the bisection over <paramref name="st"/> (the grid and rounds 1..round − 1):
    /// a sweep of the probes, or null when no bracket is left to split.</summary>
    public static SweepDefinition? BisectionRound(StudyRuns st, SweepDefinition stage, int round)
    {
        var probes = new List<(StudyArm Arm, double Lr, long Seed)>();
        foreach (var arm in MaxLrArms(st.Plan))
            foreach (var seed in st.Seeds)
                if (st.Bracket(arm, seed) is (double lo, double hi))
                {
                    double probe = Round3(Math.Sqrt(lo * hi));
                    if (probe > lo && probe < hi && !st.LrsRun(arm, seed).Contains(probe)) probes.Add((arm, probe, seed));
                }
        if (probes.Count == 0) return null;
        var runs = probes.GroupBy(p => (p.Arm, p.Lr)).Select(g => new NamedRun(StudyPlan.RunName(g.Key.Arm.Name, g.Key.Lr),
            WithLr(ArmSettings(stage, st, g.Key.Arm), g.Key.Lr).ToList()) { Seeds = g.Select(p => p.Seed).OrderBy(s => s).ToList() }).ToList();
        return new SweepDefinition
        {
            Name = stage.Name, Builtin = stage.Builtin, Budget = stage.Budget, Base = (JsonObject)stage.Base.DeepClone(), Runs = runs,
            Seeds = st.Seeds.ToList(),
            Description = $"follow-up of the '{st.Budget.Name}' study: η_max bisection round {round} ({probes.Count} runs: the geometric mean of each bracket between the last stable and the first unstable lr)",
        };
    }

    /// <summary>The (arm, lr) pairs a decided finding's loss comparisons read; best-loss comparisons at each arm's η*.</summary>
    public static IReadOnlyList<(StudyArm A, double LrA, StudyArm B, double LrB)> LossPairs(StudyRuns st, Finding f)
    {
        var pairs = new List<(StudyArm, double, StudyArm, double)>();
        foreach (var rule in f.Rule.Descendants())
        {
            if (rule is LossComparison lc) pairs.Add((lc.A.Arm, st.Lr(lc.A.Lr), lc.B.Arm, st.Lr(lc.B.Lr)));
            else if (rule is BestLossComparison bc && BestLr(st, bc.A) is double la && BestLr(st, bc.B) is double lb) pairs.Add((bc.A, la, bc.B, lb));
        }
        // a comparison only reported beside the finding (its control) is not part of the verdict
        var beside = f.Rule.Descendants().OfType<Beside>().SelectMany(b => b.Inner.Descendants()).OfType<LossComparison>()
            .Select(lc => (lc.A.Arm, st.Lr(lc.A.Lr), lc.B.Arm, st.Lr(lc.B.Lr))).ToHashSet();
        return pairs.Where(p => !beside.Contains(p)).Distinct().ToList();
    }

    /// <summary>An arm's η*: the lr of its grid with the lowest mean ℓ over the seeds that ran it (ties: the lower lr).</summary>
    public static double? BestLr(StudyRuns st, StudyArm arm)
    {
        var lrs = st.Plan.LrsOf(arm);
        if (lrs.Count == 0) return null;
        if (lrs.Count == 1) return lrs[0];
        var means = lrs.Select(lr => (lr, v: st.Seeds.Select(s => st.Score(arm, lr, s)).Where(x => x is not null).Select(x => x!.Value).ToList()))
            .Where(x => x.v.Count > 0).Select(x => (x.lr, mean: x.v.Average())).ToList();
        return means.Count == 0 ? null : means.OrderBy(x => x.mean).ThenBy(x => x.lr).First().lr;
    }

    /// <summary>The grid arms at their η*: the mechanisms Kendall's τ ranks.</summary>
    public static IReadOnlyList<(StudyArm Arm, double Lr)> RankedArms(StudyRuns st) =>
        st.Plan.Arms.Where(a => a.Lrs.Count >= 2).Select(a => (a.Arm, Lr: BestLr(st, a.Arm))).Where(x => x.Lr is not null).Select(x => (x.Arm, x.Lr!.Value)).ToList();

    /// <summary>The horizon check's sweep: the runs of every decided loss finding, the gate at their lrs and the ranked arms,
    /// each continuing the first stage's run of the same point where that run kept its checkpoint; null when nothing decided.</summary>
    public static SweepDefinition? Horizon(StudyRuns st, SweepDefinition stage, IReadOnlyList<FindingVerdict> verdicts, string sweepDir)
    {
        var f = st.Budget.FollowUp ?? throw new InvalidOperationException($"the '{st.Budget.Name}' budget has no follow-up stage");
        var wanted = new List<(StudyArm Arm, double Lr)>();
        foreach (var finding in st.Plan.Design.Findings)
        {
            if (verdicts.FirstOrDefault(v => v.Id == finding.Id) is not { Result.Decided: true }) continue;
            foreach (var (a, la, b, lb) in LossPairs(st, finding)) { wanted.Add((a, la)); wanted.Add((b, lb)); wanted.Add((st.Plan.Design.GateArm, la)); wanted.Add((st.Plan.Design.GateArm, lb)); }
        }
        if (wanted.Count == 0) return null;
        wanted.AddRange(RankedArms(st));
        var order = st.Plan.Design.Arms.ToList();
        var distinct = wanted.Where(w => st.Plan.LrsOf(w.Arm).Contains(w.Lr)).Distinct().OrderBy(w => order.IndexOf(w.Arm)).ThenBy(w => w.Lr).ToList();
        int steps = st.Budget.Steps * f.HorizonFactor;
        var seeds = Enumerable.Range(1, f.HorizonSeeds).Select(s => (long)s).ToList();
        var runs = distinct.Select(w =>
        {
            var settings = WithLr(ArmSettings(stage, st, w.Arm), w.Lr).ToList();
            settings.Add(new(RunConfigKeys.RunSteps.Path, steps));
            settings.Add(new(RunConfigKeys.RunEvalInterval.Path, st.Budget.EvalInterval * f.HorizonFactor));
            settings.Add(new(RunConfigKeys.RunCheckpointInterval.Path, steps));
            return new NamedRun(StudyPlan.RunName(w.Arm.Name, w.Lr), settings)
            {
                Seeds = seeds,
                StartFrom = seed => st.Run(w.Arm, w.Lr, seed ?? 1) is RunRecord r && Trainer.LatestCheckpoint(Path.Combine(st.Results.Directory, r.Dir)) is not null
                    ? Path.Combine(st.Results.Directory, r.Dir) : null,
            };
        }).ToList();
        return new SweepDefinition
        {
            Name = stage.Name, Builtin = stage.Builtin, Budget = stage.Budget, Base = (JsonObject)stage.Base.DeepClone(), Runs = runs, Seeds = seeds,
            Description = $"follow-up of the '{st.Budget.Name}' study: horizon check at {f.HorizonFactor} × {st.Budget.Steps} = {steps} steps, seeds 1–{f.HorizonSeeds} " +
                          $"({distinct.Count} configurations: the arms of every decided loss finding, the gate at their lrs, every grid arm at its η*)",
        };
    }

    /// <summary>The downstream fine-tunings: every downstream arm at its η*, every seed, every task.</summary>
    public static IReadOnlyList<DownstreamJob> Downstream(StudyRuns st, IReadOnlyList<StudyArm> arms, string sweepDir)
    {
        var f = st.Budget.FollowUp ?? throw new InvalidOperationException($"the '{st.Budget.Name}' budget has no follow-up stage");
        var jobs = new List<DownstreamJob>();
        foreach (var arm in arms)
        {
            if (BestLr(st, arm) is not double lr) continue;
            foreach (var seed in st.Seeds)
            {
                if (st.Run(arm, lr, seed) is not RunRecord r || !r.Completed) continue;
                var model = Path.Combine(st.Results.Directory, r.Dir, RunDirectory.ModelDir);
                string slug = SweepDefinition.Slug(StudyPlan.PointName(arm.Name, lr, seed));
                foreach (var task in f.Downstream)
                    jobs.Add(new DownstreamJob(arm, lr, seed, task, model, Path.Combine(DownstreamDir(sweepDir), slug, task.Task)));
            }
        }
        return jobs;
    }

    /// <summary>An arm's settings as the first stage ran them in its directory (the study's artefact and corpus paths, which
    /// the plan's budget leaves relative): those of one of the arm's first-stage runs without its lr, else the plan's.</summary>
    static IEnumerable<KeyValuePair<string, JsonNode?>> ArmSettings(SweepDefinition stage, StudyRuns st, StudyArm arm)
    {
        var names = st.Plan.LrsOf(arm).Select(lr => StudyPlan.RunName(arm.Name, lr)).ToHashSet();
        return stage.Runs.FirstOrDefault(r => names.Contains(r.Name)) is NamedRun run
            ? run.Set.Where(kv => kv.Key != RunConfigKeys.OptimizerLr.Path)
            : arm.SettingsAt(st.Budget);
    }

    static IEnumerable<KeyValuePair<string, JsonNode?>> WithLr(IEnumerable<KeyValuePair<string, JsonNode?>> settings, double lr) =>
        settings.Append(new KeyValuePair<string, JsonNode?>(RunConfigKeys.OptimizerLr.Path, JsonValue.Create(lr)));

    /// <summary>Three significant digits, as the grid's learning rates.</summary>
    public static double Round3(double v) => double.Parse(v.ToString("G3", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
