using System.Text.Json.Nodes;

namespace BertLab.Experiments.Statistics;

/// <summary>The outcome of comparing arm a with arm b on a metric.</summary>
public enum ComparisonOutcome
{
    /// <summary>a is better than b by more than the margin (the 95% interval lies entirely beyond it).</summary>
    ABetter,
    /// <summary>b is better than a by more than the margin.</summary>
    BBetter,
    /// <summary>The difference lies within ±margin (two one-sided tests at α = 0.05: the 90% interval inside ±margin).</summary>
    Equivalent,
    /// <summary>Neither: more paired seeds are needed (see <see cref="PairedComparison.SeedsNeeded"/>).</summary>
    Underpowered,
}

/// <summary>One seed's pair of values (the same seed: same initialisation, data order and masks in both arms).</summary>
public readonly record struct SeedPair(long Seed, double A, double B);

/// <summary>
/// A paired comparison of two arms over seeds: the differences d = a − b, their mean with a 95% t-interval, the pooled
/// seed-to-seed SD of the arms, a margin fixed from it (max(floor, 2 × pooled SD), unless given), the outcome and, when
/// underpowered, how many paired seeds would decide it at the observed spread.
/// </summary>
public sealed record PairedComparison
{
    public const double DefaultMarginFloor = 0.02;
    public const double Confidence = 0.95;
    /// <summary>Significance of each one-sided test in the equivalence test (TOST).</summary>
    public const double EquivalenceAlpha = 0.05;
    /// <summary>The largest seed count <see cref="SeedsNeeded"/> reports; beyond it the comparison is called undecidable.</summary>
    public const int MaxSeeds = 1000;

    public required IReadOnlyList<SeedPair> Pairs { get; init; }
    /// <summary>true: lower values are better (losses); false: higher are better (accuracy).</summary>
    public required bool LowerIsBetter { get; init; }
    public int N => Pairs.Count;
    /// <summary>Mean of a − b.</summary>
    public required double MeanDifference { get; init; }
    /// <summary>Sample SD of the paired differences (NaN with one seed).</summary>
    public required double DifferenceSd { get; init; }
    /// <summary>The 95% t-interval of the mean difference (NaN bounds with one seed).</summary>
    public required double Lower { get; init; }
    public required double Upper { get; init; }
    /// <summary>√((s²_a + s²_b)/2): the seed-to-seed SD of one arm, pooled over both (NaN with one seed).</summary>
    public required double PooledSd { get; init; }
    public required double Margin { get; init; }
    /// <summary>true when the margin was given (fixed before the runs) rather than derived from these runs' pooled SD.</summary>
    public required bool MarginGiven { get; init; }
    /// <summary>p-value of the equivalence test: the larger of the two one-sided tests' p-values (NaN with one seed).</summary>
    public required double EquivalenceP { get; init; }
    public required ComparisonOutcome Outcome { get; init; }
    /// <summary>Underpowered only: paired seeds that would decide at the observed mean and spread (null: none would, e.g.
    /// the mean sits on the margin, or fewer than two seeds give no spread).</summary>
    public int? SeedsNeeded { get; init; }
    /// <summary>Why the outcome is what it is, in one sentence.</summary>
    public required string Reason { get; init; }
    /// <summary>What the values measure ("nats", "decades"), for texts; null when not said.</summary>
    public string? Unit { get; init; }

    /// <summary>The 95% interval excludes 0 but lies within ±margin: a real difference too small to count (the outcome is
    /// then "equivalent"), which a reader should still see.</summary>
    public bool ConsistentWithinMargin => N >= 2 && (Lower > 0 || Upper < 0) && Lower >= -Margin && Upper <= Margin;

    /// <summary>"a consistent difference of 0.012 [0.004, 0.019] nats, smaller than the margin ±0.02" where
    /// <see cref="ConsistentWithinMargin"/>, else null.</summary>
    public string? SmallEffect => ConsistentWithinMargin ? SmallEffectText(MeanDifference, Lower, Upper, Margin, Unit) : null;

