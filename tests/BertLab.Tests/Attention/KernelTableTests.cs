using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Runtime;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>Which kernel of the table serves which call: the rules that decide it, one row each.</summary>
public class KernelTableTests
{
    static AttentionCall CallOf(string device, string precision, bool training, int s, int d, bool probs)
    {
        var policy = MixedPrecision.Parse(precision);
        bool reduced = policy.Compute is not null;
        return new AttentionCall(device == "cuda" ? DeviceType.CUDA : DeviceType.CPU, policy.Compute ?? ScalarType.Float32, reduced,
            !reduced || policy.Fp32Residual, training, training ? 0.1 : 0, probs, s, d);
    }

    [Theory]
    // BERT's softmax: SDPA, except that FastDropout's mask (fp32 CPU training) needs the CPU function; probabilities or a
    // forced "quadratic" give the explicit matrix.
    [InlineData("\"softmax\"", "cpu", "fp32", false, 128, 64, false, "sdpa")]
    [InlineData("\"softmax\"", "cpu", "fp32", true, 128, 64, false, "softmax-cpu")]
    [InlineData("\"softmax\"", "cpu", "bf16", true, 128, 64, false, "sdpa")]
    [InlineData("\"softmax\"", "cuda", "fp32", true, 128, 64, false, "sdpa")]
    [InlineData("\"softmax\"", "cpu", "fp32", false, 128, 64, true, "quadratic")]
    [InlineData("""{"preset": "softmax", "implementation": "explicit"}""", "cpu", "fp32", true, 128, 64, false, "quadratic")]
    [InlineData("""{"preset": "softmax", "implementation": "fused"}""", "cpu", "fp32", true, 128, 64, false, "softmax-cpu")]
    // Softmax with token dropout is no longer BERT's (padded rows 0): SDPA on the dot factors, written out with CPU dropout.
    [InlineData("""{"preset": "softmax", "token_dropout": 0.1}""", "cpu", "fp32", false, 128, 64, false, "fused")]
    [InlineData("""{"preset": "softmax", "token_dropout": 0.1}""", "cpu", "fp32", true, 128, 64, false, "fused-explicit")]
    [InlineData("\"cosine-softmax\"", "cuda", "bf16", true, 128, 64, false, "fused")]
    [InlineData("\"cosine-softmax\"", "cpu", "fp32", true, 128, 64, false, "fused-explicit")]
    // The right product under auto when S > d; the CPU cosine kernel for fp32 inputs and a per-sequence divisor.
    [InlineData("\"cottention\"", "cpu", "fp32", true, 128, 64, false, "linear-cosine-cpu")]
    [InlineData("\"cottention\"", "cpu", "fp32", true, 64, 64, false, "quadratic")]
    [InlineData("""{"preset": "cottention", "implementation": "linear"}""", "cpu", "fp32", true, 64, 64, false, "linear-cosine-cpu")]
    [InlineData("\"cottention\"", "cpu", "bf16", true, 128, 64, false, "linear")]
    [InlineData("\"cottention\"", "cpu", "bf16-autocast", true, 128, 64, false, "linear-cosine-cpu")]
    [InlineData("\"cottention\"", "cuda", "fp32", true, 128, 64, false, "linear")]
    [InlineData("\"cottention\"", "cpu", "fp32", false, 128, 64, true, "quadratic")]
    [InlineData("""{"preset": "cottention", "implementation": "quadratic"}""", "cpu", "fp32", false, 128, 64, false, "quadratic")]
    [InlineData("""{"similarity": "cosine", "activation": "none", "scaling": "rowsum"}""", "cpu", "fp32", false, 128, 64, false, "linear")]
    [InlineData("""{"similarity": "dot", "activation": "none", "scaling": "n"}""", "cpu", "fp32", false, 128, 64, false, "linear")]
    // An activation on the matrix or a distance: only the matrix.
    [InlineData("\"cosine-relu\"", "cuda", "fp32", false, 4096, 64, false, "quadratic")]
    [InlineData("\"lp\"", "cpu", "fp32", true, 128, 64, false, "quadratic")]
    public void TheFirstKernelThatServesTheCallRunsIt(string attention, string device, string precision, bool training, int s, int d, bool probs, string expected)
    {
        var spec = AttentionRegistry.Spec(AttentionConfig.FromJson(JsonNode.Parse(attention)!, "attention"));
        var call = CallOf(device, precision, training, s, d, probs);
        Assert.Equal(expected, AttentionKernels.Choose(spec, call).Name);
        // It is the first that serves; the quadratic reference serves every call.
        Assert.All(AttentionKernels.All.TakeWhile(k => k.Name != expected), k => Assert.False(AttentionKernels.Serves(k, spec, call), k.Name));
        Assert.True(AttentionKernels.Serves(AttentionKernels.Reference, spec, call));
    }

    [Fact]
    public void TheReferenceIsLast_NamesAreUnique_AndIndexedInOrder()
    {
        var all = AttentionKernels.All;
        Assert.Equal("quadratic", all[^1].Name);
        Assert.Same(all[^1], AttentionKernels.Reference);
        Assert.Equal(all.Count, all.Select(k => k.Name).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, all.Count), all.Select(k => k.Index));
        Assert.Contains("sdpa", Assert.Throws<BertLabException>(() => AttentionKernels.Named("flash")).Message);
    }

    [Fact]
    public void ANamedKernelThatDoesNotServeTheCall_IsAnError()
    {
        using var scope = NewDisposeScope();
        var mech = new AttentionMechanism(AttentionConfig.FromPreset("cosine-relu"));
        var q = randn(1, 2, 8, 4);
        var inputs = new AttentionInputs { Query = q, Key = q, Value = q, Parameter = _ => throw new KeyNotFoundException() };
        var e = Assert.Throws<ArgumentException>(() => mech.Forward(inputs, AttentionKernels.Named("linear")));
        Assert.Contains("'linear' does not serve cosine-relu", e.Message);
        Assert.Empty(mech.KernelUsage());
        mech.Forward(inputs);
        Assert.Equal(new[] { new KernelUsage("quadratic", 1) }, mech.KernelUsage());
    }

    /// <summary>docs/DESIGN-NOTES.md lists the kernels as the code has them: every row of <see cref="AttentionKernels.All"/>,
    /// in order, with its form. Adding, removing, reordering or re-forming a kernel without the page fails here.</summary>
    [Fact]
    public void DesignNotesListTheKernelsOfTheCode()
    {
        string notes = null!;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && notes is null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "BertLab.slnx"))) notes = File.ReadAllText(Path.Combine(dir.FullName, "docs", "DESIGN-NOTES.md"));
        Assert.NotNull(notes);
        var lines = notes.Split('\n');
        int start = Array.FindIndex(lines, l => l.Contains("<!-- kernels:", StringComparison.Ordinal));
        Assert.True(start >= 0, "DESIGN-NOTES.md has no kernel table marker");
        var rows = lines.Skip(start + 3).TakeWhile(l => l.StartsWith('|')).Select(l => l.Split('|', StringSplitOptions.TrimEntries)).ToList();
        var documented = rows.Select(r => (Index: r[1], Name: r[2].Trim('`'), Form: r[3])).ToList();
        var code = AttentionKernels.All.Select((k, i) => (Index: (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), k.Name, Form: k.Form.ToString().ToLowerInvariant())).ToList();
        Assert.Equal(code, documented);
    }
}
