using System.CommandLine;
using System.Globalization;
using BertLab.Model.Onnx;
using BertLab.Runtime;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary><c>bertlab export onnx MODEL_DIR [--out DIR]</c>: a model for serving without libtorch (ONNX Runtime, transformers.js).</summary>
public sealed class ExportVerb : IVerb
{
    public int Order => 81;

    public Command Build()
    {
        var export = new Command("export", "Export a model for serving outside BertLab.");
        var onnx = new Command("onnx",
            "Write onnx/model.onnx: standard ONNX operators (opset 17), inputs input_ids, attention_mask, token_type_ids (int64, " +
            "dynamic batch and sequence), output last_hidden_state (and logits for a masked-LM model), with the model's own attention " +
            "mechanism and its padding rules. config.json and the tokenizer files go next to it, so the folder loads in transformers.js.");
        var model = new Argument<string>("model-dir") { Description = "Model directory (config.json + model.safetensors), e.g. a run's model/ folder" };
        var output = new Option<string?>("--out") { Description = "Directory to export into (default: MODEL_DIR itself); gets onnx/model.onnx, config.json, vocab and tokenizer files" };
        onnx.Arguments.Add(model);
        onnx.Options.Add(output);
        onnx.SetAction(r =>
        {
            TorchRuntime.Initialize();
            var report = OnnxExporter.Export(r.GetValue(model)!, r.GetValue(output));
            var table = new Table().NoBorder().HideHeaders().AddColumn("").AddColumn("");
            table.AddRow("written", Markup.Escape($"{report.ModelPath} ({report.Bytes / 1e6:F1} MB, opset {report.Opset})"));
            table.AddRow("attention", Markup.Escape($"{report.Attention}: {report.AttentionForm} form"));
            table.AddRow("outputs", Markup.Escape(string.Join(", ", report.Outputs)));
            table.AddRow("operators", Markup.Escape(string.Join(" ", report.OperatorTypes)));
            table.AddRow("files", Markup.Escape(string.Join(", ", report.FilesWritten)));
            AnsiConsole.Write(table);
            return 0;
        });
        export.Subcommands.Add(onnx);
        return export;
    }
}