    static string SmallEffectText(double mean, double lo, double hi, double m, string? unit)
    {
        static string F(double v) => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
        return $"a consistent difference of {F(mean)} [{F(lo)}, {F(hi)}]{(unit is null ? "" : " " + unit)}, smaller than the margin ±{F(m)}";
    }

    /// <summary>The margin rule: max(floor, 2 × pooled SD) (the floor alone when the SD is unknown).</summary>
    public static double MarginFor(double pooledSd, double floor = DefaultMarginFloor) =>
        double.IsFinite(pooledSd) ? Math.Max(floor, 2 * pooledSd) : floor;

    /// <summary>Half-width of the two-sided interval at <paramref name="confidence"/> for n paired seeds with SD sd.</summary>
    public static double HalfWidth(int n, double sd, double confidence = Confidence) =>
        n < 2 ? double.NaN : StudentT.Quantile(0.5 + confidence / 2, n - 1) * sd / Math.Sqrt(n);

    /// <summary>Compares a with b over the paired seeds. <paramref name="margin"/>: a margin fixed before the runs; null derives
    /// it from these runs as max(<paramref name="marginFloor"/>, 2 × pooled SD). <paramref name="unit"/>: what the values
    /// measure, named in the texts.</summary>
    public static PairedComparison Compute(IReadOnlyList<SeedPair> pairs, bool lowerIsBetter = true, double? margin = null, double marginFloor = DefaultMarginFloor, string? unit = null)
    {
        if (pairs.Count == 0) throw new BertLabException("comparison: no paired seeds");
        foreach (var p in pairs)
            if (!double.IsFinite(p.A) || !double.IsFinite(p.B)) throw new BertLabException($"comparison: seed {p.Seed} has a non-finite value (a {p.A}, b {p.B})");
        if (pairs.Select(p => p.Seed).Distinct().Count() != pairs.Count) throw new BertLabException("comparison: a seed appears twice");
        if (margin is double mg && !(mg > 0)) throw new BertLabException($"comparison: the margin must be > 0, got {mg}");

        int n = pairs.Count;
        var d = pairs.Select(p => p.A - p.B).ToArray();
        double mean = d.Average();
        double sd = Sd(d);
        double pooled = n < 2 ? double.NaN : Math.Sqrt((Variance(pairs.Select(p => p.A).ToArray()) + Variance(pairs.Select(p => p.B).ToArray())) / 2);
        double m = margin ?? MarginFor(pooled, marginFloor);
        double half = HalfWidth(n, sd);
        double lo = mean - half, hi = mean + half;

        // TOST: H0 d ≤ −m and H0 d ≥ +m, each rejected at α = 0.05
        double se = n < 2 ? double.NaN : sd / Math.Sqrt(n);
        double pEq = double.NaN;
        if (n >= 2)
        {
            if (se == 0) pEq = Math.Abs(mean) < m ? 0 : 1;
            else
            {
                double pLow = 1 - StudentT.Cdf((mean + m) / se, n - 1); // H0: mean ≤ −m
                double pHigh = StudentT.Cdf((mean - m) / se, n - 1);    // H0: mean ≥ +m
                pEq = Math.Max(pLow, pHigh);
            }
        }

        // "a better" means a lower loss (lower is better) or a higher accuracy
        ComparisonOutcome outcome; string reason; int? needed = null;
        string fmt(double v) => v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture);
        if (n < 2)
        {
            outcome = ComparisonOutcome.Underpowered;
            reason = "one paired seed: no spread to judge the difference against; run at least 2 (better 3+) seeds per arm";
        }
        else if (hi < -m || lo > m)
        {
            bool aLower = hi < -m;
            outcome = aLower == lowerIsBetter ? ComparisonOutcome.ABetter : ComparisonOutcome.BBetter;
            reason = $"the 95% interval [{fmt(lo)}, {fmt(hi)}] of a − b lies beyond the margin ±{fmt(m)}";
        }
        else if (pEq < EquivalenceAlpha)
        {
            outcome = ComparisonOutcome.Equivalent;
            reason = $"equivalence test within ±{fmt(m)}: p = {fmt(pEq)} < {EquivalenceAlpha}";
            // a small real effect: equivalent by the margin, yet consistently of one sign
            if ((lo > 0 || hi < 0) && lo >= -m && hi <= m) reason += "; " + SmallEffectText(mean, lo, hi, m, unit);
        }
        else
        {
            outcome = ComparisonOutcome.Underpowered;
            needed = SeedsNeededFor(mean, sd, m);
            reason = $"the 95% interval [{fmt(lo)}, {fmt(hi)}] of a − b neither clears the margin ±{fmt(m)} nor fits within it (equivalence p = {fmt(pEq)})"
                     + (needed is int k ? $"; about {k} paired seeds would decide it at this spread" : "; at this mean no number of seeds would decide it (the mean sits at the margin)");
        }

