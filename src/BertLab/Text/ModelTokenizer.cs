using System.Text.Json;

namespace BertLab.Text;

/// <summary>The tokenizer that belongs to a model folder.</summary>
public static class ModelTokenizer
{
    /// <summary>
    /// WordPiece over the folder's vocab.txt (the embedded bert-base-uncased vocabulary when it has none), lower-casing
    /// unless its tokenizer_config.json says "do_lower_case": false (Hugging Face's setting for cased models).
    /// </summary>
    public static WordPieceTokenizer For(string modelDirectory)
    {
        var vocab = Path.Combine(modelDirectory, "vocab.txt");
        bool lowerCase = true;
        var tokConfig = Path.Combine(modelDirectory, "tokenizer_config.json");
        if (File.Exists(tokConfig))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(tokConfig));
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("do_lower_case", out var v)
                    && v.ValueKind is JsonValueKind.True or JsonValueKind.False)
                    lowerCase = v.GetBoolean();
            }
            catch (JsonException e) { throw new BertLabException($"{tokConfig}: invalid JSON: {e.Message}"); }
        }
        return WordPieceTokenizer.Load(File.Exists(vocab) ? vocab : null, lowerCase);
    }
}
