using BertLab.Experiments.Statistics;
using Xunit;

namespace BertLab.Tests.Experiments.Statistics;

public class LrSensitivityTests
{
    const double LnV = 5.0;

    [Fact]
    public void HandComputedGrid()
    {
        var grid = new[]
        {
            new LrPoint(1e-4, new[] { 4.9, 4.6, 4.4 }, false),   // ℓ = 4.5
            new LrPoint(3e-4, new[] { 4.0, 3.2, 3.0 }, false),   // ℓ = 3.1
            new LrPoint(1e-3, new[] { 3.5, 3.0, 2.8 }, false),   // ℓ = 2.9  (η*)
            new LrPoint(3e-3, new[] { 3.3, 3.4 }, false),        // ℓ = 3.35 (≤ 2.9 + 0.5: stable)
            new LrPoint(1e-2, new[] { 3.0, 3.2 }, true),         // diverged: ln V, never η_max
            new LrPoint(3e-2, new[] { 6.0, 7.0 }, false),        // capped at ln V
        };
        var s = LrSensitivity.Compute(grid, LnV);
        Assert.Equal(1e-3, s.BestLr);
        Assert.Equal(2.9, s.BestLoss, 12);
        Assert.Equal(3e-3, s.MaxStableLr);
        Assert.Equal(new[] { 4.5, 3.1, 2.9, 3.35, 5.0, 5.0 }, s.Curve.Select(c => Math.Round(c.Loss, 10)));
        Assert.Equal((1.6 + 0.2 + 0 + 0.45 + 2.1 + 2.1) / 6, s.Sensitivity, 12);
    }

    [Fact]
    public void NonFiniteLossesCountAsTheUniformGuess()
    {
        Assert.Equal(LnV, LrSensitivity.Loss(new LrPoint(1, new[] { 2.0, double.NaN }, false), LnV));
        Assert.Equal(LnV, LrSensitivity.Loss(new LrPoint(1, Array.Empty<double>(), false), LnV));
        Assert.Equal(2.0, LrSensitivity.Loss(new LrPoint(1, new[] { 2.0 }, false), LnV));
        var allDiverged = LrSensitivity.Compute(new[] { new LrPoint(1e-3, new[] { 1.0 }, true), new LrPoint(1e-2, new[] { 1.0 }, true) }, LnV);
        Assert.True(double.IsNaN(allDiverged.MaxStableLr));
        Assert.Equal(0, allDiverged.Sensitivity);
    }

    [Fact]
    public void OverSeedsGivesPerSeedValuesAndAnInterval()
    {
        IReadOnlyList<LrPoint> Grid(double shift) => new[]
        {
            new LrPoint(1e-3, new[] { 3.0 + shift }, false), new LrPoint(3e-3, new[] { 2.5 + shift }, false), new LrPoint(1e-2, new[] { 4.0 + shift }, false),
        };
        var over = LrSensitivityOverSeeds.Compute(new Dictionary<long, IReadOnlyList<LrPoint>> { [1] = Grid(0), [2] = Grid(0.1), [3] = Grid(-0.1) }, LnV);
        Assert.Equal(3, over.PerSeed.Count);
        Assert.Equal(2.5, over.BestLoss.Mean, 12);
        Assert.Equal(0.1, over.BestLoss.Sd, 12);
        Assert.Equal(2.5 - StudentT.Quantile(0.975, 2) * 0.1 / Math.Sqrt(3), over.BestLoss.Lower, 9);
        Assert.Equal(Math.Log10(3e-3), over.Log10BestLr.Mean, 12);
        Assert.Equal((0.5 + 0 + 1.5) / 3, over.Sensitivity.Mean, 12);
        var pairs = LrSensitivityOverSeeds.Pair(over, over, s => s.Sensitivity);
        Assert.Equal(new long[] { 1, 2, 3 }, pairs.Select(p => p.Seed));
    }
}
