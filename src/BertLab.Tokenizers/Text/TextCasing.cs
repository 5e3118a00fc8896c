using System.Text.Json;

namespace BertLab.Text;

/// <summary>
/// The one casing rule: whether text is lower-cased (and accents stripped) before WordPiece. The vocabulary decides —
/// a vocabulary is cased when more than 1% of its non-special tokens hold an upper-case letter (bert-base-cased: yes,
/// bert-base-uncased: no) — unless the caller overrides it (<c>data prepare --cased</c>) or the model folder records it
/// (tokenizer_config.json "do_lower_case", Hugging Face's key). Data preparation, pre-training and the tokenizer of a
/// saved model all ask this type, so the shards a model was trained on and the text it later reads are cased alike.
/// Writers of a model folder record <see cref="LowerCase"/> as "do_lower_case".
/// </summary>
public sealed record TextCasing(bool LowerCase, string Reason)
{
    /// <summary>Hugging Face's tokenizer_config.json key that records the rule with a model.</summary>
    public const string ConfigKey = "do_lower_case";
    public const string TokenizerConfigFile = "tokenizer_config.json";

    /// <summary>More than 1% of the non-special tokens contain an upper-case letter.</summary>
    public static bool IsCasedVocabulary(Vocabulary vocab)
    {
        int upper = 0, words = 0;
        for (int i = 0; i < vocab.Count; i++)
        {
            if (vocab.IsSpecial(i)) continue;
            words++;
            if (vocab[i].Any(char.IsUpper)) upper++;
        }
        return words > 0 && upper > 0.01 * words;
    }

    /// <summary>The rule for a vocabulary; <paramref name="lowerCase"/> (when given) overrides it.</summary>
    public static TextCasing ForVocabulary(Vocabulary vocab, bool? lowerCase = null)
    {
        if (lowerCase is bool forced) return new TextCasing(forced, forced ? "lower-casing (as asked)" : "not lower-casing (as asked)");
        return IsCasedVocabulary(vocab)
            ? new TextCasing(false, "the vocabulary is cased: not lower-casing")
            : new TextCasing(true, "the vocabulary is uncased: lower-casing");
    }

    /// <summary>The rule recorded in a model folder's tokenizer_config.json, else the vocabulary's.</summary>
    public static TextCasing ForModel(string modelDirectory, Vocabulary vocab) =>
        Recorded(modelDirectory) is bool lower ? new TextCasing(lower, $"{TokenizerConfigFile}: {ConfigKey} = {(lower ? "true" : "false")}") : ForVocabulary(vocab);

    /// <summary>"do_lower_case" of the folder's tokenizer_config.json; null when there is none.</summary>
    public static bool? Recorded(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, TokenizerConfigFile);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(ConfigKey, out var v)
                && v.ValueKind is JsonValueKind.True or JsonValueKind.False)
                return v.GetBoolean();
            return null;
        }
        catch (JsonException e) { throw new BertLabException($"{path}: invalid JSON: {e.Message}"); }
    }

    /// <summary>The WordPiece tokenizer of this rule over a vocabulary.</summary>
    public WordPieceTokenizer Tokenizer(Vocabulary vocab) => new(vocab, LowerCase);
}
