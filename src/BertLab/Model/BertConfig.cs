using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;

namespace BertLab.Model;

/// <summary>
/// Hugging Face BERT <c>config.json</c>, plus BertLab's own <c>attention</c> section.
/// Fields BertLab does not use are kept and written back unchanged.
/// </summary>
public sealed class BertConfig
{
    public int VocabSize { get; set; } = 30522;
    public int HiddenSize { get; set; } = 768;
    public int NumHiddenLayers { get; set; } = 12;
    public int NumAttentionHeads { get; set; } = 12;
    public int IntermediateSize { get; set; } = 3072;
    /// <summary>gelu (exact), gelu_new (tanh approximation) or relu.</summary>
    public string HiddenAct { get; set; } = "gelu";
    public double HiddenDropoutProb { get; set; } = 0.1;
    public double AttentionProbsDropoutProb { get; set; } = 0.1;
    public int MaxPositionEmbeddings { get; set; } = 512;
    public int TypeVocabSize { get; set; } = 2;
    public double InitializerRange { get; set; } = 0.02;
    public double LayerNormEps { get; set; } = 1e-12;
    public int PadTokenId { get; set; } = 0;
    public bool TieWordEmbeddings { get; set; } = true;
    /// <summary>Label names by id; its count is num_labels.</summary>
    public SortedDictionary<int, string> Id2Label { get; set; } = new() { [0] = "LABEL_0", [1] = "LABEL_1" };
    /// <summary>null, "regression", "single_label_classification" or "multi_label_classification".</summary>
    public string? ProblemType { get; set; }
    public List<string>? Architectures { get; set; }
    /// <summary>BertLab's attention mechanism (ATTENTION.md); softmax when the file has none.</summary>
    public AttentionConfig Attention { get; set; } = AttentionConfig.FromPreset("softmax");

    /// <summary>Everything read from the file, so that unknown fields survive a save.</summary>
    private JsonObject _raw = new();

    public int NumLabels
    {
        get => Id2Label.Count;
        set
        {
            if (value < 1) throw new BertLabException($"num_labels must be at least 1, got {value}");
            if (value == Id2Label.Count) return;
            Id2Label = new SortedDictionary<int, string>();
            for (int i = 0; i < value; i++) Id2Label[i] = $"LABEL_{i}";
        }
    }

    public int HeadDim => HiddenSize / NumAttentionHeads;

    public static readonly string[] AllowedActivations = { "gelu", "gelu_new", "relu", "gelu_pytorch_tanh" };

    /// <summary>Checks sizes and choices; throws with the key and the allowed values.</summary>
    public void Validate()
    {
        void Positive(string key, int v) { if (v <= 0) throw new BertLabException($"config.json: '{key}' must be a positive integer, got {v}"); }
        Positive("vocab_size", VocabSize);
        Positive("hidden_size", HiddenSize);
        Positive("num_hidden_layers", NumHiddenLayers);
        Positive("num_attention_heads", NumAttentionHeads);
        Positive("intermediate_size", IntermediateSize);
        Positive("max_position_embeddings", MaxPositionEmbeddings);
        Positive("type_vocab_size", TypeVocabSize);
        if (HiddenSize % NumAttentionHeads != 0)
            throw new BertLabException($"config.json: hidden_size ({HiddenSize}) must be a multiple of num_attention_heads ({NumAttentionHeads})");
        if (!AllowedActivations.Contains(HiddenAct))
            throw new BertLabException($"config.json: 'hidden_act' is '{HiddenAct}'; allowed: {string.Join(", ", AllowedActivations)}");
        if (HiddenDropoutProb < 0 || HiddenDropoutProb >= 1) throw new BertLabException($"config.json: 'hidden_dropout_prob' must be in [0, 1), got {HiddenDropoutProb}");
        if (AttentionProbsDropoutProb < 0 || AttentionProbsDropoutProb >= 1) throw new BertLabException($"config.json: 'attention_probs_dropout_prob' must be in [0, 1), got {AttentionProbsDropoutProb}");
        if (PadTokenId < 0 || PadTokenId >= VocabSize) throw new BertLabException($"config.json: 'pad_token_id' ({PadTokenId}) must be in [0, vocab_size)");
        if (ProblemType is not null and not ("regression" or "single_label_classification" or "multi_label_classification"))
            throw new BertLabException($"config.json: 'problem_type' is '{ProblemType}'; allowed: regression, single_label_classification, multi_label_classification");
        Attention.Validate("attention");
    }

