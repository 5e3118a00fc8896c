using BertLab.Text;
using static TorchSharp.torch;

namespace BertLab.Data;

/// <summary>
/// Endless, seeded, resumable masked-LM batches from a <see cref="ShardDataset"/>. Every epoch visits the sequences
/// in a new order (Fisher–Yates from (seed, epoch)); every sequence gets new masks each epoch (from (seed, epoch,
/// sequence id)), independent of the batch size. <see cref="Position"/> / <see cref="Restore"/> save and resume.
/// With <c>dropLast</c> a final partial batch of an epoch is skipped so every batch has the same shape.
/// </summary>
public sealed class MlmDataLoader
{
    readonly ShardDataset _data;
    readonly MlmMasker _masker;
    readonly long _padId, _sepId;
    readonly bool _shuffle, _dropLast;
    long[]? _order;
    (ulong Seed, int Epoch) _orderKey = (0, -1);
    // reusable buffers (one batch)
    long[] _ids = [], _inputIds = [], _types = [], _mask = [], _labels = [];

    public int BatchSize { get; }
    public DataPosition Position { get; private set; }
    public ShardDataset Dataset => _data;
    public MlmMasker Masker => _masker;

    public MlmDataLoader(ShardDataset data, Vocabulary vocabulary, int batchSize, MaskingOptions? masking = null, ulong seed = 0,
        bool shuffle = true, bool dropLast = true)
    {
        if (batchSize <= 0) throw new BertLabException($"batch size {batchSize} must be positive");
        if (vocabulary.Sha256 != data.Manifest.VocabularySha256)
            throw new BertLabException($"{data.Directory} was prepared with another vocabulary than the model's; prepare it again with this vocabulary");
        if (data.Count == 0) throw new BertLabException($"{data.Directory} has no {data.Split} sequences");
        if (dropLast && data.Count < batchSize) throw new BertLabException($"{data.Directory} has {data.Count} {data.Split} sequences, fewer than one batch of {batchSize}");
        _data = data; BatchSize = batchSize; _shuffle = shuffle; _dropLast = dropLast;
        _masker = new MlmMasker(vocabulary, masking);
        _padId = vocabulary.PadId; _sepId = vocabulary.SepId;
        Position = new DataPosition(seed, 0, 0);
    }

    /// <summary>Batches per epoch.</summary>
    public long BatchesPerEpoch => _dropLast ? _data.Count / BatchSize : (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>Continue from a saved position (seed, epoch and place within the epoch).</summary>
    public void Restore(DataPosition position)
    {
        if (position.Epoch < 0 || position.Index < 0 || position.Index > _data.Count)
            throw new BertLabException($"data position (epoch {position.Epoch}, index {position.Index}) does not fit {_data.Directory} ({_data.Count} sequences)");
        Position = position;
    }

    /// <summary>The sequence id at place <paramref name="index"/> of the epoch's order.</summary>
    public long SequenceAt(int epoch, long index)
    {
        if (!_shuffle) return index;
        if (_orderKey != (Position.Seed, epoch) || _order is null)
        {
            _order ??= new long[_data.Count];
            for (long i = 0; i < _order.Length; i++) _order[i] = i;
            var random = new SplitMix64(SplitMix64.Derive(Position.Seed, 0x5107, (ulong)epoch));
            for (long i = _order.Length - 1; i > 0; i--)
            {
                long j = (long)random.NextBelow((ulong)(i + 1));
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
            _orderKey = (Position.Seed, epoch);
        }
        return _order[index];
    }

    /// <summary>The next batch; moves to the next epoch when this one is used up.</summary>
    public MlmBatch Next(Device? device = null) => NextSlice(0, BatchSize, device);

    /// <summary>
    /// Rows [<paramref name="start"/>, start + <paramref name="count"/>) of the next batch, while the position moves past
    /// the whole batch: one rank's share of a global batch in data-parallel training (every rank reads the order of a
    /// single process with this batch size).
    /// </summary>
    public MlmBatch NextSlice(int start, int count, Device? device = null)
    {
        if (start < 0 || count <= 0 || start + count > BatchSize)
            throw new ArgumentOutOfRangeException(nameof(start), $"rows [{start}, {start + count}) are not within a batch of {BatchSize}");
        var p = Position;
        long remaining = _data.Count - p.Index;
        if (remaining <= 0 || (_dropLast && remaining < BatchSize))
        {
            p = p with { Epoch = p.Epoch + 1, Index = 0 };
            remaining = _data.Count;
        }
        int rows = (int)Math.Min(BatchSize, remaining);
        int from = Math.Min(start, rows), taken = Math.Min(count, rows - from);
        var batch = Assemble(p.Seed, p.Epoch, Enumerable.Range(from, taken).Select(r => SequenceAt(p.Epoch, p.Index + r)).ToArray(), out long selected, out long real);
        Position = p with { Index = p.Index + rows };
        return MlmBatch.FromArrays(batch.InputIds, batch.Types, batch.Mask, batch.Labels, taken, _data.SequenceLength, selected, real, Position, device);
    }

    /// <summary>
    /// One pass over the dataset in stored order with masks fixed by (seed, epoch 0): the same batches every call,
    /// for comparable validation losses. The last batch may be smaller.
    /// </summary>
    public static IEnumerable<MlmBatch> EvaluationBatches(ShardDataset data, Vocabulary vocabulary, int batchSize, MaskingOptions? masking = null,
        ulong seed = 0, long maxBatches = long.MaxValue, Device? device = null)
    {
        var loader = new MlmDataLoader(data, vocabulary, batchSize, masking, seed, shuffle: false, dropLast: false);
        long batches = Math.Min(loader.BatchesPerEpoch, maxBatches);
        for (long b = 0; b < batches; b++) yield return loader.Next(device);
    }

    /// <summary>Fills the reusable arrays for the given sequences (no tensors): the cheap part of batch assembly, exposed for tests and benchmarks.</summary>
    public (long[] InputIds, long[] Types, long[] Mask, long[] Labels) Assemble(ulong seed, int epoch, long[] sequenceIds, out long selected, out long real)
    {
        int length = _data.SequenceLength, size = sequenceIds.Length * length;
        if (_inputIds.Length != size)
        {
            _ids = new long[size]; _inputIds = new long[size]; _types = new long[size]; _mask = new long[size]; _labels = new long[size];
        }
        selected = 0; real = 0;
        for (int r = 0; r < sequenceIds.Length; r++)
        {
            var ids = _ids.AsSpan(r * length, length);
            _data.Read(sequenceIds[r], ids);
            var random = new SplitMix64(SplitMix64.Derive(seed, (ulong)epoch, (ulong)sequenceIds[r]));
            selected += _masker.Mask(ids, _inputIds.AsSpan(r * length, length), _labels.AsSpan(r * length, length), ref random);
            SequencePacker.TokenTypes(ids, _types.AsSpan(r * length, length), _data.Mode, _sepId, _padId);
            var mask = _mask.AsSpan(r * length, length);
            for (int i = 0; i < length; i++)
            {
                bool isReal = ids[i] != _padId;
                mask[i] = isReal ? 1 : 0;
                if (isReal) real++;
            }
        }
        return (_inputIds, _types, _mask, _labels);
    }
}
