using BertLab.Attention;
using BertLab.Data;
using BertLab.Model;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Data;

/// <summary>data.packing sentence_pairs / documents: batches cut to their longest sequence, length-bucketed, padding only
/// at the end, masks only on real ordinary tokens; and a padded batch computes per real token what each sequence alone does.</summary>
public class VariableLengthDataTests
{
    const int SeqLen = 64;

    static string Prepare(PackingMode mode) => mode == PackingMode.Documents ? Documents.Value : Pairs.Value;
    static readonly Lazy<string> Documents = new(() => PrepareCorpus(PackingMode.Documents));
    static readonly Lazy<string> Pairs = new(() => PrepareCorpus(PackingMode.SentencePairs));

    static string PrepareCorpus(PackingMode mode)
    {
        var dir = DataTestSupport.TempDir();
        // documents of 1 to 12 sentences of 4 to 12 words: lengths from a few tokens to more than a sequence
        var words = "the quick brown fox jumps over a lazy dog while seven small birds sing about rivers and old stone bridges".Split(' ');
        var docs = Enumerable.Range(0, 600).Select(i =>
        {
            var rng = new Random(i);
            return string.Join(' ', Enumerable.Range(0, 1 + rng.Next(12)).Select(_ =>
                string.Join(' ', Enumerable.Range(0, 4 + rng.Next(9)).Select(_ => words[rng.Next(words.Length)])) + "."));
        });
        var input = DataTestSupport.Write(dir, "c.txt", string.Join("\n\n", docs.Select((d, i) => $"Doc {i}: {d}")));
        var output = Path.Combine(dir, "out");
        new DataPreparer(DataTestSupport.Tokenizer, new PrepareOptions { SequenceLength = SeqLen, Mode = mode, ValidationFraction = 0.1 })
            .Prepare(CorpusFile.Resolve([input]), output);
        return output;
    }

    static long[] Data(Tensor t) => t.contiguous().data<long>().ToArray();

    [Theory]
    [InlineData(PackingMode.SentencePairs)]
    [InlineData(PackingMode.Documents)]
    public void BatchesVaryInLength_PadOnlyAtTheEnd_AndMaskOnlyRealOrdinaryTokens(PackingMode mode)
    {
        var v = DataTestSupport.Vocab;
        using var data = ShardDataset.Open(Prepare(mode));
        var loader = new MlmDataLoader(data, v, 16, seed: 3);
        Assert.True(loader.VariableLength);
        var widths = new HashSet<long>();
        var lengths = new HashSet<int>();
        long batches = loader.BatchesPerEpoch, cells = 0, real = 0;
        var seen = new HashSet<long>();
        for (long k = 0; k < batches; k++)
        {
            var order = Enumerable.Range(0, 16).Select(r => loader.SequenceAt(0, k * 16 + r)).ToArray();
            using var b = loader.Next();
            long width = b.SequenceLength;
            widths.Add(width);
            var ids = Data(b.InputIds); var mask = Data(b.AttentionMask); var labels = Data(b.Labels); var types = Data(b.TokenTypeIds);
            var stored = new long[SeqLen];
            int longest = 0;
            for (int r = 0; r < 16; r++)
            {
                Assert.True(seen.Add(order[r]), "a sequence came twice in one epoch");
                data.Read(order[r], stored);
                int n = stored.Count(t => t != v.PadId);
                longest = Math.Max(longest, n);
                lengths.Add(n);
                int seps = 0;
                for (int i = 0; i < width; i++)
                {
                    long k2 = r * width + i;
                    Assert.Equal(i < n ? 1 : 0, mask[k2]);                      // padding only at the end
                    if (i >= n) { Assert.Equal(-100, labels[k2]); Assert.Equal(v.PadId, ids[k2]); Assert.Equal(0, types[k2]); continue; }
                    if (labels[k2] != -100) { Assert.Equal(stored[i], labels[k2]); Assert.False(v.IsSpecial((int)stored[i])); }
                    Assert.Equal(mode == PackingMode.SentencePairs && seps >= 1 ? 1 : 0, types[k2]);
                    if (stored[i] == v.SepId) seps++;
                }
                Assert.Equal(v.ClsId, stored[0]);
                Assert.Equal(v.SepId, stored[n - 1]);
                if (mode == PackingMode.SentencePairs) Assert.Equal(2, seps);
                cells += width; real += n;
            }
            Assert.Equal(longest, width);                                        // cut to the longest sequence
        }
        Assert.True(widths.Count > 3, $"batch widths {string.Join(",", widths)} do not vary");
        Assert.True(lengths.Count > 10, "sequence lengths do not vary");
        // bucketed: little padding, and much less than batches of the stored order would have
        double share = 1 - real / (double)cells;
        var all = loader.Lengths();
        long naiveCells = 0;
        for (int s = 0; s + 16 <= all.Length; s += 16) naiveCells += 16L * all.Skip(s).Take(16).Max();
        double naive = 1 - all.Take((int)(all.Length / 16 * 16)).Sum() / (double)naiveCells;
        Assert.True(share < 0.1, $"padding share {share:P1} with bucketing");
        Assert.True(share < naive / 2, $"bucketed padding {share:P1} vs unbucketed {naive:P1}");
    }

