using BertLab.Data;
using BertLab.Distributed;
using BertLab.Tests.Data;
using BertLab.Training;
using TorchSharp;
using Xunit;

namespace BertLab.Tests.Distributed;

/// <summary>The ranks of a data-parallel run together read exactly the single-process order of the global batch.</summary>
public class RankSliceBatchSourceTests
{
    static readonly Lazy<string> Prepared = new(() =>
    {
        var dir = DataTestSupport.TempDir();
        var input = DataTestSupport.Write(dir, "c.txt", string.Join("\n\n", Enumerable.Range(0, 120).Select(i =>
            $"Paragraph {i}: " + string.Join(' ', Enumerable.Repeat("the quick brown fox jumps over the lazy dog.", 1 + i % 5)))));
        var output = Path.Combine(dir, "out");
        new DataPreparer(DataTestSupport.Tokenizer, new PrepareOptions { SequenceLength = 32, ValidationFraction = 0.1 }).Prepare(CorpusFile.Resolve([input]), output);
        return output;
    });

    static long[] Data(torch.Tensor t) => t.data<long>().ToArray();

    [Fact]
    public void ThreeRanksOf4_ReadTheBatchesOfOneProcessWith12_AcrossEpochsAndAResume()
    {
        const int ranks = 3, b = 4;
        using var single = new ShardBatchSource(Prepared.Value, DataTestSupport.Vocab, seed: 5);
        var shards = Enumerable.Range(0, ranks).Select(_ => new ShardBatchSource(Prepared.Value, DataTestSupport.Vocab, seed: 5)).ToArray();
        var sliced = shards.Select((s, r) => new RankSliceBatchSource(s, r, ranks)).ToArray();
        long perEpoch = single.Train.Count / (ranks * b);
        Assert.InRange(perEpoch, 2, 40);
        for (int step = 0; step < 2 * perEpoch + 3; step++)   // crosses two epoch boundaries (dropped remainders)
        {
            if (step == perEpoch + 1)   // resume every rank from rank 0's saved position, as a checkpoint does
            {
                var state = sliced[0].SaveState();
                foreach (var s in sliced) s.RestoreState(state);
            }
            using var whole = single.NextTrain(ranks * b);
            var parts = sliced.Select(s => s.NextTrain(b)).ToArray();
            Assert.All(parts, p => Assert.Equal(new long[] { b, 32 }, p.InputIds.shape));
            Assert.Equal(Data(whole.InputIds), parts.SelectMany(p => Data(p.InputIds)));
            Assert.Equal(Data(whole.Labels), parts.SelectMany(p => Data(p.Labels)));
            Assert.Equal(whole.CountMaskedTokens(), parts.Sum(p => p.CountMaskedTokens()));
            Assert.All(shards, s => Assert.Equal(single.Position, s.Position));
            foreach (var p in parts) p.Dispose();
        }
        // validation: the single-process set of the global batch size, so run.eval_batches covers the same sequences
        var expected = single.Validation(ranks * b, 2).Select(v => Data(v.InputIds)).ToList();
        var actual = sliced[0].Validation(b, 2).Select(v => Data(v.InputIds)).ToList();
        Assert.Equal(expected, actual);
        foreach (var s in shards) s.Dispose();
    }

    [Fact]
    public void ASliceOutsideTheBatch_IsRefused()
    {
        var loader = new MlmDataLoader(ShardDataset.Open(Prepared.Value), DataTestSupport.Vocab, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => loader.NextSlice(6, 4));
    }
}
