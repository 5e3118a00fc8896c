using BertLab.Experiments.Statistics;
using static BertLab.Experiments.Study.StudyFormat;

namespace BertLab.Experiments.Study;

/// <summary>What a rule decided (null for a part that only reports) and what it observed, as the report shows it;
/// <see cref="Statistics"/>: every paired comparison it computed, in order (findings.json lists them).</summary>
public sealed record RuleOutcome(Verdict? Verdict, string Observed)
{
    public IReadOnlyList<RuleStatistic> Statistics { get; init; } = Array.Empty<RuleStatistic>();
}

/// <summary>One comparison a rule computed: what it compares ("ℓ(adamw softmax @ 0.001) − ℓ(adamw cosine @ 0.001)"), the
/// statistic (null when the runs are missing) and whether it takes part in the verdict (false: reported beside it).</summary>
public sealed record RuleStatistic(string Comparison, PairedComparison? Statistic, bool Decides = true);

/// <summary>Why the claims evaluated under a scope cannot be tested by these runs (set by <see cref="VariableLengthOnly"/>), or null.</summary>
public sealed record RuleScope(string? NotApplicable)
{
    public static readonly RuleScope None = new((string?)null);
}

/// <summary>
/// How a finding is decided from the study's runs. The leaves compare arms (<see cref="LossComparison"/>,
/// <see cref="MaxLrOrdering"/>, <see cref="BestLossComparison"/>); the others combine them, restrict where they apply,
/// check that the mechanism acted (<see cref="MechanismCheck"/>) or only report. <see cref="Reads"/> are the runs the
/// finding lists, in order; <see cref="StudyDesign.Plan"/> checks every read against the budget.
/// </summary>
public abstract record StudyRule
{
    /// <summary>The runs the rule reads, in the order the report lists them (repeats are listed once).</summary>
    public abstract IEnumerable<ArmRead> Reads { get; }
    /// <summary>Every read the plan must provide: <see cref="Reads"/> and what the rule reads without listing it.</summary>
    public virtual IEnumerable<ArmRead> Requires => Reads;
    public abstract RuleOutcome Evaluate(StudyRuns st, RuleScope scope);
    /// <summary>The rules this one combines or wraps.</summary>
    public virtual IEnumerable<StudyRule> Children => Array.Empty<StudyRule>();
    /// <summary>This rule and every rule below it.</summary>
    public IEnumerable<StudyRule> Descendants() => Children.SelectMany(c => c.Descendants()).Prepend(this);
}

/// <summary>ℓ(a at its lr) against ℓ(b at its lr), paired over seeds, decided by <see cref="ClaimRules.Decide"/>; gated on
/// attention being in use at that lr (at the anchor when the two lrs differ). <see cref="Check"/>: the mechanism under
/// test acted (else "not exercised"; a claim that cannot be tested or gated says so first).</summary>
public sealed record LossComparison(ClaimKind Kind, ArmAt A, ArmAt B) : StudyRule
{
    public MechanismCheck? Check { get; init; }

    public override IEnumerable<ArmRead> Reads => new[] { ArmRead.Of(A), ArmRead.Of(B) };
    public override IEnumerable<ArmRead> Requires => Check is null ? Reads : Reads.Concat(Check.Reads);

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        double lrA = st.Lr(A.Lr), lrB = st.Lr(B.Lr);
        var c = st.Compare(A.Arm, lrA, B.Arm, lrB);
        var v = ClaimRules.Decide(Kind, c, scope.NotApplicable ?? st.NoGate, Check?.NotExercised(st), lrA == lrB ? st.GateAt(lrA) : st.Gate, st.GateName);
        string what = $"ℓ({A.Arm.Name} @ {Lr(lrA)}) − ℓ({B.Arm.Name} @ {Lr(lrB)})";
        return new RuleOutcome(v, $"{what} = {Stat(c)}") { Statistics = new[] { new RuleStatistic(what, c) } };
    }
}

/// <summary>
/// "a trains stably at higher learning rates than b": the paired difference of log10 η_max over the two arms' grids
/// (decades, higher is better) against <see cref="MarginDecades"/>. Not exercised when no lr of the grid took either arm
/// past its edge of stability on any seed (both η_max sit at the top of the grid: the ordering cannot show); horizon too
/// short when an arm never trained at any lr.
/// </summary>
public sealed record MaxLrOrdering(StudyArm A, StudyArm B) : StudyRule
{
    /// <summary>Margin of η_max orderings on the grid, in decades: a quarter decade, half a grid step, so any step of the grid
    /// clears it. After a bisection stage the margin is the resolution it reached (<see cref="StudyRuns.LrMarginDecades"/>).</summary>
    public const double MarginDecades = 0.25;