        return new PairedComparison
        {
            Pairs = pairs.ToList(), LowerIsBetter = lowerIsBetter, MeanDifference = mean, DifferenceSd = sd, Lower = lo, Upper = hi,
            PooledSd = pooled, Margin = m, MarginGiven = margin is not null, EquivalenceP = pEq, Outcome = outcome, SeedsNeeded = needed, Reason = reason,
            Unit = unit,
        };
    }

    /// <summary>
    /// The smallest number of paired seeds n ≤ <see cref="MaxSeeds"/> at which, if the mean difference and its SD stayed as
    /// observed, the comparison would be decided: the 95% interval clears ±margin (|mean| &gt; margin), or the 90% interval
    /// fits within it (|mean| &lt; margin). Null when no n up to the cap does it (or the SD is unknown).
    /// </summary>
    public static int? SeedsNeededFor(double mean, double sd, double margin)
    {
        if (!double.IsFinite(sd)) return null;
        double gap = Math.Abs(Math.Abs(mean) - margin);
        if (gap == 0) return null;
        bool beyond = Math.Abs(mean) > margin;
        for (int n = 2; n <= MaxSeeds; n++)
        {
            double half = beyond ? HalfWidth(n, sd) : HalfWidth(n, sd, 1 - 2 * EquivalenceAlpha);
            if (half < gap) return n;
        }
        return null;
    }

    static double Variance(double[] x)
    {
        if (x.Length < 2) return double.NaN;
        double m = x.Average();
        return x.Sum(v => (v - m) * (v - m)) / (x.Length - 1);
    }

    static double Sd(double[] x) => Math.Sqrt(Variance(x));

    public static string OutcomeName(ComparisonOutcome o) => o switch
    {
        ComparisonOutcome.ABetter => "a better",
        ComparisonOutcome.BBetter => "b better",
        ComparisonOutcome.Equivalent => "equivalent",
        _ => "underpowered",
    };

    public JsonObject ToJson()
    {
        static JsonNode? Num(double v) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, 6)) : null;
        return new JsonObject
        {
            ["outcome"] = OutcomeName(Outcome), ["reason"] = Reason, ["seeds"] = N, ["lower_is_better"] = LowerIsBetter,
            ["mean_difference"] = Num(MeanDifference), ["difference_sd"] = Num(DifferenceSd),
            ["ci95"] = new JsonArray(Num(Lower), Num(Upper)), ["pooled_sd"] = Num(PooledSd),
            ["margin"] = Num(Margin), ["margin_given"] = MarginGiven, ["equivalence_p"] = Num(EquivalenceP), ["seeds_needed"] = SeedsNeeded,
            ["consistent_within_margin"] = ConsistentWithinMargin,
            ["pairs"] = new JsonArray(Pairs.Select(p => (JsonNode)new JsonObject { ["seed"] = p.Seed, ["a"] = Num(p.A), ["b"] = Num(p.B), ["difference"] = Num(p.A - p.B) }).ToArray()),
        };
    }
}
