using System.CommandLine;
using System.Text.Json;
using BertLab.Model;
using BertLab.Runtime;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab embed: mean-pooled, L2-normalised sentence embeddings.</summary>
public sealed class EmbedVerb : IVerb
{
    public int Order => 60;

    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model directory (BertLab or Hugging Face BERT)", Required = true };
        var input = new Option<string>("--input") { Description = "JSON array of strings", Required = true };
        var output = new Option<string>("--output") { Description = "JSON array of embedding arrays (one per input string)", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Sentences per forward pass", DefaultValueFactory = _ => 32 };
        var maxLength = new Option<int>("--max-length") { Description = "Truncate texts to this many tokens", DefaultValueFactory = _ => 256 };
        var device = new Option<string>("--device") { Description = "cpu or cuda", DefaultValueFactory = _ => "cpu" };
        var cmd = new Command("embed", "Sentence embeddings: mean over real tokens of the last hidden states, L2-normalised");
        foreach (var o in new Option[] { model, input, output, batch, maxLength, device }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            TorchRuntime.Initialize();
            var texts = TextArrayFile.Read(r.GetValue(input)!);
            using var embedder = new SentenceEmbedder(r.GetValue(model)!, TorchRuntime.Device(r.GetValue(device)!));
            var vectors = embedder.Embed(texts, r.GetValue(batch), r.GetValue(maxLength));
            TextArrayFile.WriteAtomically(r.GetValue(output)!, JsonSerializer.Serialize(vectors));
            AnsiConsole.MarkupLine($"embedded {texts.Count} texts ({embedder.Dimension} dimensions) → {Markup.Escape(r.GetValue(output)!)}");
            return 0;
        });
        return cmd;
    }
}

/// <summary>Reads the CLI's JSON-array-of-strings input files with clear errors.</summary>
public static class TextArrayFile
{
    public static List<string> Read(string path)
    {
        if (!File.Exists(path)) throw new BertLabException($"input file not found: {path}");
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
        catch (JsonException e) { throw new BertLabException($"{path}: invalid JSON: {e.Message}"); }
        if (root.ValueKind != JsonValueKind.Array) throw new BertLabException($"{path}: expected a JSON array of strings");
        var list = new List<string>();
        int i = 0;
        foreach (var e in root.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw new BertLabException($"{path}: element {i} is {e.ValueKind}, expected a string");
            list.Add(e.GetString()!);
            i++;
        }
        return list;
    }

    public static void WriteAtomically(string path, string text)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        BertCheckpoint.WriteAtomically(path, text);
    }
}
