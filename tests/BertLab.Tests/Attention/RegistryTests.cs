using System.Text.Json.Nodes;
using BertLab.Attention;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>The registries are the one source of truth: every entry builds, and its capability flags agree with
/// what the kernels actually compute.</summary>
public class RegistryTests
{
    [Fact]
    public void EveryEntryIsConstructibleAndNamedByItsKey()
    {
        var c = AttentionConfig.FromPreset("softmax");
        foreach (var name in AttentionRegistry.Similarities.Names)
        {
            c.Similarity = name;
            Assert.Equal(name, Similarity.Create(c).Name);
        }
        foreach (var name in AttentionRegistry.Activations.Names) Assert.Equal(name, Activation.Create(name).Name);
        foreach (var name in AttentionRegistry.Scalings.Names) Assert.Equal(name, Scaling.Create(name).Name);
        // Every (similarity, activation, scaling) triple validates and builds a mechanism.
        foreach (var t in AllTriples())
        {
            var cfg = Config((string)t[0], (string)t[1], (string)t[2]);
            Assert.NotNull(new AttentionMechanism(cfg));
        }
    }

    [Fact]
    public void ConfigErrorsListTheRegistryValues()
    {
        var o = new JsonObject { ["similarity"] = "hamming" };
        var e = Assert.Throws<BertLabException>(() => AttentionConfig.FromJson(o, "model.attention"));
        Assert.Contains("model.attention.similarity", e.Message);
        Assert.Contains(string.Join(", ", AttentionRegistry.Similarities.Names), e.Message);
        var e2 = Assert.Throws<BertLabException>(() => AttentionConfig.FromJson(new JsonObject { ["implementation"] = "flash" }, "attention"));
        Assert.Contains("auto, fused, explicit, quadratic, linear", e2.Message);
    }

    [Theory]
    [InlineData("explicit", "quadratic")]
    [InlineData("quadratic", "quadratic")]
    [InlineData("linear", "linear")]
    [InlineData("auto", "auto")]
    public void ImplementationJsonSpellingsRoundTrip(string written, string canonical)
    {
        var preset = written == "linear" ? "cottention" : "softmax";
        var c = AttentionConfig.FromJson(new JsonObject { ["preset"] = preset, ["implementation"] = written }, "attention");
        Assert.Equal(canonical, (string)c.ToJson()["implementation"]!);
        Assert.Equal(c.Implementation, AttentionConfig.FromJson(c.ToJson(), "attention").Implementation);
    }

    /// <summary>A dot-product entry really is A·Bᵀ of its factors; the others refuse to give factors.</summary>
    [Fact]
    public void DotProductFlagAgreesWithTheScores()
    {
        manual_seed(11);
        var q = randn(2, 2, 7, 5); var k = randn(2, 2, 7, 5);
        foreach (var e in AttentionRegistry.Similarities.Entries)
        {
            using var scope = NewDisposeScope();
            var c = AttentionConfig.FromPreset("softmax"); c.Similarity = e.Name;
            var sim = e.Create(c);
            var ps = sim.CreateParameters(2, c);
            var scores = sim.Scores(q, k, n => ps[n]);
            if (e.IsDotProduct)
            {
                var (a, b) = sim.DotFactors(q, k);
                Assert.True(RelativeError(matmul(a, b.transpose(-2, -1)), scores) <= 1e-6, e.Name);
            }
            else Assert.Throws<InvalidOperationException>(() => sim.DotFactors(q, k));
            if (e.NormalizesQK)   // an explicit q/k normalisation changes nothing
                Assert.True(RelativeError(sim.Scores(VectorNormalization.L2(q), VectorNormalization.L2(k), n => ps[n]), scores) <= 1e-6, e.Name);
        }
    }

    /// <summary>A scaling whose entry does not say it uses row sums never asks for them (the linear cosine CPU kernel,
    /// which divides the d×d matrix, relies on it); one that says so divides by a function of them.</summary>
    [Fact]
    public void UsesRowSumsFlagAgreesWithTheDivisor()
    {
        var counts = tensor(new float[] { 3, 5 }).view(2, 1, 1, 1);
        var ps = new Dictionary<string, Tensor> { [LearnedExponentScaling.ParameterName] = tensor(new float[] { 0.2f, -0.4f }) };
        foreach (var e in AttentionRegistry.Scalings.Entries)
        {
            bool asked = false;
            var rowSums = full(2, 2, 4, 1, 2.5f);
            var divisor = e.Create().Divisor(counts, () => { asked = true; return rowSums; }, n => ps[n]);
            Assert.Equal(e.UsesRowSums, asked);
            if (e.UsesRowSums) Assert.Equal(new long[] { 2, 2, 4, 1 }, divisor!.shape);
        }
    }

    /// <summary>Every configuration the registry calls linearisable gives the quadratic reference's output through the
    /// linear kernel; every one it calls fusable gives it through the fused kernel; the others are refused.</summary>
    [Fact]
    public void LinearisableAndFusableFlagsAgreeWithTheKernels()
    {
        manual_seed(12);
        const int B = 2, H = 2, S = 9, d = 4;
        var q0 = randn(B, H, S, d) * 0.5 + 0.5; var k0 = randn(B, H, S, d) * 0.5 + 0.5; var v0 = randn(B, H, S, d);
        var mask = LengthMask(S, S, 6);
        int linearChecked = 0, fusedChecked = 0;
        foreach (var t in AllTriples())
        {
            using var scope = NewDisposeScope();
            string sim = (string)t[0], act = (string)t[1], sc = (string)t[2];
            var reference = new AttentionMechanism(Config(sim, act, sc, implementation: "quadratic"));
            var ps = Parameters(reference, H, ScalarType.Float32);
            var expected = Run(reference, q0, k0, v0, mask, ps).Output;
            foreach (var (impl, flag) in new[] { ("linear", AttentionRegistry.IsLinearizable(sim, act)), ("fused", AttentionRegistry.CanFuse(sim, act, sc)) })
            {
                if (!flag)
                {
                    Assert.Throws<BertLabException>(() => Config(sim, act, sc, implementation: impl));
                    continue;
                }
                var mech = new AttentionMechanism(Config(sim, act, sc, implementation: impl));
                Assert.Equal(impl == "linear" ? KernelForm.Linear : KernelForm.Fused, mech.KernelFor(Call(S, d)).Form);
                var got = Run(mech, q0, k0, v0, mask, ps).Output;
                Assert.True(RelativeError(got, expected) <= 1e-5, $"{sim}/{act}/{sc} via {impl}: {RelativeError(got, expected):E2}");
                if (impl == "linear") linearChecked++; else fusedChecked++;
            }
        }
        Assert.True(linearChecked >= 2 && fusedChecked >= 2, $"linear {linearChecked}, fused {fusedChecked}");
    }
}
