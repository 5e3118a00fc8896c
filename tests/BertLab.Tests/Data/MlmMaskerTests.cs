using BertLab.Data;
using Xunit;

namespace BertLab.Tests.Data;

public class MlmMaskerTests
{
    /// <summary>1,048,576 tokens in sequences of 128: [CLS] … [SEP] with [PAD] tails, [UNK]s and [unused] tokens mixed in.</summary>
    static long[] SyntheticTokens(int seed)
    {
        var v = DataTestSupport.Vocab;
        var rng = new Random(seed);
        var ids = new long[1 << 20];
        for (int s = 0; s < ids.Length / 128; s++)
        {
            var seq = ids.AsSpan(s * 128, 128);
            int real = rng.Next(2) == 0 ? 128 : rng.Next(20, 128);
            for (int i = 0; i < 128; i++)
                seq[i] = i >= real ? v.PadId : rng.Next(50) == 0 ? v.UnkId : rng.Next(100) == 0 ? rng.Next(1, 99) /* [unusedN] */ : rng.Next(1000, v.Count);
            seq[0] = v.ClsId;
            seq[real - 1] = v.SepId;
            if (real > 60) seq[60] = v.SepId;
        }
        return ids;
    }

    [Fact]
    public void SelectionRateAndEightyTenTenSplitOverAMillionTokens()
    {
        var v = DataTestSupport.Vocab;
        var masker = new MlmMasker(v);
        var ids = SyntheticTokens(1);
        var input = new long[ids.Length];
        var labels = new long[ids.Length];
        var random = new SplitMix64(42);
        masker.Mask(ids, input, labels, ref random);
        long candidates = 0, selected = 0, masked = 0, randomized = 0, kept = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            bool special = v.IsSpecial((int)ids[i]);
            if (!special) candidates++;
            if (labels[i] == MlmMasker.IgnoreLabel)
            {
                Assert.Equal(ids[i], input[i]);                 // unselected positions are untouched
                continue;
            }
            Assert.False(special, $"special token {v[(int)ids[i]]} selected at {i}");
            Assert.NotEqual(v.PadId, ids[i]);
            Assert.Equal(ids[i], labels[i]);
            selected++;
            if (input[i] == v.MaskId) masked++;
            else if (input[i] != ids[i]) { randomized++; Assert.False(v.IsSpecial((int)input[i])); }
            else kept++;
        }
        Assert.True(candidates > 700_000);
        Assert.InRange((double)selected / candidates, 0.145, 0.155);
        Assert.InRange((double)masked / selected, 0.795, 0.805);
        Assert.InRange((double)randomized / selected, 0.095, 0.105);
        Assert.InRange((double)kept / selected, 0.095, 0.105);
    }

    [Fact]
    public void SameSeedSameMasksOtherSeedOtherMasks()
    {
        var masker = new MlmMasker(DataTestSupport.Vocab);
        var ids = SyntheticTokens(2).AsSpan(0, 4096).ToArray();
        (long[] In, long[] Labels) Run(ulong seed)
        {
            var input = new long[ids.Length]; var labels = new long[ids.Length];
            var r = new SplitMix64(seed);
            masker.Mask(ids, input, labels, ref r);
            return (input, labels);
        }
        var a = Run(5); var b = Run(5); var c = Run(6);
        Assert.Equal(a.In, b.In); Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Labels, c.Labels);
    }

    [Fact]
    public void WholeWordMaskingSelectsEveryPieceOfAWord()
    {
        var v = DataTestSupport.Vocab;
        var masker = new MlmMasker(v, new MaskingOptions { WholeWord = true });
        // "playing" = play ##ing, "unaffable" style multi-piece words, repeated
        var pieces = new[] { "the", "play", "##ing", "##s", "of", "token", "##izer", "##s", "is", "fun" };
        Assert.All(pieces, p => Assert.True(v.TryGetId(p, out _), p));
        var sequence = new List<long> { v.ClsId };
        for (int i = 0; i < 20_000; i++) sequence.AddRange(pieces.Select(p => (long)v.IdOf(p)));
        sequence.Add(v.SepId);
        var ids = sequence.ToArray();
        var input = new long[ids.Length]; var labels = new long[ids.Length];
        var r = new SplitMix64(3);
        masker.Mask(ids, input, labels, ref r);
        int selected = 0;
        for (int i = 1; i < ids.Length - 1; i++)
        {
            if (labels[i] != MlmMasker.IgnoreLabel) selected++;
            if (v[(int)ids[i]].StartsWith("##"))
                Assert.Equal(labels[i - 1] != MlmMasker.IgnoreLabel, labels[i] != MlmMasker.IgnoreLabel);
        }
        Assert.InRange((double)selected / (ids.Length - 2), 0.14, 0.16);
    }

    [Fact]
    public void InvalidSharesAreRejected()
    {
        Assert.Throws<BertLabException>(() => new MlmMasker(DataTestSupport.Vocab, new MaskingOptions { SelectProbability = 0 }));
        Assert.Throws<BertLabException>(() => new MlmMasker(DataTestSupport.Vocab, new MaskingOptions { MaskShare = 0.9, RandomShare = 0.2 }));
    }
}
