using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
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
        var set = new Option<string[]>("--set") { Description = "Override any configuration key, e.g. --set optimizer.lr=3e-4 --set run.batch_size=16" };
        var cmd = new Command("train", "Pre-train a BERT with masked-LM (no arguments: a small cottention model on the embedded corpus, a few minutes on 2 cores)");
        foreach (var o in new Option[] { config, attention, model, steps, seed, output, resume, corpus, device, precision, threads, set }) cmd.Options.Add(o);
        cmd.SetAction(r =>
        {
            // Under mpirun/srun with several processes: data-parallel training, one rank per process (see MpiDataParallel).
            var parallel = MpiDataParallel.StartIfLaunched();
            if (parallel is null) return Train(r, null);
            if (parallel.Rank > 0) AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
            int code;
            try { code = Train(r, parallel); }
            catch (Exception e)
            {
                // One rank failing stops all of them at once, with this rank's message (no rank is left waiting).
                Verb.Error($"rank {parallel.Rank} of {parallel.Size}: " + (Verb.IsUserError(e) ? e.Message : e.ToString()));
                parallel.Abort(Verb.IsUserError(e) ? Verb.UserError : 1);
                throw;
            }
            parallel.Dispose();
            return code;
        });
        return cmd;

        int Train(ParseResult r, MpiDataParallel? parallel)
        {
            string? resumeDir = r.GetValue(resume);
            JsonObject json;
            string runDir;
            if (resumeDir is not null)
            {
                if (r.GetValue(config) is not null) throw new BertLabException("--resume takes the run's saved configuration; do not combine it with --config");
                var saved = Path.Combine(resumeDir, Trainer.ConfigFile);
                if (!File.Exists(saved)) throw new BertLabException($"{resumeDir}: no {Trainer.ConfigFile}; is this a run directory?");
                json = RunConfig.LoadJson(saved);
                runDir = resumeDir;
            }
            else
            {
                json = RunConfig.LoadJson(r.GetValue(config));
                runDir = "";
            }
            if (r.GetValue(attention) is string a) json["attention"] = a;
            if (r.GetValue(model) is string m) json["model"] = m;
            void Set(string key, JsonNode value) => RunConfig.ApplyOverride(json, $"{key}={value.ToJsonString()}");
            if (r.GetValue(steps) is int s) Set("run.steps", s);
            if (r.GetValue(seed) is long sd) Set("run.seed", sd);
            if (r.GetValue(device) is string dv) Set("run.device", dv);
            if (r.GetValue(precision) is string pr) Set("run.precision", pr);
            if (r.GetValue(threads) is int th) Set("run.threads", th);
            if (r.GetValue(corpus) is { Length: > 0 } cs) json["data"]!["corpus"] = new JsonArray(cs.Select(c => (JsonNode?)JsonValue.Create(c)).ToArray());
            foreach (var o in r.GetValue(set) ?? Array.Empty<string>()) RunConfig.ApplyOverride(json, o);
            var runConfig = RunConfig.FromJson(json);
            if (resumeDir is null)
            {
                runDir = r.GetValue(output) ?? Path.Combine("runs", $"{DateTime.Now:yyyyMMdd-HHmmss}-{runConfig.Model.Attention.Preset}");
                if (File.Exists(Path.Combine(runDir, Trainer.SummaryFile)) || Trainer.LatestCheckpoint(runDir) is not null)
                    throw new BertLabException($"{runDir} already holds a run; continue it with --resume {runDir} or choose another --out");
            }
            // Ranks on one machine share its cores: run.threads 0 ("all cores") becomes this rank's share of them.
            if (parallel is not null && runConfig.Run.Threads == 0)
                runConfig.Run.Threads = Math.Max(1, Environment.ProcessorCount / MpiDataParallel.LocalSize());
            TorchRuntime.Initialize(runConfig.Run.Threads);
            var console = new ConsoleObserver();
            AnsiConsole.MarkupLine($"[bold]bertlab train[/] → {Markup.Escape(Path.GetFullPath(runDir))}");
            AnsiConsole.MarkupLine($"  {Markup.Escape(TorchRuntime.Describe())}");
            if (parallel is not null)
                AnsiConsole.MarkupLine($"  data-parallel over {parallel.Size} MPI ranks ({Markup.Escape(parallel.Library)}): global batch {parallel.Size} × {runConfig.Run.BatchSize} × {runConfig.Run.Accumulation} = {parallel.Size * runConfig.Run.BatchSize * runConfig.Run.Accumulation} sequences");
            // Rank 0 prepares the shared data cache first; the others then find it up to date.
            if (parallel is { Rank: > 0 }) parallel.Barrier();
            using var data = PretrainingData.Open(runConfig, runDir, console.OnMessage, console.OnPrepareProgress);
            if (parallel is { Rank: 0 }) parallel.Barrier();
            IBatchSource source = parallel is null ? data : new RankSliceBatchSource(data, parallel.Rank, parallel.Size);
            // TensorBoard event files in runDir/tensorboard (rank 0 alone writes, as with every other file)
            using var tensorBoard = parallel is null or { Rank: 0 } ? new TensorBoardObserver(runDir) : null;
            ITrainingObserver observer = tensorBoard is null ? console : new TrainingObservers(console, tensorBoard);
            var trainer = new Trainer(runConfig, runDir, source, runConfig.Data.Vocab, observer) { Parallel = parallel };
            var summary = trainer.Run(resume: resumeDir is not null);
            console.PrintSummary(summary, runDir);
            return summary["status"]!.GetValue<string>() switch { "completed" or "stopped" => 0, "diverged" => 3, _ => 1 };
        }
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
            AnsiConsole.MarkupLine($"  {config.Run.Steps} steps × {config.Run.BatchSize * config.Run.Accumulation} sequences of {config.Data.SeqLen} tokens, {Markup.Escape(config.Optimizer.Name)} lr {config.Optimizer.Lr:G3}, seed {config.Run.Seed}, {Markup.Escape(config.Run.Device)}");
        }

        public void OnLog(JsonObject rec, int totalSteps)
        {
            int step = rec["step"]!.GetValue<int>();
            double elapsed = (DateTime.UtcNow - _start).TotalSeconds;
            double perStep = elapsed / Math.Max(1, step - _startStep);
            var eta = TimeSpan.FromSeconds(perStep * (totalSteps - step));
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {step,6}/{totalSteps}  loss {rec["loss"]!.GetValue<double>(),7:F4}  acc {rec["mlm_accuracy"]!.GetValue<double>(),6:P1}  lr {rec["lr"]!.GetValue<double>():E2}  |g| {rec["grad_norm"]!.GetValue<double>(),6:F2}  {rec["tokens_per_s"]!.GetValue<double>(),7:N0} tok/s  ETA {eta:hh\\:mm\\:ss}"));
        }

        public void OnEvaluation(JsonObject rec) =>
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"  [green]validation[/] step {rec["step"]}: loss {rec["val_loss"]!.GetValue<double>():F4}  accuracy {rec["val_accuracy"]!.GetValue<double>():P1}  perplexity {rec["val_perplexity"]!.GetValue<double>():F1}"));

        public void OnCheckpoint(string path) => AnsiConsole.MarkupLine($"  [grey]checkpoint {Markup.Escape(path)}[/]");
        public void OnMessage(string message) => AnsiConsole.MarkupLine($"  {Markup.Escape(message)}");

        public void OnPrepareProgress(long documents, long tokens)
        {
            if ((DateTime.UtcNow - _lastPrepare).TotalSeconds < 2) return;
            _lastPrepare = DateTime.UtcNow;
            AnsiConsole.MarkupLine($"  [grey]preparing data: {documents:N0} documents, {tokens:N0} tokens[/]");
        }

        public void PrintSummary(JsonObject s, string runDir)
        {
            string status = s["status"]!.GetValue<string>();
            string colour = status switch { "completed" => "green", "stopped" => "yellow", _ => "red" };
            AnsiConsole.MarkupLine($"[{colour}]{status}[/] at step {s["step"]} in {s["wall_s"]} s, {s["tokens_per_s"]} tokens/s" +
                                   (s["reason"] is JsonNode reason ? $": {Markup.Escape(reason.GetValue<string>())}" : ""));
            if (s["validation"] is JsonObject v)
                AnsiConsole.MarkupLine($"  final validation: loss {v["val_loss"]}, accuracy {v["val_accuracy"]}, perplexity {v["val_perplexity"]}");
            if (s["model_dir"] is JsonNode md) AnsiConsole.MarkupLine($"  model:   {Markup.Escape(md.GetValue<string>())}");
            AnsiConsole.MarkupLine($"  metrics: {Markup.Escape(Path.Combine(runDir, Trainer.MetricsFile))}");
            AnsiConsole.MarkupLine($"  summary: {Markup.Escape(Path.Combine(runDir, Trainer.SummaryFile))}");
            if (s["plots"] is JsonArray plots) foreach (var p in plots) AnsiConsole.MarkupLine($"  plot:    {Markup.Escape(p!.GetValue<string>())}");
            if (s["last_checkpoint"] is JsonNode lc) AnsiConsole.MarkupLine($"  last checkpoint: {Markup.Escape(lc.GetValue<string>())}");
        }
    }
}
