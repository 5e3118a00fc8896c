using System.Text.Json.Nodes;
using BertLab.Experiments.Statistics;
using BertLab.Experiments.Study;
using BertLab.Plotting;

namespace BertLab.Experiments;

/// <summary>Where an arm's edge of stability lies: above <see cref="LastStable"/> (its η_max) and at or below
/// <see cref="FirstUnstable"/>. A null end is open: every lr tried was unstable (no last stable) or stable (no first unstable).</summary>
public sealed record LrBracket(double? LastStable, double? FirstUnstable);

/// <summary>One stability diagnostic of a run, read from its summary.json "stability" object (<see cref="BertLab.Training.StabilityMonitor.ToJson"/>).</summary>
public sealed record StabilityDiagnostic(string Key, string Title, string Unit, bool LogY, Func<JsonObject, double?> Read);

/// <summary>
/// The study's figures: ℓ(η) with one panel per optimiser and the η_max bracket of every arm marked below the curves, and
/// the stability diagnostics against the learning rate. Every arm with an lr grid has one style (colour and marker) in
/// every figure, from its position among the grid arms (<see cref="PlotStyles.For"/>).
/// </summary>
public static class StudyPlots
{
    public const string LossVsLrFile = "plots/loss_vs_lr.png", StabilityFile = "plots/stability.png";

    /// <summary>The arms that run an lr grid, in plan order, with their style.</summary>
    public static IReadOnlyList<(PlannedArm Arm, SeriesStyle Style)> GridArms(StudyRuns st) =>
        st.Plan.Arms.Where(a => a.Lrs.Count >= 2).Select((a, i) => (a, PlotStyles.For(i))).ToList();

    /// <summary>η_max brackets from the grid alone: per seed the arm's η_max and the next lr of the grid above it; the bracket
    /// is their union over the seeds with a complete grid (lowest η_max, highest first unstable lr; open where a seed was
    /// stable at the top of the grid or unstable at its bottom).</summary>
    public static IReadOnlyDictionary<StudyArm, LrBracket> GridBrackets(StudyRuns st)
    {
        var result = new Dictionary<StudyArm, LrBracket>();
        foreach (var (arm, _) in GridArms(st))
        {
            var per = st.Sensitivity(arm.Arm);
            if (per.Count == 0) continue;
            var grid = arm.Lrs.OrderBy(x => x).ToList();
            double? lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            foreach (var s in per.Values)
            {
                double? last = double.IsFinite(s.MaxStableLr) ? s.MaxStableLr : null;
                double? next = last is double l ? grid.Where(x => x > l).Cast<double?>().FirstOrDefault() : grid[0];
                lo = lo is null || last is null ? null : Math.Min(lo.Value, last.Value);
                hi = hi is null || next is null ? null : Math.Max(hi.Value, next.Value);
            }
            result[arm.Arm] = new LrBracket(lo, hi);
        }
        return result;
    }

    /// <summary>Per grid arm, η_max's bracket from the grid and the bisection rounds read with <paramref name="st"/>: the lowest
    /// last stable lr and the highest first unstable lr over the seeds (<see cref="StudyRuns.Bracket"/>); open where a seed
    /// reached no edge.</summary>
    public static IReadOnlyDictionary<StudyArm, LrBracket> Brackets(StudyRuns st)
    {
        var result = new Dictionary<StudyArm, LrBracket>();
        foreach (var (arm, _) in GridArms(st))
        {
            var per = st.Seeds.Select(s => st.Bracket(arm.Arm, s)).ToList();
            if (per.All(b => b is null)) { if (st.Sensitivity(arm.Arm).Count > 0) result[arm.Arm] = new LrBracket(null, arm.Lrs.Min()); continue; }
            double? lo = per.Any(b => b is null) ? null : per.Min(b => b!.Value.Lo);
            double? hi = per.Any(b => b is not { Hi: not null }) ? null : per.Max(b => b!.Value.Hi);
            result[arm.Arm] = new LrBracket(lo, hi);
        }
        return result;
    }

    static string Optimiser(StudyArm a) => a.Setting("optimizer.name")?.GetValue<string>() ?? "?";

