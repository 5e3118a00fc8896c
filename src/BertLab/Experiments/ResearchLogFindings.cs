using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Experiments.Statistics;
using BertLab.Training;

namespace BertLab.Experiments;

/// <summary>One finding of ATTENTION.md §5 with the verdict of the rule that decides it, the statistic it rests on, the
/// "attention in use" gate of the study and the runs it read.</summary>
public sealed record FindingVerdict(string Id, string Claim, Verdict Result, string Rule, string Observed, string Gate, IReadOnlyList<string> Runs)
{
    /// <summary>agrees, disagrees, underpowered, not exercised, not applicable, horizon too short.</summary>
    public string VerdictName => Verdict.ClassName(Result.Class);
}

/// <summary>
/// The decision rules of the research-log study (issue 17 items 4, 5): every finding as a paired comparison over seeds
/// (<see cref="PairedComparison"/>) of ℓ(η) (mean of the last two validation losses, capped at ln V, ln V when diverged) or of
/// log10 η_max (<see cref="LrSensitivity"/>), decided by <see cref="ClaimRules"/> into the six verdict classes. Non-events
/// never count as evidence: a penalty that stayed 0, clipping that never clipped, a grid that never reached an arm's edge of
/// stability give "not exercised"; constant-length data gives "not applicable" for the claims about n; comparisons of loss are
/// gated on attention being in use (softmax beats cosine-softmax at the anchor lr by the margin). The margin is fixed once
/// per study before any comparison: the budget's <see cref="SweepBudget.FixedMargin"/>, else max(0.02, 2 × the seed-to-seed SD
/// of the calibration arm, softmax at the anchor lr).
/// </summary>
public static class ResearchLogFindings
{
    /// <summary>Margin of η_max orderings, in decades: a quarter decade, half a grid step, so any step of the grid clears it.</summary>
    public const double LrMarginDecades = 0.25;
    /// <summary>The arm and lr whose seed-to-seed spread calibrates the margin.</summary>
    public const string CalibrationArm = "adamw softmax", GateArmA = "adamw softmax", GateArmB = "adamw cosine-softmax";
    /// <summary>Training-record keys (metrics.jsonl) read by the not-exercised checks.</summary>
    public const string GradNormKey = MetricKeys.GradNorm, OutputPenaltyKey = MetricKeys.OutputPenalty;

    static string N(double v, string f = "0.0000") => double.IsFinite(v) ? v.ToString(f, CultureInfo.InvariantCulture) : "–";
    static string Lr(double lr) => SweepDefinition.FormatNumber(lr);

    /// <summary>The study's runs as scores per arm, lr and seed.</summary>
    public sealed class Study
    {
        public SweepResults Results { get; }
        public SweepBudget Budget { get; }
        public IReadOnlyList<long> Seeds { get; }
        public double LnV { get; }
        public double Margin { get; }
        public string MarginOrigin { get; }
        public PairedComparison? Gate { get; }
        public bool VariableLength { get; }

        public Study(SweepResults results, SweepBudget budget)
        {
            Results = results; Budget = budget;
            Seeds = Enumerable.Range(1, budget.Seeds).Select(s => (long)s).ToList();
            var vocab = results.Runs.Select(r => RunRecord.Num(r.Config?["model"]?["vocab_size"])).FirstOrDefault(v => v is not null) ?? 30522;
            LnV = Math.Log(vocab);
            var cal = Seeds.Select(s => Score(CalibrationArm, budget.Log1e4, s)).Where(v => v is not null).Select(v => v!.Value).ToList();
            if (budget.FixedMargin is double fm) { Margin = fm; MarginOrigin = "fixed by the budget before the runs"; }
            else if (cal.Count >= 2)
            {
                double mean = cal.Average(), sd = Math.Sqrt(cal.Sum(v => (v - mean) * (v - mean)) / (cal.Count - 1));
                Margin = PairedComparison.MarginFor(sd);
                MarginOrigin = $"max(0.02, 2 × {N(sd)}), the seed-to-seed SD of the calibration arm ({CalibrationArm} at lr {Lr(budget.Log1e4)}, {cal.Count} seeds)";
            }
            else { Margin = PairedComparison.DefaultMarginFloor; MarginOrigin = "the 0.02-nat floor (the calibration arm has fewer than 2 finished seeds)"; }
            VariableLength = results.Runs.Any(r => r.Config?["data"]?["synthetic"]?.GetValue<string>() is not null
                || r.Config?["data"]?["packing"]?.GetValue<string>() is string p && p != "packed");
            Task = results.Runs.Select(r => r.Config?["data"]?["synthetic"]?.GetValue<string>()).FirstOrDefault(t => t is not null);
            // a generated task has a known level below which attention is in use: the bag of values on the validation set
            // the runs are scored on (the source's defaults, as every run uses them)
            if (Task is string spec)
                BagLevel = new BertLab.Data.Synthetic.SyntheticBatchSource(BertLab.Data.Synthetic.SyntheticTask.Parse(spec), 0).ValidationBagOfValuesLoss();
            Gate = GateAt(budget.Log1e4);
        }

