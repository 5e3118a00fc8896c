using System.Text.Json.Nodes;
using BertLab.Attention;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using static BertLab.Tests.Attention.AttentionTestKit;

namespace BertLab.Tests.Attention;

/// <summary>
/// Every kernel of <see cref="AttentionKernels"/> against the reference composition (the last kernel, the explicit
/// matrix of every registry entry's torch forward): every preset and the scaling, normalisation and token-dropout
/// variants, on every (shape, training or evaluation, padding) call the kernel supports, in the output and in the
/// gradients of Q, K, V and the mechanism's parameters. In training the attention dropout and the token dropout of the
/// kernel and the reference are drawn from the same seed, so they drop the same elements and must agree; the drop is
/// checked to be real (another seed gives another output).
/// </summary>
public class KernelReferenceTests
{
    /// <summary>(B, H, S, d, lengths): S &gt; d (the auto rule picks the right product; d = 16, √d a power of two: the CPU
    /// softmax multiplies by 1/√d) and S ≤ d (d = 24: it divides); S = 37 and 20 leave a scalar tail after 16-wide rows.</summary>
    static readonly (int B, int H, int S, int D, int[] Lengths)[] Shapes =
    {
        (3, 2, 37, 16, new[] { 37, 32, 3 }),
        (2, 3, 20, 24, new[] { 20, 7 }),
    };

    const double Dropout = 0.1;

    /// <summary>The presets and the variants beside them: every scaling of the linearisable similarities, the
    /// normalisations, softmax over dot factors, rowsum after an activation, and token dropout.</summary>
    public static IEnumerable<string> Attentions()
    {
        var all = new List<string>(AttentionConfig.PresetNames.Select(p => $"\"{p}\""));
        foreach (var sim in new[] { "dot", "cosine" })
            foreach (var sc in AttentionConfig.Scalings)
                all.Add($$"""{"similarity": "{{sim}}", "activation": "none", "scaling": "{{sc}}"}""");
        foreach (var norm in new[] { "q", "k", "v", "qkv" })
        {
            all.Add($$"""{"preset": "cosine-relu", "normalize": "{{norm}}"}""");
            all.Add($$"""{"similarity": "dot", "activation": "none", "scaling": "n", "normalize": "{{norm}}"}""");
        }
        all.Add("""{"preset": "softmax", "normalize": "qk"}""");
        all.Add("""{"similarity": "cosine", "activation": "relu", "scaling": "rowsum"}""");
        all.Add("""{"preset": "softmax", "token_dropout": 0.1}""");
        all.Add("""{"preset": "cottention", "token_dropout": 0.1}""");
        all.Add("""{"preset": "cosine-relu", "token_dropout": 0.1}""");
        return all.Distinct();
    }

    static AttentionConfig Read(string attention)
    {
        var c = AttentionConfig.FromJson(JsonNode.Parse(attention)!, "attention");
        c.KeyBlock = 7;                                                // several key blocks for the distance similarities
        return c;
    }

    static AttentionCall CallFor(int shape, bool training) =>
        Call(Shapes[shape].S, Shapes[shape].D, training: training, dropout: Dropout);

    /// <summary>Every (kernel, attention, training, padded, shape) whose kernel serves the call, the reference left out.</summary>
    public static IEnumerable<object[]> Cases() =>
        from kernel in AttentionKernels.All
        where kernel != AttentionKernels.Reference
        from attention in Attentions()
        from training in new[] { false, true }
        from padded in new[] { true, false }
        from shape in Enumerable.Range(0, Shapes.Length)
        where AttentionKernels.Serves(kernel, AttentionRegistry.Spec(Read(attention)), CallFor(shape, training))
        select new object[] { kernel.Name, attention, training, padded, shape };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Kernel_EqualsTheReference_InOutputAndGradients(string kernel, string attention, bool training, bool padded, int shape)
    {
        using var scope = NewDisposeScope();
        var (B, H, S, d, lengths) = Shapes[shape];
        var mech = new AttentionMechanism(Read(attention));
        manual_seed(S * 131 + d + attention.Length);
        // (B, S, H·d) projections split into heads as BertSelfAttention does; positive offsets keep rowsum's
        // denominators away from 0, where any two summation orders differ a lot.
        var q0 = randn(B, S, H * d) * 0.5 + 0.5; var k0 = randn(B, S, H * d) * 0.5 + 0.5; var v0 = randn(B, S, H * d);
        var p0 = Parameters(mech, H, ScalarType.Float32);
        var mask = padded ? LengthMask(S, lengths) : null;
        var upstream = randn(B, H, S, d);

        (Tensor output, Tensor[] grads) Run(AttentionKernel k, int seed)
        {
            var q = q0.clone().requires_grad_(); var kk = k0.clone().requires_grad_(); var v = v0.clone().requires_grad_();
            var ps = p0.ToDictionary(kv => kv.Key, kv => kv.Value.clone().requires_grad_());
            Tensor Heads(Tensor x) => x.view(B, S, H, d).transpose(1, 2);
            manual_seed(seed);
            var o = mech.Forward(new AttentionInputs
            {
                Query = Heads(q), Key = Heads(kk), Value = Heads(v), KeyMask = mask,
                Training = training, DropoutProb = Dropout, Parameter = n => ps[n],
            }, k).Output;
            (o * upstream).sum().backward();
            return (o.detach(), new[] { q.grad!, kk.grad!, v.grad! }.Concat(ps.Values.Select(p => p.grad!)).ToArray());
        }

        var (ok, gk) = Run(AttentionKernels.Named(kernel), seed: 5);
        var (or, gr) = Run(AttentionKernels.Reference, seed: 5);
        Assert.Equal(or.shape, ok.shape);
        Assert.False(ok.isnan().any().item<bool>(), "NaN in the kernel's output");
        Assert.True(RelativeError(ok, or) <= 1e-5, $"output: relative error {RelativeError(ok, or):E2}");
        string[] names = new[] { "Q", "K", "V" }.Concat(p0.Keys).ToArray();
        for (int i = 0; i < gr.Length; i++)
        {
            Assert.Equal(gr[i].shape, gk[i].shape);
            Assert.True(RelativeError(gk[i], gr[i]) <= 1e-5, $"gradient w.r.t. {names[i]}: relative error {RelativeError(gk[i], gr[i]):E2}");
        }
        if (mask is not null && mech.Spec.PaddedRows == PaddedRows.Zero)
            Assert.True(ok.masked_select(mask.logical_not().view(B, 1, S, 1).expand(B, H, S, d)).eq(0).all().item<bool>(), "padded query rows are not exactly 0");
        bool drops = training && (mech.Spec.TokenDropout > 0 || mech.Spec.ActivationEntry.IsSoftmax);
        if (drops)
        {
            // The dropout is real: another seed drops other elements.
            var (other, _) = Run(AttentionKernels.Named(kernel), seed: 6);
            Assert.True(RelativeError(other, ok) > 1e-3, "the output does not depend on the dropout seed");
        }
    }

    [Fact]
    public void EveryKernelButTheReference_IsCompared_InTrainingAndEvaluation()
    {
        var cases = Cases().Select(c => ((string)c[0], (bool)c[2])).ToHashSet();
        foreach (var kernel in AttentionKernels.All.Where(k => k != AttentionKernels.Reference))
            Assert.True(cases.Contains((kernel.Name, false)) || cases.Contains((kernel.Name, true)), $"kernel {kernel.Name} has no reference case");
        // The dropout kernels are compared with dropout on.
        Assert.Contains(("softmax-cpu", true), cases);
        Assert.Contains(("fused-explicit", true), cases);
    }
}