    [Fact]
    public void BucketedOrder_IsAPermutation_ResumableAndNewEachEpoch()
    {
        using var data = ShardDataset.Open(Prepare(PackingMode.Documents));
        var a = new MlmDataLoader(data, DataTestSupport.Vocab, 8, seed: 5);
        var e0 = Enumerable.Range(0, (int)data.Count).Select(i => a.SequenceAt(0, i)).ToArray();
        var e1 = Enumerable.Range(0, (int)data.Count).Select(i => a.SequenceAt(1, i)).ToArray();
        Assert.Equal(Enumerable.Range(0, (int)data.Count).Select(i => (long)i), e0.Order());
        Assert.NotEqual(e0, e1);
        for (int i = 0; i < 3; i++) a.Next().Dispose();
        var b = new MlmDataLoader(data, DataTestSupport.Vocab, 8, seed: 5);
        b.Restore(a.Position);
        using var x = a.Next();
        using var y = b.Next();
        Assert.Equal(Data(x.InputIds), Data(y.InputIds));
        Assert.Equal(Data(x.Labels), Data(y.Labels));
    }

    [Fact]
    public void RunConfig_PackingAndPrepared_ReachTheTrainersData()
    {
        var dir = DataTestSupport.TempDir();
        var corpus = DataTestSupport.Write(dir, "c.txt", string.Join("\n\n", Enumerable.Range(0, 60).Select(i => $"Document {i} says hello to the world. It has a second sentence.")));
        RunConfig Config(Action<System.Text.Json.Nodes.JsonObject> data)
        {
            var json = RunConfig.DefaultJson();
            var d = new System.Text.Json.Nodes.JsonObject { ["corpus"] = new System.Text.Json.Nodes.JsonArray(corpus), ["seq_len"] = 32, ["cache_dir"] = Path.Combine(dir, "cache") };
            data(d);
            json["data"] = d;
            return RunConfig.FromJson(json);
        }
        using (var docs = PretrainingData.Open(Config(d => d["packing"] = "documents"), Path.Combine(dir, "run")))
            Assert.Equal(PackingMode.Documents, docs.Train.Mode);
        using (var packed = PretrainingData.Open(Config(_ => { }), Path.Combine(dir, "run")))
            Assert.Equal(PackingMode.Packed, packed.Train.Mode);
        var prepared = Prepare(PackingMode.SentencePairs);
        using (var given = PretrainingData.Open(Config(d => d["prepared"] = prepared), Path.Combine(dir, "run")))
        {
            Assert.Equal(prepared, given.Train.Directory);
            Assert.Equal(PackingMode.SentencePairs, given.Train.Mode);
        }
        var e = Assert.Throws<BertLabException>(() => Config(d => d["packing"] = "sorted"));
        Assert.Contains("data.packing", e.Message);
    }

    public static IEnumerable<object[]> Presets() => AttentionConfig.PresetNames.Select(p => new object[] { p });

    /// <summary>The encoder's output at every real token of a padded, variable-length batch equals that of the sequence run alone.</summary>
    [Theory]
    [MemberData(nameof(Presets))]
    public void PaddedVariableLengthBatch_GivesEachSequenceAlonesEncoderOutputs(string preset)
    {
        using var scope = NewDisposeScope();
        using var data = ShardDataset.Open(Prepare(PackingMode.SentencePairs));
        var loader = new MlmDataLoader(data, DataTestSupport.Vocab, 6, seed: 11);
        var config = ModelPresets.Create("tiny");
        config.Attention = AttentionConfig.FromPreset(preset);
        torch.manual_seed(1);
        var model = new BertModel(config);
        model.eval();
        using var _ = no_grad();
        using var b = loader.Next();
        var lengths = Data(b.AttentionMask.sum(1));
        Assert.True(lengths.Distinct().Count() > 1);
        var batched = model.Forward(b.InputIds, b.AttentionMask, b.TokenTypeIds).LastHiddenState;
        for (int r = 0; r < lengths.Length; r++)
        {
            long n = lengths[r];
            var ids = b.InputIds[r..(r + 1), ..(int)n];
            var alone = model.Forward(ids, ones_like(ids), b.TokenTypeIds[r..(r + 1), ..(int)n]).LastHiddenState;
            var same = batched[r..(r + 1), ..(int)n];
            double err = (same - alone).abs().max().item<float>();
            Assert.True(err < 2e-4, $"{preset}: sequence {r} (n = {n}) differs by {err} when padded to {b.SequenceLength}");
        }
    }
}
