using BertLab.Data.Synthetic;
using BertLab.Experiments.Statistics;
using BertLab.Training;
using static BertLab.Experiments.Study.StudyFormat;

namespace BertLab.Experiments.Study;

/// <summary>
/// A study's runs as found in a sweep directory, read through its plan: ℓ(η) per arm, lr and seed (mean of the last two
/// validation losses, capped at ln V, ln V when diverged), the learning-rate sensitivity per arm, the margin fixed once
/// for every comparison (the budget's <see cref="StudyBudget.FixedMargin"/>, else max(0.02, 2 × the seed-to-seed SD of the
/// calibration arm)) and the "attention in use" gate.
/// </summary>
public sealed class StudyRuns
{
    public SweepResults Results { get; }
    public StudyPlan Plan { get; }
    public StudyBudget Budget => Plan.Budget;
    public IReadOnlyList<long> Seeds { get; }
    public double LnV { get; }
    public double Margin { get; }
    public string MarginOrigin { get; }
    public PairedComparison? Gate { get; }
    /// <summary>Whether the runs' sequence lengths vary (a generated task, or text that is not packed).</summary>
    public bool VariableLength { get; }

    StudyArm GateArm => Plan.Design.GateArm;
    StudyArm GateControl => Plan.Design.GateControl;

    /// <param name="bisection">The follow-up stage's η_max bisection rounds (runs of the same arms at lrs between grid
    /// points, named as the study's runs); null or empty: the grid alone.</param>
    public StudyRuns(SweepResults results, StudyPlan plan, IReadOnlyList<SweepResults>? bisection = null)
    {
        Results = results; Plan = plan;
        Bisection = bisection ?? Array.Empty<SweepResults>();
        var budget = plan.Budget;
        Seeds = Enumerable.Range(1, budget.Seeds).Select(s => (long)s).ToList();
        var vocab = results.Runs.Select(r => RunRecord.Num(r.Config?["model"]?["vocab_size"])).FirstOrDefault(v => v is not null) ?? 30522;
        LnV = Math.Log(vocab);
        var calibration = plan.Design.Calibration;
        double calLr = budget.Lr(calibration.Lr);
        var cal = Seeds.Select(s => Score(calibration.Arm, calLr, s)).Where(v => v is not null).Select(v => v!.Value).ToList();
        if (budget.FixedMargin is double fm) { Margin = fm; MarginOrigin = budget.MarginOrigin ?? "fixed by the budget before the runs"; }
        else if (cal.Count >= 2)
        {
            double mean = cal.Average(), sd = Math.Sqrt(cal.Sum(v => (v - mean) * (v - mean)) / (cal.Count - 1));
            Margin = PairedComparison.MarginFor(sd);
            MarginOrigin = $"max(0.02, 2 × {N(sd)}), the seed-to-seed SD of the calibration arm ({calibration.Arm.Name} at lr {StudyFormat.Lr(calLr)}, {cal.Count} seeds)";
        }
        else { Margin = PairedComparison.DefaultMarginFloor; MarginOrigin = "the 0.02-nat floor (the calibration arm has fewer than 2 finished seeds)"; }
        VariableLength = results.Runs.Any(r => r.Config?["data"]?["synthetic"]?.GetValue<string>() is not null
            || r.Config?["data"]?["packing"]?.GetValue<string>() is string p && p != "packed");
        Task = results.Runs.Select(r => r.Config?["data"]?["synthetic"]?.GetValue<string>()).FirstOrDefault(t => t is not null);
        // a generated task has a known level below which attention is in use: the bag of values on the validation set
        // the runs are scored on (the source's defaults, as every run uses them)
        if (Task is string spec)
            BagLevel = new SyntheticBatchSource(SyntheticTask.Parse(spec), 0).ValidationBagOfValuesLoss();
        // on text the level without context is the unigram loss on the same validation positions (every run of the gate arm
        // reports the same value: the validation set and its masks are fixed)
        else UnigramLevel = Seeds.SelectMany(s => Plan.LrsOf(GateArm).Select(lr => Run(GateArm, lr, s)))
            .Select(r => r?.Eval.Select(e => RunRecord.Num(e[MetricKeys.ValUnigramLoss])).LastOrDefault(v => v is not null)).FirstOrDefault(v => v is not null);
        Gate = GateAt(budget.Log1e4);
        AA = CalibrationHalves();
    }

