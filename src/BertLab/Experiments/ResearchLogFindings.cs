using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using static BertLab.Experiments.ResearchLogArms;

namespace BertLab.Experiments;

/// <summary>
/// The findings of ATTENTION.md §5 (issue 17 items 4, 5), one record each: every finding as a paired comparison over seeds
/// (<see cref="PairedComparison"/>) of ℓ(η) (mean of the last two validation losses, capped at ln V, ln V when diverged) or of
/// log10 η_max (<see cref="LrSensitivity"/>), decided by <see cref="ClaimRules"/> into the six verdict classes. Non-events
/// never count as evidence: a penalty that stayed 0, clipping that never clipped, a grid that never reached an arm's edge of
/// stability give "not exercised" (<see cref="MechanismCheck"/>); constant-length data gives "not applicable" for the claims
/// about n; comparisons of loss are gated on attention being in use. The margin is fixed once per study before any
/// comparison (<see cref="StudyRuns"/>).
/// </summary>
public static class ResearchLogFindings
{
    const LogLr L5 = LogLr.Log1e5, L4 = LogLr.Log1e4;
    const ClaimKind ABetter = ClaimKind.ABetter, NotBetter = ClaimKind.NotBetter;

    /// <summary>The findings in the order of the log (and of the report).</summary>
    public static readonly IReadOnlyList<Finding> Findings = new Finding[]
    {
        new("1", "Softmax and cosine both trained poorly at first; cosine did not converge.",
            new LossComparison(ABetter, AdamSoftmax.At(L4), AdamCosine.At(L4)),
            t => $"Adam (coupled L2 0.01, no clipping) at the log's 1e-4 (here {t.Lr1e4}): softmax's ℓ is lower than cosine's by more than {t.Margin}; disagrees if cosine's is lower or they are equivalent"),
        new("2a", "Gradient clipping stabilised cosine a little.",
            new LossComparison(ABetter, AdamCosineClip.At(L4), AdamCosine.At(L4)) { Check = new ClippingActed(AdamCosineClip.At(L4)) },
            t => $"Adam cosine at {t.Lr1e4}: the clipped arm's ℓ is lower than the unclipped one's by more than {t.Margin} (not exercised if the gradient norm never exceeded 1.0)"),
        new("2b", "Weight decay 0.1 did not help (cosine).",
            new LossComparison(NotBetter, AdamCosineWd.At(L4), AdamCosine.At(L4)),
            t => $"\"did not help\": agrees if weight decay 0.1 is equivalent to or worse than 0.01 (equivalence within ±{t.Margin}); disagrees if it is better by more than the margin"),
        new("2c", "Learning rate 1e-5 stabilised cosine (Adam).",
            new MaxLrOrdering(AdamSoftmax, AdamCosine),
            t => $"mapped: cosine was unstable at the log's 1e-4 where softmax trained, i.e. (Adam) log10 η_max(softmax) − log10 η_max(cosine) > {t.LrMargin} decade, paired over seeds; not exercised if no lr of the grid destabilised either"),
        new("2d", "At lr 1e-5 cosine then beat softmax (Adam).",
            new LossComparison(ABetter, AdamCosine.At(L5), AdamSoftmax.At(L5)),
            t => $"Adam at the log's 1e-5 (here {t.Lr1e5}): cosine's ℓ is lower than softmax's by more than {t.Margin}") { GateAt = L5 },
        new("3", "After switching to AdamW, softmax at lr 1e-5 and 1e-4 clearly beat cosine.",
            new AllOf(new LossComparison(ABetter, Softmax.At(L5), Cosine.At(L5)), new LossComparison(ABetter, Softmax.At(L4), Cosine.At(L4))),
            t => $"AdamW at the log's 1e-5 and 1e-4 (here {t.Lr1e5}, {t.Lr1e4}): softmax beats cosine by more than {t.Margin} at both; disagrees if at either cosine is better or they are equivalent") { GateAt = L5 },
        new("4a", "ReLU on the attention matrix helped cosine converge a lot.",
            new LossComparison(ABetter, CosineRelu.At(L5), Cosine.At(L5)),
            t => $"AdamW at {t.Lr1e5}: cosine-relu's ℓ is lower than cosine's by more than {t.Margin} (\"a lot\" is read as beyond the margin; the size is in the interval)") { GateAt = L5 },
        new("4b", "Other activations (sigmoid, softmax on the cosine matrix) did not help.",
            new EachAgainst(new[] { CosineSigmoid, CosineSoftmax }, Cosine, x => new LossComparison(NotBetter, x.At(L5), Cosine.At(L5))),
            t => $"\"did not help\": at {t.Lr1e5} neither sigmoid nor softmax on the cosine matrix beats plain cosine by more than {t.Margin} (equivalent or worse)") { GateAt = L5 },
        new("4c", "With ReLU, learning rates above 1e-5 diverged.",
            new MaxLrOrdering(Softmax, CosineRelu),
            t => $"mapped: cosine-relu diverged above the log's 1e-5 where softmax trained, i.e. log10 η_max(softmax) − log10 η_max(cosine-relu) > {t.LrMargin} decade; not exercised if no lr of the grid destabilised either"),
        new("4d", "Token dropout was worse.",
            new LossComparison(ABetter, CosineRelu.At(L5), CosineReluTokenDropout.At(L5)),
            t => $"at {t.Lr1e5}: cosine-relu without token dropout beats it with dropout 0.1 by more than {t.Margin}") { GateAt = L5 },
        new("4e", "An \"angle distance\" was worse.",
            new LossComparison(ABetter, CosineRelu.At(L5), AngularScalingNone.At(L5)),
            t => $"at {t.Lr1e5}, same activation (relu) and scaling (none): cosine similarity beats the angular one by more than {t.Margin}") { GateAt = L5 },
        new("5", "Dividing the attention by the sequence length allowed higher learning rates and beat ReLU.",
            new VariableLengthOnly(new AllOf(new MaxLrOrdering(CosineN, CosineRelu), new BestLossComparison(ABetter, CosineN, CosineRelu))),
            t => $"both: cosine-n trains at higher lrs (η_max ordering as in 4c) AND its best ℓ* over the grid beats cosine-relu's by more than {t.Margin}; variable-length data only"),
        new("6a", "√n normalisation diverged at long sequences.",
            new AllOf(
                new VariableLengthOnly(new LossComparison(ABetter, CosineNLong.At(L4), CosineSqrtNLong.At(L4))),
                new DivergedRuns(CosineSqrtNLong.At(L4), "long √n runs"),
                new Beside(t => $"control at seq_len {t.SeqLen}", new LossComparison(ABetter, CosineN.At(L4), CosineSqrtN.At(L4)))),
            t => $"at seq_len {t.LongSeqLen}, lr {t.Lr1e4}: cosine-n beats cosine-sqrt-n by more than {t.Margin} (a diverged run scores ln V); the short-length pair is the control; variable-length data only"),
        new("6b", "A learnable exponent (n^σ(m), cottention) was promising but sometimes unstable.",
            new EachAgainst(new[] { Cottention }, CosineN, x => new VariableLengthOnly(new AllOf(
                // "promising": not exercised when σ never moved, whatever the comparison says
                new NotExercisedUnless(new SigmaMoved(x.At(L4)), new BestLossComparison(NotBetter, CosineN, x)),
                // "sometimes unstable"
                new MaxLrOrdering(CosineN, x),
                new Note(new SigmaMoved(x.At(L4)))))),
            t => $"both: \"promising\" — cosine-n's ℓ* is not better than cottention's by more than {t.Margin} — AND \"sometimes unstable\" — η_max(cottention) is below η_max(cosine-n) (as in 4c); not exercised if σ never moved; variable-length data only"),
        new("6c", "Normalising Q, K and V gave stable improvements.",
            new LossComparison(ABetter, QkvNorm.At(L4), Cosine.At(L4)),
            t => $"at {t.Lr1e4}: qkv-norm's ℓ is lower than cosine's by more than {t.Margin}"),
        new("6d", "An output-magnitude loss penalty did not converge.",
            new EachAgainst(CosinePenalty, Cosine, x =>
            {
                var acted = new PenaltyActed(x.At(L4));
                return new Labelled($"λ {SweepDefinition.FormatNumber(acted.Lambda)}",
                    new AllOf(new LossComparison(ABetter, Cosine.At(L4), x.At(L4)) { Check = acted }, new Note(acted)));
            }),
            t => $"at {t.Lr1e4} on plain cosine: the unpenalised run beats the penalised one by more than {t.Margin}, for λ 0.01 and 0.1; not exercised if the penalty term stayed 0"),
        new("7", "Fixing a preprocessing bug that had stripped punctuation improved data quality and results.",
            new OnTextOnly(new LossComparison(ABetter, Softmax.At(L4), SoftmaxStripped.At(L4)),
                "the study trains on a generated task, which has no punctuation to strip; the finding concerns the original code's text preprocessing (the text budgets test it)"),
            t => $"AdamW softmax at {t.Lr1e4}: trained on the clean corpus, its ℓ is lower than trained on a copy with its punctuation stripped (training documents only, the clean vocabulary), both validated on the clean validation set, by more than {t.Margin}"),
        new("8", "With the cleaned data, division by the sequence length was restored for stability.",
            new VariableLengthOnly(new MaxLrOrdering(CosineN, Cosine)),
            t => $"η_max(cosine-n) above η_max(cosine) by more than {t.LrMargin} decade (paired, AdamW); variable-length data only; not exercised if no lr destabilised either"),
        new("9", "Future work: ReLU / sigmoid / softmax on the matrix; cosine / Euclidean / Manhattan similarity; a learnable p distance.",
            new ObservedBeside(new[] { Euclidean, Manhattan, Lp }, Softmax.At(L4)),
            _ => "no claim to test (a list of future experiments); the similarity arms are reported beside softmax"),
    };

