using System.Globalization;
using BertLab.Experiments.Statistics;

namespace BertLab.Experiments.Study;

/// <summary>How the study's texts write numbers, learning rates and paired statistics.</summary>
public static class StudyFormat
{
    public static string N(double v, string f = "0.0000") => double.IsFinite(v) ? v.ToString(f, CultureInfo.InvariantCulture) : "–";

    public static string Lr(double lr) => SweepDefinition.FormatNumber(lr);

    /// <summary>"−0.0312 [−0.0500, −0.0124], margin 0.0200, 3 seeds (a better)".</summary>
    public static string Stat(PairedComparison? c) => c is null ? "n/a (runs missing)"
        : $"{N(c.MeanDifference)} [{N(c.Lower)}, {N(c.Upper)}], margin {N(c.Margin)}, {c.N} seeds ({PairedComparison.OutcomeName(c.Outcome)})";
}
