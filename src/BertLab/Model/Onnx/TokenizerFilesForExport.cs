using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Text;

namespace BertLab.Model.Onnx;

/// <summary>
/// The Hugging Face tokenizer files an ONNX client (transformers.js) needs beside the graph — tokenizer.json
/// (BertNormalizer / BertPreTokenizer / WordPiece / TemplateProcessing), tokenizer_config.json and
/// special_tokens_map.json — written only where the model directory does not already carry them. A minimal
/// stand-in, kept in this one class so that a model-directory writer that produces them for every model can replace it.
/// Casing comes from the directory's tokenizer (ModelTokenizer: do_lower_case, default lower-casing).
/// </summary>
public static class TokenizerFilesForExport
{
    /// <summary>Writes the missing files into <paramref name="dir"/> (which holds vocab.txt or gets the default vocabulary); returns their names.</summary>
    public static List<string> WriteIfMissing(string dir, BertConfig config)
    {
        var written = new List<string>();
        var tokenizer = ModelTokenizer.For(dir);
        var vocab = tokenizer.Vocabulary;
        bool lower = tokenizer.Basic.LowerCase;
        string pad = vocab[vocab.PadId], unk = vocab[vocab.UnkId], cls = vocab[vocab.ClsId], sep = vocab[vocab.SepId], mask = vocab[vocab.MaskId];
        var options = new JsonSerializerOptions { WriteIndented = true };

        void Write(string name, JsonNode node)
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path)) return;
            File.WriteAllText(path, node.ToJsonString(options) + "\n");
            written.Add(name);
        }

        if (!File.Exists(Path.Combine(dir, "tokenizer.json")))
        {
            var added = new JsonArray();
            foreach (var id in new[] { vocab.PadId, vocab.UnkId, vocab.ClsId, vocab.SepId, vocab.MaskId }.Distinct().Order())
                added.Add(new JsonObject
                {
                    ["id"] = id, ["content"] = vocab[id], ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false,
                    ["normalized"] = false, ["special"] = true,
                });
            JsonObject Special(string t) => new() { ["SpecialToken"] = new JsonObject { ["id"] = t, ["type_id"] = 0 } };
            JsonObject SpecialT(string t, int type) => new() { ["SpecialToken"] = new JsonObject { ["id"] = t, ["type_id"] = type } };
            JsonObject Seq(string s, int type) => new() { ["Sequence"] = new JsonObject { ["id"] = s, ["type_id"] = type } };
            var vocabObject = new JsonObject();
            for (int i = 0; i < vocab.Count; i++) vocabObject.TryAdd(vocab[i], i);
            var tok = new JsonObject
            {
                ["version"] = "1.0",
                ["truncation"] = null,
                ["padding"] = null,
                ["added_tokens"] = added,
                ["normalizer"] = new JsonObject
                {
                    ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true,
                    ["strip_accents"] = lower == tokenizer.Basic.StripAccents ? null : tokenizer.Basic.StripAccents, ["lowercase"] = lower,
                },
                ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
                ["post_processor"] = new JsonObject
                {
                    ["type"] = "TemplateProcessing",
                    ["single"] = new JsonArray(Special(cls), Seq("A", 0), Special(sep)),
                    ["pair"] = new JsonArray(Special(cls), Seq("A", 0), Special(sep), Seq("B", 1), SpecialT(sep, 1)),
                    ["special_tokens"] = new JsonObject
                    {
                        [cls] = new JsonObject { ["id"] = cls, ["ids"] = new JsonArray(vocab.ClsId), ["tokens"] = new JsonArray(cls) },
                        [sep] = new JsonObject { ["id"] = sep, ["ids"] = new JsonArray(vocab.SepId), ["tokens"] = new JsonArray(sep) },
                    },
                },
                ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
                ["model"] = new JsonObject
                {
                    ["type"] = "WordPiece", ["unk_token"] = unk, ["continuing_subword_prefix"] = "##",
                    ["max_input_chars_per_word"] = tokenizer.MaxInputCharsPerWord, ["vocab"] = vocabObject,
                },
            };
            Write("tokenizer.json", tok);
        }
        Write("tokenizer_config.json", new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = lower,
            ["strip_accents"] = lower == tokenizer.Basic.StripAccents ? null : tokenizer.Basic.StripAccents,
            ["tokenize_chinese_chars"] = true,
            ["model_max_length"] = config.MaxPositionEmbeddings,
            ["clean_up_tokenization_spaces"] = true,
            ["pad_token"] = pad, ["unk_token"] = unk, ["cls_token"] = cls, ["sep_token"] = sep, ["mask_token"] = mask,
        });
        Write("special_tokens_map.json", new JsonObject
        {
            ["pad_token"] = pad, ["unk_token"] = unk, ["cls_token"] = cls, ["sep_token"] = sep, ["mask_token"] = mask,
        });
        return written;
    }
}
