using BertLab.Attention;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

public class HelperTests
{
    [Fact]
    public void OutputPenaltyAveragesExcessNormOverRealTokens()
    {
        // norms: x = (5, 1, 2), o = (3, 4, 9); relu(o − x) = (0, 3, 7); third token padded → mean (0 + 3)/2
        var x = tensor(new float[] { 3, 4, 1, 0, 2, 0 }).view(1, 3, 2);
        var o = tensor(new float[] { 3, 0, 0, 4, 9, 0 }).view(1, 3, 2);
        Assert.Equal(1.5f, OutputPenalty.Term(x, o, tensor(new[] { true, true, false }).view(1, 3)).item<float>(), 5);
        Assert.Equal(10f / 3, OutputPenalty.Term(x, o, null).item<float>(), 5);
    }

    [Fact]
    public void StatisticsReportNormSigmaAndP()
    {
        var o = tensor(new float[] { 3, 4, 0, 0, 6, 8 }).view(1, 3, 2);
        var ps = new Dictionary<string, Tensor>
        {
            ["scale_logit"] = tensor(new[] { 0f, 2f }),
            ["p_logit"] = tensor(new[] { (float)LpSimilarity.LogitFor(2), (float)LpSimilarity.LogitFor(4) }),
        };
        var s = AttentionStatistics.Compute(o, tensor(new[] { true, false, true }).view(1, 3), ps);
        Assert.Equal(7.5, s.MeanOutputNorm, 5);
        Assert.Equal(0.5, s.ScaleExponent![0], 6);
        Assert.Equal(1 / (1 + Math.Exp(-2)), s.ScaleExponent[1], 6);
        Assert.Equal(2.0, s.P![0], 4);
        Assert.Equal(4.0, s.P[1], 4);
        var none = AttentionStatistics.Compute(o, null, new Dictionary<string, Tensor>());
        Assert.Null(none.ScaleExponent); Assert.Null(none.P);
        Assert.Equal(5.0, none.MeanOutputNorm, 5);
    }

    [Fact]
    public void TokenDropoutZeroesWholeRowsOnlyInTraining()
    {
        manual_seed(21);
        var x = randn(4, 2, 500, 8) + 10;
        Assert.Same(x, TokenDropout.Apply(x, 0.3, training: false));
        var y = TokenDropout.Apply(x, 0.3, training: true);
        var zeroRows = y.eq(0).all(-1);                                // (4, 2, 500)
        var keptRows = y.eq(x).all(-1);
        Assert.True(zeroRows.logical_or(keptRows).all().item<bool>(), "a row was partly zeroed or rescaled");
        Assert.True(zeroRows[.., 0].eq(zeroRows[.., 1]).all().item<bool>(), "heads should share the token draw");
        double fraction = zeroRows.to_type(ScalarType.Float32).mean().item<float>();
        Assert.InRange(fraction, 0.25, 0.35);
    }

    [Fact]
    public void TokenDropoutIsAppliedToQueriesAndKeysInTraining()
    {
        var c = AttentionConfig.FromPreset("cosine-n"); c.TokenDropout = 0.5;
        var mech = new AttentionMechanism(c);
        manual_seed(1);
        var q = randn(1, 1, 64, 4); var k = randn(1, 1, 64, 4); var v = randn(1, 1, 64, 4);
        var eval = mech.Forward(new AttentionInputs { Query = q, Key = k, Value = v, Parameter = _ => throw new KeyNotFoundException() }).Output;
        var train = mech.Forward(new AttentionInputs { Query = q, Key = k, Value = v, Training = true, Parameter = _ => throw new KeyNotFoundException() }).Output;
        Assert.True(train.eq(0).all(-1).any().item<bool>(), "some query rows should be dropped");
        Assert.False(allclose(eval, train));
    }
}
