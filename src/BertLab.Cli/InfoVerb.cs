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
            CheckShapes(config, header, path);
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

    /// <summary>
    /// The shapes config.json implies for the embeddings and each layer's query and feed-forward weights, and the number of
    /// layers, against the weights file: a config that does not describe these weights is an error (the model would not load).
    /// </summary>
    public static void CheckShapes(BertConfig config, IReadOnlyList<SafetensorsFile.Entry> header, string dir)
    {
        var byName = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var e in header) byName[e.Name.StartsWith("bert.", StringComparison.Ordinal) ? e.Name["bert.".Length..] : e.Name] = e.Shape;
        var problems = new List<string>();
        void Expect(string name, params long[] shape)
        {
            if (byName.TryGetValue(name, out var actual) && !actual.SequenceEqual(shape))
                problems.Add($"'{name}' has shape [{string.Join(", ", actual)}] but config.json implies [{string.Join(", ", shape)}]");
        }
        int h = config.HiddenSize;
        Expect("embeddings.word_embeddings.weight", config.VocabSize, h);
        Expect("embeddings.position_embeddings.weight", config.MaxPositionEmbeddings, h);
        Expect("embeddings.token_type_embeddings.weight", config.TypeVocabSize, h);
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            Expect($"encoder.layer.{i}.attention.self.query.weight", h, h);
            Expect($"encoder.layer.{i}.intermediate.dense.weight", config.IntermediateSize, h);
        }
        var layers = byName.Keys.Select(k => System.Text.RegularExpressions.Regex.Match(k, @"^encoder\.layer\.(\d+)\."))
            .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) + 1).DefaultIfEmpty(0).Max();
        if (layers != 0 && layers != config.NumHiddenLayers)
            problems.Add($"the weights hold {layers} layer(s) but config.json says num_hidden_layers {config.NumHiddenLayers}");
        if (problems.Count > 0)
            throw new BertLabException($"{dir}: config.json does not match the weights in {BertCheckpoint.WeightsFile} (shape mismatch): " +
                                       string.Join("; ", problems.Take(4)) + (problems.Count > 4 ? $"; … ({problems.Count - 4} more)" : ""));
    }
}
