using System.Text.Json.Nodes;
using static BertLab.Experiments.Study.StudyFormat;

namespace BertLab.Experiments.Study;

/// <summary>
/// A study as data: its arms in run order, its findings (each naming the arms it reads), the calibration arm whose seed
/// spread fixes the margin, and the two gate arms (softmax, and cosine-softmax as near-uniform attention).
/// <see cref="Plan"/> builds what a budget runs from these declarations and refuses a design that does not hold together.
/// </summary>
public sealed record StudyDesign
{
    public required string Name { get; init; }
    /// <summary>Every arm of the study, in the order its runs are made.</summary>
    public required IReadOnlyList<StudyArm> Arms { get; init; }
    public required IReadOnlyList<Finding> Findings { get; init; }
    /// <summary>The arm whose seed-to-seed spread calibrates the margin.</summary>
    public required ArmAt Calibration { get; init; }
    /// <summary>The "attention in use" gate: <see cref="GateArm"/> against <see cref="GateControl"/> at the lr of a
    /// comparison (or, on a generated task, <see cref="GateArm"/> against the task's bag-of-values level).</summary>
    public required StudyArm GateArm { get; init; }
    public required StudyArm GateControl { get; init; }

    /// <summary>
    /// The arms the budget runs (those the findings, the calibration and the gate read, in <see cref="Arms"/> order) at
    /// their learning rates. Throws when a finding reads an arm the study does not declare, an arm or lr the budget does not
    /// run (the observation arms aside, which are read where they run), or a grid of an arm that runs one lr; when an arm
    /// is declared that nothing reads; when two arms or two findings share a name.
    /// </summary>
    public StudyPlan Plan(StudyBudget budget)
    {
        string Where(string what) => $"study '{Name}', budget '{budget.Name}': {what}";
        foreach (var g in Arms.GroupBy(a => a.Name).Where(g => g.Count() > 1))
            throw new BertLabException(Where($"two arms are named '{g.Key}'"));
        foreach (var g in Findings.GroupBy(f => f.Id).Where(g => g.Count() > 1))
            throw new BertLabException(Where($"two findings have the id '{g.Key}'"));

        var reads = Findings.SelectMany(f => f.Rule.Requires.Select(r => (Who: $"finding {f.Id}", Read: r)))
            .Append((Who: "the calibration", Read: ArmRead.Of(Calibration)))
            .Append((Who: "the gate", Read: new ArmRead(GateArm, LogLr.Log1e4)))
            .Append((Who: "the gate", Read: new ArmRead(GateControl, LogLr.Log1e4)))
            .ToList();
        foreach (var (who, r) in reads)
            if (!Arms.Contains(r.Arm))
                throw new BertLabException(Where($"{who} reads the arm '{r.Arm.Name}', which is not one of the study's arms"));
        foreach (var arm in Arms)
            if (!reads.Any(x => x.Read.Arm == arm))
                throw new BertLabException(Where($"the arm '{arm.Name}' is declared but no finding, calibration or gate reads it"));

        var planned = Arms.Where(a => a.RunsAt(budget)).Select(a => new PlannedArm(a, a.LrsAt(budget))).ToList();
        var plan = new StudyPlan(this, budget, planned);
        foreach (var (who, r) in reads)
        {
            var lrs = plan.LrsOf(r.Arm);
            if (lrs.Count == 0)
            {
                if (r.Optional) continue;
                throw new BertLabException(Where($"{who} reads the arm '{r.Arm.Name}', which this budget does not run (an observation arm; the budget runs none)"));
            }
            if (r.Lr is LogLr lr && !lrs.Contains(budget.Lr(lr)))
                throw new BertLabException(Where($"{who} reads '{r.Arm.Name}' at the log's {(lr == LogLr.Log1e5 ? "1e-5" : "1e-4")} (here {Lr(budget.Lr(lr))}), which the arm does not run (it runs {string.Join(", ", lrs.Select(Lr))})"));
            if (r.Lr is null && lrs.Count < 2)
                throw new BertLabException(Where($"{who} reads the lr grid of '{r.Arm.Name}', which runs only at {string.Join(", ", lrs.Select(Lr))}"));
        }
        return plan;
    }
}