    /// <summary>ℓ(η) (written l(η) in the figure: the plot font has no ℓ) per grid arm (mean over seeds with a 95% bar), one panel per optimiser with a shared y axis, and each arm's
    /// η_max bracket (<paramref name="brackets"/>: the grid's, or finer ones from a later stage) in a band below the curves.
    /// False when no arm has a finished run.</summary>
    public static bool LossVsLr(string path, StudyRuns st, IReadOnlyDictionary<StudyArm, LrBracket> brackets, string bracketText)
    {
        if (File.Exists(path)) File.Delete(path);
        var arms = GridArms(st);
        var byOptimiser = arms.GroupBy(a => Optimiser(a.Arm.Arm)).ToList();
        var panels = new List<Panel>();
        double y0 = double.PositiveInfinity, y1 = double.NegativeInfinity;
        foreach (var g in byOptimiser)
        {
            var series = new List<Series>();
            var marks = new List<XBracket>();
            foreach (var (arm, style) in g)
            {
                var means = new List<double>(); var half = new List<double>();
                foreach (var lr in arm.Lrs)
                {
                    var vals = st.Seeds.Select(s => st.Score(arm.Arm, lr, s)).Where(v => v is not null).Select(v => v!.Value).ToList();
                    if (vals.Count == 0) { means.Add(double.NaN); half.Add(double.NaN); continue; }
                    var m = MeanInterval.Of(vals);
                    means.Add(m.Mean); half.Add((m.Upper - m.Lower) / 2);
                    y0 = Math.Min(y0, m.Mean - (double.IsFinite(m.Upper) ? (m.Upper - m.Lower) / 2 : 0));
                    y1 = Math.Max(y1, m.Mean + (double.IsFinite(m.Upper) ? (m.Upper - m.Lower) / 2 : 0));
                }
                if (!means.Any(double.IsFinite)) continue;
                series.Add(new Series(arm.Arm.Name, arm.Lrs.ToList(), means, half) { Style = style });
                if (brackets.TryGetValue(arm.Arm, out var b)) marks.Add(new XBracket(arm.Arm.Name, b.LastStable, b.FirstUnstable, style));
            }
            if (series.Count > 0)
                panels.Add(new Panel($"{g.Key}: l(η), mean over seeds, 95% bars", "learning rate", "l(η) = mean of the last two validation losses (nats)", series)
                    { LogX = true, Brackets = marks, BracketLabel = bracketText, XTicks = st.Budget.Grid });
        }
        if (panels.Count == 0) return false;
        double pad = Math.Max((y1 - y0) * 0.05, 1e-3);
        panels = panels.Select(p => p with { YRange = (y0 - pad, y1 + pad) }).ToList();
        LinePlot.SavePanels(path, panels, columns: panels.Count, width: 950 * panels.Count, height: 900);
        return File.Exists(path);
    }

    static double? Layers(JsonObject stability, string key, Func<IEnumerable<double>, double> reduce)
    {
        if (stability["layers"] is not JsonArray layers) return null;
        var v = layers.Select(l => RunRecord.Num(l?[key])).Where(x => x is double d && double.IsFinite(d)).Select(x => x!.Value).ToList();
        return v.Count == 0 ? null : reduce(v);
    }

    /// <summary>The diagnostics the study plots and tabulates, per run.</summary>
    public static readonly IReadOnlyList<StabilityDiagnostic> Diagnostics = new StabilityDiagnostic[]
    {
        new("output_norm_growth", "attention-output norm growth (end ÷ end of warmup), largest layer", "ratio", true, s => Layers(s, "output_norm_growth", v => v.Max())),
        new("norm_slope_log_n", "slope of the output norm against ln n, mean over steps and layers", "per unit ln n", false, s => Layers(s, "norm_slope_log_n_mean", v => v.Average())),
        new("logit_range_max", "largest attention logit range (max − min), over steps and layers", "logit units", true, s => Layers(s, "logit_range_max", v => v.Max())),
        new("loss_spike_steps", "steps with the loss > 1 nat above its running minimum", "steps", false, s => RunRecord.Num(s["loss_spike_steps"])),
    };

    /// <summary>The summary.json "stability" object of a run, or null.</summary>
    public static JsonObject? StabilityOf(RunRecord? r) => r?.Summary?[ResearchLogReport.StabilityKey] as JsonObject;

    /// <summary>One panel per diagnostic: x = lr, one series per grid arm (mean over the seeds whose run wrote it, 95% bars on
    /// linear axes). False when no run wrote stability diagnostics.</summary>
    public static bool Stability(string path, StudyRuns st)
    {
        if (File.Exists(path)) File.Delete(path);
        var arms = GridArms(st);
        var panels = new List<Panel>();
        foreach (var d in Diagnostics)
        {
            var series = new List<Series>();
            foreach (var (arm, style) in arms)
            {
                var means = new List<double>(); var half = new List<double>();
                foreach (var lr in arm.Lrs)
                {
                    var vals = st.Seeds.Select(s => StabilityOf(st.Run(arm.Arm, lr, s)) is JsonObject o ? d.Read(o) : null)
                        .Where(v => v is double x && double.IsFinite(x)).Select(v => v!.Value).ToList();
                    if (vals.Count == 0) { means.Add(double.NaN); half.Add(double.NaN); continue; }
                    var m = MeanInterval.Of(vals);
                    means.Add(m.Mean); half.Add((m.Upper - m.Lower) / 2);
                }
                if (means.Any(double.IsFinite)) series.Add(new Series(arm.Arm.Name, arm.Lrs.ToList(), means, half) { Style = style });
            }
            if (series.Count > 0) panels.Add(new Panel(d.Title, "learning rate", d.Unit, series) { LogX = true, LogY = d.LogY, XTicks = st.Budget.Grid });
        }
        if (panels.Count == 0) return false;
        LinePlot.SavePanels(path, panels, columns: 2, width: 1800, height: 1200);
        return File.Exists(path);
    }
}