    public override IEnumerable<ArmRead> Reads => new[] { ArmRead.Grid(A), ArmRead.Grid(B) };

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        string armA = A.Name, armB = B.Name;
        var a = st.Sensitivity(A); var b = st.Sensitivity(B);
        var seeds = a.Keys.Intersect(b.Keys).OrderBy(s => s).ToList();
        string Desc(Dictionary<long, LrSensitivity> per) => per.Count == 0 ? "no complete grid"
            : $"η_max per seed {string.Join(", ", per.OrderBy(kv => kv.Key).Select(kv => double.IsFinite(kv.Value.MaxStableLr) ? Lr(kv.Value.MaxStableLr) : "none"))}";
        string observed = $"{armA}: {Desc(a)}; {armB}: {Desc(b)}";
        if (scope.NotApplicable is string na) return new(new Verdict(VerdictClass.NotApplicable, na), observed);
        if (seeds.Count == 0) return new(new Verdict(VerdictClass.NotApplicable, $"the lr grids of {armA} and {armB} are missing or unfinished"), observed);
        if (!seeds.Any(s => StudyRuns.EdgeReached(a[s]) || StudyRuns.EdgeReached(b[s])))
            return new(new Verdict(VerdictClass.NotExercised,
                $"no lr of the grid (up to {Lr(st.Budget.Grid.Max())}) diverged or lost more than {N(LrSensitivity.StableWithin, "0.0")} nat against ℓ* for {armA} or {armB} on any seed: the grid never reached an edge of stability, so the ordering of η_max cannot show (extend the grid upwards)"), observed);
        // an arm that never trained (ℓ* not below the level attention-free prediction reaches, and no lr diverged) has no edge of stability to
        // compare: its "η_max" is the top of the grid only because every lr left it where it started
        double level = st.TrainedBelow;
        // (divergence is stability evidence even without training: an arm that diverged at every lr ranks below the grid)
        bool Trained(LrSensitivity x) => x.BestLoss < level || x.Curve.Any(p => p.Diverged);
        foreach (var (arm, per) in new[] { (armA, a), (armB, b) })
            if (!seeds.Any(s => Trained(per[s])))
                return new(new Verdict(VerdictClass.HorizonTooShort,
                    $"{arm} never trained at any lr of the grid (ℓ* per seed {string.Join(", ", seeds.Select(s => N(per[s].BestLoss, "0.000")))}, not below {N(level, "0.000")}): its η_max is the top of the grid because nothing moved, which says nothing about stability"), observed);
        seeds = seeds.Where(s => Trained(a[s]) && Trained(b[s])).ToList();
        if (seeds.Count == 0)
            return new(new Verdict(VerdictClass.HorizonTooShort, $"no seed on which both {armA} and {armB} trained (ℓ* below {N(level, "0.000")})"), observed);
        var c = StudyRuns.Pair(seeds.Select(s => (s, (double?)StudyRuns.Log10MaxLr(a[s]), (double?)StudyRuns.Log10MaxLr(b[s]))), st.LrMarginDecades, lowerIsBetter: false, StudyRuns.Decades);
        var v = ClaimRules.Decide(ClaimKind.ABetter, c);
        string what = $"log10 η_max({armA}) − log10 η_max({armB})";
        return new(v, $"{observed}; {what} = {Stat(c)} decades") { Statistics = new[] { new RuleStatistic(what, c) } };
    }
}

/// <summary>The best loss over the grid, ℓ*(a) against ℓ*(b), paired over seeds (seeds with an unfinished grid are left
/// out), gated on attention being in use at the anchor.</summary>
public sealed record BestLossComparison(ClaimKind Kind, StudyArm A, StudyArm B) : StudyRule
{
    public override IEnumerable<ArmRead> Reads => new[] { ArmRead.Grid(A), ArmRead.Grid(B) };

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        var a = st.Sensitivity(A); var b = st.Sensitivity(B);
        var c = StudyRuns.Pair(st.Seeds.Select(seed => (seed, a.TryGetValue(seed, out var x) ? (double?)x.BestLoss : null, b.TryGetValue(seed, out var y) ? (double?)y.BestLoss : null)), st.Margin, true);
        var v = ClaimRules.Decide(Kind, c, scope.NotApplicable ?? st.NoGate, null, st.Gate, st.GateName);
        string what = $"ℓ*({A.Attention}) − ℓ*({B.Attention})";
        return new(v, $"{what} = {Stat(c)}") { Statistics = new[] { new RuleStatistic(what, c) } };
    }
}