/// <summary>An arm as a budget runs it: at these learning rates, ascending.</summary>
public sealed record PlannedArm(StudyArm Arm, IReadOnlyList<double> Lrs);

/// <summary>
/// What one budget of a study runs (<see cref="StudyDesign.Plan"/>, checked): its arms at their learning rates, each over
/// seeds 1..<see cref="StudyBudget.Seeds"/>, as the named runs of a sweep ("adam softmax lr=1e-4"; the sweep appends " seed1").
/// </summary>
public sealed class StudyPlan
{
    public StudyDesign Design { get; }
    public StudyBudget Budget { get; }
    public IReadOnlyList<PlannedArm> Arms { get; }

    internal StudyPlan(StudyDesign design, StudyBudget budget, IReadOnlyList<PlannedArm> arms)
    {
        Design = design; Budget = budget; Arms = arms;
    }

    /// <summary>The learning rates the arm runs at this budget; empty when it does not run here.</summary>
    public IReadOnlyList<double> LrsOf(StudyArm arm) => Arms.FirstOrDefault(a => a.Arm == arm)?.Lrs ?? Array.Empty<double>();

    /// <summary>The runs of the sweep, in order: every planned arm at each of its lrs, with the arm's settings and the lr.</summary>
    public IReadOnlyList<NamedRun> NamedRuns() => Arms.SelectMany(a => a.Lrs.Select(lr => new NamedRun(RunName(a.Arm.Name, lr),
        a.Arm.SettingsAt(Budget).Append(new KeyValuePair<string, JsonNode?>(BertLab.Training.RunConfigKeys.OptimizerLr.Path, JsonValue.Create(lr))).ToList())
        { Seeds = IsCalibration(a.Arm, lr) && Budget.CalibrationSeeds is int k ? Enumerable.Range(1, k).Select(s => (long)s).ToList() : null })).ToList();

    /// <summary>Whether these are the calibration runs (the arm and lr whose seed spread the A/A halves compare).</summary>
    public bool IsCalibration(StudyArm arm, double lr) => arm == Design.Calibration.Arm && lr == Budget.Lr(Design.Calibration.Lr);

    /// <summary>The seeds of an arm's runs at an lr: the calibration runs' <see cref="StudyBudget.CalibrationSeeds"/>, else the budget's.</summary>
    public int SeedsOf(StudyArm arm, double lr) => IsCalibration(arm, lr) && Budget.CalibrationSeeds is int k ? k : Budget.Seeds;

    /// <summary>The grid points a finding reads, in the order its rule lists them, each once; optional reads of arms this
    /// budget does not run are left out.</summary>
    public IReadOnlyList<string> RunNames(Finding f)
    {
        var names = new List<string>();
        foreach (var r in f.Rule.Reads)
        {
            var lrs = r.Lr is LogLr lr ? new[] { Budget.Lr(lr) } : LrsOf(r.Arm);
            if (r.Optional && LrsOf(r.Arm).Count == 0) continue;
            foreach (var x in lrs)
                for (long seed = 1; seed <= Budget.Seeds; seed++) names.Add(PointName(r.Arm.Name, x, seed));
        }
        return names.Distinct().ToList();
    }

    /// <summary>"adamw cosine-relu lr=1e-4" (the sweep appends " seed1").</summary>
    public static string RunName(string arm, double lr) => $"{arm} lr={SweepDefinition.FormatNumber(lr)}";

    /// <summary>The name of one run of the expanded sweep.</summary>
    public static string PointName(string arm, double lr, long seed) => $"{RunName(arm, lr)} seed{seed}";
}
