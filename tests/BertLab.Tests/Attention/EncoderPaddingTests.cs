using BertLab.Attention;
using BertLab.Model;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Attention;

/// <summary>
/// Variable-length batches through the whole encoder: for every attention preset, each real token of a padded batch of
/// sequences of different lengths gets the same attention-layer outputs (every layer) and the same final hidden state as
/// its sequence run alone. Length-dependent scalings (÷n, ÷√n, ÷n^σ) must count each sequence's real tokens.
/// </summary>
public class EncoderPaddingTests
{
    public static IEnumerable<object[]> Presets() => AttentionConfig.PresetNames.Select(p => new object[] { p });

    [Theory]
    [MemberData(nameof(Presets))]
    public void PaddedBatchEqualsEachSequenceAlone(string preset)
    {
        using var scope = NewDisposeScope();
        manual_seed(17);
        var config = new BertConfig
        {
            VocabSize = 40, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64,
            HiddenDropoutProb = 0, AttentionProbsDropoutProb = 0, MaxPositionEmbeddings = 32, Attention = AttentionConfig.FromPreset(preset),
        };
        var model = new BertModel(config, addPoolingLayer: false);
        model.eval();
        int[] lengths = { 14, 9, 3, 1 };
        int B = lengths.Length, S = lengths.Max();
        var ids = randint(5, config.VocabSize, new long[] { B, S }, dtype: ScalarType.Int64);
        var mask = arange(S).unsqueeze(0).lt(tensor(lengths.Select(l => (long)l).ToArray()).unsqueeze(1)).to_type(ScalarType.Int64);
        ids = ids * mask;                                    // [PAD] = 0 after each sequence
        var types = zeros_like(ids);
        using var _ = no_grad();
        var batch = model.Forward(ids, mask, types, new ForwardOptions { Contexts = true });
        Assert.False(batch.LastHiddenState.isnan().any().item<bool>(), $"{preset}: NaN in the padded batch");

        for (int b = 0; b < B; b++)
        {
            int n = lengths[b];
            var alone = model.Forward(ids[b..(b + 1), ..n], ones(1, n, dtype: ScalarType.Int64), types[b..(b + 1), ..n], new ForwardOptions { Contexts = true });
            for (int l = 0; l < config.NumHiddenLayers; l++)
            {
                var rows = batch.Contexts[l][b..(b + 1), ..n];
                double err = AttentionTestKit.RelativeError(rows, alone.Contexts[l]);
                Assert.True(err < 1e-4, $"{preset}: layer {l} attention output of sequence {b} (n={n}) differs from it alone by {err:g3} (relative)");
            }
            double e = AttentionTestKit.RelativeError(batch.LastHiddenState[b..(b + 1), ..n], alone.LastHiddenState);
            Assert.True(e < 1e-4, $"{preset}: encoder output of sequence {b} (n={n}) differs from it alone by {e:g3} (relative)");
        }
    }
}
