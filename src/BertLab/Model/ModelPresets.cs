using System.Text.Json.Nodes;

namespace BertLab.Model;

/// <summary>Named model shapes: tiny (tests, seconds), small (BERT-small 4×256, the default), base (BERT-base 12×768).</summary>
public static class ModelPresets
{
    public static readonly string[] Names = { "tiny", "small", "base" };

    public static readonly string[] AllowedKeys =
    {
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
        "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
        "initializer_range", "layer_norm_eps", "pad_token_id", "tie_word_embeddings",
    };

    public static JsonObject Json(string name)
    {
        (int layers, int hidden, int heads, int ffn) = name switch
        {
            "tiny" => (2, 128, 2, 512),
            "small" => (4, 256, 4, 1024),
            "base" => (12, 768, 12, 3072),
            _ => throw new BertLabException($"config: unknown model preset '{name}'; allowed: {string.Join(", ", Names)}"),
        };
        return new JsonObject
        {
            ["vocab_size"] = 30522, ["hidden_size"] = hidden, ["num_hidden_layers"] = layers, ["num_attention_heads"] = heads,
            ["intermediate_size"] = ffn, ["hidden_act"] = "gelu", ["hidden_dropout_prob"] = 0.1, ["attention_probs_dropout_prob"] = 0.1,
            ["max_position_embeddings"] = 512, ["type_vocab_size"] = 2, ["initializer_range"] = 0.02, ["layer_norm_eps"] = 1e-12,
            ["pad_token_id"] = 0, ["tie_word_embeddings"] = true, ["model_type"] = "bert",
        };
    }

    public static BertConfig Create(string name) => BertConfig.FromJson(Json(name).ToJsonString());
}