/// <summary>Every part must hold (<see cref="Combine"/>); the observations are joined with "; ". Parts that only report
/// (<see cref="Note"/>, <see cref="Beside"/>) add their text and no verdict.</summary>
public sealed record AllOf(params StudyRule[] Parts) : StudyRule
{
    public override IEnumerable<StudyRule> Children => Parts;
    public override IEnumerable<ArmRead> Reads => Parts.SelectMany(p => p.Reads);
    public override IEnumerable<ArmRead> Requires => Parts.SelectMany(p => p.Requires);

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope) => Combined(Parts.Select(p => p.Evaluate(st, scope)));

    internal static RuleOutcome Combined(IEnumerable<RuleOutcome> outcomes)
    {
        var list = outcomes.ToList();
        if (list.All(o => o.Verdict is null)) throw new InvalidOperationException("a combination of rules that only report decides nothing");
        return new(Combine(list.Where(o => o.Verdict is not null).Select(o => o.Verdict!).ToArray()), string.Join("; ", list.Select(o => o.Observed)))
            { Statistics = list.SelectMany(o => o.Statistics).ToList() };
    }

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
}

/// <summary>One rule per subject arm against a shared reference arm, all of which must hold (as <see cref="AllOf"/>); the
/// report lists the subjects' runs first, then the reference's ("neither sigmoid nor softmax beats plain cosine").</summary>
public sealed record EachAgainst : StudyRule
{
    public IReadOnlyList<StudyArm> Subjects { get; }
    public StudyArm Reference { get; }
    public IReadOnlyList<StudyRule> Parts { get; }

    public EachAgainst(IReadOnlyList<StudyArm> subjects, StudyArm reference, Func<StudyArm, StudyRule> part)
    {
        Subjects = subjects; Reference = reference;
        Parts = subjects.Select(part).ToList();
    }

    public override IEnumerable<ArmRead> Reads
    {
        get
        {
            var all = Parts.SelectMany(p => p.Reads).ToList();
            return all.Where(r => r.Arm != Reference).Concat(all.Where(r => r.Arm == Reference));
        }
    }

    public override IEnumerable<ArmRead> Requires => Parts.SelectMany(p => p.Requires);
    public override IEnumerable<StudyRule> Children => Parts;

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope) => AllOf.Combined(Parts.Select(p => p.Evaluate(st, scope)));
}

/// <summary>A claim about varying sequence lengths: not applicable where every sequence had n = seq_len.</summary>
public sealed record VariableLengthOnly(StudyRule Inner) : StudyRule
{
    public override IEnumerable<StudyRule> Children => new[] { Inner };
    public override IEnumerable<ArmRead> Reads => Inner.Reads;
    public override IEnumerable<ArmRead> Requires => Inner.Requires;
    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope) => Inner.Evaluate(st, new RuleScope(st.NotVariable ?? scope.NotApplicable));
}

/// <summary>The inner rule's verdict, unless <see cref="Check"/> finds that the mechanism never acted: then "not exercised",
/// whatever the comparison says (the comparison is still reported).</summary>
public sealed record NotExercisedUnless(MechanismCheck Check, StudyRule Inner) : StudyRule
{
    public override IEnumerable<StudyRule> Children => new[] { Inner };
    public override IEnumerable<ArmRead> Reads => Inner.Reads;
    public override IEnumerable<ArmRead> Requires => Inner.Requires.Concat(Check.Reads);

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        var o = Inner.Evaluate(st, scope);
        return Check.NotExercised(st) is string ne ? o with { Verdict = new Verdict(VerdictClass.NotExercised, ne) } : o;
    }
}

/// <summary>The inner rule, its observation prefixed with "label: ".</summary>
public sealed record Labelled(string Label, StudyRule Inner) : StudyRule
{
    public override IEnumerable<StudyRule> Children => new[] { Inner };
    public override IEnumerable<ArmRead> Reads => Inner.Reads;
    public override IEnumerable<ArmRead> Requires => Inner.Requires;
    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        var o = Inner.Evaluate(st, scope);
        return o with { Observed = $"{Label}: {o.Observed}", Statistics = o.Statistics.Select(x => x with { Comparison = $"{Label}: {x.Comparison}" }).ToList() };
    }
}

