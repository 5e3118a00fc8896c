using System.Runtime.Intrinsics;
using BertLab.Attention;
using BertLab.Attention.Reference;
using BertLab.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>The one-function CPU softmax attention (training, dropout on the probabilities) against the explicit
/// composition <see cref="SoftmaxReference"/>: outputs and the gradients of Q, K and V, with and without padded
/// keys (a whole sequence of them included), with the scale an exact product (d = 16, 64) and a division (d = 24), with
/// rows that are whole vectors and rows with a scalar tail (S = 37), and the same dropped elements under one seed.</summary>
public class SoftmaxAttentionCpuTests
{
    [Theory]
    // Beside KernelReferenceTests (the model's calls): no dropout, p = 0.5 with a whole sequence of padded keys, BERT-base's d = 64.
    [InlineData(2, 37, 16, 0.0, false)]
    [InlineData(3, 64, 24, 0.5, true)]
    [InlineData(2, 128, 64, 0.1, true)]
    public void MatchesTheExplicitComposition_InOutputAndGradients(int B, int S, int d, double p, bool padded)
    {
        using var scope = NewDisposeScope();
        manual_seed(S * 11 + d);
        const int H = 3;
        // (B, S, H·d) split into heads as the model does.
        Tensor Input() => (randn(B, S, H * d) * 2).view(B, S, H, d).transpose(1, 2);
        var q0 = Input(); var k0 = Input(); var v0 = Input();
        Tensor? keyMask = null;
        if (padded)
        {
            keyMask = ones(B, S, dtype: ScalarType.Bool);
            using (no_grad()) { keyMask[0, TensorIndex.Slice(S - 5)] = tensor(false); keyMask[B - 1] = tensor(false); }
        }
        var upstream = randn(B, H, S, d);

        (Tensor o, Tensor[] g) Run(bool fused)
        {
            Tensor Leaf(Tensor x) => x.transpose(1, 2).contiguous().detach().requires_grad_();
            var q = Leaf(q0); var k = Leaf(k0); var v = Leaf(v0);
            manual_seed(99);
            var o = fused
                ? SoftmaxAttentionCpu.Apply(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), keyMask, p)
                : SoftmaxReference.Forward(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), keyMask?.unsqueeze(1).unsqueeze(1), p, training: true).Output;
            (o * upstream).sum().backward();
            return (o.detach(), new[] { q.grad!, k.grad!, v.grad! });
        }

        var (of, gf) = Run(fused: true);
        var (oe, ge) = Run(fused: false);
        Assert.Equal(oe.shape, of.shape);
        Assert.True(RelativeError(of, oe) <= 1e-5, $"output: relative error {RelativeError(of, oe):E2}");
        string[] names = { "Q", "K", "V" };
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(ge[i].shape, gf[i].shape);
            Assert.True(RelativeError(gf[i], ge[i]) <= 1e-5, $"gradient w.r.t. {names[i]}: relative error {RelativeError(gf[i], ge[i]):E2}");
        }
        if (p > 0)
        {
            // The drop is real (not the identity): with another seed the output differs.
            manual_seed(7);
            using var other = SoftmaxAttentionCpu.Apply(q0, k0, v0, keyMask, p);
            Assert.True(RelativeError(other, oe) > 1e-3);
        }
    }

    [Fact]
    public void Exp_IsWithinTwoUlpsOfTheExactValue_AndZeroWhereItLeavesTheNormalFloats()
    {
        var xs = new List<float>();
        for (float x = -87.3f; x <= 0; x += 0.0137f) xs.Add(x);
        xs.AddRange(new[] { 0f, -1e-8f, -0.34657359f, -0.34657360f, -87.33f, -87.34f, -100f, -1e30f, float.MinValue });
        while (xs.Count % 16 != 0) xs.Add(-1f);
        var values = xs.ToArray();
        double worst = 0;
        for (int i = 0; i < values.Length; i += 16)
        {
            var e = SoftmaxAttentionCpu.Exp(Vector512.Create(values.AsSpan(i, 16)));
            for (int j = 0; j < 16; j++)
            {
                float x = values[i + j];
                double exact = Math.Exp(x);
                if (x < -87.33654f) { Assert.Equal(0f, e[j]); continue; }
                double ulp = (double)MathF.BitIncrement((float)exact) - (float)exact;
                worst = Math.Max(worst, Math.Abs(e[j] - exact) / ulp);
            }
        }
        Assert.True(worst <= 2, $"worst error {worst:F2} ulp");
    }

    [Fact]
    public void BertTrainingStep_HasTheSameLossAndGradients_WithAndWithoutTheFusedAttention()
    {
        using var scope = NewDisposeScope();
        var config = ModelPresets.Create("tiny");
        config.HiddenDropoutProb = 0.1;
        config.AttentionProbsDropoutProb = 0.1;
        manual_seed(3);
        using var model = new BertForMaskedLM(config);
        model.train();
        var ids = randint(5, config.VocabSize, new long[] { 2, 24 });
        var labels = where(rand(2, 24) < 0.3, ids, full_like(ids, -100));
        var mask = ones(2, 24, dtype: ScalarType.Int64);
        using (no_grad()) mask[1, TensorIndex.Slice(20)] = tensor(0L);

        // Without the kernel: the same model with implementation "quadratic", whose layers run the explicit composition.
        var quadratic = config.Clone();
        quadratic.Attention.Implementation = AttentionImplementation.Quadratic;
        manual_seed(3);
        using var reference = new BertForMaskedLM(quadratic);
        reference.train();

        (float loss, Dictionary<string, Tensor> grads) Step(BertForMaskedLM m, string kernel)
        {
            m.zero_grad();
            manual_seed(17);
            var output = m.Forward(ids, mask, null, labels);
            var usage = m.Bert.AttentionKernelUsage();
            Assert.Equal(config.NumHiddenLayers, usage.Count);
            Assert.All(usage, layer => Assert.Equal(new[] { new KernelUsage(kernel, 1) }, layer.Kernels));
            output.Loss!.backward();
            return (output.Loss.item<float>(), m.named_parameters().Where(x => x.parameter.grad is not null)
                .ToDictionary(x => x.name, x => x.parameter.grad!.clone()));
        }

        var (lf, gf) = Step(model, "softmax-cpu");
        var (le, ge) = Step(reference, "quadratic");
        Assert.Equal(le, lf, 5);
        Assert.Equal(ge.Keys.OrderBy(x => x), gf.Keys.OrderBy(x => x));
        // The key bias's gradient is zero in exact arithmetic (a softmax ignores a constant added to a row), so both paths
        // give rounding noise there: every gradient is compared at the scale of the largest one.
        double scale = ge.Values.Max(g => g.abs().max().item<float>());
        foreach (var (name, g) in ge)
        {
            double diff = (gf[name] - g).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * scale, $"{name}: max difference {diff:E2} (largest gradient {scale:E2})");
        }
        Assert.True(RelativeError(gf["bert.encoder.layer.0.attention.self.query.weight"], ge["bert.encoder.layer.0.attention.self.query.weight"]) <= 1e-4);
    }
}
