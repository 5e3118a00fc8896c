using System.Text.Json.Nodes;
using BertLab.Data;
using BertLab.Training;

namespace BertLab.Distributed;

/// <summary>
/// One rank's view of the shards in data-parallel training: each micro-batch of b sequences is rows [rank·b, (rank+1)·b)
/// of the next global micro-batch of ranks·b sequences, so the ranks together read exactly the order of one process with
/// batch ranks·b (2 ranks × 16 = 1 rank × 32). The position counts sequences and is the same on every rank, so a run can
/// resume with another number of ranks. Validation uses batches of ranks·b too, so run.eval_batches covers the same sequences as in one process.
/// Disposing it disposes the shards it reads.
/// </summary>
public sealed class RankSliceBatchSource : IBatchSource, IDisposable
{
    readonly ShardBatchSource _inner;
    readonly int _rank, _ranks;

    public RankSliceBatchSource(ShardBatchSource inner, int rank, int ranks)
    {
        if (ranks < 1 || rank < 0 || rank >= ranks) throw new ArgumentOutOfRangeException(nameof(rank), $"rank {rank} of {ranks}");
        _inner = inner; _rank = rank; _ranks = ranks;
    }

    public MlmBatch NextTrain(int batchSize) => _inner.NextTrainSlice(batchSize * _ranks, _rank * batchSize, batchSize);
    /// <summary>The single-process validation set of the global batch size (rank 0 evaluates it alone).</summary>
    public IEnumerable<MlmBatch> Validation(int batchSize, int maxBatches) => _inner.Validation(batchSize * _ranks, maxBatches);
    public JsonNode SaveState() => _inner.SaveState();
    public void RestoreState(JsonNode state) => _inner.RestoreState(state);
    public long[]? TrainingTokenCounts() => _inner.TrainingTokenCounts();
    public void Dispose() => _inner.Dispose();
    public string Describe() => $"{_inner.Describe()}; rank {_rank} of {_ranks} reads rows [{_rank}·b, {_rank + 1}·b) of every global micro-batch";
}
