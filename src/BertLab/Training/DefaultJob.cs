using System.Text.Json.Nodes;
using BertLab.Model;

namespace BertLab.Training;

/// <summary>
/// The embedded default job, `bertlab train` as a newcomer first runs it: the small cottention model on the embedded corpus
/// with a WordPiece vocabulary learnt from that corpus (data/vocab/embedded-corpus-wordpiece-4096.txt, made by
/// `bertlab vocab train data/corpus --size 4096`). With bert-base-uncased's 30,522 tokens the embeddings and the decoder
/// dominate a small model and its first minutes stay near the unigram level; with the corpus's own 4,096 pieces the
/// same minutes take the model well below it. The job applies when the command names neither a configuration, a model
/// preset, a corpus, data of its own nor a vocabulary (--attention, --steps, --seed and the other --set keys still apply
/// on top); any of those gives the configuration defaults (bert-base-uncased's vocabulary).
/// </summary>
public static class DefaultJob
{
    /// <summary>The learnt vocabulary, relative to data/.</summary>
    public const string VocabularyFile = "vocab/embedded-corpus-wordpiece-4096.txt";
    public const int VocabularySize = 4096;
    /// <summary>The peak learning rate (the configuration default, 5e-4, is tuned for bert-base-uncased's vocabulary).</summary>
    public const double Lr = 1e-3;

    /// <summary>--set keys that choose the data, the vocabulary or the model's shape: the job does not apply with them.</summary>
    static readonly string[] OwnChoices = { "data.vocab", "data.corpus", "data.synthetic", "data.prepared", "model", "run.init_from" };

    /// <summary>Sentences with one [MASK] each, from the three kinds of text in the embedded corpus (novels, psalm
    /// commentary, dictionary glosses), printed with the model's guesses at the end of a run.</summary>
    public static readonly IReadOnlyList<string> FillMaskExamples = new[]
    {
        "It is a truth universally acknowledged, that a single [MASK] in possession of a good fortune, must be in want of a wife.",
        "The Lord is my [MASK]; I shall not want.",
        "I will praise thee, O [MASK], with my whole heart.",
    };

    /// <summary>Whether a `train` command with these choices is the default job.</summary>
    public static bool Applies(bool config, bool resume, bool model, bool corpus, IEnumerable<string> sets) =>
        !config && !resume && !model && !corpus &&
        !sets.Select(s => s.Split('=', 2)[0].Trim()).Any(k => OwnChoices.Any(c => k == c || k.StartsWith(c + ".", StringComparison.Ordinal)));

    /// <summary>Sets the job's vocabulary, the model's vocabulary size and the learning rate on the configuration defaults
    /// (the steps stay the default 300).</summary>
    public static void Apply(JsonObject json)
    {
        RunConfig.ApplyOverride(json, RunConfigKeys.DataVocab, DataPaths.Find(VocabularyFile));
        RunConfig.ApplyOverride(json, "model.vocab_size", JsonValue.Create(VocabularySize));
        RunConfig.ApplyOverride(json, RunConfigKeys.OptimizerLr, Lr);
    }

    /// <summary>One line per example: the masked sentence's top guesses with their probabilities.</summary>
    public static IEnumerable<string> FillMask(string modelDir, int topK = 3)
    {
        using var filler = new MaskFiller(modelDir);
        foreach (var text in FillMaskExamples)
        {
            var guesses = filler.Predict(text, topK);
            yield return $"{text}  →  " + string.Join(", ", guesses.Select(g => $"{g.Token} ({g.Probability:F2})"));
        }
    }
}
