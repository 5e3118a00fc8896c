using System.CommandLine;
using BertLab.Model;
using BertLab.Runtime;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab info &lt;model-dir&gt;: what a checkpoint holds.</summary>
public sealed class InfoVerb : IVerb
{
    public int Order => 90;

    public Command Build()
    {
        var dir = new Argument<string>("model-dir") { Description = "A BertLab or Hugging Face BERT directory (config.json + model.safetensors)" };
        var cmd = new Command("info", "Show a model's configuration, parameter count and attention mechanism");
        cmd.Arguments.Add(dir);
        cmd.SetAction(r =>
        {
            TorchRuntime.Initialize();
            var path = r.GetValue(dir)!;
            var config = BertCheckpoint.LoadConfig(path);
            var header = SafetensorsFile.ReadHeader(Path.Combine(path, BertCheckpoint.WeightsFile));
            long parameters = header.Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b));
            var dtypes = string.Join(", ", header.Select(e => e.DType).Distinct());
            var table = new Table().AddColumn("field").AddColumn("value").Border(TableBorder.Rounded);
            void Row(string k, string v) => table.AddRow(Markup.Escape(k), Markup.Escape(v));
            Row("directory", Path.GetFullPath(path));
            Row("architectures", config.Architectures is null ? "-" : string.Join(", ", config.Architectures));
            Row("layers × hidden", $"{config.NumHiddenLayers} × {config.HiddenSize}");
            Row("heads (head dim)", $"{config.NumAttentionHeads} ({config.HeadDim})");
            Row("intermediate", config.IntermediateSize.ToString());
            Row("vocabulary", config.VocabSize.ToString("N0"));
            Row("max positions", config.MaxPositionEmbeddings.ToString());
            Row("activation", config.HiddenAct);
            Row("attention", config.Attention.Describe());
            Row("labels", config.NumLabels + (config.ProblemType is null ? "" : $" ({config.ProblemType})"));
            Row("parameters", $"{parameters:N0} in {header.Count} tensors ({dtypes})");
            Row("vocab.txt", File.Exists(Path.Combine(path, BertCheckpoint.VocabFile)) ? "present" : "absent (bert-base-uncased is used)");
            AnsiConsole.Write(table);
            return 0;
        });
        return cmd;
    }
}
