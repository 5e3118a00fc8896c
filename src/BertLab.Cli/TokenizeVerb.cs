using System.CommandLine;
using System.Text.Json;
using BertLab.Text;
using BertLab.IO;

namespace BertLab.Cli;

/// <summary><c>bertlab tokenize --input texts.json --output ids.json [--vocab vocab.txt] [--max-length N]</c></summary>
public sealed class TokenizeVerb : IVerb
{
    public int Order => 20;

    public Command Build()
    {
        var cmd = new Command("tokenize",
            "Turn texts into BERT input ids ([CLS] text [SEP]) with the WordPiece tokenizer, as Hugging Face's uncased BertTokenizer does. " +
            "Input: a JSON array of strings. Output: a JSON array with one array of ids per text.");
        var input = new Option<string>("--input") { Description = "JSON file holding an array of strings (UTF-8; invalid UTF-8 is an error naming the byte)", Required = true };
        var output = new Option<string>("--output") { Description = "JSON file to write: an array of id arrays, in input order", Required = true };
        var vocab = new Option<string?>("--vocab") { Description = "vocab.txt (one token per line, id = line number); default: the embedded bert-base-uncased vocabulary" };
        var maxLength = new Option<int>("--max-length") { Description = "keep at most N ids per text, [CLS] and [SEP] included (0 = no limit; no padding)" };
        cmd.Options.Add(input);
        cmd.Options.Add(output);
        cmd.Options.Add(vocab);
        cmd.Options.Add(maxLength);
        cmd.SetAction(r =>
        {
            var (texts, ids) = Run(r.GetValue(input)!, r.GetValue(output)!, r.GetValue(vocab), r.GetValue(maxLength));
            Console.WriteLine($"{texts} texts → {ids} ids → {r.GetValue(output)}");
            return 0;
        });
        return cmd;
    }

    /// <summary>Tokenizes the texts of <paramref name="inputPath"/> into <paramref name="outputPath"/>; returns (texts, ids written).</summary>
    public static (int Texts, long Ids) Run(string inputPath, string outputPath, string? vocabPath = null, int maxLength = 0)
    {
        if (maxLength != 0 && maxLength < 2) throw new BertLabException($"--max-length must be 0 (no limit) or at least 2 (room for [CLS] and [SEP]), not {maxLength}");
        var texts = ReadTexts(inputPath);
        var tokenizer = new WordPieceTokenizer(Vocabulary.Load(vocabPath));
        var ids = new int[texts.Length][];
        Parallel.For(0, texts.Length, i => ids[i] = tokenizer.Encode(texts[i], maxLength: maxLength).InputIds);
        WriteIds(outputPath, ids);
        return (texts.Length, ids.Sum(x => (long)x.Length));
    }

    /// <summary>Reads a JSON array of strings; anything else is a <see cref="BertLabException"/> naming the file and the element.</summary>
    public static string[] ReadTexts(string path)
    {
        if (!File.Exists(path)) throw new BertLabException($"input file not found: {path}");
        var bytes = File.ReadAllBytes(path);
        if (InvalidUtf8At(bytes) is long at)
            throw new BertLabException($"{path}: invalid UTF-8 at byte {at} (offset from the start of the file); save the file as UTF-8");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(bytes); }
        catch (JsonException e) { throw new BertLabException($"{path} is not valid JSON ({e.Message}); expected an array of strings", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new BertLabException($"{path}: expected a JSON array of strings, found {Kind(doc.RootElement.ValueKind)}");
            var texts = new string[doc.RootElement.GetArrayLength()];
            int i = 0;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.String)
                    throw new BertLabException($"{path}: expected a JSON array of strings, but element {i} is {Kind(e.ValueKind)}");
                texts[i++] = e.GetString()!;
            }
            return texts;
        }
    }

    /// <summary>The offset of the first byte that is not valid UTF-8, or null when all of it is.</summary>
    public static long? InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[1024];
        long offset = 0;
        while (!bytes.IsEmpty)
        {
            var status = System.Text.Unicode.Utf8.ToUtf16(bytes, chars, out int read, out _, replaceInvalidSequences: false);
            if (status == System.Buffers.OperationStatus.InvalidData || status == System.Buffers.OperationStatus.NeedMoreData) return offset + read;
            offset += read;
            bytes = bytes[read..];
        }
        return null;
    }

    static string Kind(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object", JsonValueKind.Array => "an array", JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean", JsonValueKind.Null => "null", _ => k.ToString(),
    };

    static void WriteIds(string path, int[][] ids)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        AtomicFile.Write(path, tmp =>
        {
            using var stream = File.Create(tmp);
            using var writer = new Utf8JsonWriter(stream);
            writer.WriteStartArray();
            foreach (var row in ids)
            {
                writer.WriteStartArray();
                foreach (var id in row) writer.WriteNumberValue(id);
                writer.WriteEndArray();
            }
            writer.WriteEndArray();
        });
    }
}
