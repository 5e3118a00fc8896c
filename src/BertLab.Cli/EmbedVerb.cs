using System.CommandLine;
using System.Text.Json;
using BertLab.Model;
using BertLab.Onnx;
using BertLab.Runtime;
using Spectre.Console;
using BertLab.IO;

namespace BertLab.Cli;

/// <summary>bertlab embed: mean-pooled, L2-normalised sentence embeddings.</summary>
public sealed class EmbedVerb : IVerb
{
    public int Order => 60;

    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Model directory (BertLab or Hugging Face BERT)", Required = true };
        var input = new Option<string>("--input") { Description = "JSON array of strings (UTF-8, read as bertlab tokenize reads it)", Required = true };
        var output = new Option<string>("--output") { Description = "JSON array of embedding arrays (one per input string)", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Sentences per forward pass", DefaultValueFactory = _ => 32 };
        var maxLength = new Option<int>("--max-length") { Description = "Truncate texts to this many tokens", DefaultValueFactory = _ => 256 };
        var device = new Option<string>("--device") { Description = "cpu or cuda (torch runtime)", DefaultValueFactory = _ => "cpu" };
        var runtime = new Option<string>("--runtime")
        {
            Description = "torch (the model's weights on libtorch) or onnx (its exported graph, MODEL/onnx/model.onnx, on ONNX Runtime)",
            DefaultValueFactory = _ => "torch",
        };
        var cmd = new Command("embed", "Sentence embeddings: mean over real tokens of the last hidden states, L2-normalised");
        foreach (var o in new Option[] { model, input, output, batch, maxLength, device, runtime }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            int batchSize = r.GetValue(batch), length = r.GetValue(maxLength);
            if (batchSize < 1) throw new BertLabException($"--batch-size must be at least 1, not {batchSize}");
            if (length < 2) throw new BertLabException($"--max-length must be at least 2 ([CLS] and [SEP]), not {length}");
            string kind = r.GetValue(runtime)!, modelDir = r.GetValue(model)!;
            if (kind is not ("torch" or "onnx")) throw new BertLabException($"--runtime must be torch or onnx, not '{kind}'");
            if (kind == "onnx" && r.GetValue(device) != "cpu") throw new BertLabException($"--device {r.GetValue(device)}: the onnx runtime runs on cpu only here");
            var texts = TextArrayFile.Read(r.GetValue(input)!);
            float[][] vectors;
            int dimension;
            if (kind == "onnx")
            {
                if (!File.Exists(Path.Combine(modelDir, BertOnnxModel.ModelFile)) && !File.Exists(Path.Combine(modelDir, BertOnnxModel.OnnxFolder, BertOnnxModel.ModelFile)) && Directory.Exists(modelDir))
                    throw new BertLabException($"{modelDir}: no {BertOnnxModel.OnnxFolder}/{BertOnnxModel.ModelFile} for --runtime onnx; write it with `bertlab export onnx {modelDir}`");
                using var onnx = BertOnnxModel.Load(modelDir, new OnnxModelOptions { BatchSize = batchSize, MaxLength = length });
                vectors = onnx.Embed(texts);
                dimension = onnx.HiddenSize;
            }
            else
            {
                TorchRuntime.Initialize();
                using var embedder = new SentenceEmbedder(modelDir, TorchRuntime.Device(r.GetValue(device)!));
                vectors = embedder.Embed(texts, batchSize, length);
                dimension = embedder.Dimension;
            }
            TextArrayFile.WriteAtomically(r.GetValue(output)!, JsonSerializer.Serialize(vectors));
            AnsiConsole.MarkupLine($"embedded {texts.Count} texts ({dimension} dimensions, {kind}) → {Markup.Escape(r.GetValue(output)!)}");
            return 0;
        });
        return cmd;
    }
}

/// <summary>Reads the CLI's JSON-array-of-strings input files with clear errors.</summary>
public static class TextArrayFile
{
    /// <summary>The strings of a JSON array file, read as <c>bertlab tokenize</c> reads them (invalid UTF-8 is an error naming the byte).</summary>
    public static List<string> Read(string path) => TokenizeVerb.ReadTexts(path).ToList();

    public static void WriteAtomically(string path, string text)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        AtomicFile.WriteText(path, text);
    }
}