    public double Lr(LogLr lr) => Budget.Lr(lr);

    /// <summary>The bisection rounds read beside the grid (<see cref="Sensitivity"/> includes their runs).</summary>
    public IReadOnlyList<SweepResults> Bisection { get; }

    /// <summary>The margin of η_max orderings in decades: a quarter decade on the grid alone, the bisection's resolution
    /// (<see cref="FollowUpSettings.LrResolutionDecades"/>) once its rounds are read.</summary>
    public double LrMarginDecades => Bisection.Count > 0 && Budget.FollowUp is FollowUpSettings f ? f.LrResolutionDecades : MaxLrOrdering.MarginDecades;

    /// <summary>The learning rates an arm ran at for a seed: its grid, then any bisection points.</summary>
    public IReadOnlyList<double> LrsRun(StudyArm arm, long seed)
    {
        var lrs = Plan.LrsOf(arm).ToList();
        string prefix = arm.Name + " lr=", suffix = $" seed{seed}";
        foreach (var round in Bisection)
            foreach (var r in round.Runs)
                if (r.Name.StartsWith(prefix, StringComparison.Ordinal) && r.Name.EndsWith(suffix, StringComparison.Ordinal) && r.Lr is double lr && !lrs.Contains(lr))
                    lrs.Add(lr);
        return lrs.OrderBy(x => x).ToList();
    }

    RunRecord? Find(string name) => Results.Find(name) ?? Bisection.Select(b => b.Find(name)).FirstOrDefault(r => r is not null);

    /// <summary>η_max's bracket for one arm and seed: the largest stable lr and the smallest lr above it that was not
    /// stable (null: none above it was tried or every one was stable, i.e. no edge was reached).</summary>
    public (double Lo, double? Hi)? Bracket(StudyArm arm, long seed)
    {
        if (!Sensitivity(arm).TryGetValue(seed, out var s) || !double.IsFinite(s.MaxStableLr)) return null;
        var above = s.Curve.Where(c => c.Lr > s.MaxStableLr && (c.Diverged || c.Loss > s.BestLoss + LrSensitivity.StableWithin)).Select(c => c.Lr).ToList();
        return (s.MaxStableLr, above.Count > 0 ? above.Min() : null);
    }

    /// <summary>What the findings' rule texts name at this budget.</summary>
    public FindingText Text => new(StudyFormat.Lr(Budget.Log1e5), StudyFormat.Lr(Budget.Log1e4), $"the study margin ({N(Margin)} nats)",
        N(LrMarginDecades, "0.000"), Budget.SeqLen, Budget.LongSeqLen);

    /// <summary>On a generated task: the bag-of-values loss of its validation set (<see cref="SyntheticTask.BagOfValuesLoss"/>).</summary>
    public double? BagLevel { get; }
    /// <summary>On text: the validation loss of the training unigram distribution at the same masked positions
    /// (val_unigram_loss), the best a model can do without using its context.</summary>
    public double? UnigramLevel { get; }
    /// <summary>The level without attention: the bag-of-values level on a generated task, the unigram level on text.</summary>
    public double? NoContextLevel => BagLevel ?? UnigramLevel;
    /// <summary>The loss an arm must get below (by the margin) to count as having trained: <see cref="NoContextLevel"/>, else
    /// 1 nat below ln V (the uniform guess).</summary>
    public double TrainedBelow => NoContextLevel ?? LnV - 1.0;

    /// <summary>What the gate compares, for messages.</summary>
    public string GateName => BagLevel is not null ? "softmax's ℓ − the bag-of-values level" : UnigramLevel is not null ? "softmax's ℓ − the unigram level" : "softmax − cosine-softmax";

