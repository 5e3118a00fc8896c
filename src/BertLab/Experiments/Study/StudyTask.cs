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

/// <summary>
/// Natural text as sentence pairs of varying length, as the original work trained on, so that n varies and the n-scaled arms
/// are compared with controls on the same data. The corpus is the embedded one unless <see cref="Corpus"/> names another;
/// the vocabulary is the model preset's (BERT's 30,522 pieces) unless <see cref="VocabularySize"/> asks for a study
/// vocabulary learnt from the corpus before the runs (<see cref="StudyVocabulary"/>), which the artefacts folder holds.
/// </summary>
public sealed record CorpusTask : StudyTask
{
    /// <summary>Corpus files, folders or globs; empty: the embedded corpus.</summary>
    public IReadOnlyList<string> Corpus { get; init; } = Array.Empty<string>();
    /// <summary>A study vocabulary of this many pieces learnt from <see cref="Corpus"/>; null: the preset's vocabulary.</summary>
    public int? VocabularySize { get; init; }
    /// <summary>No dropout (hidden and attention probabilities): short horizons, nothing to regularise against yet.</summary>
    public bool NoDropout { get; init; }
    /// <summary>The folder of the study's artefacts (the vocabulary, the punctuation-stripped copy), absolute: set for the sweep
    /// directory the study runs in (<see cref="ResearchLogSweep.Create"/>); null where only the plan is needed.</summary>
    public string? Artifacts { get; init; }

    public const string VocabularyFile = "vocab.txt", StrippedCorpusFile = "corpus-punctuation-stripped.txt";

    public string ArtifactPath(string file) =>
        Path.Combine(Artifacts ?? throw new InvalidOperationException("the study's artefacts folder is not set"), file);

    public override JsonNode ModelSection(string preset)
    {
        if (VocabularySize is null && !NoDropout) return preset;
        var o = new JsonObject { ["preset"] = preset };
        if (VocabularySize is int v) o["vocab_size"] = v;
        if (NoDropout) { o["hidden_dropout_prob"] = 0.0; o["attention_probs_dropout_prob"] = 0.0; }
        return o;
    }

    public override JsonObject DataSection(int seqLen)
    {
        var o = new JsonObject();
        if (Corpus.Count > 0) o[RunConfigKeys.DataCorpus.Name] = new JsonArray(Corpus.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray());
        if (VocabularySize is not null) o[RunConfigKeys.DataVocab.Name] = Artifacts is null ? VocabularyFile : ArtifactPath(VocabularyFile);
        o[RunConfigKeys.DataSeqLen.Name] = seqLen;
        o[RunConfigKeys.DataPacking.Name] = PackingModes.Name(PackingMode.SentencePairs);
        return o;
    }

    public override IEnumerable<KeyValuePair<string, JsonNode?>> LongArmSettings() => Array.Empty<KeyValuePair<string, JsonNode?>>();

    /// <summary>The punctuation-stripped arm's data: the copy for training, the clean corpus's validation documents.</summary>
    public IEnumerable<KeyValuePair<string, JsonNode?>> StrippedCorpusSettings()
    {
        var clean = Corpus.Count > 0 ? Corpus : new[] { CorpusFile.DefaultCorpusPath };
        yield return new(RunConfigKeys.DataCorpus.Path, new JsonArray(Artifacts is null ? StrippedCorpusFile : ArtifactPath(StrippedCorpusFile)));
        yield return new(RunConfigKeys.DataValidationCorpus.Path, new JsonArray(clean.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()));
    }

    public override string Describe(StudyBudget b) =>
        (Corpus.Count > 0 ? $"corpus {string.Join(", ", Corpus)}" : "the embedded corpus") +
        (VocabularySize is int v ? $" with a {v:N0}-piece vocabulary learnt from it" : "") + $" as sentence pairs, seq_len {b.SeqLen} (long arms {b.LongSeqLen}), ";
}
