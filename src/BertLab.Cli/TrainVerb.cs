using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using BertLab.Attention;
using BertLab.Distributed;
using BertLab.Runtime;
using BertLab.Training;
using Spectre.Console;

namespace BertLab.Cli;

/// <summary>bertlab train: masked-LM pre-training, the main job.</summary>
public sealed class TrainVerb : IVerb
{
    public int Order => 10;

    public Command Build()
    {
        var config = new Option<string?>("--config") { Description = "Run configuration (JSON, comments allowed); omitted keys take the defaults" };
        var attention = new Option<string?>("--attention") { Description = "Attention preset (softmax, cottention, cosine-relu, ...; see ATTENTION.md)" };
        var model = new Option<string?>("--model") { Description = "Model preset: tiny, small (default), base" };
        var steps = new Option<int?>("--steps") { Description = "Optimiser steps (with --resume: the new total)" };
        var seed = new Option<long?>("--seed") { Description = "Seed for initialisation, data order, masking and dropout" };
        var output = new Option<string?>("--out") { Description = "Run directory (default runs/<date>-<attention>)" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this directory from its last checkpoint" };
        var corpus = new Option<string[]>("--corpus") { Description = "Corpus files, directories or globs (default: the embedded corpus)", AllowMultipleArgumentsPerToken = true };
        var device = new Option<string?>("--device") { Description = "cpu or cuda" };
        var precision = new Option<string?>("--precision") { Description = "fp32 (default); for GPUs bf16 mixed precision (bf16 matmuls and activations, fp32 master weights) or bf16-autocast (fp32 activations, as torch.autocast)" };
        var threads = new Option<int?>("--threads") { Description = "CPU threads (0 = all cores)" };
        var acceptChanged = new Option<bool>("--accept-changed-data") { Description = "With --resume: go on although the training data changed since the checkpoint (refused otherwise); the change is recorded in summary.json and metrics.jsonl" };
        var set = new Option<string[]>("--set") { Description = "Override any configuration key, e.g. --set optimizer.lr=3e-4 --set run.batch_size=16 (every key: bertlab config keys)" };
        var cmd = new RunDirectoryCommand("train", "Pre-train a BERT with masked-LM (no arguments: a small cottention model on the embedded corpus, a few minutes on 2 cores)",
            r => r.GetValue(output) ?? r.GetValue(resume));
        foreach (var o in new Option[] { config, attention, model, steps, seed, output, resume, corpus, device, precision, threads, acceptChanged, set }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            // Under mpirun/srun with several processes: data-parallel training, one rank per process (TrainingProcess).
            using var process = TrainingProcess.Start();
            if (!process.Writes) AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
            return process.Run(() => Train(r, process),
                e => (Verb.IsUserError(e) ? e.Message : e.ToString(), Verb.IsUserError(e) ? ExitCodes.UserError : ExitCodes.Failed),
                Verb.Error);
        });
        return cmd;

        int Train(ParseResult r, TrainingProcess process)
        {
            string? resumeDir = r.GetValue(resume);
            if (r.GetValue(acceptChanged) && resumeDir is null) throw new BertLabException("--accept-changed-data applies to a --resume");
            JsonObject json = TrainingSession.LoadConfigJson(r.GetValue(config), resumeDir);
            bool defaultJob = DefaultJob.Applies(r.GetValue(config) is not null, resumeDir is not null, r.GetValue(model) is not null,
                r.GetValue(corpus) is { Length: > 0 }, r.GetValue(set) ?? Array.Empty<string>());
            if (defaultJob) DefaultJob.Apply(json);
            if (r.GetValue(attention) is string a) json["attention"] = a;
            if (r.GetValue(model) is string m) json["model"] = m;
            if (r.GetValue(steps) is int s) RunConfig.ApplyOverride(json, RunConfigKeys.RunSteps, s);
            if (r.GetValue(seed) is long sd) RunConfig.ApplyOverride(json, RunConfigKeys.RunSeed, sd);
            if (r.GetValue(device) is string dv) RunConfig.ApplyOverride(json, RunConfigKeys.RunDevice, dv);
            if (r.GetValue(precision) is string pr) RunConfig.ApplyOverride(json, RunConfigKeys.RunPrecision, pr);
            if (r.GetValue(threads) is int th) RunConfig.ApplyOverride(json, RunConfigKeys.RunThreads, th);
            if (r.GetValue(corpus) is { Length: > 0 } cs) RunConfig.ApplyOverride(json, RunConfigKeys.DataCorpus, cs.ToList());
            foreach (var o in r.GetValue(set) ?? Array.Empty<string>()) RunConfig.ApplyOverride(json, o);
            var runConfig = RunConfig.FromJson(json);
            var runDirectory = TrainingSession.ChooseRunDirectory(resumeDir, r.GetValue(output), runConfig);
            string runDir = runDirectory.Root;
            // A resume is checked before any file changes.
            using var owner = process.Claim(runDirectory, resumeDir is not null);
            if (resumeDir is not null && TrainingSession.CheckResume(runDirectory, runConfig) is string nothingToDo)
            {
                AnsiConsole.MarkupLine(Markup.Escape(nothingToDo));
                return ExitCodes.Ok;
            }
            process.ShareCores(runConfig);
            TorchRuntime.Initialize(runConfig.Run.Threads);
            var console = new ConsoleObserver();
            AnsiConsole.MarkupLine($"[bold]bertlab train[/] → {Markup.Escape(Path.GetFullPath(runDir))}");
            AnsiConsole.MarkupLine($"  {Markup.Escape(TorchRuntime.Describe())}");
            if (defaultJob)
                AnsiConsole.MarkupLine($"  the default job: a {DefaultJob.VocabularySize:N0}-piece vocabulary learnt from the embedded corpus (data/{DefaultJob.VocabularyFile}); --model, --corpus, --config or --set data.vocab=… choose your own");
            if (process.Describe(runConfig) is string group) AnsiConsole.MarkupLine($"  {Markup.Escape(group)}");
            var source = process.OpenData(runConfig, runDir, out var vocabPath, console.OnMessage, console.OnPrepareProgress);
            using var openData = source as IDisposable;
            if (source is ShardBatchSource shards) shards.AcceptChangedData = r.GetValue(acceptChanged);
            // TensorBoard event files in runDir/tensorboard (written, as every other file, by the process that writes)
            using var tensorBoard = process.Writes ? new TensorBoardObserver(runDir) : null;
            ITrainingObserver observer = tensorBoard is null ? console : new TrainingObservers(console, tensorBoard);
            // Ctrl-C / SIGTERM: finish the step, checkpoint, summary "stopped", exit 130 / 143 (a second signal: at once).
            StopSignal.Install(console.OnMessage);
            var summary = process.Trainer(runConfig, runDir, source, vocabPath, observer).Run(resume: resumeDir is not null);
            console.PrintSummary(summary, runDir);
            if (summary.Status == RunStatus.Completed && summary.ModelDir is string modelDir && runConfig.Data.Synthetic is null && process.Writes)
                PrintFillMask(modelDir);
            return summary.Status == RunStatus.Stopped && StopSignal.Requested ? StopSignal.ExitCode : ExitCodes.For(summary.Status);
        }
    }

