using System.CommandLine;
using BertLab.Data.Tasks;
using BertLab.Runtime;
using BertLab.Text;
using BertLab.Training;
using BertLab.Training.Metrics;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab finetune: fine-tune a model on a task (GLUE, embedded, or user data) over several seeds.</summary>
public sealed class FinetuneVerb : IVerb
{
    public int Order => 30;

    public Command Build()
    {
        var task = Verb.Opt("--task", $"Task: a name ({TaskRegistry.KnownNames}), glue (all nine GLUE tasks found in --data, and the GLUE average), a folder (GLUE task folder, or train.* + dev.* with text/label columns, or task.json), or a task JSON file", () => "sentiment");
        var data = Verb.Opt<string?>("--data", "Folder with the task's files, for GLUE tasks (glue_data/ or glue_data/MRPC); default: $GLUE_DIR, or the embedded copy");
        var from = new Option<string>("--from") { Description = "Model folder to start from (config.json + model.safetensors [+ vocab.txt]): a BertLab or Hugging Face BERT", Required = true };
        var output = Verb.Opt<string?>("--out", "Output folder: results.json and the best fine-tuned model (default: runs/finetune-<task>)");
        // the defaults are FineTuneOptions' (BERT's GLUE recipe), declared there once
        var d = new FineTuneOptions();
        var epochs = Verb.Opt("--epochs", "Training epochs; dev is evaluated after each, the best epoch counts", () => d.Epochs);
        var lr = Verb.Opt("--lr", $"Peak learning rate (AdamW, linear warm-up over {Math.Round(d.WarmupRatio * 100, 2)}% of the steps, then linear decay)", () => d.LearningRate);
        var batch = Verb.Opt("--batch-size", "Training batch size", () => d.BatchSize);
        var maxLength = Verb.Opt("--max-length", "Tokens per example including [CLS]/[SEP]; longer texts are truncated", () => d.MaxLength);
        var seeds = Verb.Opt("--seeds", "Number of seeds (1..N); metrics are the median over seeds, with their spread", () => d.Seeds.Count);
        var device = Verb.Opt("--device", "cpu or cuda", () => "cpu");
        var threads = Verb.Opt("--threads", "CPU threads for libtorch (0 = libtorch's default)", () => 0);
        var weightDecay = Verb.Opt("--weight-decay", "Decoupled weight decay (not on biases and LayerNorm)", () => d.WeightDecay);
        var warmup = Verb.Opt("--warmup-ratio", "Fraction of the steps spent warming the learning rate up", () => d.WarmupRatio);
        var maxTrain = Verb.Opt("--max-train-examples", "Use only the first N training examples (0 = all), for quick runs", () => d.MaxTrainExamples);
        var noSave = Verb.Opt("--no-save", "Do not write the fine-tuned model (results.json only)", () => !d.SaveModel);

        var cmd = new Command("finetune", "Fine-tune a BERT model on a classification or regression task and report the task's official metrics (median over seeds)");
        foreach (var o in new Option[] { task, data, from, output, epochs, lr, batch, maxLength, seeds, device, threads, weightDecay, warmup, maxTrain, noSave })
            cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            TorchRuntime.Initialize(r.GetValue(threads));
            var dev = TorchRuntime.Device(r.GetValue(device)!);
            int seedCount = r.GetValue(seeds);
            var options = new FineTuneOptions
            {
                Epochs = r.GetValue(epochs), LearningRate = r.GetValue(lr), BatchSize = r.GetValue(batch),
                MaxLength = r.GetValue(maxLength), Seeds = FineTuneOptions.SeedRange(seedCount),
                WeightDecay = r.GetValue(weightDecay), WarmupRatio = r.GetValue(warmup),
                MaxTrainExamples = r.GetValue(maxTrain), SaveModel = !r.GetValue(noSave),
            };
            options.Validate();
            var modelDir = r.GetValue(from)!;
            if (string.Equals(r.GetValue(task), "glue", StringComparison.OrdinalIgnoreCase))
            {
                var glueOut = r.GetValue(output) ?? Path.Combine("runs", "finetune-glue");
                FileFailure.CreateDirectory(glueOut);   // a read-only or file-blocked --out fails now, not after training
                return RunGlue(r.GetValue(data), modelDir, options, dev, glueOut, seedCount);
            }
            var resolved = TaskRegistry.Resolve(r.GetValue(task)!, r.GetValue(data));
            var outDir = r.GetValue(output) ?? Path.Combine("runs", $"finetune-{resolved.Spec.Name}");
            FileFailure.CreateDirectory(outDir);   // a read-only or file-blocked --out fails now, not after training

            AnsiConsole.MarkupLine($"[bold]task[/] {Markup.Escape(resolved.Spec.Name)}: {Markup.Escape(resolved.Spec.Description)} [grey]({Markup.Escape(resolved.Directory)})[/]");
            var dataset = resolved.Load();
            if (dataset.SkippedRows > 0) AnsiConsole.MarkupLine($"[yellow]skipped {dataset.SkippedRows} malformed row(s)[/]");
            var tokenizer = ModelTokenizer.For(modelDir);
            AnsiConsole.MarkupLine($"[bold]model[/] {Markup.Escape(Path.GetFullPath(modelDir))} on {Markup.Escape(dev.ToString())}, {Markup.Escape(TorchRuntime.Describe())}");

            using var tensorBoard = new TensorBoardWriter(Path.Combine(outDir, TensorBoardWriter.Folder));
            // Ctrl-C / SIGTERM: stop after the step, keep what is saved, exit 130 / 143 (a second signal: at once)
            StopSignal.Install(line => AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(line)}[/]"));
            var tuner = new FineTuner(modelDir, tokenizer, options, dev, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"))
                { TensorBoard = tensorBoard, StopRequested = () => StopSignal.Name };
            FineTuneResult result;
            try { result = tuner.Run(dataset, outDir); }
            catch (TrainingStoppedException stopped)
            {
                Verb.Error(stopped.Message);
                return StopSignal.ExitCode;
            }
            Print(result, seedCount);
            AnsiConsole.MarkupLine($"results: {Markup.Escape(Path.Combine(outDir, FineTuneResult.FileName))}" +
                                   (result.SavedSeed is int s ? $"; model (seed {s}, best epoch): {Markup.Escape(outDir)}" : ""));
            return 0;
        });
        return cmd;
    }

    static int RunGlue(string? data, string modelDir, FineTuneOptions options, TorchSharp.torch.Device dev, string outDir, int seedCount)
    {
        var glueDir = data ?? Environment.GetEnvironmentVariable(TaskRegistry.GlueDirVariable)
            ?? throw new BertLabException($"--task glue needs the GLUE folder (glue_data/ with CoLA/, SST-2/, ...): pass --data DIR or set {TaskRegistry.GlueDirVariable}");
        AnsiConsole.MarkupLine($"[bold]GLUE[/] from {Markup.Escape(Path.GetFullPath(glueDir))}; model {Markup.Escape(Path.GetFullPath(modelDir))} on {Markup.Escape(dev.ToString())}, {Markup.Escape(TorchRuntime.Describe())}");
        var result = GlueBenchmark.Run(glueDir, modelDir, ModelTokenizer.For(modelDir), options, dev, outDir,
            line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"));
        foreach (var (_, r) in result.Tasks) Print(r, seedCount);
        var table = new Table().Border(TableBorder.Rounded).Title($"GLUE dev scores, median over {seedCount} seed(s)");
        table.AddColumn("task").AddColumn(new TableColumn("score").RightAligned()).AddColumn("score is");
        foreach (var (name, r) in result.Tasks) table.AddRow(name, $"{r.Metrics[TaskScorer.ScoreKey]:F4}", Markup.Escape(r.ScoreDefinition));
        table.AddRow(result.Partial ? "[yellow]average (partial)[/]" : "[bold]GLUE average[/]", $"{result.Average:F4}", result.Partial ? Markup.Escape($"missing: {string.Join(", ", result.Missing)}") : "mean of the nine");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"results: {Markup.Escape(Path.Combine(outDir, FineTuneResult.FileName))} (each task in its own folder)");
        return 0;
    }

    static void Print(FineTuneResult result, int seedCount)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"{result.Task}: dev metrics, median over {seedCount} seed(s)");
        table.AddColumn("metric").AddColumn(new TableColumn("median").RightAligned());
        if (seedCount > 1) table.AddColumn(new TableColumn("min").RightAligned()).AddColumn(new TableColumn("max").RightAligned()).AddColumn(new TableColumn("std").RightAligned());
        foreach (var (name, s) in result.Spread)
        {
            var label = name == TaskScorer.ScoreKey ? $"score ({result.ScoreDefinition})" : name;
            var cells = new List<string> { Markup.Escape(label), $"{s.Median:F4}" };
            if (seedCount > 1) cells.AddRange(new[] { $"{s.Min:F4}", $"{s.Max:F4}", $"{s.Std:F4}" });
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        if (seedCount > 1)
            AnsiConsole.MarkupLine("per seed (best epoch): " + string.Join(", ",
                result.Seeds.Select(s => $"{s.Seed}: {s.Metrics[TaskScorer.ScoreKey]:F4} (epoch {s.BestEpoch})")));
    }
}