        /// <summary>On a generated task: the bag-of-values loss of its validation set (<see cref="BertLab.Data.Synthetic.SyntheticTask.BagOfValuesLoss"/>).</summary>
        public double? BagLevel { get; }
        /// <summary>The loss an arm must get below (by the margin) to count as having trained: the bag-of-values level on a
        /// generated task, else 1 nat below ln V (the uniform guess).</summary>
        public double TrainedBelow => BagLevel ?? LnV - 1.0;

        /// <summary>What the gate compares, for messages.</summary>
        public string GateName => BagLevel is null ? "softmax − cosine-softmax" : "softmax's ℓ − the bag-of-values level";

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
            if (BagLevel is double bag) return Pair(Seeds.Select(s => (s, Score(GateArmA, at, s), (double?)bag)), Margin, true);
            return Compare(GateArmA, at, GateArmB, at);
        }

        /// <summary>The lr whose runs decide the gate for a comparison at <paramref name="lr"/>: that lr where the gate arms ran it, else the anchor.</summary>
        public double GateLr(double lr) => lr != Budget.Log1e4 && Seeds.Any(s => Score(GateArmA, lr, s) is not null) && (BagLevel is not null || Seeds.Any(s => Score(GateArmB, lr, s) is not null)) ? lr : Budget.Log1e4;

        public string GateTextAt(double lr)
        {
            var g = GateAt(lr);
            double at = GateLr(lr);
            if (g is null) return $"not measured ({GateArmA} / {GateArmB} missing)";
            string verdict = $"attention {(ClaimRules.AttentionInUse(g) ? "in use" : "not in use")}";
            if (BagLevel is double bag)
            {
                var cs = Compare(GateArmA, at, GateArmB, at);
                return $"on {TaskText}: softmax's ℓ at lr {Lr(at)} − the bag-of-values level {N(bag)} = {Stat(g)}: {verdict}" +
                       (cs is null ? "" : $" (softmax − cosine-softmax, reported: {Stat(cs)})");
            }
            return $"on {TaskText}: softmax − cosine-softmax at lr {Lr(at)} = {Stat(g)}: {verdict}";
        }

        public RunRecord? Run(string arm, double lr, long seed) => Results.Find(ResearchLogSweep.PointName(arm, lr, seed));

        /// <summary>ℓ(η) of one run; null when it is missing or did not finish (completed or diverged).</summary>
        public double? Score(string arm, double lr, long seed)
        {
            var r = Run(arm, lr, seed);
            if (r is null || !(r.Completed || r.Diverged)) return null;
            var losses = r.Eval.Select(m => RunRecord.Num(m[MetricKeys.ValLoss]) ?? double.NaN).ToList();
            if (losses.Count == 0 && r.ValLoss is double v) losses.Add(v);
            return LrSensitivity.Loss(new LrPoint(lr, losses, r.Diverged), LnV);
        }

        public PairedComparison? Compare(string armA, double lrA, string armB, double lrB) => Pair(Seeds.Select(s => (s, Score(armA, lrA, s), Score(armB, lrB, s))), Margin, true);

        /// <summary>Per-seed learning-rate sensitivity of an arm over its grid (seeds whose grid is incomplete are left out).</summary>
        public Dictionary<long, LrSensitivity> Sensitivity(string arm)
        {
            var lrs = ResearchLogSweep.Arms(Budget).FirstOrDefault(a => a.Name == arm)?.Lrs ?? Array.Empty<double>();
            var per = new Dictionary<long, LrSensitivity>();
            if (lrs.Count < 2) return per;
            foreach (var s in Seeds)
            {
                var runs = lrs.Select(lr => (lr, r: Run(arm, lr, s))).ToList();
                if (runs.Any(x => x.r is null || !(x.r.Completed || x.r.Diverged))) continue;
                per[s] = LrSensitivity.Compute(runs.Select(x => new LrPoint(x.lr, x.r!.Eval.Select(m => RunRecord.Num(m[MetricKeys.ValLoss]) ?? double.NaN).ToList(), x.r.Diverged)).ToList(), LnV);
            }
            return per;
        }

