using BertLab.Experiments.Statistics;
using Xunit;

namespace BertLab.Tests.Experiments.Statistics;

public class PairedComparisonTests
{
    static IReadOnlyList<SeedPair> Pairs(double[] a, double[] b) => a.Select((v, i) => new SeedPair(i + 1, v, b[i])).ToList();

    [Fact]
    public void HandComputedInterval()
    {
        // d = a − b = 0.1, 0.2, 0.3: mean 0.2, SD 0.1, half-width t(0.975, 2) · 0.1/√3 = 4.302653 · 0.057735 = 0.248414
        var c = PairedComparison.Compute(Pairs(new[] { 1.1, 1.2, 1.3 }, new[] { 1.0, 1.0, 1.0 }));
        Assert.Equal(0.2, c.MeanDifference, 12);
        Assert.Equal(0.1, c.DifferenceSd, 12);
        Assert.Equal(0.2 - 0.248414, c.Lower, 5);
        Assert.Equal(0.2 + 0.248414, c.Upper, 5);
        // pooled SD: a has SD 0.1, b has 0 → √(0.01/2)
        Assert.Equal(Math.Sqrt(0.005), c.PooledSd, 12);
        Assert.Equal(Math.Max(0.02, 2 * Math.Sqrt(0.005)), c.Margin, 12);
        Assert.Equal(ComparisonOutcome.Underpowered, c.Outcome);
        Assert.NotNull(c.SeedsNeeded);
    }

    [Fact]
    public void OutcomesOnHandWrittenResults()
    {
        // a clearly lower loss: a better; clearly higher: b better; same within noise: equivalent
        var better = PairedComparison.Compute(Pairs(new[] { 2.00, 2.01, 1.99, 2.00 }, new[] { 2.30, 2.32, 2.29, 2.31 }));
        Assert.Equal(ComparisonOutcome.ABetter, better.Outcome);
        var worse = PairedComparison.Compute(Pairs(new[] { 2.30, 2.32, 2.29, 2.31 }, new[] { 2.00, 2.01, 1.99, 2.00 }));
        Assert.Equal(ComparisonOutcome.BBetter, worse.Outcome);
        var same = PairedComparison.Compute(Pairs(new[] { 2.000, 2.100, 1.900, 2.050 }, new[] { 2.001, 2.099, 1.902, 2.049 }));
        Assert.Equal(ComparisonOutcome.Equivalent, same.Outcome);
        // higher is better (accuracy): a higher → a better
        var acc = PairedComparison.Compute(Pairs(new[] { 0.90, 0.91, 0.90 }, new[] { 0.70, 0.71, 0.69 }), lowerIsBetter: false, marginFloor: 0.01);
        Assert.Equal(ComparisonOutcome.ABetter, acc.Outcome);
        // one seed: underpowered, no spread
        var one = PairedComparison.Compute(Pairs(new[] { 2.0 }, new[] { 3.0 }));
        Assert.Equal(ComparisonOutcome.Underpowered, one.Outcome);
        Assert.Null(one.SeedsNeeded);
        // identical arms (zero spread): equivalent
        Assert.Equal(ComparisonOutcome.Equivalent, PairedComparison.Compute(Pairs(new[] { 2.0, 2.1 }, new[] { 2.0, 2.1 })).Outcome);
        // a margin given before the runs is used as is
        var given = PairedComparison.Compute(Pairs(new[] { 2.00, 2.01, 1.99, 2.00 }, new[] { 2.30, 2.32, 2.29, 2.31 }), margin: 0.5);
        Assert.Equal(0.5, given.Margin);
        Assert.NotEqual(ComparisonOutcome.ABetter, given.Outcome);
    }

    [Fact]
    public void SeedsNeededDecidesAtTheObservedSpread()
    {
        foreach (var (mean, sd, margin) in new[] { (0.08, 0.05, 0.03), (0.005, 0.03, 0.04), (-0.2, 0.3, 0.05), (0.0, 0.02, 0.02) })
        {
            int n = PairedComparison.SeedsNeededFor(mean, sd, margin)!.Value;
            // n paired seeds with exactly this mean and SD decide; n − 1 do not
            Assert.NotEqual(ComparisonOutcome.Underpowered, PairedComparison.Compute(Synthetic(n, mean, sd), margin: margin).Outcome);
            if (n > 2) Assert.Equal(ComparisonOutcome.Underpowered, PairedComparison.Compute(Synthetic(n - 1, mean, sd), margin: margin).Outcome);
        }
        Assert.Null(PairedComparison.SeedsNeededFor(0.05, 0.1, 0.05)); // the mean sits on the margin
    }