    /// <summary>The built-in A/A: the calibration runs' seeds 1..k against k+1..2k, paired by position (seed i with k + i), at
    /// the study margin; null when the budget runs no extra calibration seeds or they are missing. Two halves of identical
    /// configurations must come out equivalent; their difference has √2 × the seed SD, as two unpaired arms would.</summary>
    public PairedComparison? AA { get; }

    PairedComparison? CalibrationHalves()
    {
        if (Budget.CalibrationSeeds is not int all || all < 4) return null;
        int k = all / 2;
        var arm = Plan.Design.Calibration.Arm;
        double lr = Budget.Lr(Plan.Design.Calibration.Lr);
        var pairs = Enumerable.Range(1, k).Select(i => ((long)i, Score(arm, lr, i), Score(arm, lr, k + i))).ToList();
        return Pair(pairs, Margin, true);
    }

    /// <summary>The generated task the runs trained on (data.synthetic), null for natural text.</summary>
    public string? Task { get; }
    public string TaskText => Task is string t ? $"the synthetic task {t}" : "natural text (the corpus)";

    /// <summary>The gate at one learning rate: softmax against cosine-softmax at that lr (where both arms ran it), else the
    /// gate at the anchor. A comparison at the log's 1e-5 is gated on attention being in use at that lr.
    /// On a generated task the gate is softmax's ℓ against the task's bag-of-values level instead (one-sample over the seeds):
    /// there cosine-softmax is no stand-in for near-uniform attention (it learns the task too, only slower), while the bag
    /// level is exactly what a model without selective attention can reach.</summary>
    public PairedComparison? GateAt(double lr)
    {
        double at = GateLr(lr);
        if (NoContextLevel is double level) return Pair(Seeds.Select(s => (s, Score(GateArm, at, s), (double?)level)), Margin, true);
        return Compare(GateArm, at, GateControl, at);
    }

    /// <summary>The lr whose runs decide the gate for a comparison at <paramref name="lr"/>: that lr where the gate arms ran it, else the anchor.</summary>
    public double GateLr(double lr) => lr != Budget.Log1e4 && Seeds.Any(s => Score(GateArm, lr, s) is not null) && (NoContextLevel is not null || Seeds.Any(s => Score(GateControl, lr, s) is not null)) ? lr : Budget.Log1e4;

    public string GateTextAt(double lr)
    {
        var g = GateAt(lr);
        double at = GateLr(lr);
        if (g is null) return $"not measured ({GateArm.Name} / {GateControl.Name} missing)";
        string verdict = $"attention {(ClaimRules.AttentionInUse(g) ? "in use" : "not in use")}";
        if (NoContextLevel is double level)
        {
            var cs = Compare(GateArm, at, GateControl, at);
            string what = BagLevel is not null ? "the bag-of-values level" : "the unigram level";
            return $"on {TaskText}: softmax's ℓ at lr {StudyFormat.Lr(at)} − {what} {N(level)} = {Stat(g)}: {verdict}" +
                   (cs is null ? "" : $" (softmax − cosine-softmax, reported: {Stat(cs)})");
        }
        return $"on {TaskText}: softmax − cosine-softmax at lr {StudyFormat.Lr(at)} = {Stat(g)}: {verdict}";
    }

    public string GateText => GateTextAt(Budget.Log1e4);

    /// <summary>Why a loss comparison cannot be gated (the gate's runs are missing), or null.</summary>
    public string? NoGate => Gate is null ? "the gate runs (softmax and cosine-softmax at the anchor lr) are missing or unfinished, so whether attention was in use is unknown" : null;

    /// <summary>Why a claim about varying sequence lengths cannot show on these runs, or null when their lengths vary.</summary>
    public string? NotVariable => VariableLength ? null :
        $"every sequence had n = seq_len (packed data): dividing by n, √n or n^σ is a constant factor per run, so the claim about varying lengths cannot show; it needs {RunConfigKeys.DataPacking.Path}={BertLab.Data.PackingModes.Name(BertLab.Data.PackingMode.SentencePairs)} (issue 17 item 1)";