/// <summary>A comparison reported beside the finding and not decided (e.g. the control where the mechanism cannot act),
/// as "label: observation".</summary>
public sealed record Beside(Func<FindingText, string> Label, StudyRule Inner) : StudyRule
{
    public override IEnumerable<StudyRule> Children => new[] { Inner };
    public override IEnumerable<ArmRead> Reads => Inner.Reads;
    public override IEnumerable<ArmRead> Requires => Inner.Requires;
    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        var o = Inner.Evaluate(st, scope);
        string label = Label(st.Text);
        return new(null, $"{label}: {o.Observed}") { Statistics = o.Statistics.Select(x => x with { Comparison = $"{label}: {x.Comparison}", Decides = false }).ToList() };
    }
}

/// <summary>What a mechanism check saw (the largest penalty term, σ's change per seed), reported and not decided.</summary>
public sealed record Note(MechanismCheck Check) : StudyRule
{
    public override IEnumerable<ArmRead> Reads => Check.Reads;
    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope) => new(null, Check.Describe(st));
}

/// <summary>How many of an arm's seeds diverged, reported ("diverged: 1/4 long √n runs") and not decided.</summary>
public sealed record DivergedRuns(ArmAt Runs, string What) : StudyRule
{
    public override IEnumerable<ArmRead> Reads => new[] { ArmRead.Of(Runs) };

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        double lr = st.Lr(Runs.Lr);
        return new(null, $"diverged: {st.Seeds.Count(seed => st.Run(Runs.Arm, lr, seed) is { Diverged: true })}/{st.Seeds.Count} {What}");
    }
}

/// <summary>A claim about text that a generated task cannot test: the inner rule on text (its arms run only there,
/// <see cref="StudyArm.TextOnly"/>), "not applicable" with <see cref="OnGeneratedTask"/> on a generated task.</summary>
public sealed record OnTextOnly(StudyRule Inner, string OnGeneratedTask) : StudyRule
{
    public override IEnumerable<StudyRule> Children => new[] { Inner };
    public override IEnumerable<ArmRead> Reads => Inner.Reads.Select(r => r with { Optional = true });
    public override IEnumerable<ArmRead> Requires => Inner.Requires.Select(r => r with { Optional = true });
    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope) =>
        st.Task is not null ? new(new Verdict(VerdictClass.NotApplicable, OnGeneratedTask), "no runs") : Inner.Evaluate(st, scope);
}

/// <summary>A claim this study cannot test: not applicable, with why on a generated task and on text; no runs.</summary>
public sealed record NotTestable(string OnGeneratedTask, string OnText) : StudyRule
{
    public override IEnumerable<ArmRead> Reads => Array.Empty<ArmRead>();
    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope) =>
        new(new Verdict(VerdictClass.NotApplicable, st.Task is not null ? OnGeneratedTask : OnText), "no runs");
}

/// <summary>No claim: the arms (where the budget runs them) reported beside a reference arm at its lr.</summary>
public sealed record ObservedBeside(IReadOnlyList<StudyArm> Arms, ArmAt Reference) : StudyRule
{
    public override IEnumerable<ArmRead> Reads => Arms.Select(a => new ArmRead(a, Reference.Lr, Optional: true));
    public override IEnumerable<ArmRead> Requires => Reads.Append(ArmRead.Of(Reference));

    public override RuleOutcome Evaluate(StudyRuns st, RuleScope scope)
    {
        double lr = st.Lr(Reference.Lr);
        var run = Arms.Where(a => st.Seeds.Any(seed => st.Run(a, lr, seed) is not null)).ToList();
        var stats = run.Select(a => new RuleStatistic($"ℓ({a.Name} @ {Lr(lr)}) − ℓ({Reference.Arm.Name} @ {Lr(lr)})", st.Compare(a, lr, Reference.Arm, lr), Decides: false)).ToList();
        var parts = run.Select((a, i) => $"{a.Name} − {Reference.Arm.Name} at {Lr(lr)}: {Stat(stats[i].Statistic)}").ToList();
        return new(new Verdict(VerdictClass.NotApplicable, "future work, not a claim"), parts.Count > 0 ? string.Join("; ", parts) : "not run at this budget") { Statistics = stats };
    }
}
