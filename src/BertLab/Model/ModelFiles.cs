using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BertLab.Attention;
using BertLab.Attention.Lowering;
using BertLab.Data;
using BertLab.Text;
using BertLab.IO;

namespace BertLab.Model;

/// <summary>What a model card says beyond the config: where the model came from and how well it did.</summary>
public sealed record ModelCard
{
    /// <summary>"pre-training", "fine-tuning" or "conversion".</summary>
    public required string Source { get; init; }
    /// <summary>The model this one started from (fine-tuning) or was converted from.</summary>
    public string? BaseModel { get; init; }
    /// <summary>The training data, as the run describes it.</summary>
    public string? Data { get; init; }
    public int? Steps { get; init; }
    /// <summary>Validation metrics of pre-training (val_loss, val_accuracy, ...).</summary>
    public IReadOnlyDictionary<string, double>? Validation { get; init; }
    /// <summary>Fine-tuning: the task and its dev metrics.</summary>
    public string? Task { get; init; }
    public IReadOnlyDictionary<string, double>? Results { get; init; }
}

/// <summary>
/// The files around config.json + model.safetensors + vocab.txt that make a model directory usable by the tools
/// BERT users already have: Hugging Face tokenizer files (<see cref="TokenizerFiles"/>: tokenizer.json, tokenizer_config.json,
/// special_tokens_map.json), a model card (README.md) and, for embedding models, sentence-transformers' layout.
/// <see cref="BertCheckpoint.Save"/> writes them for every model BertLab writes.
/// </summary>
public static class ModelFiles
{
    public const string CardFile = "README.md";
    public const string ModulesFile = "modules.json";
    public const string PoolingDir = "1_Pooling";
    public const string NormalizeDir = "2_Normalize";

    /// <summary>The longest input <c>bertlab embed</c> feeds a model by default (its --max-length).</summary>
    public const int EmbedMaxLength = 256;

    /// <summary>
    /// THE casing rule of a written model (one place): the do_lower_case of a tokenizer_config.json in
    /// <paramref name="tokenizerConfigDir"/> (the source model's) when it says; otherwise lower-case unless the
    /// vocabulary is cased (<see cref="CorpusInspector.IsCased"/>, the rule <c>bertlab data</c> applies).
    /// </summary>
    public static bool LowerCase(Vocabulary vocab, string? tokenizerConfigDir) =>
        (tokenizerConfigDir is not null ? TextCasing.ForModel(tokenizerConfigDir, vocab) : TextCasing.ForVocabulary(vocab)).LowerCase;

    /// <summary>Embedding models (mean pooling + normalisation, as <c>bertlab embed</c>) are every encoder that is not a classifier:
    /// pre-training's masked-LM models and converted encoders.</summary>
    public static bool IsEmbeddingModel(string architecture) => architecture != nameof(BertForSequenceClassification);

    static void WriteJson(string path, Action<Utf8JsonWriter> body) => TokenizerFiles.WriteJson(path, body);

