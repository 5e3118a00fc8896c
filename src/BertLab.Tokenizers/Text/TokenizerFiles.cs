using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BertLab.IO;

namespace BertLab.Text;

/// <summary>
/// Hugging Face's tokenizer files of a BERT model directory: tokenizer.json (the tokenizers library's BertNormalizer,
/// BertPreTokenizer, WordPiece and TemplateProcessing), tokenizer_config.json and special_tokens_map.json, written for a
/// vocabulary and a casing rule; and the tokenizer of a directory read back from vocab.txt or, without one, tokenizer.json.
/// </summary>
public static class TokenizerFiles
{
    public const string TokenizerFile = "tokenizer.json";
    public const string TokenizerConfigFile = TextCasing.TokenizerConfigFile;
    public const string SpecialTokensMapFile = "special_tokens_map.json";
    public const string VocabFile = "vocab.txt";

    /// <summary>The three files <see cref="Write"/> writes.</summary>
    public static readonly string[] Names = [TokenizerFile, TokenizerConfigFile, SpecialTokensMapFile];

    static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes a JSON file atomically, indented, with the relaxed escaping Hugging Face's files use (also the model
    /// directory's other JSON files, <c>ModelFiles</c>).</summary>
    internal static void WriteJson(string path, Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, Indented)) body(w);
        AtomicFile.WriteText(path, Encoding.UTF8.GetString(stream.ToArray()) + "\n");
    }

    /// <summary>
    /// The tokenizer of a model directory: WordPiece over its vocab.txt, cased as <see cref="TextCasing.ForModel"/> says;
    /// without a vocab.txt, the WordPiece vocabulary and BertNormalizer settings of its tokenizer.json. A directory
    /// with neither is an error naming it.
    /// </summary>
    public static WordPieceTokenizer Load(string modelDirectory)
    {
        if (!Directory.Exists(modelDirectory)) throw new BertLabException($"model directory not found: {modelDirectory}");
        var vocabPath = Path.Combine(modelDirectory, VocabFile);
        if (File.Exists(vocabPath))
        {
            var vocab = Vocabulary.Load(vocabPath);
            return TextCasing.ForModel(modelDirectory, vocab).Tokenizer(vocab);
        }
        var json = Path.Combine(modelDirectory, TokenizerFile);
        if (File.Exists(json)) return ReadTokenizerJson(json);
        throw new BertLabException($"{modelDirectory}: no {VocabFile} or {TokenizerFile} (the model's tokenizer)");
    }

    /// <summary>
    /// A tokenizer.json of a BERT tokenizer (model type WordPiece, normalizer BertNormalizer or none): the vocabulary by id,
    /// lowercase and strip_accents of the normalizer, max_input_chars_per_word of the model. Anything else is refused
    /// with a message, rather than tokenized differently from the model's training.
    /// </summary>
    public static WordPieceTokenizer ReadTokenizerJson(string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new BertLabException($"{path}: invalid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
                throw new BertLabException($"{path}: no \"model\" object (not a tokenizers file)");
            string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "";
            if (type != "WordPiece")
                throw new BertLabException($"{path}: model type '{type}' is not WordPiece (BertLab reads BERT tokenizers only)");
            if (model.TryGetProperty("continuing_subword_prefix", out var prefix) && prefix.ValueKind == JsonValueKind.String && prefix.GetString() != "##")
                throw new BertLabException($"{path}: continuing_subword_prefix '{prefix.GetString()}' is not '##'");
            if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
                throw new BertLabException($"{path}: model has no \"vocab\" object");
            var byId = new SortedDictionary<int, string>();
            foreach (var p in vocabJson.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0)
                    throw new BertLabException($"{path}: vocab entry '{p.Name}' has no non-negative integer id");
                if (!byId.TryAdd(id, p.Name)) throw new BertLabException($"{path}: vocab id {id} is given to both '{byId[id]}' and '{p.Name}'");
            }
            if (byId.Count == 0) throw new BertLabException($"{path}: the vocabulary is empty");
            int expected = 0;
            foreach (var id in byId.Keys)
            {
                if (id != expected) throw new BertLabException($"{path}: vocab ids are not 0..{byId.Count - 1} (id {expected} is missing)");
                expected++;
            }
            var vocab = new Vocabulary(byId.Values);

            bool lowerCase = false;
            bool? stripAccents = null;
            if (root.TryGetProperty("normalizer", out var norm) && norm.ValueKind == JsonValueKind.Object)
            {
                string ntype = norm.TryGetProperty("type", out var nt) && nt.ValueKind == JsonValueKind.String ? nt.GetString()! : "";
                if (ntype != "BertNormalizer")
                    throw new BertLabException($"{path}: normalizer '{ntype}' is not BertNormalizer (BertLab reads BERT tokenizers only)");
                lowerCase = !norm.TryGetProperty("lowercase", out var lc) || lc.ValueKind != JsonValueKind.False;
                if (norm.TryGetProperty("strip_accents", out var sa) && sa.ValueKind is JsonValueKind.True or JsonValueKind.False) stripAccents = sa.GetBoolean();
            }
            int maxChars = model.TryGetProperty("max_input_chars_per_word", out var mc) && mc.ValueKind == JsonValueKind.Number && mc.TryGetInt32(out int m)
                ? m : WordPieceTokenizer.DefaultMaxInputCharsPerWord;
            return new WordPieceTokenizer(vocab, lowerCase, stripAccents, maxChars);
        }
    }

    /// <summary>tokenizer.json (Hugging Face tokenizers: BertNormalizer, BertPreTokenizer, WordPiece, TemplateProcessing),
    /// tokenizer_config.json and special_tokens_map.json for <paramref name="vocab"/>.</summary>
    public static void Write(string dir, Vocabulary vocab, bool lowerCase, int maxLength)
    {
        WriteJson(Path.Combine(dir, TokenizerFile), w =>
        {
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var (token, id) in Specials.Select(s => (s, vocab.IdOf(s))).OrderBy(x => x.Item2))
            {
                w.WriteStartObject();
                w.WriteNumber("id", id);
                w.WriteString("content", token);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("normalizer");
            w.WriteString("type", "BertNormalizer");
            w.WriteBoolean("clean_text", true);
            w.WriteBoolean("handle_chinese_chars", true);
            w.WriteNull("strip_accents");   // follows lowercase, as BertLab's BasicTokenizer
            w.WriteBoolean("lowercase", lowerCase);
            w.WriteEndObject();
            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "BertPreTokenizer");
            w.WriteEndObject();
            w.WriteStartObject("post_processor");
            w.WriteString("type", "TemplateProcessing");
            w.WriteStartArray("single");
            Piece(w, "SpecialToken", "[CLS]", 0); Piece(w, "Sequence", "A", 0); Piece(w, "SpecialToken", "[SEP]", 0);
            w.WriteEndArray();
            w.WriteStartArray("pair");
            Piece(w, "SpecialToken", "[CLS]", 0); Piece(w, "Sequence", "A", 0); Piece(w, "SpecialToken", "[SEP]", 0);
            Piece(w, "Sequence", "B", 1); Piece(w, "SpecialToken", "[SEP]", 1);
            w.WriteEndArray();
            w.WriteStartObject("special_tokens");
            foreach (var (token, id) in new[] { ("[CLS]", vocab.ClsId), ("[SEP]", vocab.SepId) })
            {
                w.WriteStartObject(token);
                w.WriteString("id", token);
                w.WriteStartArray("ids"); w.WriteNumberValue(id); w.WriteEndArray();
                w.WriteStartArray("tokens"); w.WriteStringValue(token); w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("decoder");
            w.WriteString("type", "WordPiece");
            w.WriteString("prefix", "##");
            w.WriteBoolean("cleanup", true);
            w.WriteEndObject();
            w.WriteStartObject("model");
            w.WriteString("type", "WordPiece");
            w.WriteString("unk_token", "[UNK]");
            w.WriteString("continuing_subword_prefix", "##");
            w.WriteNumber("max_input_chars_per_word", WordPieceTokenizer.DefaultMaxInputCharsPerWord);
            w.WriteStartObject("vocab");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int id = 0; id < vocab.Count; id++)
                if (seen.Add(vocab[id])) w.WriteNumber(vocab[id], id);   // a repeated line keeps its first id, as Vocabulary does
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });

        WriteJson(Path.Combine(dir, TokenizerConfigFile), w =>
        {
            w.WriteStartObject();
            w.WriteString("tokenizer_class", "BertTokenizer");
            w.WriteBoolean("do_lower_case", lowerCase);
            w.WriteNull("strip_accents");
            w.WriteBoolean("do_basic_tokenize", true);
            w.WriteBoolean("tokenize_chinese_chars", true);
            w.WriteNumber("model_max_length", maxLength);
            w.WriteBoolean("clean_up_tokenization_spaces", true);
            SpecialTokens(w);
            w.WriteStartObject("added_tokens_decoder");
            foreach (var (token, id) in Specials.Select(s => (s, vocab.IdOf(s))).OrderBy(x => x.Item2))
            {
                w.WriteStartObject(id.ToString(CultureInfo.InvariantCulture));
                w.WriteString("content", token);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        });

        WriteJson(Path.Combine(dir, SpecialTokensMapFile), w => { w.WriteStartObject(); SpecialTokens(w); w.WriteEndObject(); });
    }

    static void SpecialTokens(Utf8JsonWriter w)
    {
        w.WriteString("unk_token", "[UNK]");
        w.WriteString("sep_token", "[SEP]");
        w.WriteString("pad_token", "[PAD]");
        w.WriteString("cls_token", "[CLS]");
        w.WriteString("mask_token", "[MASK]");
    }

    static void Piece(Utf8JsonWriter w, string kind, string id, int typeId)
    {
        w.WriteStartObject();
        w.WriteStartObject(kind);
        w.WriteString("id", id);
        w.WriteNumber("type_id", typeId);
        w.WriteEndObject();
        w.WriteEndObject();
    }
}