    /// <summary>n pairs whose differences have exactly this mean and sample SD.</summary>
    static IReadOnlyList<SeedPair> Synthetic(int n, double mean, double sd)
    {
        var z = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? 1.0 : -1.0).ToArray();
        if (n % 2 == 1) z[^1] = 0;
        double zm = z.Average(), zs = Math.Sqrt(z.Sum(v => (v - zm) * (v - zm)) / (n - 1));
        return z.Select((v, i) => new SeedPair(i, 3 + mean + sd * (v - zm) / zs, 3)).ToList();
    }

    /// <summary>Gaussian from a seeded generator (Box–Muller).</summary>
    static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

    /// <summary>One simulated study: seed effects shared by both arms (pairing), independent run noise, b offset by <paramref name="effect"/>.</summary>
    static PairedComparison Study(Random r, int seeds, double seedSd, double noiseSd, double effect)
    {
        var pairs = new List<SeedPair>();
        for (int s = 0; s < seeds; s++)
        {
            double shared = 3 + seedSd * Normal(r);
            pairs.Add(new SeedPair(s, shared + noiseSd * Normal(r), shared + effect + noiseSd * Normal(r)));
        }
        return PairedComparison.Compute(pairs);
    }

    [Theory]
    [InlineData(8, 0.03, 0.02)]
    [InlineData(8, 0.0, 0.05)]
    [InlineData(5, 0.01, 0.01)]
    public void AaStudiesAreNeverCalledBetter(int seeds, double seedSd, double noiseSd)
    {
        var r = new Random(12345);
        int trials = 2000, better = 0, equivalent = 0;
        for (int t = 0; t < trials; t++)
        {
            var c = Study(r, seeds, seedSd, noiseSd, effect: 0);
            if (c.Outcome is ComparisonOutcome.ABetter or ComparisonOutcome.BBetter) better++;
            if (c.Outcome == ComparisonOutcome.Equivalent) equivalent++;
        }
        // the nominal false-"better" rate is at most 2.5% per side (and far less, the margin being ≥ 2 seed SDs)
        Assert.True(better <= trials * 0.01, $"A/A called better in {better} of {trials}");
        if (seeds >= 8) Assert.True(equivalent >= trials * 0.8, $"A/A equivalent in only {equivalent} of {trials}");
    }

    [Fact]
    public void TheIntervalCoversTheTrueDifferenceAtAbout95Percent()
    {
        var r = new Random(7);
        int trials = 4000, covered = 0;
        for (int t = 0; t < trials; t++)
        {
            var c = Study(r, 4, 0.05, 0.03, effect: 0.01);
            double trueDiff = -0.01;
            if (c.Lower <= trueDiff && trueDiff <= c.Upper) covered++;
        }
        Assert.InRange(covered / (double)trials, 0.93, 0.97);
    }

    [Fact]
    public void APlantedEffectIsFoundWithTheRightSign()
    {
        var r = new Random(99);
        int right = 0, wrong = 0, trials = 1000;
        for (int t = 0; t < trials; t++)
        {
            // b is handicapped by 0.15 nats; seed SD 0.03 → margin ≈ 0.06–0.08
            var c = Study(r, 6, 0.03, 0.02, effect: 0.15);
            if (c.Outcome == ComparisonOutcome.ABetter) right++;
            if (c.Outcome == ComparisonOutcome.BBetter) wrong++;
        }
        Assert.Equal(0, wrong);
        Assert.True(right >= trials * 0.9, $"planted effect found in {right} of {trials}");
    }

    [Fact]
    public void BadInputIsAUserError()
    {
        Assert.Throws<BertLabException>(() => PairedComparison.Compute(Array.Empty<SeedPair>()));
        Assert.Throws<BertLabException>(() => PairedComparison.Compute(new[] { new SeedPair(1, double.NaN, 1) }));
        Assert.Throws<BertLabException>(() => PairedComparison.Compute(new[] { new SeedPair(1, 1, 1), new SeedPair(1, 2, 2) }));
        Assert.Throws<BertLabException>(() => PairedComparison.Compute(new[] { new SeedPair(1, 1, 1), new SeedPair(2, 2, 2) }, margin: 0));
    }
}
