using BertLab.Attention;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>ATTENTION.md §1 masking rules, for every preset and for random compositions, on every kernel (padded query
/// rows exactly 0, except BERT's softmax, which computes them as Hugging Face does).</summary>
public class MaskingTests
{
    public static IEnumerable<object[]> PresetsAndKernels() =>
        from p in AttentionConfig.PresetNames
        from impl in new[] { "auto", "quadratic", "linear", "fused" }
        where Allowed(AttentionConfig.FromPreset(p), impl)
        select new object[] { p, impl };

    static bool Allowed(AttentionConfig c, string impl)
    {
        c.Implementation = AttentionRegistry.Implementations[impl];
        try { c.Validate("attention"); } catch (BertLabException) { return false; }
        return true;
    }

    [Theory]
    [MemberData(nameof(PresetsAndKernels))]
    public void PresetPaddedBatchEqualsSequencesAlone(string preset, string implementation)
    {
        var c = AttentionConfig.FromPreset(preset);
        c.Implementation = AttentionRegistry.Implementations[implementation];
        c.KeyBlock = 3;                                   // several key blocks for the distance similarities
        CheckMaskingRules(c, seed: preset.GetHashCode() & 0xffff);
    }

    public static IEnumerable<object[]> RandomCompositions()
    {
        var rng = new Random(1234);
        for (int i = 0; i < 24; i++)
        {
            var sim = AttentionConfig.Similarities[rng.Next(AttentionConfig.Similarities.Length)];
            var act = AttentionConfig.Activations[rng.Next(AttentionConfig.Activations.Length)];
            var sc = AttentionConfig.Scalings[rng.Next(AttentionConfig.Scalings.Length)];
            var norm = string.Concat(AttentionConfig.Normalizable.Where(_ => rng.Next(3) == 0));
            yield return new object[] { sim, act, sc, norm, i };
        }
    }

    [Theory]
    [MemberData(nameof(RandomCompositions))]
    public void RandomCompositionPaddedBatchEqualsSequencesAlone(string sim, string act, string scaling, string normalize, int seed)
    {
        foreach (var impl in new[] { "auto", "quadratic" })
            CheckMaskingRules(Config(sim, act, scaling, normalize, impl, keyBlock: 4), seed);
    }

    static void CheckMaskingRules(AttentionConfig config, int seed)
    {
        using var scope = NewDisposeScope();
        manual_seed(seed);
        var mech = new AttentionMechanism(config);
        const int B = 3, H = 2, S = 12, d = 8;                         // S > d: auto picks the linear kernel
        int[] lengths = { 12, 7, 2 };
        var parameters = Parameters(mech, H, ScalarType.Float32);
        var q = randn(B, H, S, d) + 0.3; var k = randn(B, H, S, d) + 0.3; var v = randn(B, H, S, d);
        var mask = LengthMask(S, lengths);
        var output = Run(mech, q, k, v, mask, parameters).Output;
        Assert.Equal(new long[] { B, H, S, d }, output.shape);
        Assert.False(output.isnan().any().item<bool>(), "NaN in output");

        for (int b = 0; b < B; b++)
        {
            int n = lengths[b];
            var alone = Run(mech, q[b..(b + 1), .., ..n], k[b..(b + 1), .., ..n], v[b..(b + 1), .., ..n], null, parameters).Output;
            var rows = output[b..(b + 1), .., ..n];
            Assert.True(allclose(rows, alone, rtol: 1e-4, atol: 1e-5), $"{config.Describe()}: sequence {b} (n={n}) differs from itself run alone by {(rows - alone).abs().max().item<float>()}");
            // BERT's softmax keeps Hugging Face's semantics: its padded query rows are computed like the others.
            if (n < S && mech.Spec.PaddedRows == PaddedRows.Zero)
                Assert.True(output[b, .., n..].eq(0).all().item<bool>(), $"{config.Describe()}: padded query rows of sequence {b} are not exactly 0");
        }

        // Padded keys contribute exactly nothing: garbage in the padded positions changes no output bit.
        var garbage = mask.logical_not().view(B, 1, S, 1);
        var q2 = where(garbage, randn(B, H, S, d) * 100, q);
        var k2 = where(garbage, randn(B, H, S, d) * 100, k);
        var v2 = where(garbage, randn(B, H, S, d) * 100, v);
        var output2 = Run(mech, q2, k2, v2, mask, parameters).Output;
        var compared = mech.Spec.PaddedRows == PaddedRows.Zero ? ones_like(garbage) : garbage.logical_not();   // the real rows of a Computed one
        Assert.True(output.eq(output2).logical_or(compared.logical_not()).all().item<bool>(), $"{config.Describe()}: values at padded positions leak into the output");
    }

    [Fact]
    public void SigmoidLeaksNothingFromPaddedKeys()
    {
        // σ(0) = 0.5 would leak if the mask were applied before the activation: one real key, one padded.
        var mech = new AttentionMechanism(Config("cosine", "sigmoid", "none"));
        var q = tensor(new float[] { 1, 0 }).view(1, 1, 1, 2).expand(1, 1, 2, 2).contiguous();
        var k = tensor(new float[] { 1, 0, 0, 1 }).view(1, 1, 2, 2);
        var v = tensor(new float[] { 2, 3, 50, 70 }).view(1, 1, 2, 2);
        var output = Run(mech, q, k, v, LengthMask(2, 1), new Dictionary<string, Tensor>()).Output;
        float s = 1f / (1f + MathF.Exp(-1f));                          // σ(cos = 1)
        Assert.Equal(2 * s, output[0, 0, 0, 0].item<float>(), 5);
        Assert.Equal(3 * s, output[0, 0, 0, 1].item<float>(), 5);
        Assert.Equal(0f, output[0, 0, 1, 0].item<float>());
    }

    [Fact]
    public void CountScalingCountsRealTokensOnly()
    {
        // cosine-n with identical unit q and k rows: every real score is 1, so O_i = Σ_real v_j / n.
        var mech = new AttentionMechanism(AttentionConfig.FromPreset("cosine-n"));
        var q = ones(1, 1, 5, 4); var k = ones(1, 1, 5, 4);
        var v = arange(20, ScalarType.Float32).view(1, 1, 5, 4);
        var output = Run(mech, q, k, v, LengthMask(5, 3), new Dictionary<string, Tensor>()).Output;
        var expected = v[0, 0, ..3].mean(new long[] { 0 });
        Assert.True(allclose(output[0, 0, 0], expected, atol: 1e-5));
        Assert.True(allclose(output[0, 0, 2], expected, atol: 1e-5));
    }
}
