using BertLab.Data;
using BertLab.Training;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Data;

public class RecallPositionsTests
{
    const long Pad = 0, Cls = 2, Sep = 3, Mask = 4;
    static bool Special(long id) => id is Pad or Cls or Sep or Mask;

    /// <summary>A hand-made batch whose recall positions were marked by hand: two sequences of 12.</summary>
    [Fact]
    public void HandMadeBatch_MarksExactlyTheHandLabelledPositions()
    {
        // sequence 0 (originals): [CLS] the cat sat . the cat ran . a dog [SEP]
        //   position 6 ("cat", masked as [MASK]) with visible left "the" (5): bigram (the, cat) is visible at 1-2 → recall
        //   position 9 ("a", replaced by 40 under the 80/10/10 rule) with visible left "." (8): (., a) occurs nowhere else → not recall
        //   position 3 ("sat", kept as itself) with left "cat" (2): (cat, sat) nowhere else visible → not recall
        // sequence 1: [CLS] x y [SEP] x y z x [PAD] [PAD] [PAD] [PAD]
        //   position 5 ("y", masked) left "x" (4) visible; (x, y) visible at 1-2 → recall
        //   position 7 ("x", masked), left "z" (6) visible: (z, x) nowhere else → not recall
        //   position 10 ([PAD]) is never selected; the pads make no bigram
        long the = 10, cat = 11, sat = 12, dot = 13, ran = 14, a = 15, dog = 16, x = 20, y = 21, z = 22;
        long[] originals =
        {
            Cls, the, cat, sat, dot, the, cat, ran, dot, a, dog, Sep,
            Cls, x, y, Sep, x, y, z, x, Pad, Pad, Pad, Pad,
        };
        var inputs = (long[])originals.Clone();
        var labels = Enumerable.Repeat(-100L, originals.Length).ToArray();
        void Select(int i, long shown) { labels[i] = originals[i]; inputs[i] = shown; }
        Select(6, Mask); Select(9, 40); Select(3, sat);
        Select(12 + 5, Mask); Select(12 + 7, Mask);
        var attention = originals.Select(t => t == Pad ? 0L : 1L).ToArray();

        var found = RecallPositions.Find(inputs, labels, attention, 12, Special);

        // flat order of the selected positions: 3, 6, 9, 12+5, 12+7
        Assert.Equal(new[] { false, true, false, true, false }, found);

        // the same bigram with its other occurrence masked too is no longer visible elsewhere
        Select(12 + 2, Mask);
        Assert.Equal(new[] { false, true, false, false, false, false }, RecallPositions.Find(inputs, labels, attention, 12, Special));
    }

    /// <summary>The same definition written independently (every pair of positions compared), on random batches with
    /// repeats, padding and the 80/10/10 corruption.</summary>
    [Fact]
    public void RandomBatches_AgreeWithABruteForceCount()
    {
        var rng = new Random(5);
        int batch = 16, seq = 40, checkedRecall = 0;
        for (int trial = 0; trial < 20; trial++)
        {
            var originals = new long[batch * seq];
            var labels = new long[batch * seq];
            var inputs = new long[batch * seq];
            var attention = new long[batch * seq];
            for (int b = 0; b < batch; b++)
            {
                int n = rng.Next(5, seq + 1);
                for (int t = 0; t < seq; t++)
                {
                    int i = b * seq + t;
                    originals[i] = t == 0 ? Cls : t == n - 1 ? Sep : t >= n ? Pad : 10 + rng.Next(6); // 6 word ids: many repeats
                    attention[i] = t < n ? 1 : 0;
                    bool select = t > 0 && t < n - 1 && rng.NextDouble() < 0.3;
                    labels[i] = select ? originals[i] : -100;
                    inputs[i] = !select ? originals[i] : rng.NextDouble() < 0.8 ? Mask : rng.NextDouble() < 0.5 ? 10 + rng.Next(6) : originals[i];
                }
            }
            var fast = RecallPositions.Find(inputs, labels, attention, seq, Special);
            var brute = new List<bool>();
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < seq; t++)
                {
                    int i = b * seq + t;
                    if (labels[i] == -100) continue;
                    bool Visible(int p) => labels[b * seq + p] == -100 && attention[b * seq + p] == 1 && !Special(originals[b * seq + p]);
                    bool hit = false;
                    if (t >= 1 && Visible(t - 1))
                        for (int j = 1; j < seq && !hit; j++)
                            hit = j != t && Visible(j) && Visible(j - 1) && originals[b * seq + j - 1] == originals[i - 1] && originals[b * seq + j] == originals[i];
                    brute.Add(hit);
                }
            Assert.Equal(brute, fast);
            checkedRecall += brute.Count(h => h);
        }
        Assert.True(checkedRecall > 50, $"the random batches must contain recall positions to test ({checkedRecall})");
    }

    [Fact]
    public void Split_SumsToTheWholeLoss_AndPartitionsThePositions()
    {
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        long[] ids = { Cls, 10, 11, 10, 11, Sep, Cls, 12, 13, 12, 13, Sep };
        long[] inputs = (long[])ids.Clone();
        long[] labels = Enumerable.Repeat(-100L, ids.Length).ToArray();
        foreach (var i in new[] { 4, 2, 10, 7 }) { labels[i] = ids[i]; inputs[i] = Mask; }
        var batch = MlmBatch.FromArrays(inputs, new long[ids.Length], ids.Select(_ => 1L).ToArray(), labels, 2, 6);
        var logits = torch.randn(4, 20);
        var selected = torch.tensor(new long[] { ids[2], ids[4], ids[7], ids[10] });
        var split = new RecallSplit(null);
        split.Add(batch, logits, selected);
        var r = split.Result();
        // flat order 2, 4, 7, 10: 4 (left 10 visible at 3, (10, 11) visible at 1-2? 2 is masked → no) … only positions whose
        // bigram is visible elsewhere: 2 → (10,11) at 3-4? 4 masked → no; 4 → (10,11) at 1-2? 2 masked → no; likewise 7, 10 → no.
        Assert.Equal(0, r.RecallTokens);
        var whole = nn.functional.cross_entropy(logits, selected).item<float>();
        Assert.Equal(whole, r.NonRecallLoss, 5);
        Assert.True(double.IsNaN(r.RecallLoss));

        // unmask 2 and 7: now 4's bigram (10, 11) is visible at 1-2 and 10's (12, 13) at 7-8
        labels[2] = -100; inputs[2] = ids[2]; labels[7] = -100; inputs[7] = ids[7];
        var batch2 = MlmBatch.FromArrays(inputs, new long[ids.Length], ids.Select(_ => 1L).ToArray(), labels, 2, 6);
        var logits2 = torch.randn(2, 20);
        var selected2 = torch.tensor(new long[] { ids[4], ids[10] });
        var split2 = new RecallSplit(null);
        split2.Add(batch2, logits2, selected2);
        var r2 = split2.Result();
        Assert.Equal(2, r2.RecallTokens);
        Assert.Equal(1.0, r2.Share);
        Assert.Equal(nn.functional.cross_entropy(logits2, selected2).item<float>(), r2.RecallLoss, 5);
    }
}