    /// <summary>The model's guesses for a few masked sentences (<see cref="DefaultJob.FillMaskExamples"/>): what it learnt, at a glance.</summary>
    static void PrintFillMask(string modelDir)
    {
        AnsiConsole.MarkupLine("  " + Markup.Escape($"fill-mask examples (bertlab fill-mask --model {modelDir} \"… [MASK] …\" for your own):"));
        try
        {
            foreach (var line in DefaultJob.FillMask(modelDir)) AnsiConsole.MarkupLine($"    {Markup.Escape(line)}");
        }
        catch (BertLabException e) { AnsiConsole.MarkupLine($"    [yellow]not available[/]: {Markup.Escape(e.Message)}"); }
    }

    /// <summary>Progress lines: step, loss, accuracy, tokens/s, ETA; validation results; checkpoints.</summary>
    sealed class ConsoleObserver : ITrainingObserver
    {
        DateTime _start = DateTime.UtcNow;
        int _startStep;
        DateTime _lastPrepare = DateTime.MinValue;

        public void OnStart(RunConfig config, string runDir, long parameters, int startStep)
        {
            _start = DateTime.UtcNow;
            _startStep = startStep;
            var c = config.Model;
            AnsiConsole.MarkupLine($"  model {Markup.Escape(config.ModelPreset)}: {c.NumHiddenLayers} layers × {c.HiddenSize}, {c.NumAttentionHeads} heads, {parameters:N0} parameters");
            AnsiConsole.MarkupLine($"  attention {Markup.Escape(c.Attention.Describe())}");
            foreach (var line in KernelPlan.Describe(c.Attention, TorchRuntime.Device(config.Run.Device).type, config.Data.SeqLen, c.HeadDim, c.AttentionProbsDropoutProb, MixedPrecision.Parse(config.Run.Precision)))
                AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(line)}[/]");
            AnsiConsole.MarkupLine($"  {config.Run.Steps} steps × {config.Run.BatchSize * config.Run.Accumulation} sequences of {config.Data.SeqLen} tokens, {Markup.Escape(config.Optimizer.Name)} lr {config.Optimizer.Lr:G3}, seed {config.Run.Seed}, {Markup.Escape(config.Run.Device)}");
        }