        /// <summary>log10 η_max; an arm that diverged everywhere counts half a decade below the grid.</summary>
        public double Log10MaxLr(LrSensitivity s) => double.IsFinite(s.MaxStableLr) ? Math.Log10(s.MaxStableLr) : Math.Log10(s.Curve.Min(c => c.Lr)) - 0.5;

        /// <summary>Whether some lr above η* took the arm past its edge of stability (diverged, or ℓ above ℓ* + 0.5). A low lr that is
        /// merely undertrained (ℓ far above ℓ* below η*) is no edge of stability and does not count.</summary>
        public static bool EdgeReached(LrSensitivity s) => s.Curve.Any(c => c.Lr > s.BestLr && (c.Diverged || c.Loss > s.BestLoss + LrSensitivity.StableWithin));

        public static PairedComparison? Pair(IEnumerable<(long Seed, double? A, double? B)> values, double margin, bool lowerIsBetter)
        {
            var pairs = values.Where(v => v.A is double a && v.B is double b && double.IsFinite(a) && double.IsFinite(b))
                .Select(v => new SeedPair(v.Seed, v.A!.Value, v.B!.Value)).ToList();
            return pairs.Count == 0 ? null : PairedComparison.Compute(pairs, lowerIsBetter, margin);
        }

        public string GateText => GateTextAt(Budget.Log1e4);
    }

    /// <summary>"−0.0312 [−0.0500, −0.0124], margin 0.0200, 3 seeds (a better)".</summary>
    public static string Stat(PairedComparison? c) => c is null ? "n/a (runs missing)"
        : $"{N(c.MeanDifference)} [{N(c.Lower)}, {N(c.Upper)}], margin {N(c.Margin)}, {c.N} seeds ({PairedComparison.OutcomeName(c.Outcome)})";

    /// <summary>Combines the verdicts of a claim's parts: a gate (not applicable, not exercised, horizon) wins, then any
    /// disagreement, then agreement only when every part agrees; otherwise underpowered with the most seeds a part needs.</summary>
    public static Verdict Combine(params Verdict[] parts)
    {
        foreach (var c in new[] { VerdictClass.NotApplicable, VerdictClass.NotExercised, VerdictClass.HorizonTooShort })
            if (parts.FirstOrDefault(p => p.Class == c) is Verdict g) return g;
        if (parts.FirstOrDefault(p => p.Class == VerdictClass.Disagrees) is Verdict d) return d;
        if (parts.All(p => p.Class == VerdictClass.Agrees)) return new Verdict(VerdictClass.Agrees, string.Join("; ", parts.Select(p => p.Reason)), parts[0].Statistic);
        var under = parts.Where(p => p.Class == VerdictClass.Underpowered).ToList();
        int? need = under.Any(u => u.SeedsNeeded is null) ? null : under.Max(u => u.SeedsNeeded);
        return new Verdict(VerdictClass.Underpowered, string.Join("; ", under.Select(u => u.Reason)), under[0].Statistic, need);
    }

    /// <summary>
    /// An η_max ordering claim "a trains stably at higher learning rates than b": the paired difference of log10 η_max (decades,
    /// higher is better) against a quarter-decade margin. Not exercised when no lr of the grid took either arm past its edge of
    /// stability on any seed (both η_max sit at the top of the grid: the ordering cannot show).
    /// </summary>
    public static (Verdict Verdict, string Observed) MaxLrClaim(Study st, string armA, string armB, string? notApplicable = null)
    {
        var a = st.Sensitivity(armA); var b = st.Sensitivity(armB);
        var seeds = a.Keys.Intersect(b.Keys).OrderBy(s => s).ToList();
        string Desc(Dictionary<long, LrSensitivity> per) => per.Count == 0 ? "no complete grid"
            : $"η_max per seed {string.Join(", ", per.OrderBy(kv => kv.Key).Select(kv => double.IsFinite(kv.Value.MaxStableLr) ? Lr(kv.Value.MaxStableLr) : "none"))}";
        string observed = $"{armA}: {Desc(a)}; {armB}: {Desc(b)}";
        if (notApplicable is not null) return (new Verdict(VerdictClass.NotApplicable, notApplicable), observed);
        if (seeds.Count == 0) return (new Verdict(VerdictClass.NotApplicable, $"the lr grids of {armA} and {armB} are missing or unfinished"), observed);
        if (!seeds.Any(s => Study.EdgeReached(a[s]) || Study.EdgeReached(b[s])))
            return (new Verdict(VerdictClass.NotExercised,
                $"no lr of the grid (up to {Lr(st.Budget.Grid.Max())}) diverged or lost more than {N(LrSensitivity.StableWithin, "0.0")} nat against ℓ* for {armA} or {armB} on any seed: the grid never reached an edge of stability, so the ordering of η_max cannot show (extend the grid upwards)"), observed);
        // an arm that never trained (ℓ* not below the level attention-free prediction reaches, and no lr diverged) has no edge of stability to
        // compare: its "η_max" is the top of the grid only because every lr left it where it started
        double level = st.TrainedBelow;
        // (divergence is stability evidence even without training: an arm that diverged at every lr ranks below the grid)
        bool Trained(LrSensitivity x) => x.BestLoss < level || x.Curve.Any(p => p.Diverged);
        foreach (var (arm, per) in new[] { (armA, a), (armB, b) })
            if (!seeds.Any(s => Trained(per[s])))
                return (new Verdict(VerdictClass.HorizonTooShort,
                    $"{arm} never trained at any lr of the grid (ℓ* per seed {string.Join(", ", seeds.Select(s => N(per[s].BestLoss, "0.000")))}, not below {N(level, "0.000")}): its η_max is the top of the grid because nothing moved, which says nothing about stability"), observed);
        seeds = seeds.Where(s => Trained(a[s]) && Trained(b[s])).ToList();
        if (seeds.Count == 0)
            return (new Verdict(VerdictClass.HorizonTooShort, $"no seed on which both {armA} and {armB} trained (ℓ* below {N(level, "0.000")})"), observed);
        var c = Study.Pair(seeds.Select(s => (s, (double?)st.Log10MaxLr(a[s]), (double?)st.Log10MaxLr(b[s]))), LrMarginDecades, lowerIsBetter: false);
        var v = ClaimRules.Decide(ClaimKind.ABetter, c);
        return (v, $"{observed}; log10 η_max({armA}) − log10 η_max({armB}) = {Stat(c)} decades");
    }

    static string NotVariable(Study st) => st.VariableLength ? null! :
        $"every sequence had n = seq_len (packed data): dividing by n, √n or n^σ is a constant factor per run, so the claim about varying lengths cannot show; it needs {ResearchLogSweep.PackingKey}={ResearchLogSweep.VariableLengthPacking} (issue 17 item 1)";

    /// <summary>Learned σ never moved: the largest change of any head's σ between the first and last logged training record.</summary>
    static double? SigmaMovement(RunRecord? r)
    {
        if (r is null) return null;
        var withStats = r.Train.Where(m => m[MetricKeys.Attention]?["layers"] is JsonArray).ToList();
        if (withStats.Count < 2) return null;
        static List<double> Sig(JsonObject m) => ((JsonArray)m[MetricKeys.Attention]!["layers"]!).SelectMany(l => l?["sigma"] is JsonArray a ? a.Select(x => RunRecord.Num(x) ?? double.NaN) : Enumerable.Empty<double>()).ToList();
        var first = Sig(withStats[0]); var last = Sig(withStats[^1]);
        if (first.Count == 0 || first.Count != last.Count) return null;
        return first.Zip(last, (x, y) => Math.Abs(x - y)).Max();
    }

    static double? MaxOf(RunRecord? r, string key) => r is null ? null : r.Train.Select(m => RunRecord.Num(m[key])).Where(x => x is not null).Select(x => x!.Value).DefaultIfEmpty(double.NaN).Max() is double d && double.IsFinite(d) ? d : null;

    public static List<FindingVerdict> Evaluate(SweepResults s)
    {
        var list = new List<FindingVerdict>();
        if (s.Budget is not string budgetName || !ResearchLogSweep.Budgets.TryGetValue(budgetName, out var b))
        {
            // a sweep of another design (e.g. the pre-issue-17 reports/research-log-small): nothing to decide
            foreach (var id in Ids)
                list.Add(new FindingVerdict(id, Claims[id], new Verdict(VerdictClass.NotApplicable, $"the sweep's budget '{s.Budget ?? "none"}' is not one of this design's ({ResearchLogSweep.BudgetNames}); rerun `bertlab sweep run research-log`"),
                    "–", "–", "–", Array.Empty<string>()));
            return list;
        }
        var st = new Study(s, b);
        double l5 = b.Log1e5, l4 = b.Log1e4;
        string gate = st.GateText;
        IReadOnlyList<string> Runs(params (string arm, double lr)[] x) => x.SelectMany(p => st.Seeds.Select(seed => ResearchLogSweep.PointName(p.arm, p.lr, seed))).ToList();
        IReadOnlyList<string> GridRuns(params string[] arms) => arms.SelectMany(a => (ResearchLogSweep.Arms(b).FirstOrDefault(x => x.Name == a)?.Lrs ?? Array.Empty<double>())
            .SelectMany(lr => st.Seeds.Select(seed => ResearchLogSweep.PointName(a, lr, seed)))).ToList();
        void Add(string id, string rule, Verdict v, string observed, IReadOnlyList<string> runs, double? gateLr = null) =>
            list.Add(new FindingVerdict(id, Claims[id], v, rule, observed, gateLr is double g ? st.GateTextAt(g) : gate, runs));
        string M = $"the study margin ({N(st.Margin)} nats)";
        // a loss comparison "a better than b", gated on attention being in use
        (Verdict, string) Loss(ClaimKind kind, string armA, double lrA, string armB, double lrB, string? na = null, string? ne = null)
        {
            var c = st.Compare(armA, lrA, armB, lrB);
            return (ClaimRules.Decide(kind, c, na ?? NoGate(), ne, lrA == lrB ? st.GateAt(lrA) : st.Gate, st.GateName), $"ℓ({armA} @ {Lr(lrA)}) − ℓ({armB} @ {Lr(lrB)}) = {Stat(c)}");
        }
        string? NoGate() => st.Gate is null ? "the gate runs (softmax and cosine-softmax at the anchor lr) are missing or unfinished, so whether attention was in use is unknown" : null;

        {
            var (v, o) = Loss(ClaimKind.ABetter, "adam softmax", l4, "adam cosine", l4);
            Add("1", $"Adam (coupled L2 0.01, no clipping) at the log's 1e-4 (here {Lr(l4)}): softmax's ℓ is lower than cosine's by more than {M}; disagrees if cosine's is lower or they are equivalent", v, o, Runs(("adam softmax", l4), ("adam cosine", l4)));
        }
        {
            var clip = st.Seeds.Select(seed => MaxOf(st.Run("adam cosine clip", l4, seed), GradNormKey)).ToList();
            string? ne = clip.All(x => x is null) ? "the clipped runs logged no gradient norm (diagnostic missing)"
                : clip.All(x => x is null || x <= 1.0) ? $"the gradient norm never exceeded the clipping threshold 1.0 (largest logged {N(clip.Max() ?? double.NaN)}): clipping never acted" : null;
            var (v, o) = Loss(ClaimKind.ABetter, "adam cosine clip", l4, "adam cosine", l4, ne: ne);
            Add("2a", $"Adam cosine at {Lr(l4)}: the clipped arm's ℓ is lower than the unclipped one's by more than {M} (not exercised if the gradient norm never exceeded 1.0)", v, o, Runs(("adam cosine clip", l4), ("adam cosine", l4)));
        }
        {
            var (v, o) = Loss(ClaimKind.NotBetter, "adam cosine wd0.1", l4, "adam cosine", l4);
            Add("2b", $"\"did not help\": agrees if weight decay 0.1 is equivalent to or worse than 0.01 (equivalence within ±{M}); disagrees if it is better by more than the margin", v, o, Runs(("adam cosine wd0.1", l4), ("adam cosine", l4)));
        }
        {
            var (v, o) = MaxLrClaim(st, "adam softmax", "adam cosine");
            Add("2c", $"mapped: cosine was unstable at the log's 1e-4 where softmax trained, i.e. (Adam) log10 η_max(softmax) − log10 η_max(cosine) > {N(LrMarginDecades, "0.00")} decade, paired over seeds; not exercised if no lr of the grid destabilised either", v, o, GridRuns("adam softmax", "adam cosine"));
        }
        {
            var (v, o) = Loss(ClaimKind.ABetter, "adam cosine", l5, "adam softmax", l5);
            Add("2d", $"Adam at the log's 1e-5 (here {Lr(l5)}): cosine's ℓ is lower than softmax's by more than {M}", v, o, Runs(("adam cosine", l5), ("adam softmax", l5)), gateLr: l5);
        }
        {
            var (v1, o1) = Loss(ClaimKind.ABetter, "adamw softmax", l5, "adamw cosine", l5);
            var (v2, o2) = Loss(ClaimKind.ABetter, "adamw softmax", l4, "adamw cosine", l4);
            Add("3", $"AdamW at the log's 1e-5 and 1e-4 (here {Lr(l5)}, {Lr(l4)}): softmax beats cosine by more than {M} at both; disagrees if at either cosine is better or they are equivalent", Combine(v1, v2), o1 + "; " + o2,
                Runs(("adamw softmax", l5), ("adamw cosine", l5), ("adamw softmax", l4), ("adamw cosine", l4)), gateLr: l5);
        }
        {
            var (v, o) = Loss(ClaimKind.ABetter, "adamw cosine-relu", l5, "adamw cosine", l5);
            Add("4a", $"AdamW at {Lr(l5)}: cosine-relu's ℓ is lower than cosine's by more than {M} (\"a lot\" is read as beyond the margin; the size is in the interval)", v, o, Runs(("adamw cosine-relu", l5), ("adamw cosine", l5)), gateLr: l5);
        }
        {
            var (v1, o1) = Loss(ClaimKind.NotBetter, "adamw cosine-sigmoid", l5, "adamw cosine", l5);
            var (v2, o2) = Loss(ClaimKind.NotBetter, "adamw cosine-softmax", l5, "adamw cosine", l5);
            Add("4b", $"\"did not help\": at {Lr(l5)} neither sigmoid nor softmax on the cosine matrix beats plain cosine by more than {M} (equivalent or worse)", Combine(v1, v2), o1 + "; " + o2,
                Runs(("adamw cosine-sigmoid", l5), ("adamw cosine-softmax", l5), ("adamw cosine", l5)), gateLr: l5);
        }
        {
            var (v, o) = MaxLrClaim(st, "adamw softmax", "adamw cosine-relu");
            Add("4c", $"mapped: cosine-relu diverged above the log's 1e-5 where softmax trained, i.e. log10 η_max(softmax) − log10 η_max(cosine-relu) > {N(LrMarginDecades, "0.00")} decade; not exercised if no lr of the grid destabilised either", v, o, GridRuns("adamw softmax", "adamw cosine-relu"));
        }
        {
            var (v, o) = Loss(ClaimKind.ABetter, "adamw cosine-relu", l5, "adamw cosine-relu token-dropout", l5);
            Add("4d", $"at {Lr(l5)}: cosine-relu without token dropout beats it with dropout 0.1 by more than {M}", v, o, Runs(("adamw cosine-relu", l5), ("adamw cosine-relu token-dropout", l5)), gateLr: l5);
        }
        {
            var (v, o) = Loss(ClaimKind.ABetter, "adamw cosine-relu", l5, "adamw angular scaling-none", l5);
            Add("4e", $"at {Lr(l5)}, same activation (relu) and scaling (none): cosine similarity beats the angular one by more than {M}", v, o, Runs(("adamw cosine-relu", l5), ("adamw angular scaling-none", l5)), gateLr: l5);
        }
        {
            string? na = NotVariable(st);
            var (v1, o1) = MaxLrClaim(st, "adamw cosine-n", "adamw cosine-relu", na);
            var bestN = st.Sensitivity("adamw cosine-n"); var bestR = st.Sensitivity("adamw cosine-relu");
            var cBest = Study.Pair(st.Seeds.Select(seed => (seed, bestN.TryGetValue(seed, out var x) ? (double?)x.BestLoss : null, bestR.TryGetValue(seed, out var y) ? (double?)y.BestLoss : null)), st.Margin, true);
            var v2 = ClaimRules.Decide(ClaimKind.ABetter, cBest, na ?? NoGate(), null, st.Gate, st.GateName);
            Add("5", $"both: cosine-n trains at higher lrs (η_max ordering as in 4c) AND its best ℓ* over the grid beats cosine-relu's by more than {M}; variable-length data only", Combine(v1, v2),
                $"{o1}; ℓ*(cosine-n) − ℓ*(cosine-relu) = {Stat(cBest)}", GridRuns("adamw cosine-n", "adamw cosine-relu"));
        }
        {
            var div = st.Seeds.Count(seed => st.Run("adamw cosine-sqrt-n long", l4, seed) is { Diverged: true });
            var (v, o) = Loss(ClaimKind.ABetter, "adamw cosine-n long", l4, "adamw cosine-sqrt-n long", l4, NotVariable(st));
            var (_, oShort) = Loss(ClaimKind.ABetter, "adamw cosine-n", l4, "adamw cosine-sqrt-n", l4);
            Add("6a", $"at seq_len {b.LongSeqLen}, lr {Lr(l4)}: cosine-n beats cosine-sqrt-n by more than {M} (a diverged run scores ln V); the short-length pair is the control; variable-length data only",
                v, $"{o}; diverged: {div}/{st.Seeds.Count} long √n runs; control at seq_len {b.SeqLen}: {oShort}",
                Runs(("adamw cosine-n long", l4), ("adamw cosine-sqrt-n long", l4), ("adamw cosine-n", l4), ("adamw cosine-sqrt-n", l4)));
        }
        {
            string? na = NotVariable(st);
            var moved = st.Seeds.Select(seed => SigmaMovement(st.Run("adamw cottention", l4, seed))).ToList();
            string? ne = moved.All(x => x is null) ? "the cottention runs logged no σ per head (diagnostic missing)"
                : moved.All(x => x is null || x < 1e-3) ? $"σ(m) never moved (largest change of any head {N(moved.Max() ?? 0, "0.00000")} < 0.001): the learnable exponent was not exercised" : null;
            var sc = st.Sensitivity("adamw cottention"); var sn = st.Sensitivity("adamw cosine-n");
            var cBest = Study.Pair(st.Seeds.Select(seed => (seed, sn.TryGetValue(seed, out var x) ? (double?)x.BestLoss : null, sc.TryGetValue(seed, out var y) ? (double?)y.BestLoss : null)), st.Margin, true);
            var promising = ClaimRules.Decide(ClaimKind.NotBetter, cBest, na ?? NoGate(), ne, st.Gate, st.GateName);
            var (unstable, o2) = MaxLrClaim(st, "adamw cosine-n", "adamw cottention", na);
            Add("6b", $"both: \"promising\" — cosine-n's ℓ* is not better than cottention's by more than {M} — AND \"sometimes unstable\" — η_max(cottention) is below η_max(cosine-n) (as in 4c); not exercised if σ never moved; variable-length data only",
                Combine(ne is null ? promising : new Verdict(VerdictClass.NotExercised, ne), unstable), $"ℓ*(cosine-n) − ℓ*(cottention) = {Stat(cBest)}; {o2}; largest σ change per seed: {string.Join(", ", moved.Select(x => x is double d ? N(d, "0.0000") : "–"))}",
                GridRuns("adamw cottention", "adamw cosine-n"));
        }
        {
            var (v, o) = Loss(ClaimKind.ABetter, "adamw qkv-norm", l4, "adamw cosine", l4);
            Add("6c", $"at {Lr(l4)}: qkv-norm's ℓ is lower than cosine's by more than {M}", v, o, Runs(("adamw qkv-norm", l4), ("adamw cosine", l4)));
        }
        {
            var parts = new List<Verdict>(); var obs = new List<string>(); var runs = new List<string>();
            foreach (var lambda in new[] { 0.01, 0.1 })
            {
                string arm = $"adamw cosine penalty{SweepDefinition.FormatNumber(lambda)}";
                var pen = st.Seeds.Select(seed => MaxOf(st.Run(arm, l4, seed), OutputPenaltyKey)).ToList();
                string? ne = pen.All(x => x is null) ? $"λ = {Lr(lambda)}: no output_penalty was logged (the term stayed 0 or the diagnostic is missing): the penalty never acted"
                    : pen.All(x => x is null or <= 0) ? $"λ = {Lr(lambda)}: the penalty term stayed exactly 0 (‖o‖ never exceeded ‖x‖)" : null;
                var (v, o) = Loss(ClaimKind.ABetter, "adamw cosine", l4, arm, l4, ne: ne);
                parts.Add(v); obs.Add($"λ {Lr(lambda)}: {o}; largest penalty term {N(pen.Max() ?? double.NaN, "0.000000")}");
                runs.AddRange(Runs((arm, l4)));
            }
            runs.AddRange(Runs(("adamw cosine", l4)));
            Add("6d", $"at {Lr(l4)} on plain cosine: the unpenalised run beats the penalised one by more than {M}, for λ 0.01 and 0.1; not exercised if the penalty term stayed 0", Combine(parts.ToArray()), string.Join("; ", obs), runs);
        }
        Add("7", "train on a copy of the corpus with punctuation stripped and on the clean corpus, both validated on the clean validation set; paired ℓ over seeds",
            new Verdict(VerdictClass.NotApplicable, st.Task is not null
                ? "the study trains on a generated task, which has no punctuation to strip; the finding concerns the original code's text preprocessing (a natural-text study would need a validation-corpus setting, which BertLab does not have yet)"
                : "BertLab cannot yet validate a run trained on one corpus on another corpus's validation set (no validation-corpus setting), and the punctuation-stripped copy is not built; the finding concerns the original code's preprocessing bug"),
            "no runs", Array.Empty<string>());
        {
            var (v, o) = MaxLrClaim(st, "adamw cosine-n", "adamw cosine", NotVariable(st));
            Add("8", $"η_max(cosine-n) above η_max(cosine) by more than {N(LrMarginDecades, "0.00")} decade (paired, AdamW); variable-length data only; not exercised if no lr destabilised either", v, o, GridRuns("adamw cosine-n", "adamw cosine"));
        }
        {
            var obsArms = new[] { "adamw euclidean", "adamw manhattan", "adamw lp" }.Where(a => st.Seeds.Any(seed => st.Run(a, l4, seed) is not null)).ToList();
            var parts = obsArms.Select(a => $"{a} − adamw softmax at {Lr(l4)}: {Stat(st.Compare(a, l4, "adamw softmax", l4))}").ToList();
            Add("9", "no claim to test (a list of future experiments); the similarity arms are reported beside softmax",
                new Verdict(VerdictClass.NotApplicable, "future work, not a claim"), parts.Count > 0 ? string.Join("; ", parts) : "not run at this budget",
                obsArms.SelectMany(a => Runs((a, l4))).ToList());
        }
        return list;
    }

    public static readonly string[] Ids = { "1", "2a", "2b", "2c", "2d", "3", "4a", "4b", "4c", "4d", "4e", "5", "6a", "6b", "6c", "6d", "7", "8", "9" };

    public static readonly IReadOnlyDictionary<string, string> Claims = new Dictionary<string, string>
    {
        ["1"] = "Softmax and cosine both trained poorly at first; cosine did not converge.",
        ["2a"] = "Gradient clipping stabilised cosine a little.",
        ["2b"] = "Weight decay 0.1 did not help (cosine).",
        ["2c"] = "Learning rate 1e-5 stabilised cosine (Adam).",
        ["2d"] = "At lr 1e-5 cosine then beat softmax (Adam).",
        ["3"] = "After switching to AdamW, softmax at lr 1e-5 and 1e-4 clearly beat cosine.",
        ["4a"] = "ReLU on the attention matrix helped cosine converge a lot.",
        ["4b"] = "Other activations (sigmoid, softmax on the cosine matrix) did not help.",
        ["4c"] = "With ReLU, learning rates above 1e-5 diverged.",
        ["4d"] = "Token dropout was worse.",
        ["4e"] = "An \"angle distance\" was worse.",
        ["5"] = "Dividing the attention by the sequence length allowed higher learning rates and beat ReLU.",
        ["6a"] = "√n normalisation diverged at long sequences.",
        ["6b"] = "A learnable exponent (n^σ(m), cottention) was promising but sometimes unstable.",
        ["6c"] = "Normalising Q, K and V gave stable improvements.",
        ["6d"] = "An output-magnitude loss penalty did not converge.",
        ["7"] = "Fixing a preprocessing bug that had stripped punctuation improved data quality and results.",
        ["8"] = "With the cleaned data, division by the sequence length was restored for stability.",
        ["9"] = "Future work: ReLU / sigmoid / softmax on the matrix; cosine / Euclidean / Manhattan similarity; a learnable p distance.",
    };
}