    public RunRecord? Run(StudyArm arm, double lr, long seed) => Find(StudyPlan.PointName(arm.Name, lr, seed));

    /// <summary>ℓ(η) of one run; null when it is missing or did not finish (completed or diverged).</summary>
    public double? Score(StudyArm arm, double lr, long seed)
    {
        var r = Run(arm, lr, seed);
        if (r is null || !(r.Completed || r.Diverged)) return null;
        var losses = r.Eval.Select(m => RunRecord.Num(m[MetricKeys.ValLoss]) ?? double.NaN).ToList();
        if (losses.Count == 0 && r.ValLoss is double v) losses.Add(v);
        return LrSensitivity.Loss(new LrPoint(lr, losses, r.Diverged), LnV);
    }

    public PairedComparison? Compare(StudyArm armA, double lrA, StudyArm armB, double lrB) => Pair(Seeds.Select(s => (s, Score(armA, lrA, s), Score(armB, lrB, s))), Margin, true);

    /// <summary>Per-seed learning-rate sensitivity of an arm over its grid (seeds whose grid is incomplete are left out).</summary>
    public Dictionary<long, LrSensitivity> Sensitivity(StudyArm arm)
    {
        var per = new Dictionary<long, LrSensitivity>();
        if (Plan.LrsOf(arm).Count < 2) return per;
        foreach (var s in Seeds)
        {
            var runs = LrsRun(arm, s).Select(lr => (lr, r: Run(arm, lr, s))).ToList();
            if (runs.Any(x => x.r is null || !(x.r.Completed || x.r.Diverged))) continue;
            per[s] = LrSensitivity.Compute(runs.Select(x => new LrPoint(x.lr, x.r!.Eval.Select(m => RunRecord.Num(m[MetricKeys.ValLoss]) ?? double.NaN).ToList(), x.r.Diverged)).ToList(), LnV);
        }
        return per;
    }

    /// <summary>log10 η_max; an arm that diverged everywhere counts half a decade below the grid.</summary>
    public static double Log10MaxLr(LrSensitivity s) => double.IsFinite(s.MaxStableLr) ? Math.Log10(s.MaxStableLr) : Math.Log10(s.Curve.Min(c => c.Lr)) - 0.5;

    /// <summary>Whether some lr above η* took the arm past its edge of stability (diverged, or ℓ above ℓ* + 0.5). A low lr that is
    /// merely undertrained (ℓ far above ℓ* below η*) is no edge of stability and does not count.</summary>
    public static bool EdgeReached(LrSensitivity s) => s.Curve.Any(c => c.Lr > s.BestLr && (c.Diverged || c.Loss > s.BestLoss + LrSensitivity.StableWithin));

    /// <summary>Losses are in nats (<see cref="Nats"/>); η_max orderings in decades of lr (<see cref="Decades"/>).</summary>
    public const string Nats = "nats", Decades = "decades";

    public static PairedComparison? Pair(IEnumerable<(long Seed, double? A, double? B)> values, double margin, bool lowerIsBetter, string unit = Nats)
    {
        var pairs = values.Where(v => v.A is double a && v.B is double b && double.IsFinite(a) && double.IsFinite(b))
            .Select(v => new SeedPair(v.Seed, v.A!.Value, v.B!.Value)).ToList();
        return pairs.Count == 0 ? null : PairedComparison.Compute(pairs, lowerIsBetter, margin, unit: unit);
    }

    /// <summary>The largest value of a training-record key (metrics.jsonl) over one run, or null when it never logged one.</summary>
    public static double? MaxOf(RunRecord? r, string key) => r is null ? null : r.Train.Select(m => RunRecord.Num(m[key])).Where(x => x is not null).Select(x => x!.Value).DefaultIfEmpty(double.NaN).Max() is double d && double.IsFinite(d) ? d : null;
}
