using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Data;
using BertLab.Text;

namespace BertLab.Training;

/// <summary>
/// The trainer's <see cref="IBatchSource"/> over a directory made by <c>bertlab data prepare</c>: training batches
/// from <see cref="MlmDataLoader"/> (seeded shuffle, new masks every epoch, resumable through <see cref="DataPosition"/>),
/// validation batches with fixed masks. The data position counts sequences, so it survives a change of batch size.
/// </summary>
public sealed class ShardBatchSource : IBatchSource, IDisposable
{
    readonly ShardDataset _train;
    readonly ShardDataset? _validation;
    readonly Vocabulary _vocabulary;
    readonly MaskingOptions _masking;
    readonly ulong _seed;
    MlmDataLoader? _loader;
    DataPosition _position;

    /// <param name="validationDirectory">Another prepared directory whose validation split replaces this one's (data.validation_corpus); null: this one's.</param>
    public ShardBatchSource(string directory, Vocabulary vocabulary, ulong seed, MaskingOptions? masking = null, bool verifyChecksums = true, string? validationDirectory = null)
    {
        _vocabulary = vocabulary;
        _masking = masking ?? new MaskingOptions();
        _masking.Validate();
        _seed = seed;
        _train = ShardDataset.Open(directory, "train", vocabulary, verifyChecksums);
        // the same manifest as the training split (checked above), or another directory's, checked against the vocabulary
        var validation = validationDirectory is null
            ? ShardDataset.Open(directory, "validation", vocabulary: null, verifyChecksums: false)
            : ShardDataset.Open(validationDirectory, "validation", vocabulary, verifyChecksums);
        ValidationDirectory = validationDirectory;
        if (validation.Count > 0) _validation = validation; else validation.Dispose();
        _position = new DataPosition(seed, 0, 0);
    }

    public ShardDataset Train => _train;
    /// <summary>Where the validation split comes from when it is not <see cref="Train"/>'s directory.</summary>
    public string? ValidationDirectory { get; }
    /// <summary>Validation sequences (of whichever directory holds them).</summary>
    public long ValidationSequences => _validation?.Count ?? 0;
    public DataPosition Position => _loader?.Position ?? _position;

    public MlmBatch NextTrain(int batchSize) => NextTrainSlice(batchSize, 0, batchSize);

    /// <summary>Rows [start, start + count) of the next training batch of <paramref name="globalBatchSize"/>; the position moves past all of it.</summary>
    public MlmBatch NextTrainSlice(int globalBatchSize, int start, int count)
    {
        if (_loader is null || _loader.BatchSize != globalBatchSize)
        {
            var position = Position;
            _loader = new MlmDataLoader(_train, _vocabulary, globalBatchSize, _masking, _seed);
            _loader.Restore(position);
        }
        return _loader.NextSlice(start, count);
    }

    /// <summary>The seed of the validation masks: fixed, not the run's seed, so every run (of a study, of any seed) is
    /// evaluated on the same masked positions.</summary>
    public const ulong EvaluationSeed = 0x5EED_E7A1;

    /// <summary>The validation batches: stored order, masks from <see cref="EvaluationSeed"/>; maxBatches ≤ 0 = all.</summary>
    public IEnumerable<MlmBatch> Validation(int batchSize, int maxBatches)
    {
        if (_validation is null) yield break;
        foreach (var b in MlmDataLoader.EvaluationBatches(_validation, _vocabulary, batchSize, _masking, EvaluationSeed, maxBatches <= 0 ? long.MaxValue : maxBatches))
            yield return b;
    }

    long[]? _counts;

    /// <summary>Token counts of the training split, counted once; −1 for special tokens (never a label).</summary>
    public long[] TrainingTokenCounts()
    {
        if (_counts is not null) return _counts;
        var counts = new long[_vocabulary.Count];
        var row = new long[_train.SequenceLength];
        for (long i = 0; i < _train.Count; i++)
        {
            _train.Read(i, row);
            foreach (var id in row) if ((ulong)id < (ulong)counts.Length) counts[id]++;
        }
        for (int t = 0; t < counts.Length; t++) if (_vocabulary.IsSpecial(t)) counts[t] = -1; // never a label
        
        return _counts = counts;
    }

    public JsonNode SaveState() => JsonSerializer.SerializeToNode(Position)!;

    public void RestoreState(JsonNode state)
    {
        var position = state.Deserialize<DataPosition>();
        _position = position;
        _loader?.Restore(position);
    }

    public string Describe()
    {
        var m = _train.Manifest;
        return ValidationDirectory is null
            ? $"{_train.Directory}: {m.Counts.TrainSequences:N0} train / {m.Counts.ValidationSequences:N0} validation sequences of {m.SequenceLength} ({m.Mode}), {m.Counts.Tokens:N0} tokens from {m.Inputs.Count} file(s)"
            : $"{_train.Directory}: {m.Counts.TrainSequences:N0} train sequences of {m.SequenceLength} ({m.Mode}), {m.Counts.Tokens:N0} tokens from {m.Inputs.Count} file(s); validation: {ValidationSequences:N0} sequences of {ValidationDirectory}";
    }

    public void Dispose()
    {
        _train.Dispose();
        _validation?.Dispose();
    }
}