    public static BertConfig Load(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        if (!File.Exists(path)) throw new BertLabException($"config file not found: {path}");
        string text = File.ReadAllText(path);
        try { return FromJson(text); }
        catch (BertLabException e) { throw new BertLabException($"{path}: {e.Message}", e); }
    }

    public static BertConfig FromJson(string text)
    {
        JsonNode? node;
        try { node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }); }
        catch (JsonException e) { throw new BertLabException($"invalid JSON: {e.Message}"); }
        if (node is not JsonObject o) throw new BertLabException("config.json must hold a JSON object");
        var c = new BertConfig { _raw = (JsonObject)o.DeepClone() };
        c.VocabSize = GetInt(o, "vocab_size", c.VocabSize);
        c.HiddenSize = GetInt(o, "hidden_size", c.HiddenSize);
        c.NumHiddenLayers = GetInt(o, "num_hidden_layers", c.NumHiddenLayers);
        c.NumAttentionHeads = GetInt(o, "num_attention_heads", c.NumAttentionHeads);
        c.IntermediateSize = GetInt(o, "intermediate_size", c.IntermediateSize);
        c.HiddenAct = GetString(o, "hidden_act") ?? c.HiddenAct;
        c.HiddenDropoutProb = GetDouble(o, "hidden_dropout_prob", c.HiddenDropoutProb);
        c.AttentionProbsDropoutProb = GetDouble(o, "attention_probs_dropout_prob", c.AttentionProbsDropoutProb);
        c.MaxPositionEmbeddings = GetInt(o, "max_position_embeddings", c.MaxPositionEmbeddings);
        c.TypeVocabSize = GetInt(o, "type_vocab_size", c.TypeVocabSize);
        c.InitializerRange = GetDouble(o, "initializer_range", c.InitializerRange);
        c.LayerNormEps = GetDouble(o, "layer_norm_eps", c.LayerNormEps);
        c.PadTokenId = o["pad_token_id"] is null ? 0 : GetInt(o, "pad_token_id", 0);
        c.TieWordEmbeddings = o["tie_word_embeddings"] is JsonValue tv ? tv.GetValue<bool>() : true;
        c.ProblemType = GetString(o, "problem_type");
        if (o["architectures"] is JsonArray arch) c.Architectures = arch.Select(a => a!.GetValue<string>()).ToList();
        if (o["id2label"] is JsonObject idl)
        {
            var d = new SortedDictionary<int, string>();
            foreach (var (k, v) in idl)
            {
                if (!int.TryParse(k, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
                    throw new BertLabException($"'id2label' key '{k}' is not an integer");
                d[id] = v?.GetValue<string>() ?? $"LABEL_{id}";
            }
            c.Id2Label = d;
        }
        else if (o["num_labels"] is JsonValue) c.NumLabels = GetInt(o, "num_labels", 2);
        if (o["attention"] is JsonNode att) c.Attention = AttentionConfig.FromJson(att, "attention");
        c.Validate();
        return c;
    }

    /// <summary>config.json's model_type for attention other than softmax (transformers needs trust_remote_code).</summary>
    public const string RemoteCodeModelType = "bertlab-bert";

    public string ToJson()
    {
        var o = (JsonObject)_raw.DeepClone();
        o["architectures"] = Architectures is null ? o["architectures"]?.DeepClone() : new JsonArray(Architectures.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        o["attention_probs_dropout_prob"] = AttentionProbsDropoutProb;
        o["hidden_act"] = HiddenAct;
        o["hidden_dropout_prob"] = HiddenDropoutProb;
        o["hidden_size"] = HiddenSize;
        var id2 = new JsonObject(); foreach (var (k, v) in Id2Label) id2[k.ToString(CultureInfo.InvariantCulture)] = v;
        var l2i = new JsonObject(); foreach (var (k, v) in Id2Label) l2i[v] = k;
        o["id2label"] = id2;
        o["label2id"] = l2i;
        o.Remove("num_labels");
        o["initializer_range"] = InitializerRange;
        o["intermediate_size"] = IntermediateSize;
        o["layer_norm_eps"] = LayerNormEps;
        o["max_position_embeddings"] = MaxPositionEmbeddings;
        // Softmax attention is Hugging Face's BERT: model_type "bert". Any other mechanism gets a model_type of its own and
        // the auto_map to the modeling code shipped beside it (ModelFiles.WriteRemoteCode): plain transformers then fails
        // loudly ("unrecognized model type") instead of silently running softmax attention.
        if (Attention.IsBertSoftmax)
        {
            o["model_type"] = "bert";
            o.Remove("auto_map");
        }
        else
        {
            o["model_type"] = RemoteCodeModelType;
            o["auto_map"] = new JsonObject
            {
                ["AutoConfig"] = "configuration_bertlab.BertLabConfig",
                ["AutoModel"] = "modeling_bertlab.BertLabModel",
                ["AutoModelForMaskedLM"] = "modeling_bertlab.BertLabForMaskedLM",
                ["AutoModelForSequenceClassification"] = "modeling_bertlab.BertLabForSequenceClassification",
            };
        }
        o["num_attention_heads"] = NumAttentionHeads;
        o["num_hidden_layers"] = NumHiddenLayers;
        o["pad_token_id"] = PadTokenId;
        if (ProblemType is null) o.Remove("problem_type"); else o["problem_type"] = ProblemType;
        o["tie_word_embeddings"] = TieWordEmbeddings;
        o["type_vocab_size"] = TypeVocabSize;
        o["vocab_size"] = VocabSize;
        o["attention"] = Attention.ToJson();
        // sorted keys, like transformers' save_pretrained
        var sorted = new JsonObject();
        foreach (var kv in o.OrderBy(kv => kv.Key, StringComparer.Ordinal)) sorted[kv.Key] = kv.Value?.DeepClone();
        return sorted.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    public void Save(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "config.json");
        File.WriteAllText(path, ToJson() + "\n");
    }

    public BertConfig Clone()
    {
        var c = FromJson(ToJson());
        return c;
    }

    /// <summary>The value of a field this class does not model (e.g. "transformers_version"), as read.</summary>
    public JsonNode? Extra(string key) => _raw[key];

    static int GetInt(JsonObject o, string key, int dflt)
    {
        var n = o[key];
        if (n is null) return dflt;
        if (n is JsonValue v && v.TryGetValue<int>(out int i)) return i;
        if (n is JsonValue v2 && v2.TryGetValue<double>(out double dd) && dd == Math.Floor(dd) && Math.Abs(dd) < int.MaxValue) return (int)dd;
        throw new BertLabException($"'{key}' must be an integer, got {n.ToJsonString()}");
    }

    static double GetDouble(JsonObject o, string key, double dflt)
    {
        var n = o[key];
        if (n is null) return dflt;
        if (JsonNumbers.TryGetDouble(n, out double d)) return d;
        throw new BertLabException($"'{key}' must be a number, got {n.ToJsonString()}");
    }

    static string? GetString(JsonObject o, string key)
    {
        var n = o[key];
        if (n is null) return null;
        if (n is JsonValue v && v.TryGetValue<string>(out var s)) return s;
        throw new BertLabException($"'{key}' must be a string, got {n.ToJsonString()}");
    }
}