    /// <summary>sentence-transformers' layout: the directory itself is module 0 (Transformer), then mean pooling and
    /// L2 normalisation — what <c>bertlab embed</c> computes (<see cref="SentenceEmbedder"/>).</summary>
    public static void WriteSentenceTransformers(string dir, BertConfig config, bool lowerCase)
    {
        WriteJson(Path.Combine(dir, ModulesFile), w =>
        {
            w.WriteStartArray();
            foreach (var (idx, path, type) in new[] { (0, "", "Transformer"), (1, PoolingDir, "Pooling"), (2, NormalizeDir, "Normalize") })
            {
                w.WriteStartObject();
                w.WriteNumber("idx", idx);
                w.WriteString("name", idx.ToString(CultureInfo.InvariantCulture));
                w.WriteString("path", path);
                w.WriteString("type", "sentence_transformers.models." + type);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
        WriteJson(Path.Combine(dir, "sentence_bert_config.json"), w =>
        {
            w.WriteStartObject();
            w.WriteNumber("max_seq_length", Math.Min(EmbedMaxLength, config.MaxPositionEmbeddings));
            w.WriteBoolean("do_lower_case", false);   // the tokenizer lower-cases (tokenizer_config.json) when the model is uncased
            w.WriteEndObject();
        });
        WriteJson(Path.Combine(dir, "config_sentence_transformers.json"), w =>
        {
            w.WriteStartObject();
            w.WriteStartObject("prompts"); w.WriteEndObject();
            w.WriteNull("default_prompt_name");
            w.WriteString("similarity_fn_name", "cosine");
            w.WriteEndObject();
        });
        Directory.CreateDirectory(Path.Combine(dir, PoolingDir));
        WriteJson(Path.Combine(dir, PoolingDir, "config.json"), w =>
        {
            w.WriteStartObject();
            w.WriteNumber("word_embedding_dimension", config.HiddenSize);
            w.WriteBoolean("pooling_mode_cls_token", false);
            w.WriteBoolean("pooling_mode_mean_tokens", true);
            w.WriteBoolean("pooling_mode_max_tokens", false);
            w.WriteBoolean("pooling_mode_mean_sqrt_len_tokens", false);
            w.WriteBoolean("pooling_mode_weightedmean_tokens", false);
            w.WriteBoolean("pooling_mode_lasttoken", false);
            w.WriteBoolean("include_prompt", true);
            w.WriteEndObject();
        });
        Directory.CreateDirectory(Path.Combine(dir, NormalizeDir));   // Normalize has no settings: an empty folder, as sentence-transformers saves it
    }

    /// <summary>README.md: YAML front matter (attention preset, data, steps, validation metrics, fine-tuning results) and a short text.</summary>
    public static void WriteCard(string dir, BertConfig config, string architecture, bool? lowerCase, ModelCard? card)
    {
        string preset = config.Attention.Preset;
        bool softmax = preset == "softmax";
        string pipeline = architecture switch
        {
            nameof(BertForMaskedLM) => "fill-mask",
            nameof(BertForSequenceClassification) => "text-classification",
            _ => "feature-extraction",
        };
        var y = new StringBuilder();
        y.Append("---\n");
        y.Append(softmax ? "library_name: transformers\n" : "library_name: bertlab\n");
        y.Append($"pipeline_tag: {pipeline}\n");
        y.Append("tags:\n  - bertlab\n  - bert\n");
        y.Append($"  - attention-{preset}\n");
        if (IsEmbeddingModel(architecture)) y.Append("  - sentence-transformers\n");
        y.Append("bertlab:\n");
        y.Append($"  source: {Q(card?.Source ?? "unknown")}\n");
        // a local path, not a Hub id: kept under bertlab (the Hub checks a top-level base_model)
        if (card?.BaseModel is string b) y.Append($"  base_model: {Q(b)}\n");
        y.Append($"  architecture: {architecture}\n");
        y.Append($"  attention: {Q(preset)}\n");
        y.Append($"  hidden_size: {config.HiddenSize}\n  num_hidden_layers: {config.NumHiddenLayers}\n  num_attention_heads: {config.NumAttentionHeads}\n");
        y.Append($"  max_position_embeddings: {config.MaxPositionEmbeddings}\n  vocab_size: {config.VocabSize}\n");
        if (lowerCase is bool lc) y.Append($"  do_lower_case: {(lc ? "true" : "false")}\n");
        if (card?.Data is string d) y.Append($"  data: {Q(d)}\n");
        if (card?.Steps is int s) y.Append($"  steps: {s}\n");
        if (card?.Validation is { Count: > 0 } val)
        {
            y.Append("  validation:\n");
            foreach (var (k, v) in val) y.Append($"    {k}: {Num(v)}\n");
        }
        if (card?.Task is string task) y.Append($"  task: {Q(task)}\n");
        if (card?.Results is { Count: > 0 } res)
        {
            y.Append("  results:\n");
            foreach (var (k, v) in res) y.Append($"    {k}: {Num(v)}\n");
        }
        y.Append("---\n\n");
        y.Append($"# BERT with {preset} attention\n\n");
        y.Append($"A {architecture} ({config.NumHiddenLayers} layers, hidden size {config.HiddenSize}, {config.NumAttentionHeads} heads) written by BertLab");
        y.Append(card is null ? ".\n\n" : $" ({card.Source}).\n\n");
        if (softmax)
            y.Append("Softmax attention: loads unchanged with Hugging Face transformers (`AutoModel`, `BertForMaskedLM`, `AutoTokenizer`).\n\n");
        else
            y.Append($"Attention `{preset}` is not softmax: transformers needs this directory's own modeling code " +
                     "(`trust_remote_code=True`); without it the model refuses to load rather than run softmax attention.\n\n");
        if (IsEmbeddingModel(architecture))
            y.Append("Sentence embeddings: mean pooling over real tokens, then L2 normalisation (`modules.json`, as `bertlab embed`).\n\n");
        if (card?.Results is { Count: > 0 } r2)
        {
            y.Append($"## Fine-tuning results ({card.Task})\n\n| metric | value |\n|---|---|\n");
            foreach (var (k, v) in r2) y.Append($"| {k} | {Num(v)} |\n");
            y.Append('\n');
        }
        else if (card?.Validation is { Count: > 0 } v2)
        {
            y.Append($"## Validation{(card.Steps is int st ? $" after {st} steps" : "")}\n\n| metric | value |\n|---|---|\n");
            foreach (var (k, v) in v2) y.Append($"| {k} | {Num(v)} |\n");
            y.Append('\n');
        }
        AtomicFile.WriteText(Path.Combine(dir, CardFile), y.ToString());

        static string Num(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : ".nan";
    }

    /// <summary>The Python files <see cref="WriteRemoteCode"/> writes: transformers modeling code (auto_map in config.json)
    /// and the attention math in PyTorch alone (its registry tables generated from <see cref="AttentionRegistry"/>).</summary>
    public static readonly string[] RemoteCodeFiles = ["bertlab_attention.py", "configuration_bertlab.py", "modeling_bertlab.py"];

    /// <summary>For attention other than softmax: the modeling code config.json's auto_map names (transformers loads it with
    /// trust_remote_code=True; without it, model_type "bertlab-bert" is refused instead of run as softmax).</summary>
    public static void WriteRemoteCode(string dir)
    {
        var assembly = typeof(ModelFiles).Assembly;
        foreach (var name in RemoteCodeFiles)
        {
            using var stream = assembly.GetManifestResourceStream("BertLab.Python." + name)
                ?? throw new InvalidOperationException($"embedded resource BertLab.Python.{name} is missing");
            using var reader = new StreamReader(stream);
            string text = reader.ReadToEnd();
            // bertlab_attention.py: the registry's tables (every entry's Python lowering) in place of the marker line.
            if (text.Contains(PythonLowering.Marker)) text = text.Replace(PythonLowering.Marker, PythonLowering.Tables().TrimEnd('\n'));
            AtomicFile.WriteText(Path.Combine(dir, name), text);
        }
    }

    /// <summary>Writes the card of an already written model directory again, with more to say (fine-tuning results).</summary>
    public static void RewriteCard(string dir, ModelCard card)
    {
        var config = BertCheckpoint.LoadConfig(dir);
        bool? lowerCase = File.Exists(Path.Combine(dir, TokenizerFiles.TokenizerConfigFile)) && File.Exists(Path.Combine(dir, BertCheckpoint.VocabFile))
            ? LowerCase(Vocabulary.Load(Path.Combine(dir, BertCheckpoint.VocabFile)), dir) : null;
        WriteCard(dir, config, config.Architectures?.FirstOrDefault() ?? nameof(BertModel), lowerCase, card);
    }

    /// <summary>A YAML double-quoted scalar (JSON's string syntax is valid YAML).</summary>
    static string Q(string s) => JsonSerializer.Serialize(s, new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
