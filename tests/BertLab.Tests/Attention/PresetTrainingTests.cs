using BertLab.Attention;
using BertLab.Model;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>Every preset inside a real (tiny) BertForMaskedLM: its mechanism built, parameters named as the checkpoint contract, trainable.</summary>
public class PresetTrainingTests
{
    public static IEnumerable<object[]> Presets() => AttentionConfig.PresetNames.Select(p => new object[] { p });

    static BertConfig TinyConfig(string preset) => new()
    {
        VocabSize = 64, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 4, IntermediateSize = 64,
        MaxPositionEmbeddings = 32, HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0,
        Attention = AttentionConfig.FromPreset(preset),
    };

    [Theory]
    [MemberData(nameof(Presets))]
    public void MaskedLMWithPresetTrainsOnAFixedBatch(string preset)
    {
        using var scope = NewDisposeScope();
        manual_seed(42);
        var model = new BertForMaskedLM(TinyConfig(preset));
        model.train();
        const int B = 4, S = 20;
        var ids = randint(5, 64, new long[] { B, S });
        var mask = AttentionTestKit.LengthMask(S, 20, 17, 12, 6);
        ids = where(mask, ids, zeros_like(ids));
        var labels = where(rand(B, S).lt(0.3).logical_and(mask), ids, full_like(ids, -100));
        labels[.., 1] = ids[.., 1];                                    // at least one label per row
        var extra = model.named_parameters().Where(p => p.name.EndsWith("scale_logit") || p.name.EndsWith("p_logit"))
            .Select(p => (p.name, p.parameter, init: p.parameter.detach().clone())).ToList();
        var optimizer = optim.AdamW(model.parameters(), lr: 3e-3);
        var losses = new List<double>();
        for (int step = 0; step < 20; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var loss = model.Forward(ids, mask.to_type(ScalarType.Int64), labels: labels).Loss!;
            loss.backward();
            optimizer.step();
            losses.Add(loss.item<float>());
        }
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"{preset}: non-finite loss {string.Join(", ", losses)}"));
        foreach (var (name, parameter, init) in extra)
            Assert.False(parameter.detach().eq(init).all().item<bool>(), $"{preset}: {name} never moved (no gradient reaches it)");
        Assert.True(losses[^1] < 0.8 * losses[0], $"{preset}: loss did not fall: {string.Join(", ", losses.Select(l => l.ToString("F3")))}");
    }

    [Theory]
    [InlineData("softmax", PaddedRows.Computed, new string[0])]
    [InlineData("cottention", PaddedRows.Zero, new[] { "scale_logit" })]
    [InlineData("lp", PaddedRows.Zero, new[] { "p_logit" })]
    [InlineData("cosine-relu", PaddedRows.Zero, new string[0])]
    public void TheMechanismsPaddedRowsAndParametersAreSavedUnderSelf(string preset, PaddedRows expected, string[] extra)
    {
        Assert.Equal(expected, new AttentionMechanism(AttentionConfig.FromPreset(preset)).Spec.PaddedRows);
        var model = new BertForMaskedLM(TinyConfig(preset));
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var e in extra)
            for (int layer = 0; layer < 2; layer++)
            {
                var name = $"bert.encoder.layer.{layer}.attention.self.{e}";
                Assert.Contains(name, names);
                Assert.Equal(new long[] { 4 }, model.named_parameters().First(p => p.name == name).parameter.shape);
            }
        Assert.DoesNotContain(names, n => (n.EndsWith("scale_logit") || n.EndsWith("p_logit")) && !extra.Any(n.EndsWith));
    }

    [Fact]
    public void EveryPresetBuildsAMechanism_AndSoftmaxWithTokenDropoutZeroesPaddedRows()
    {
        foreach (var p in AttentionConfig.PresetNames)
        {
            var mech = new AttentionMechanism(AttentionConfig.FromPreset(p));
            Assert.Equal(p, mech.Config.Preset);
        }
        var custom = AttentionConfig.FromPreset("softmax"); custom.TokenDropout = 0.1;
        Assert.Equal(PaddedRows.Zero, new AttentionMechanism(custom).Spec.PaddedRows);
    }
}
