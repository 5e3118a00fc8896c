using System.Text.Json.Nodes;
using BertLab.Data;
using BertLab.Data.Synthetic;
using BertLab.Training;

namespace BertLab.Experiments.Study;

/// <summary>
/// What a study's runs train and are validated on, declared by its budget: the model and data sections of the base
/// configuration, what the long-sequence arms change, and the description. The "attention in use" gate differs per task
/// (<see cref="StudyRuns.GateAt"/>): on a generated task softmax's loss against the task's bag-of-values level, on text
/// softmax against cosine-softmax.
/// </summary>
public abstract record StudyTask
{
    /// <summary>The model section of the base configuration for the budget's preset.</summary>
    public abstract JsonNode ModelSection(string preset);
    /// <summary>The data section of the base configuration.</summary>
    public abstract JsonObject DataSection(int seqLen);
    /// <summary>What the long-sequence arms set besides their length and batch (<see cref="StudyBudget.SettingsFor"/>).</summary>
    public abstract IEnumerable<KeyValuePair<string, JsonNode?>> LongArmSettings();
    /// <summary>"task … (long arms: …), sequences up to 64 (long arms 128), " for the sweep's description.</summary>
    public abstract string Describe(StudyBudget b);
}

/// <summary>A task BertLab generates (<c>data.synthetic</c>): it brings its own vocabulary (model.vocab_size is the
/// task's), and no dropout (the task has no noise to regularise against). Sequence lengths vary within every batch.</summary>
/// <param name="Spec">The task of every arm.</param>
/// <param name="LongSpec">The long-sequence arms' task: the same vocabulary, longer sequences.</param>
public sealed record GeneratedTask(string Spec, string LongSpec) : StudyTask
{
    public override JsonNode ModelSection(string preset) => new JsonObject
    {
        ["preset"] = preset, ["vocab_size"] = SyntheticTask.Parse(Spec).VocabSize, ["hidden_dropout_prob"] = 0.0, ["attention_probs_dropout_prob"] = 0.0,
    };

    public override JsonObject DataSection(int seqLen) => new() { [RunConfigKeys.DataSeqLen.Name] = seqLen, [RunConfigKeys.DataSynthetic.Name] = Spec };

    public override IEnumerable<KeyValuePair<string, JsonNode?>> LongArmSettings() => new KeyValuePair<string, JsonNode?>[] { new(RunConfigKeys.DataSynthetic.Path, LongSpec) };

    public override string Describe(StudyBudget b) =>
        $"task {SyntheticTask.Parse(Spec).Describe()} (long arms: {LongSpec}), sequences up to {b.SeqLen} (long arms {b.LongSeqLen}), ";
}

/// <summary>Natural text: the default corpus as sentence pairs of varying length, as the original work trained on, so that
/// n varies and the n-scaled arms are compared with controls on the same data; the model preset's vocabulary.</summary>
public sealed record CorpusTask : StudyTask
{
    public override JsonNode ModelSection(string preset) => preset;

    public override JsonObject DataSection(int seqLen) => new()
    {
        [RunConfigKeys.DataSeqLen.Name] = seqLen, [RunConfigKeys.DataPacking.Name] = PackingModes.Name(PackingMode.SentencePairs),
    };

    public override IEnumerable<KeyValuePair<string, JsonNode?>> LongArmSettings() => Array.Empty<KeyValuePair<string, JsonNode?>>();

    public override string Describe(StudyBudget b) => $"seq_len {b.SeqLen} (long arms {b.LongSeqLen}), ";
}