        public void OnLog(StepRecord rec, int totalSteps)
        {
            double elapsed = (DateTime.UtcNow - _start).TotalSeconds;
            double perStep = elapsed / Math.Max(1, rec.Step - _startStep);
            var eta = TimeSpan.FromSeconds(perStep * (totalSteps - rec.Step));
            string mfu = rec.Mfu is double m ? $" MFU {m,5:P1}" : "";
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {rec.Step,6}/{totalSteps}  loss {rec.Loss,7:F4}  acc {rec.MlmAccuracy,6:P1}  lr {rec.Lr:E2}  |g| {rec.GradNorm,6:F2}  {rec.TokensPerS,7:N0} tok/s  {rec.ModelTflops * 1000,6:F1} GFLOP/s{mfu}  ETA {eta:hh\\:mm\\:ss}"));
        }

        public void OnEvaluation(Evaluation e, int step) =>
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"  [green]validation[/] step {step}: loss {e.Loss:F4}  accuracy {e.Accuracy:P1}  perplexity {e.Perplexity:F1}") +
                (e.UnigramLoss is double u ? string.Create(CultureInfo.InvariantCulture, $"  (unigram baseline {u:F4})") : ""));

        public void OnCheckpoint(string path) => AnsiConsole.MarkupLine($"  [grey]checkpoint {Markup.Escape(path)}[/]");
        public void OnMessage(string message) => AnsiConsole.MarkupLine($"  {Markup.Escape(message)}");

        public void OnPrepareProgress(long documents, long tokens)
        {
            if ((DateTime.UtcNow - _lastPrepare).TotalSeconds < 2) return;
            _lastPrepare = DateTime.UtcNow;
            AnsiConsole.MarkupLine($"  [grey]preparing data: {documents:N0} documents, {tokens:N0} tokens[/]");
        }

        public void PrintSummary(RunSummary s, string runDir)
        {
            string status = s.Status.ToText();
            string colour = s.Status switch { RunStatus.Completed => "green", RunStatus.Stopped => "yellow", _ => "red" };
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"[{colour}]{status}[/] at step {s.Step} in {s.WallS} s, {s.TokensPerS} tokens/s") +
                                   (s.Reason is string reason ? $": {Markup.Escape(reason)}" : ""));
            if (s.Validation is Evaluation v)
            {
                AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"  final validation: loss {v.Loss}, accuracy {v.Accuracy}, perplexity {v.Perplexity}"));
                if (v.UnigramLoss is double u)
                    AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                        $"  unigram baseline (the training data's token frequencies, no context): loss {u:F4}; the model is {Math.Abs(u - v.Loss):F2} nats {(v.Loss <= u ? "below" : "above")} it"));
            }
            if (s.ModelDir is string md) AnsiConsole.MarkupLine($"  model:   {Markup.Escape(md)}");
            var dir = new RunDirectory(runDir);
            AnsiConsole.MarkupLine($"  metrics: {Markup.Escape(dir.MetricsPath)}");
            AnsiConsole.MarkupLine($"  summary: {Markup.Escape(dir.SummaryPath)}");
            if (s.Plots is not null) foreach (var p in s.Plots) AnsiConsole.MarkupLine($"  plot:    {Markup.Escape(p)}");
            if (s.LastCheckpoint is string lc) AnsiConsole.MarkupLine($"  last checkpoint: {Markup.Escape(lc)}");
        }
    }
}
