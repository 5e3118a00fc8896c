using BertLab.Text;
using static TorchSharp.torch;

namespace BertLab.Data;

/// <summary>
/// Endless, seeded, resumable masked-LM batches from a <see cref="ShardDataset"/>. Every epoch visits the sequences
/// in a new order (Fisher–Yates from (seed, epoch)); every sequence gets new masks each epoch (from (seed, epoch,
/// sequence id)), independent of the batch size. <see cref="Position"/> / <see cref="Restore"/> save and resume.
/// With <c>dropLast</c> a final partial batch of an epoch is skipped so every batch has the same shape.
/// Variable-length data (<see cref="PackingMode.SentencePairs"/>, <see cref="PackingMode.Documents"/>): each batch is
/// cut to its longest sequence, and the order is length-bucketed (each window of <see cref="BucketWindow"/> batches of
/// the shuffled order is sorted by length, cut into batches, and those batches shuffled), so padding stays cheap.
/// Packed data keeps full-length batches and the plain shuffle.
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

    /// <summary>Batches per length-sorting window (variable-length data).</summary>
    public const int BucketWindow = 50;
    readonly bool _variable;
    int[]? _lengths;

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
        _variable = data.Mode != PackingMode.Packed;
        Position = new DataPosition(seed, 0, 0);
    }

    /// <summary>Whether batches are cut to their longest sequence and the order length-bucketed.</summary>
    public bool VariableLength => _variable;

    /// <summary>Real (non-padding) tokens of every sequence, read once (padding is always at a sequence's end).</summary>
    public int[] Lengths()
    {
        if (_lengths is not null) return _lengths;
        var lengths = new int[_data.Count];
        var row = new long[_data.SequenceLength];
        for (long i = 0; i < lengths.Length; i++)
        {
            _data.Read(i, row);
            int n = row.Length;
            while (n > 0 && row[n - 1] == _padId) n--;
            lengths[i] = n;
        }
        return _lengths = lengths;
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
        if (!_shuffle && !_variable) return index;
        if (_orderKey != (Position.Seed, epoch) || _order is null)
        {
            _order ??= new long[_data.Count];
            for (long i = 0; i < _order.Length; i++) _order[i] = i;
            if (_shuffle)
            {
                var random = new SplitMix64(SplitMix64.Derive(Position.Seed, 0x5107, (ulong)epoch));
                for (long i = _order.Length - 1; i > 0; i--)
                {
                    long j = (long)random.NextBelow((ulong)(i + 1));
                    (_order[i], _order[j]) = (_order[j], _order[i]);
                }
            }
            if (_variable) Bucket(epoch);
            _orderKey = (Position.Seed, epoch);
        }
        return _order[index];
    }

    /// <summary>Length bucketing of the epoch's order: each window of BucketWindow batches sorted by length (ties by
    /// sequence id, so deterministic), then (when shuffling) its whole batches put in a seeded random order.</summary>
    void Bucket(int epoch)
    {
        var lengths = Lengths();
        var order = _order!;
        long window = (long)BatchSize * BucketWindow;
        var random = new SplitMix64(SplitMix64.Derive(Position.Seed, 0xB0C7, (ulong)epoch));
        for (long start = 0; start < order.Length; start += window)
        {
            int count = (int)Math.Min(window, order.Length - start);
            var segment = order.AsSpan((int)start, count);
            segment.Sort((a, b) => lengths[a] != lengths[b] ? lengths[a].CompareTo(lengths[b]) : a.CompareTo(b));
            if (!_shuffle) continue;
            int blocks = count / BatchSize; // a trailing partial block stays where it is
            if (blocks < 2) continue;
            var copy = segment[..(blocks * BatchSize)].ToArray();
            var perm = Enumerable.Range(0, blocks).ToArray();
            for (int i = blocks - 1; i > 0; i--)
            {
                int j = (int)random.NextBelow((ulong)(i + 1));
                (perm[i], perm[j]) = (perm[j], perm[i]);
            }
            for (int k = 0; k < blocks; k++) copy.AsSpan(perm[k] * BatchSize, BatchSize).CopyTo(segment[(k * BatchSize)..]);
        }
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
        if (_variable)
        {
            var (ids, types, mask, labels, width) = CutToLongest(batch, taken, _data.SequenceLength);
            return MlmBatch.FromArrays(ids, types, mask, labels, taken, width, selected, real, Position, device);
        }
        return MlmBatch.FromArrays(batch.InputIds, batch.Types, batch.Mask, batch.Labels, taken, _data.SequenceLength, selected, real, Position, device);
    }

    /// <summary>The batch's columns up to its longest sequence (padding is at the end of every row).</summary>
    static (long[] Ids, long[] Types, long[] Mask, long[] Labels, int Width) CutToLongest((long[] InputIds, long[] Types, long[] Mask, long[] Labels) b, int rows, int length)
    {
        int width = 1;
        for (int r = 0; r < rows; r++)
        {
            int n = length;
            while (n > 0 && b.Mask[r * length + n - 1] == 0) n--;
            width = Math.Max(width, n);
        }
        long[] Cut(long[] a)
        {
            var c = new long[rows * width];
            for (int r = 0; r < rows; r++) Array.Copy(a, r * length, c, r * width, width);
            return c;
        }
        return (Cut(b.InputIds), Cut(b.Types), Cut(b.Mask), Cut(b.Labels), width);
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
