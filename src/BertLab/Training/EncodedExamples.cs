using BertLab.Data.Tasks;
using BertLab.Text;
using static TorchSharp.torch;

namespace BertLab.Training;

/// <summary>One batch on a device: ids, attention mask, token types (B, L), and labels (B) when the examples have them.</summary>
public sealed class TaskBatch : IDisposable
{
    public required Tensor InputIds { get; init; }
    public required Tensor AttentionMask { get; init; }
    public required Tensor TokenTypeIds { get; init; }
    /// <summary>int64 class ids, or float32 scores for regression; null for unlabeled examples.</summary>
    public Tensor? Labels { get; init; }
    public int Size => (int)InputIds.shape[0];

    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); TokenTypeIds.Dispose(); Labels?.Dispose();
    }
}

/// <summary>
/// Examples tokenized once ([CLS] text [SEP] (pair [SEP]), truncated longest-first to the maximum length),
/// batched with padding to the longest example of each batch.
/// </summary>
public sealed class EncodedExamples
{
    readonly TokenizedInput[] _inputs;
    readonly long[]? _classes;
    readonly float[]? _scores;
    readonly int _padId;

    public int Count => _inputs.Length;
    public IReadOnlyList<TaskExample> Examples { get; }

    public EncodedExamples(IReadOnlyList<TaskExample> examples, ITokenizer tokenizer, int maxLength, int vocabSize)
    {
        Examples = examples;
        _padId = tokenizer.Vocabulary.PadId;
        _inputs = new TokenizedInput[examples.Count];
        for (int i = 0; i < examples.Count; i++)
        {
            var e = examples[i];
            var t = tokenizer.Encode(e.Text, e.Pair, maxLength);
            foreach (var id in t.InputIds)
                if (id >= vocabSize)
                    throw new BertLabException($"token id {id} is outside the model's vocabulary ({vocabSize} tokens): the tokenizer's vocabulary does not belong to this model (put the model's vocab.txt in its folder)");
            _inputs[i] = t;
        }
        if (examples.Count > 0 && examples.All(e => e.LabelId is not null)) _classes = examples.Select(e => (long)e.LabelId!.Value).ToArray();
        else if (examples.Count > 0 && examples.All(e => e.Score is not null)) _scores = examples.Select(e => (float)e.Score!.Value).ToArray();
    }

    public bool HasLabels => _classes is not null || _scores is not null;
    public int Length(int index) => _inputs[index].Length;

    /// <summary>The examples at <paramref name="indices"/> as one padded batch on <paramref name="device"/>.</summary>
    public TaskBatch Batch(IReadOnlyList<int> indices, Device device)
    {
        int b = indices.Count, len = indices.Max(i => _inputs[i].Length);
        var ids = new long[b * len];
        var mask = new long[b * len];
        var types = new long[b * len];
        Array.Fill(ids, _padId);
        for (int r = 0; r < b; r++)
        {
            var t = _inputs[indices[r]];
            for (int c = 0; c < t.Length; c++)
            {
                ids[r * len + c] = t.InputIds[c];
                mask[r * len + c] = t.AttentionMask[c];
                types[r * len + c] = t.TokenTypeIds[c];
            }
        }
        Tensor? labels = null;
        if (_classes is not null) labels = tensor(indices.Select(i => _classes[i]).ToArray(), dtype: ScalarType.Int64, device: device);
        else if (_scores is not null) labels = tensor(indices.Select(i => _scores[i]).ToArray(), dtype: ScalarType.Float32, device: device);
        return new TaskBatch
        {
            InputIds = tensor(ids, new long[] { b, len }, dtype: ScalarType.Int64, device: device),
            AttentionMask = tensor(mask, new long[] { b, len }, dtype: ScalarType.Int64, device: device),
            TokenTypeIds = tensor(types, new long[] { b, len }, dtype: ScalarType.Int64, device: device),
            Labels = labels,
        };
    }

    /// <summary>Batches of consecutive examples in length order (least padding), as index lists: for evaluation.</summary>
    public IEnumerable<int[]> LengthSortedBatches(int batchSize) =>
        Enumerable.Range(0, Count).OrderBy(i => _inputs[i].Length).Chunk(batchSize);
}
