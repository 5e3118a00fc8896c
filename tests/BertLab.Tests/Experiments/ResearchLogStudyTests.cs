using System.Text.Json.Nodes;
using BertLab.Experiments;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using BertLab.Training;
using Xunit;
using static BertLab.Tests.Experiments.StudyTestKit;

namespace BertLab.Tests.Experiments;

/// <summary>
/// The research-log study's rules (issue 17 items 4, 5, 10) over hand-written sweep directories of the `cpu` budget's own
/// plan and runs written by the trainer's own writers (<see cref="StudyTestKit"/>). Every verdict class is produced, and the sign/ordering of η_max claims is checked.
/// </summary>
public sealed class ResearchLogStudyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("bertlab-study-").FullName;
    public void Dispose() { try { Directory.Delete(_dir, true); } catch (IOException) { } }

    static readonly StudyBudget Cpu = ResearchLogSweep.Cpu;

    /// <summary>Writes every point of the cpu plan (<see cref="StudyTestKit.Write"/>); <paramref name="outcome"/> gives the base ℓ per (arm, lr, seed) (default 1.0 everywhere: below ln V of the synthetic task's 101 tokens and below its bag-of-values level ≈ 2.6, so attention is in use).</summary>
    SweepResults Study(Func<string, double, long, Outcome?>? outcome = null, bool packed = false) =>
        StudyTestKit.Write(_dir, outcome, new StudyTestKit.Options { Packed = packed });

    static FindingVerdict V(SweepResults s, string id) => ResearchLogFindings.Evaluate(s).Single(v => v.Id == id);
    static string C(SweepResults s, string id) => V(s, id).VerdictName;
    const double L5 = 1e-4, L4 = 1e-3; // the cpu budget's mapping of the log's 1e-5 and 1e-4

    /// <summary>Attention in use: softmax beats cosine-softmax at the anchor lr by 0.3 nat.</summary>
    static Outcome? InUse(string arm, double lr, long seed) => arm == "adamw cosine-softmax" ? new Outcome(1.3) : null;

    [Fact]
    public void OnThePlateau_LossClaimsAreHorizonTooShort_AndNonEventsAreNotExercisedOrNotApplicable()
    {
        // softmax at 3.0 nats everywhere: above the index task's bag-of-values level (≈ 2.6), so attention is not in use
        var s = Study((a, lr, seed) => a == "adamw softmax" ? new Outcome(3.0) : null);
        var verdicts = ResearchLogFindings.Evaluate(s);
        Assert.Equal(ResearchLogFindings.Ids, verdicts.Select(v => v.Id));
        foreach (var id in new[] { "1", "2b", "2d", "3", "4a", "4b", "4d", "4e", "6c" })
            Assert.Equal("horizon too short", C(s, id));
        Assert.Contains("attention not in use", V(s, "1").Result.Reason);
        Assert.Contains("attention not in use", V(s, "1").Gate);
        Assert.Contains("bag-of-values level", V(s, "1").Gate);
        // no lr destabilised any arm: η_max orderings cannot show
        Assert.Equal("not exercised", C(s, "2c"));
        Assert.Equal("not exercised", C(s, "4c"));
        Assert.Contains("never reached an edge of stability", V(s, "4c").Result.Reason);
        // the gradient norm (0.5) never reached the clipping threshold; the penalty was never logged
        Assert.Equal("not exercised", C(s, "2a"));
        Assert.Contains("never exceeded the clipping threshold", V(s, "2a").Result.Reason);
        Assert.Equal("not exercised", C(s, "6d"));
        // packed data: the claims about n cannot show; 7 has no data feature; 9 is no claim
        // the generated task varies n within every batch: the claims about n are decided by their own rules here
        foreach (var id in new[] { "5", "6b", "8" }) Assert.Equal("not exercised", C(s, id));
        Assert.Equal("horizon too short", C(s, "6a"));
        Assert.Equal("not applicable", C(s, "7"));
        Assert.Equal("not applicable", C(s, "9"));
        Assert.All(verdicts, v => Assert.Contains(v.VerdictName, new[] { "agrees", "disagrees", "underpowered", "not exercised", "not applicable", "horizon too short" }));
        // the margin is the budget's, fixed before the runs (the calibration arm's spread here would give 0.0432)
        var st = new StudyRuns(s, ResearchLogSweep.Plan(Cpu));
        Assert.Equal(Cpu.FixedMargin!.Value, st.Margin, 12);
        Assert.Contains("fixed before the runs", st.MarginOrigin);
        // the A/A needs the calibration seeds 5..16, which these planted runs lack
        Assert.Null(st.AA);
    }

    [Fact]
    public void OnPackedData_TheClaimsAboutVaryingLengths_AreNotApplicable_AndTheGateIsSoftmaxAgainstCosineSoftmax()
    {
        var s = Study(InUse, packed: true);
        foreach (var id in new[] { "5", "6a", "6b", "8" })
        {
            Assert.Equal("not applicable", C(s, id));
            Assert.Contains("n = seq_len", V(s, id).Result.Reason);
            Assert.Contains("data.packing=sentence_pairs", V(s, id).Result.Reason);
        }
        // on text there is no bag-of-values level: softmax beats cosine-softmax by 0.3 nat, so attention is in use
        Assert.Contains("natural text", V(s, "2b").Gate);
        Assert.Contains("softmax − cosine-softmax at lr 0.001 = -0.3000", V(s, "2b").Gate);
        Assert.Equal("agrees", C(s, "2b"));
        // finding 7 compares with the punctuation-stripped arm, which the cpu plan does not run (a text-only arm)
        Assert.Equal("not applicable", C(s, "7"));
        Assert.Contains("missing", V(s, "7").Result.Reason);
    }

    [Fact]
    public void LossClaims_AgreeDisagreeAndUnderpowered_ByThePairedInterval()
    {
        // 1: softmax better than cosine by 0.2 → agrees
        var s = Study((a, lr, seed) => a == "adam cosine" && lr == L4 ? new Outcome(1.2) : InUse(a, lr, seed));
        Assert.Equal("agrees", C(s, "1"));
        Assert.Contains("softmax − cosine-softmax, reported", V(s, "1").Gate); // beside the bag-of-values gate
        Assert.Contains("attention in use", V(s, "1").Gate);
        var stat = V(s, "1").Result.Statistic!;
        Assert.Equal(-0.2, stat.MeanDifference, 6);
        Assert.Equal(Cpu.Seeds, stat.N);
        // cosine better → disagrees
        s = Study((a, lr, seed) => a == "adam cosine" && lr == L4 ? new Outcome(0.8) : InUse(a, lr, seed));
        Assert.Equal("disagrees", C(s, "1"));
        // a difference the size of the margin with seed-to-seed noise in the difference → underpowered, with seeds needed
        s = Study((a, lr, seed) => a == "adam cosine" && lr == L4 ? new Outcome(1.0 + (seed == 1 ? 0.02 : seed == 2 ? 0.12 : 0.07)) : InUse(a, lr, seed));
        var v = V(s, "1");
        Assert.Equal("underpowered", v.VerdictName);
        Assert.Contains("seeds", v.Result.Reason);
        // 2b "did not help": equivalent → agrees; wd 0.1 better by 0.2 → disagrees; wd 0.1 worse → agrees (it did not help)
        s = Study(InUse);
        Assert.Equal("agrees", C(s, "2b"));
        s = Study((a, lr, seed) => a == "adam cosine wd0.1" ? new Outcome(0.8) : InUse(a, lr, seed));
        Assert.Equal("disagrees", C(s, "2b"));
        s = Study((a, lr, seed) => a == "adam cosine wd0.1" ? new Outcome(1.3) : InUse(a, lr, seed));
        Assert.Equal("agrees", C(s, "2b"));
        // 3 needs both lrs: softmax better at 1e-3 only → disagrees (equivalent at 1e-4)
        s = Study((a, lr, seed) => a == "adamw cosine" && lr == L4 ? new Outcome(1.2) : InUse(a, lr, seed));
        Assert.Equal("disagrees", C(s, "3"));
        s = Study((a, lr, seed) => a == "adamw cosine" && (lr == L4 || lr == L5) ? new Outcome(1.2) : InUse(a, lr, seed));
        Assert.Equal("agrees", C(s, "3"));
        // a missing run leaves its seed out of the pairing; all missing → not applicable with why
        s = Study((a, lr, seed) => a == "adamw qkv-norm" ? new Outcome(double.NaN) : InUse(a, lr, seed));
        Assert.Equal("not applicable", C(s, "6c"));
        Assert.Contains("missing", V(s, "6c").Result.Reason);
    }

    [Fact]
    public void ExercisedMechanisms_AreDecided_ClippingAndThePenalty()
    {
        // clipping acted (gradient norm 3 > 1) and the clipped arm is better by 0.2 → agrees
        var s = Study((a, lr, seed) => a == "adam cosine clip" ? new Outcome(0.8, GradNorm: 3) : InUse(a, lr, seed));
        Assert.Equal("agrees", C(s, "2a"));
        // penalty logged > 0 and the penalised arms worse by 0.2 → agrees; one λ's penalty stayed 0 → not exercised
        s = Study((a, lr, seed) => a.StartsWith("adamw cosine penalty", StringComparison.Ordinal) ? new Outcome(1.2, Penalty: 0.05) : InUse(a, lr, seed));
        Assert.Equal("agrees", C(s, "6d"));
        s = Study((a, lr, seed) => a == "adamw cosine penalty0.1" ? new Outcome(1.2, Penalty: 0.05) : a == "adamw cosine penalty0.01" ? new Outcome(1.0, Penalty: 0) : InUse(a, lr, seed));
        Assert.Equal("not exercised", C(s, "6d"));
        Assert.Contains("stayed exactly 0", V(s, "6d").Result.Reason);
    }

    /// <summary>softmax stable up to the top of the grid but 0.6 nat worse there (beyond ℓ* + 0.5): η_max = 1e-3.</summary>
    static Outcome? SoftmaxEdgeAtTop(string arm, double lr) => arm == "adamw softmax" && lr == Cpu.Grid.Max() ? new Outcome(1.6) : null;

    [Fact]
    public void MaxLrClaims_SignAndOrdering()
    {
        double top = Cpu.Grid.Max(); // 3.16e-3
        Assert.Equal(new[] { 1e-4, 3.16e-4, 1e-3, 3.16e-3 }, Cpu.Grid);
        // cosine-relu diverges from 1e-3 up (η_max 3.16e-4), softmax's η_max is 1e-3: softmax trains at higher lrs → 4c agrees
        var s = Study((a, lr, seed) => a == "adamw cosine-relu" && lr >= 1e-3 ? new Outcome(1.0, Diverged: true) : SoftmaxEdgeAtTop(a, lr) ?? InUse(a, lr, seed));
        var v = V(s, "4c");
        Assert.Equal("agrees", v.VerdictName);
        Assert.Equal(0.5, v.Result.Statistic!.MeanDifference, 2); // log10(1e-3) − log10(3.16e-4) ≈ +0.5 decade
        Assert.False(v.Result.Statistic.LowerIsBetter);
        Assert.Contains("η_max per seed 0.001, 0.001, 0.001, 0.001", v.Observed);
        Assert.Contains("η_max per seed 3.16e-4, 3.16e-4, 3.16e-4, 3.16e-4", v.Observed);
        // the other way round: cosine-relu stable everywhere, softmax diverges from 1e-3 → disagrees
        s = Study((a, lr, seed) => a == "adamw softmax" && lr >= 1e-3 ? new Outcome(1.0, Diverged: true) : InUse(a, lr, seed));
        Assert.Equal("disagrees", C(s, "4c"));
        Assert.True(V(s, "4c").Result.Statistic!.MeanDifference < 0);
        // the same edge for both → equivalent orderings → the directional claim disagrees (not "agrees by default")
        s = Study((a, lr, seed) => (a is "adamw softmax" or "adamw cosine-relu") && lr == top ? new Outcome(1.0, Diverged: true) : InUse(a, lr, seed));
        Assert.Equal("disagrees", C(s, "4c"));
        Assert.Equal(0, V(s, "4c").Result.Statistic!.MeanDifference, 9);
        // an arm that diverged at every lr counts half a decade below the grid (η_max "none"), below any arm that trained
        s = Study((a, lr, seed) => a == "adam cosine" ? new Outcome(1.0, Diverged: true) : InUse(a, lr, seed));
        v = V(s, "2c");
        Assert.Equal("agrees", v.VerdictName);
        Assert.Equal(Math.Log10(top) - (Math.Log10(1e-4) - 0.5), v.Result.Statistic!.MeanDifference, 6);
        Assert.Contains("η_max per seed none, none, none, none", v.Observed);
        // an arm that never trained at any lr (flat at 3.0, above the task's bag-of-values level) has no edge to order: its
        // η_max would be the top of the grid only because nothing moved → horizon too short, not "agrees"
        s = Study((a, lr, seed) => a == "adam softmax" ? new Outcome(3.0) : a == "adam cosine" && lr == top ? new Outcome(1.0, Diverged: true) : InUse(a, lr, seed));
        v = V(s, "2c");
        Assert.Equal("horizon too short", v.VerdictName);
        Assert.Contains("adam softmax never trained", v.Result.Reason);
        // undertrained at the lowest lr (ℓ 1 nat above ℓ*) but stable up to the top: no edge of stability → not exercised, not "equivalent"
        s = Study((a, lr, seed) => (a is "adamw softmax" or "adamw cosine-relu") && lr == 1e-4 ? new Outcome(2.0) : InUse(a, lr, seed));
        Assert.Equal("not exercised", C(s, "4c"));
        // disagreement in one seed only: orderings +0.5, +0.5, −0.5 → underpowered (not decided either way)
        s = Study((a, lr, seed) => a == "adamw cosine-relu" && lr >= 1e-3 && seed != 3 ? new Outcome(1.0, Diverged: true)
            : a == "adamw softmax" && lr >= 1e-3 && seed == 3 ? new Outcome(1.0, Diverged: true) : InUse(a, lr, seed));
        Assert.Equal("underpowered", C(s, "4c"));
    }

    [Fact]
    public void LrSensitivity_OfAnArm_FromItsGridPerSeed()
    {
        var s = Study((a, lr, seed) => SoftmaxEdgeAtTop(a, lr) ?? (a == "adamw softmax" && lr == 1e-4 ? new Outcome(1.2) : null));
        var st = new StudyRuns(s, ResearchLogSweep.Plan(Cpu));
        var per = st.Sensitivity(ResearchLogArms.Softmax);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, per.Keys.OrderBy(k => k));
        var one = per[2];
        Assert.Equal(3.16e-4, one.BestLr);            // ties broken towards the lower lr: 3.16e-4 and 1e-3 both at 1.0
        Assert.Equal(1e-3, one.MaxStableLr);
        Assert.Equal((0.2 + 0 + 0 + 0.6) / 4, one.Sensitivity, 6);
        Assert.True(StudyRuns.EdgeReached(one));
    }

    [Fact]
    public void Report_ShowsDepartures_Margin_Gate_LossVsLr_AndEveryVerdictWithItsStatistic()
    {
        var s = Study((a, lr, seed) => a == "adam cosine" && lr == L4 ? new Outcome(1.2) : SoftmaxEdgeAtTop(a, lr) ?? InUse(a, lr, seed));
        var files = SweepReport.Write(s.Directory);
        var md = File.ReadAllText(files.Markdown);
        Assert.Contains("### How this study departs from the original recipe", md);
        Assert.Contains("| adam cosine clip | 2×128 | 32 × 64 | 614,400 | adam (wd 0.01 as L2, ε 1e-7) | 1 | fp32 | synthetic index (variable n) |", md);
        Assert.Contains("Margin: ", md);
        Assert.Contains("attention in use", md);
        Assert.Contains("| adamw softmax | 1e-4: 1.000 ± 0.034; ", md); // ℓ(η) with its 95% half-width
        Assert.Contains("plots/loss_vs_lr.png", md);
        Assert.True(File.Exists(Path.Combine(s.Directory, "plots", "loss_vs_lr.png")));
        Assert.Contains("| 1 | Softmax and cosine both trained poorly at first; cosine did not converge. | **agrees** |", md);
        Assert.Contains("-0.2000 [-0.2000, -0.2000], margin", md);
        foreach (var id in ResearchLogFindings.Ids) Assert.Contains($"| {id} | ", md);
        Assert.Contains("No run wrote stability diagnostics", md);
        Assert.DoesNotContain("inconclusive", md);
    }

    [Fact]
    public void Combine_GatesFirst_ThenDisagreement_ThenAllAgree_ElseUnderpoweredWithTheLargestSeedsNeeded()
    {
        var agree = new Verdict(VerdictClass.Agrees, "a");
        var dis = new Verdict(VerdictClass.Disagrees, "d");
        var u5 = new Verdict(VerdictClass.Underpowered, "u5", null, 5);
        var u9 = new Verdict(VerdictClass.Underpowered, "u9", null, 9);
        var ne = new Verdict(VerdictClass.NotExercised, "ne");
        Assert.Equal(VerdictClass.Agrees, AllOf.Combine(agree, agree).Class);
        Assert.Equal(VerdictClass.Disagrees, AllOf.Combine(agree, dis, u5).Class);
        Assert.Equal(VerdictClass.NotExercised, AllOf.Combine(dis, ne).Class);
        var u = AllOf.Combine(agree, u5, u9);
        Assert.Equal(VerdictClass.Underpowered, u.Class);
        Assert.Equal(9, u.SeedsNeeded);
    }
}
