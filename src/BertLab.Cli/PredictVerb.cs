using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Data.Tasks;
using BertLab.Model;
using BertLab.Runtime;
using BertLab.Text;
using BertLab.Training;
using Spectre.Console;
using BertLab.IO;

namespace BertLab.Cli;

/// <summary>bertlab predict: run a fine-tuned classifier (or regressor) over a file of texts.</summary>
public sealed class PredictVerb : IVerb
{
    public int Order => 40;

    public Command Build()
    {
        var model = new Option<string>("--model") { Description = "Fine-tuned model folder (the --out of bertlab finetune, or a Hugging Face BertForSequenceClassification)", Required = true };
        var input = new Option<string>("--input") { Description = "Texts to classify: .tsv (header row, no quoting), .csv or .jsonl, optionally .gz. Output line i answers row i: a blank line is a row with empty text (predicted as such), except blank lines at the end", Required = true };
        var output = new Option<string>("--output") { Description = "Predictions, one JSON object per input row: label, label_id, probabilities (or score for regression)", Required = true };
        var textColumn = Verb.Opt<string?>("--text-column", "Column with the text (default: the first of the pairs " +
            string.Join(", ", UserTasks.PairColumnGuesses.Select(p => $"{p.Text}+{p.Pair}")) + $" present, else of {string.Join(", ", UserTasks.TextColumnGuesses)})");
        var pairColumn = Verb.Opt<string?>("--pair-column", "Column with the second text of a pair (default: the guessed pair column, if any)");
        var maxLength = Verb.Opt<int?>("--max-length", "Tokens per example (default: the fine-tuning run's, else 128)");
        var batch = Verb.Opt("--batch-size", "Examples per forward pass", () => 64);
        var device = Verb.Opt("--device", "cpu or cuda", () => "cpu");
        var threads = Verb.Opt("--threads", "CPU threads for libtorch (0 = libtorch's default)", () => 0);

        var cmd = new Command("predict", "Predict labels (with probabilities) or scores for a file of texts with a fine-tuned model");
        foreach (var o in new Option[] { model, input, output, textColumn, pairColumn, maxLength, batch, device, threads }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            TorchRuntime.Initialize(r.GetValue(threads));
            var dev = TorchRuntime.Device(r.GetValue(device)!);
            var modelDir = r.GetValue(model)!;
            var inputPath = r.GetValue(input)!;
            var outputPath = r.GetValue(output)!;
            int batchSize = r.GetValue(batch);
            if (batchSize < 1) throw new BertLabException($"--batch-size must be at least 1, got {batchSize}");

            var (classifier, report) = BertCheckpoint.LoadSequenceClassification(modelDir, device: dev);
            using var _ = classifier;
            if (report.NewlyInitialized.Any(n => n.StartsWith("classifier.")))
                throw new BertLabException($"{modelDir}: no classifier in this checkpoint (it is not fine-tuned); run bertlab finetune first");
            var config = classifier.Config;
            int length = r.GetValue(maxLength) ?? RunMaxLength(modelDir) ?? Math.Min(128, config.MaxPositionEmbeddings);
            if (length < 2)
                throw new BertLabException($"--max-length must be at least 2 ([CLS] and [SEP]; 3 for text pairs), not {length}");
            if (length > config.MaxPositionEmbeddings)
                throw new BertLabException($"--max-length {length} exceeds the model's max_position_embeddings ({config.MaxPositionEmbeddings})");

            var format = TaskFileFormats.FromPath(inputPath);
            var columns = TaskFileReader.Columns(inputPath, format);
            var guess = UserTasks.GuessTextColumns(columns);
            var text = r.GetValue(textColumn) ?? guess?.Text
                ?? throw new BertLabException($"{inputPath}: no text column among {string.Join(", ", columns.Select(c => $"'{c}'"))}; name it with --text-column");
            var pair = r.GetValue(pairColumn) ?? (r.GetValue(textColumn) is null ? guess?.Pair : null);
            if (pair is not null && length < 3)
                throw new BertLabException($"--max-length must be at least 3 for text pairs ([CLS] text [SEP] pair [SEP]), not {length}");
            // one prediction per row, in order: a blank line is a row with empty text (predicted as such), never dropped
            var raw = TaskFileReader.Read(inputPath, format, text, pair, labelColumn: null, keepBlankRows: true);
            var examples = raw.Examples.Select(e => new TaskExample(e.Text, e.Pair, null, null) { Source = e.Source }).ToList();
            if (examples.Count == 0) throw new BertLabException($"{inputPath}: no rows to predict");

            var encoded = new EncodedExamples(examples, ModelTokenizer.For(modelDir), length, config.VocabSize);
            var predictions = SequenceClassifierPredictor.Predict(classifier, encoded, dev, batchSize);
            Write(outputPath, predictions, config);

            AnsiConsole.MarkupLine($"{examples.Count} prediction(s) from {Markup.Escape(inputPath)} (text '{Markup.Escape(text)}'{(pair is null ? "" : $", pair '{Markup.Escape(pair)}'")}) → {Markup.Escape(outputPath)}");
            if (predictions.Classes is not null)
                foreach (var g in predictions.Classes.GroupBy(c => c).OrderBy(g => g.Key))
                    AnsiConsole.MarkupLine($"  {Markup.Escape(config.Id2Label[g.Key])}: {g.Count()}");
            return 0;
        });
        return cmd;
    }

    static void Write(string path, SequencePredictions p, BertConfig config)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        AtomicFile.Write(path, tmp => WriteLines(tmp, p, config));
    }

    static void WriteLines(string path, SequencePredictions p, BertConfig config)
    {
        using var w = new StreamWriter(path);
        int n = p.Classes?.Length ?? p.Scores!.Length;
        for (int i = 0; i < n; i++)
        {
            var o = new JsonObject { ["index"] = i };
            if (p.Scores is not null) o["score"] = p.Scores[i];
            else
            {
                int c = p.Classes![i];
                o["label"] = config.Id2Label[c];
                o["label_id"] = c;
                var probs = new JsonObject();
                for (int k = 0; k < p.Probabilities![i].Length; k++) probs[config.Id2Label[k]] = Math.Round(p.Probabilities[i][k], 6);
                o["probabilities"] = probs;
            }
            w.WriteLine(o.ToJsonString());
        }
    }

    /// <summary>The max_length the model was fine-tuned with, from the results.json bertlab finetune writes beside it.</summary>
    static int? RunMaxLength(string modelDir)
    {
        var path = Path.Combine(modelDir, FineTuneResult.FileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.TryGetProperty("settings", out var s) && s.TryGetProperty("max_length", out var m) && m.TryGetInt32(out var v) ? v : null;
        }
        catch (JsonException) { return null; }
    }
}
