using BertLab.Data.Synthetic;
using Xunit;
using static TorchSharp.torch;

namespace BertLab.Tests.Data.Synthetic;

public class SyntheticTaskTests
{
    static readonly SyntheticTask Recall = new() { Keys = 20, Values = 10, MinPairs = 2, MaxPairs = 9, QueryFraction = 0.5 };
    static readonly SyntheticTask Copy = new() { Kind = "copy", Keys = 12, Distractors = 3, MinPairs = 3, MaxPairs = 10, QueryFraction = 0.3, DistractorRate = 0.7 };

    [Fact]
    public void RecallExamplesAskForTheValueStoredUnderTheQueriedKey()
    {
        var lengths = new HashSet<int>();
        for (ulong i = 0; i < 500; i++)
        {
            var e = Recall.Generate(7, 1, i, Recall.MaxPairs);
            lengths.Add(e.Length);
            Assert.True(e.Length <= Recall.MaxLength);
            Assert.Equal(SyntheticTask.Cls, e.InputIds[0]);
            Assert.Equal(SyntheticTask.Sep, e.InputIds[^1]);
            int sep = Array.IndexOf(e.InputIds, SyntheticTask.Sep);
            // context: k v pairs with distinct keys
            var store = new Dictionary<int, int>();
            for (int j = 1; j < sep; j += 2)
            {
                Assert.InRange(e.InputIds[j], SyntheticTask.FirstSymbol, SyntheticTask.FirstSymbol + Recall.Keys - 1);
                Assert.InRange(e.InputIds[j + 1], SyntheticTask.FirstSymbol + Recall.Keys, Recall.VocabSize - 1);
                Assert.True(store.TryAdd(e.InputIds[j], e.InputIds[j + 1]), "a key appears twice in one context");
                Assert.Equal(-100, e.Labels[j]); Assert.Equal(-100, e.Labels[j + 1]);
                Assert.Equal(0, e.TokenTypes[j]);
            }
            int labelled = 0;
            for (int j = sep + 1; j < e.Length - 1; j += 2)
            {
                Assert.Equal(SyntheticTask.Mask, e.InputIds[j + 1]);
                Assert.Equal(store[e.InputIds[j]], e.Labels[j + 1]);   // the mask hides the queried key's value
                Assert.Equal(-100, e.Labels[j]);
                Assert.Equal(1, e.TokenTypes[j + 1]);
                labelled++;
            }
            Assert.Equal(labelled, e.Labels.Count(l => l != -100));
            Assert.True(labelled >= 1 && labelled <= store.Count);
        }
        Assert.True(lengths.Count >= 5, "sequence lengths should vary");
        Assert.Equal(Recall.Vocabulary().Count, Recall.VocabSize);
    }

    [Fact]
    public void CopyExamplesMaskSymbolsOfTheOriginal()
    {
        for (ulong i = 0; i < 300; i++)
        {
            var e = Copy.Generate(3, 1, i, Copy.MaxPairs);
            Assert.True(e.Length <= Copy.MaxLength);
            int sep = Array.IndexOf(e.InputIds, SyntheticTask.Sep);
            var original = e.InputIds[1..sep].Where(t => t < SyntheticTask.FirstSymbol + Copy.Keys).ToArray();  // distractors dropped
            var copy = e.InputIds[(sep + 1)..^1];
            var labels = e.Labels[(sep + 1)..^1];
            Assert.Equal(original.Length, copy.Length);
            for (int j = 0; j < copy.Length; j++)
                if (copy[j] == SyntheticTask.Mask) Assert.Equal(original[j], labels[j]);
                else { Assert.Equal(original[j], copy[j]); Assert.Equal(-100, labels[j]); }
            Assert.All(e.InputIds, t => Assert.InRange(t, 0, Copy.VocabSize - 1));
        }
    }

    [Fact]
    public void GenerationIsAPureFunctionOfSeedStreamAndIndex()
    {
        var a = Recall.Generate(5, 1, 42, 9); var b = Recall.Generate(5, 1, 42, 9); var c = Recall.Generate(6, 1, 42, 9);
        Assert.Equal(a.InputIds, b.InputIds); Assert.Equal(a.Labels, b.Labels);
        Assert.False(a.InputIds.SequenceEqual(c.InputIds) && a.Labels.SequenceEqual(c.Labels));
    }

    [Fact]
    public void BatchesArePaddedPerBatchAndResumeExactly()
    {
        using var scope = NewDisposeScope();
        var src = new SyntheticBatchSource(Recall, seed: 11, validationExamples: 40);
        var first = src.NextTrain(16);
        var state = src.SaveState();
        var second = src.NextTrain(16);
        var mask = first.AttentionMask;
        Assert.Equal(first.SequenceLength, (int)mask.sum(1).max().item<long>());           // padded to the longest in the batch
        Assert.True(mask.sum(1).min().item<long>() < first.SequenceLength);                 // and lengths differ
        Assert.True(first.InputIds.masked_select(mask.eq(0)).eq(0).all().item<bool>());    // [PAD] = 0 where masked out
        Assert.True(first.Labels.masked_select(mask.eq(0)).eq(-100).all().item<bool>());
        Assert.Equal(first.CountMaskedTokens(), first.SelectedTokens);
        Assert.Equal(first.CountRealTokens(), first.RealTokens);

        var again = new SyntheticBatchSource(Recall, seed: 11, validationExamples: 40);
        again.RestoreState(state);
        var resumed = again.NextTrain(16);
        Assert.True(Same(resumed.InputIds, second.InputIds)); Assert.True(Same(resumed.Labels, second.Labels));

        // validation: fixed and independent of the run's seed
        var v1 = src.Validation(16, 100).ToList(); var v2 = new SyntheticBatchSource(Recall, seed: 99, validationExamples: 40).Validation(16, 100).ToList();
        Assert.Equal(3, v1.Count);
        Assert.Equal(40, v1.Sum(b => b.BatchSize));
        for (int i = 0; i < v1.Count; i++) Assert.True(Same(v1[i].InputIds, v2[i].InputIds) && Same(v1[i].Labels, v2[i].Labels));
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void CurriculumGrowsTheNumberOfPairs()
    {
        using var scope = NewDisposeScope();
        var task = Recall with { CurriculumBatches = 10 };
        var src = new SyntheticBatchSource(task, seed: 1);
        long early = src.NextTrain(32).AttentionMask.sum(1).max().item<long>();
        for (int i = 0; i < 12; i++) src.NextTrain(32);
        long late = src.NextTrain(32).AttentionMask.sum(1).max().item<long>();
        Assert.Equal(3 + 2 * 2 + 2 * 1, early);                 // 2 pairs, 1 query at the start
        Assert.True(late > early);
    }

    [Fact]
    public void InvalidTasksAreUserErrors()
    {
        Assert.Throws<BertLabException>(() => new SyntheticTask { Kind = "sort" }.Validate());
        Assert.Throws<BertLabException>(() => new SyntheticTask { Keys = 4, MaxPairs = 8 }.Validate());
        Assert.Throws<BertLabException>(() => new SyntheticTask { MinPairs = 5, MaxPairs = 3 }.Validate());
    }
}
