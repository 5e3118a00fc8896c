using BertLab.Experiments.Statistics;
using Xunit;

namespace BertLab.Tests.Experiments.Statistics;

public class StudentTTests
{
    // Printed t-table values (two-sided 95%, 90%, 99%, 99.9%), 4 decimals.
    [Theory]
    [InlineData(0.975, 1, 12.7062)] [InlineData(0.975, 2, 4.3027)] [InlineData(0.975, 3, 3.1824)] [InlineData(0.975, 4, 2.7764)]
    [InlineData(0.975, 5, 2.5706)] [InlineData(0.975, 6, 2.4469)] [InlineData(0.975, 7, 2.3646)] [InlineData(0.975, 8, 2.3060)]
    [InlineData(0.975, 9, 2.2622)] [InlineData(0.975, 10, 2.2281)] [InlineData(0.975, 20, 2.0860)] [InlineData(0.975, 30, 2.0423)]
    [InlineData(0.975, 60, 2.0003)] [InlineData(0.975, 100, 1.9840)] [InlineData(0.975, 120, 1.9799)] [InlineData(0.975, 1000, 1.9623)]
    [InlineData(0.95, 1, 6.3138)] [InlineData(0.95, 3, 2.3534)] [InlineData(0.95, 5, 2.0150)] [InlineData(0.95, 10, 1.8125)] [InlineData(0.95, 30, 1.6973)]
    [InlineData(0.995, 1, 63.6567)] [InlineData(0.995, 3, 5.8409)] [InlineData(0.995, 10, 3.1693)] [InlineData(0.995, 1000, 2.5808)]
    [InlineData(0.9995, 1, 636.6192)] [InlineData(0.9995, 5, 6.8688)]
    public void QuantileMatchesTheTable(double p, int df, double expected)
    {
        double t = StudentT.Quantile(p, df);
        Assert.True(Math.Abs(t - expected) <= 1e-4 * Math.Max(1, expected / 10), $"t({p}, {df}) = {t}, table {expected}");
        Assert.Equal(-t, StudentT.Quantile(1 - p, df), 9);
    }

    [Fact]
    public void ClosedFormsForOneAndTwoDegreesOfFreedom()
    {
        foreach (var p in new[] { 0.51, 0.6, 0.75, 0.9, 0.95, 0.975, 0.99, 0.999 })
        {
            // df 1 is the Cauchy distribution: t = tan(π(p − ½)); df 2: t = (2p − 1) / √(2p(1 − p))
            double cauchy = Math.Tan(Math.PI * (p - 0.5));
            Assert.True(Math.Abs(StudentT.Quantile(p, 1) - cauchy) <= 1e-7 * Math.Max(1, cauchy), $"df 1, p {p}");
            double two = (2 * p - 1) / Math.Sqrt(2 * p * (1 - p));
            Assert.True(Math.Abs(StudentT.Quantile(p, 2) - two) <= 1e-7 * Math.Max(1, two), $"df 2, p {p}");
        }
    }

    [Fact]
    public void EveryDegreeOfFreedomUpTo1000LiesBetweenItsNeighboursAndTheNormalLimit()
    {
        double previous = double.PositiveInfinity;
        for (int df = 1; df <= 1000; df++)
        {
            double t = StudentT.Quantile(0.975, df);
            Assert.True(t < previous && t > 1.959963, $"df {df}: {t}");
            Assert.Equal(0.975, StudentT.Cdf(t, df), 10);
            previous = t;
        }
        Assert.Equal(1.959964, StudentT.Quantile(0.975, 1e7), 5);
    }

    [Fact]
    public void LogGammaMatchesFactorials()
    {
        Assert.Equal(Math.Log(24), StudentT.LogGamma(5), 12);
        Assert.Equal(0.5 * Math.Log(Math.PI), StudentT.LogGamma(0.5), 12);
    }
}
