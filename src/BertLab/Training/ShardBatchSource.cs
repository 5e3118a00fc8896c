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

    /// <summary>Set before a resume to go on when the checkpoint was trained on other data (train --accept-changed-data);
    /// otherwise <see cref="RestoreState"/> refuses it.</summary>
    public bool AcceptChangedData { get; set; }
    /// <summary>What changed, when a resume accepted changed data; null otherwise.</summary>
    public (string From, string To, string What)? Change { get; private set; }

    /// <summary>The data position, with the identity of the data it belongs to: the preparation's fingerprint and the
    /// corpus files with their hashes (a resume on other data is refused, <see cref="RestoreState"/>).</summary>
    public JsonNode SaveState()
    {
        var o = JsonSerializer.SerializeToNode(Position)!.AsObject();
        var m = _train.Manifest;
        o["data_fingerprint"] = m.Fingerprint;
        o["data_inputs"] = new JsonArray(m.Inputs.Select(i => (JsonNode)new JsonObject { ["path"] = i.Path, ["sha256"] = i.Sha256 }).ToArray());
        return o;
    }

    public void RestoreState(JsonNode state)
    {
        // checkpoints written before the data's identity was saved carry no fingerprint: nothing to compare
        if (state["data_fingerprint"]?.GetValue<string>() is string saved && (saved != _train.Manifest.Fingerprint || InputsDiffer(state["data_inputs"] as JsonArray, _train.Manifest)))
        {
            string what = DescribeChange(state["data_inputs"] as JsonArray, _train.Manifest);
            if (!AcceptChangedData)
                throw new DataChangedException($"the training data changed since this run's checkpoint: {what}. Nothing was written. " +
                                               "Resume with the data the run started on, start a new run, or add --accept-changed-data to go on with the new data " +
                                               "(the change is then recorded in summary.json and metrics.jsonl)");
            Change = (Inputs(state["data_inputs"] as JsonArray) is { } before ? Hash(before) : saved, Hash(Inputs(_train.Manifest)), what);
        }
        var position = state.Deserialize<DataPosition>();
        _position = position;
        _loader?.Restore(position);
    }

    /// <summary>The corpus files with their hashes, ordered by path: as a checkpoint saved them (null: an older checkpoint
    /// without them), and as the manifest has them now.</summary>
    static List<(string Path, string Sha)>? Inputs(JsonArray? saved) =>
        saved?.Select(n => (n!["path"]!.GetValue<string>(), n["sha256"]!.GetValue<string>())).OrderBy(x => x.Item1, StringComparer.Ordinal).ToList();
    static List<(string Path, string Sha)> Inputs(ShardManifest m) =>
        m.Inputs.Select(i => (i.Path, i.Sha256)).OrderBy(x => x.Item1, StringComparer.Ordinal).ToList();

    /// <summary>A short identity of the corpus files and their contents (for the record of a change).</summary>
    static string Hash(IEnumerable<(string Path, string Sha)> inputs) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            string.Join("\n", inputs.Select(x => x.Path + " " + x.Sha)))))[..16];

    /// <summary>Whether the corpus files (paths and contents) differ from the checkpoint's: the fingerprint names the
    /// preparation (files and settings); a file edited in place is prepared again under the same name.</summary>
    static bool InputsDiffer(JsonArray? savedInputs, ShardManifest now) =>
        Inputs(savedInputs) is { } saved && !saved.SequenceEqual(Inputs(now));

    /// <summary>The files that differ between the checkpoint's inputs and the manifest's, in words.</summary>
    static string DescribeChange(JsonArray? savedInputs, ShardManifest now)
    {
        if (Inputs(savedInputs) is not { } saved) return "the preparation's fingerprint differs";
        var before = saved.ToDictionary(x => x.Path, x => x.Sha);
        var after = Inputs(now).ToDictionary(x => x.Path, x => x.Sha);
        var parts = new List<string>();
        parts.AddRange(after.Where(a => before.TryGetValue(a.Key, out var sha) && sha != a.Value).Select(a => $"{a.Key} changed"));
        parts.AddRange(after.Keys.Where(k => !before.ContainsKey(k)).Select(k => $"{k} was added"));
        parts.AddRange(before.Keys.Where(k => !after.ContainsKey(k)).Select(k => $"{k} is gone"));
        return parts.Count > 0 ? string.Join(", ", parts) : "the corpus files are the same but the preparation (vocabulary, sequence length or packing) differs";
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

/// <summary>A resume refused because the run's training data changed since its checkpoint (exit 2; never a reason to
/// fall back to an older checkpoint, which was trained on the same old data).</summary>
public sealed class DataChangedException : BertLabException
{
    public DataChangedException(string message) : base(message) { }
}
