using BertLab.Experiments;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using Xunit;
using static BertLab.Experiments.ResearchLogArms;

namespace BertLab.Tests.Experiments;

/// <summary>The study as data: a budget runs what its findings read, and a design that does not hold together is refused
/// when the plan is built, naming the finding, the arm and the budget (never "runs missing" in a report).</summary>
public sealed class StudyDesignTests
{
    static readonly StudyDesign Design = ResearchLogFindings.Design;

    static StudyDesign With(params Finding[] extra) => Design with { Findings = Design.Findings.Concat(extra).ToList() };

    static Finding Reading(StudyRule rule) => new("x1", "a claim under test", rule, _ => "rule");

    [Fact]
    public void AFindingThatReadsAnArmTheBudgetDoesNotRun_IsRefusedWhenThePlanIsBuilt()
    {
        // euclidean is an observation arm: the gpu budget runs it, tiny and cpu do not
        var design = With(Reading(new LossComparison(ClaimKind.ABetter, Euclidean.At(LogLr.Log1e4), Softmax.At(LogLr.Log1e4))));
        var e = Assert.Throws<BertLabException>(() => design.Plan(ResearchLogSweep.Tiny));
        Assert.Contains("budget 'tiny'", e.Message);
        Assert.Contains("finding x1", e.Message);
        Assert.Contains("'adamw euclidean'", e.Message);
        Assert.Contains("does not run", e.Message);
        Assert.Contains(design.Plan(ResearchLogSweep.Gpu).Arms, a => a.Arm == Euclidean);
        // finding 9 reads the same arms as observations: listed where they run, skipped elsewhere
        var nine = Design.Findings.Single(f => f.Id == "9");
        Assert.Empty(Design.Plan(ResearchLogSweep.Tiny).RunNames(nine));
        Assert.Equal(3 * ResearchLogSweep.Gpu.Seeds, Design.Plan(ResearchLogSweep.Gpu).RunNames(nine).Count);
    }

    [Fact]
    public void ALearningRateOrAGridTheArmDoesNotRun_IsRefused()
    {
        // cosine-sigmoid runs at the log's 1e-5 only
        var atAnchor = With(Reading(new LossComparison(ClaimKind.ABetter, CosineSigmoid.At(LogLr.Log1e4), Cosine.At(LogLr.Log1e4))));
        var e = Assert.Throws<BertLabException>(() => atAnchor.Plan(ResearchLogSweep.Cpu));
        Assert.Contains("'adamw cosine-sigmoid' at the log's 1e-4 (here 0.001)", e.Message);
        Assert.Contains("it runs 1e-4", e.Message);
        // η_max needs a grid; qkv-norm runs one lr
        var grid = With(Reading(new MaxLrOrdering(QkvNorm, Cosine)));
        e = Assert.Throws<BertLabException>(() => grid.Plan(ResearchLogSweep.Cpu));
        Assert.Contains("lr grid of 'adamw qkv-norm'", e.Message);
        // a check reads runs too: clipping checked on an arm at an lr it does not run
        var check = With(Reading(new LossComparison(ClaimKind.ABetter, Cosine.At(LogLr.Log1e4), AdamCosine.At(LogLr.Log1e4)) { Check = new ClippingActed(AdamCosineClip.At(LogLr.Log1e5)) }));
        e = Assert.Throws<BertLabException>(() => check.Plan(ResearchLogSweep.Cpu));
        Assert.Contains("'adam cosine clip' at the log's 1e-5", e.Message);
    }

    [Fact]
    public void AnArmTheStudyDoesNotDeclare_AnArmNothingReads_AndRepeatedNames_AreRefused()
    {
        var stray = new StudyArm("adamw cosine typo", ArmLrs.Log1e4, Cosine.Set);
        var e = Assert.Throws<BertLabException>(() => With(Reading(new LossComparison(ClaimKind.ABetter, stray.At(LogLr.Log1e4), Cosine.At(LogLr.Log1e4)))).Plan(ResearchLogSweep.Cpu));
        Assert.Contains("'adamw cosine typo', which is not one of the study's arms", e.Message);

        var unread = Design with { Arms = Design.Arms.Append(stray).ToList() };
        e = Assert.Throws<BertLabException>(() => unread.Plan(ResearchLogSweep.Cpu));
        Assert.Contains("'adamw cosine typo' is declared but no finding", e.Message);

        var twice = Design with { Findings = Design.Findings.Append(Design.Findings[0]).ToList() };
        e = Assert.Throws<BertLabException>(() => twice.Plan(ResearchLogSweep.Cpu));
        Assert.Contains("two findings have the id '1'", e.Message);
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void EveryBudget_RunsExactlyTheArmsItsFindingsCalibrationAndGateRead_InRunOrder(string budget)
    {
        var b = ResearchLogSweep.Budgets[budget];
        var plan = Design.Plan(b);
        var read = Design.Findings.SelectMany(f => f.Rule.Requires).Select(r => r.Arm)
            .Append(Design.Calibration.Arm).Append(Design.GateArm).Append(Design.GateControl).Where(a => a.RunsAt(b)).ToHashSet();
        Assert.Equal(RunOrder.Where(read.Contains), plan.Arms.Select(a => a.Arm));
        // every run a finding lists is a run of the plan
        var runs = plan.Arms.SelectMany(a => a.Lrs.SelectMany(lr => Enumerable.Range(1, b.Seeds).Select(s => StudyPlan.PointName(a.Arm.Name, lr, s)))).ToHashSet();
        foreach (var f in Design.Findings)
            Assert.All(plan.RunNames(f), n => Assert.Contains(n, runs));
        // the ids are declared once, in the findings
        Assert.Equal(new[] { "1", "2a", "2b", "2c", "2d", "3", "4a", "4b", "4c", "4d", "4e", "5", "6a", "6b", "6c", "6d", "7", "8", "9" }, ResearchLogFindings.Ids);
    }
}