    /// <summary>The research-log study: its arms, its findings, the calibration arm (softmax at the anchor lr) and the gate
    /// (softmax against cosine-softmax).</summary>
    public static readonly StudyDesign Design = new()
    {
        Name = ResearchLogSweep.Name, Arms = RunOrder, Findings = Findings,
        Calibration = Softmax.At(L4), GateArm = Softmax, GateControl = CosineSoftmax,
    };

    /// <summary>The finding ids, in order.</summary>
    public static IReadOnlyList<string> Ids => Findings.Select(f => f.Id).ToList();

    /// <summary>Every finding's verdict on a sweep of this study; "not applicable" for all when the sweep's budget is not one of the study's.</summary>
    public static List<FindingVerdict> Evaluate(SweepResults s)
    {
        if (s.Budget is not string budgetName || !ResearchLogSweep.Budgets.TryGetValue(budgetName, out var b))
            // a sweep of another design (e.g. the pre-issue-17 reports/research-log-small): nothing to decide
            return Findings.Select(f => new FindingVerdict(f.Id, f.Claim, new Verdict(VerdictClass.NotApplicable, $"the sweep's budget '{s.Budget ?? "none"}' is not one of this design's ({ResearchLogSweep.BudgetNames}); rerun `bertlab sweep run research-log`"),
                "–", "–", "–", Array.Empty<string>())).ToList();
        return Evaluate(new StudyRuns(s, ResearchLogSweep.Plan(b)));
    }

    /// <summary>Every finding's verdict over these runs (the first stage's, with a follow-up's bisection rounds, or a horizon check's), in the order of <see cref="Findings"/>.</summary>
    public static List<FindingVerdict> Evaluate(StudyRuns st)
    {
        var plan = st.Plan;
        var text = st.Text;
        return Findings.Select(f =>
        {
            var o = f.Rule.Evaluate(st, RuleScope.None);
            double gateLr = st.Lr(f.GateAt);
            return new FindingVerdict(f.Id, f.Claim, o.Verdict!, f.RuleText(text), o.Observed, st.GateTextAt(gateLr), plan.RunNames(f))
                { Statistics = o.Statistics, GateLr = st.GateLr(gateLr), GateStatistic = st.GateAt(gateLr) };
        }).ToList();
    }
}
