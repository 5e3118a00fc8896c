using System.Text.Json.Nodes;

namespace BertLab.Data.Synthetic;

/// <summary>
/// Batches of a <see cref="SyntheticTask"/> for the trainer: each batch is padded to its longest sequence (attention mask 1 on
/// real tokens), labels −100 except the recall positions. Training example i of the stream is a pure function of (seed, i),
/// so the state is one counter. The validation set is generated from <see cref="ValidationSeed"/>, independent of the run's
/// seed: every run of a study is scored on the same sequences and masks.
/// </summary>
public sealed class SyntheticBatchSource : IBatchSource
{
    public const ulong DefaultValidationSeed = 0x5A11DA7E;
    const ulong TrainStream = 1, ValidationStream = 2;

    public SyntheticTask Task { get; }
    public ulong Seed { get; }
    public ulong ValidationSeed { get; }
    /// <summary>Validation sequences (the whole set is scored when the trainer asks for enough batches).</summary>
    public int ValidationExamples { get; }
    long _next; // training examples drawn so far
    long _batches;

    public SyntheticBatchSource(SyntheticTask task, long seed, int validationExamples = 256, ulong validationSeed = DefaultValidationSeed)
    {
        task.Validate();
        if (validationExamples < 1) throw new BertLabException("synthetic task: validation needs at least one example");
        Task = task; Seed = (ulong)seed; ValidationSeed = validationSeed; ValidationExamples = validationExamples;
    }

    int CurrentMaxPairs => Task.CurriculumBatches <= 0 || _batches >= Task.CurriculumBatches
        ? Task.MaxPairs
        : Task.MinPairs + (int)((Task.MaxPairs - Task.MinPairs) * (double)_batches / Task.CurriculumBatches);

    public MlmBatch NextTrain(int batchSize)
    {
        int maxPairs = CurrentMaxPairs;
        var examples = new SyntheticTask.Example[batchSize];
        for (int i = 0; i < batchSize; i++) examples[i] = Task.Generate(Seed, TrainStream, (ulong)(_next + i), maxPairs);
        _next += batchSize; _batches++;
        return Collate(examples);
    }

    public IEnumerable<MlmBatch> Validation(int batchSize, int maxBatches)
    {
        int total = maxBatches > 0 ? Math.Min(ValidationExamples, maxBatches * batchSize) : ValidationExamples;
        for (int start = 0; start < total; start += batchSize)
        {
            int n = Math.Min(batchSize, total - start);
            var examples = new SyntheticTask.Example[n];
            for (int i = 0; i < n; i++) examples[i] = Task.Generate(ValidationSeed, ValidationStream, (ulong)(start + i), Task.MaxPairs);
            yield return Collate(examples);
        }
    }

    /// <summary>The bag-of-values loss (<see cref="SyntheticTask.BagOfValuesLoss"/>) on this source's whole validation set.</summary>
    public double ValidationBagOfValuesLoss() =>
        Task.BagOfValuesLoss(Enumerable.Range(0, ValidationExamples).Select(i => Task.Generate(ValidationSeed, ValidationStream, (ulong)i, Task.MaxPairs)));

    /// <summary>Pads the examples to the longest one: [batch, longest] ids, token types, attention mask and labels.</summary>
    public static MlmBatch Collate(IReadOnlyList<SyntheticTask.Example> examples)
    {
        int b = examples.Count, s = examples.Max(e => e.Length);
        var ids = new long[b * s]; var types = new long[b * s]; var mask = new long[b * s]; var labels = new long[b * s];
        Array.Fill(labels, -100L);
        long selected = 0, real = 0;
        for (int r = 0; r < b; r++)
        {
            var e = examples[r];
            for (int j = 0; j < e.Length; j++)
            {
                int at = r * s + j;
                ids[at] = e.InputIds[j]; types[at] = e.TokenTypes[j]; mask[at] = 1; labels[at] = e.Labels[j];
                if (e.Labels[j] != -100) selected++;
            }
            real += e.Length;
        }
        return MlmBatch.FromArrays(ids, types, mask, labels, b, s, selected, real);
    }

    public JsonNode SaveState() => new JsonObject { ["next"] = _next, ["batches"] = _batches };

    public void RestoreState(JsonNode state)
    {
        _next = state["next"]!.GetValue<long>();
        _batches = state["batches"]!.GetValue<long>();
    }

    /// <summary>Labels are uniform over the value symbols (the key symbols for copy): the context-free guess is the task's uniform loss.</summary>
    public long[]? TrainingTokenCounts()
    {
        var counts = new long[Task.VocabSize];
        Array.Fill(counts, -1L);
        var (first, n) = Task.Answers;
        for (int i = 0; i < n; i++) counts[first + i] = 1;
        return counts;
    }

    public string Describe() => $"{Task.Describe()}, seed {Seed}, {ValidationExamples} validation sequences";
}
