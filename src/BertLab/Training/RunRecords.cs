using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Attention;

namespace BertLab.Training;

/// <summary>The keys of metrics.jsonl records and of summary.json, declared once (readers: plots, sweeps, reports, tests).</summary>
public static class MetricKeys
{
    public const string Step = "step", Loss = "loss", MlmAccuracy = "mlm_accuracy", Lr = "lr", GradNorm = "grad_norm";
    public const string TokensPerS = "tokens_per_s", ModelTflops = "model_tflops", Mfu = "mfu", ElapsedS = "elapsed_s";
    public const string LiveTensors = "live_tensors", CreatedOutsideScope = "created_outside_scope";
    public const string OutputPenalty = "output_penalty", Attention = "attention", RssMb = "rss_mb", ManagedMb = "managed_mb";
    public const string ValLoss = "val_loss", ValAccuracy = "val_accuracy", ValPerplexity = "val_perplexity", ValMaskedTokens = "val_masked_tokens";
    public const string ValUnigramLoss = "val_unigram_loss";
    /// <summary>Masked-LM loss at the associative-recall positions (<see cref="BertLab.Data.RecallPositions"/>), at the other
    /// masked positions, and the recall positions' share of the masked positions.</summary>
    public const string ValRecallLoss = "val_recall_loss", ValNonRecallLoss = "val_nonrecall_loss", ValRecallShare = "val_recall_share";
    public const string Status = "status", Reason = "reason", Validation = "validation";
}

/// <summary>How a run ended, that it is running, or (a sweep's grid point) that it has not started; written to
/// summary.json and sweep.json as lower-case text (<see cref="RunStatusText"/>, the one place that spells them).</summary>
public enum RunStatus { Running, Completed, Diverged, Stopped, Failed, Pending }

public static class RunStatusText
{
    public static string ToText(this RunStatus s) => s switch
    {
        RunStatus.Running => "running", RunStatus.Completed => "completed", RunStatus.Diverged => "diverged",
        RunStatus.Stopped => "stopped", RunStatus.Failed => "failed", RunStatus.Pending => "pending", _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static RunStatus? Parse(string? text) => text switch
    {
        "running" => RunStatus.Running, "completed" => RunStatus.Completed, "diverged" => RunStatus.Diverged,
        "stopped" => RunStatus.Stopped, "failed" => RunStatus.Failed, "pending" => RunStatus.Pending, _ => null,
    };

    /// <summary>The status a JSON value spells; null when it is absent, not a string or not a status.</summary>
    public static RunStatus? Read(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var text) ? Parse(text) : null;

    /// <summary>A run that ended by itself and will not change when run again (a sweep skips it).</summary>
    public static bool IsFinal(this RunStatus s) => s is RunStatus.Completed or RunStatus.Diverged;
}

/// <summary>The process exit codes of bertlab, declared once (README: exit codes).</summary>
public static class ExitCodes
{
    /// <summary>Completed, or stopped on request (resumable).</summary>
    public const int Ok = 0;
    /// <summary>An unexpected failure (a bug or an environment fault): the message carries the stack trace.</summary>
    public const int Failed = 1;
    /// <summary>An error the user can fix (bad argument, configuration, data, checkpoint): one message.</summary>
    public const int UserError = 2;
    /// <summary>The run diverged (summary.json says where and why).</summary>
    public const int Diverged = 3;
    /// <summary>Stopped by SIGINT (Ctrl-C) after a checkpoint at the current step: resumable (128 + 2).</summary>
    public const int Interrupted = 130;
    /// <summary>Stopped by SIGTERM after a checkpoint at the current step: resumable (128 + 15).</summary>
    public const int Terminated = 143;

    public static int For(RunStatus status) => status switch
    {
        RunStatus.Completed or RunStatus.Stopped => Ok,
        RunStatus.Diverged => Diverged,
        _ => Failed,
    };
}

/// <summary>One validation pass.</summary>
/// <param name="UnigramLoss">The same masked positions scored by the training unigram distribution (<see cref="UnigramBaseline"/>); null when unknown.</param>
/// <param name="Recall">The loss split at associative-recall positions (<see cref="RecallSplit"/>); null when not measured.</param>
public sealed record Evaluation(double Loss, double Accuracy, double Perplexity, long MaskedTokens, double? UnigramLoss = null, RecallLosses? Recall = null)
{
    public void WriteTo(JsonObject o)
    {
        o[MetricKeys.ValLoss] = Loss; o[MetricKeys.ValAccuracy] = Accuracy;
        o[MetricKeys.ValPerplexity] = Perplexity; o[MetricKeys.ValMaskedTokens] = MaskedTokens;
        if (UnigramLoss is double u) o[MetricKeys.ValUnigramLoss] = u;
        Recall?.WriteTo(o);
    }

    public JsonObject ToJson(int? step = null)
    {
        var o = new JsonObject();
        WriteTo(o);
        if (step is int s) o[MetricKeys.Step] = s;
        return o;
    }

    public static Evaluation? FromJson(JsonNode? node) => node is JsonObject o && o[MetricKeys.ValLoss] is JsonNode l
        ? new Evaluation(l.GetValue<double>(), o[MetricKeys.ValAccuracy]?.GetValue<double>() ?? double.NaN,
            o[MetricKeys.ValPerplexity]?.GetValue<double>() ?? double.NaN, o[MetricKeys.ValMaskedTokens]?.GetValue<long>() ?? 0,
            o[MetricKeys.ValUnigramLoss]?.GetValue<double>(), RecallLosses.FromJson(o))
        : null;
}

/// <summary>One line of metrics.jsonl: a logged training step, with the validation results on evaluation steps.</summary>
public sealed class StepRecord
{
    public required int Step { get; init; }
    public required double Loss { get; init; }
    public required double MlmAccuracy { get; init; }
    public required double Lr { get; init; }
    public required double GradNorm { get; init; }
    public required double TokensPerS { get; init; }
    /// <summary>Model FLOP/s achieved over the interval (FLOPs per token as <see cref="TrainBenchmark.FlopsPerToken"/>), in TFLOP/s.</summary>
    public double ModelTflops { get; init; }
    /// <summary>Model FLOPs utilisation, only where the device's peak is known (<see cref="Trainer.PeakTflops"/>).</summary>
    public double? Mfu { get; init; }
    public required double ElapsedS { get; init; }
    public long LiveTensors { get; init; }
    public long CreatedOutsideScope { get; init; }
    public double? OutputPenalty { get; init; }
    /// <summary>Per-layer attention statistics (output norms, σ, p).</summary>
    public JsonObject? Attention { get; init; }
    public double RssMb { get; set; }
    public double ManagedMb { get; set; }
    public Evaluation? Validation { get; set; }
    /// <summary>On the first record after a resume that accepted changed data (train --accept-changed-data): what changed.</summary>
    public string? DataChanged { get; set; }

    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            [MetricKeys.Step] = Step, [MetricKeys.Loss] = Loss, [MetricKeys.MlmAccuracy] = MlmAccuracy, [MetricKeys.Lr] = Lr,
            [MetricKeys.GradNorm] = GradNorm, [MetricKeys.TokensPerS] = TokensPerS, [MetricKeys.ModelTflops] = ModelTflops,
        };
        if (Mfu is double m) o[MetricKeys.Mfu] = m;
        o[MetricKeys.ElapsedS] = ElapsedS;
        o[MetricKeys.LiveTensors] = LiveTensors;
        o[MetricKeys.CreatedOutsideScope] = CreatedOutsideScope;
        if (OutputPenalty is double pen) o[MetricKeys.OutputPenalty] = pen;
        if (Attention is not null) o[MetricKeys.Attention] = Attention.DeepClone();
        o[MetricKeys.RssMb] = RssMb;
        o[MetricKeys.ManagedMb] = ManagedMb;
        Validation?.WriteTo(o);
        if (DataChanged is not null) o["data_changed"] = DataChanged;
        return o;
    }
}

/// <summary>summary.json: what a run is or was, written at its end (and read by sweeps and reports).</summary>
public sealed class RunSummary
{
    public RunStatus Status { get; set; } = RunStatus.Running;
    public int Step { get; set; }
    public int Steps { get; set; }
    public string? Attention { get; set; }
    public string? Model { get; set; }
    public long Parameters { get; set; }
    public string? Device { get; set; }
    public string? Cpu { get; set; }
    public string? Data { get; set; }
    public int? Ranks { get; set; }
    /// <summary>The latest validation pass and its step.</summary>
    public Evaluation? Validation { get; set; }
    public int? ValidationStep { get; set; }
    /// <summary>The step with the lowest validation loss (−1: none), set when the training loop ends.</summary>
    public int? BestStep { get; set; }
    public string? ModelDir { get; set; }
    public string? Reason { get; set; }
    public int? DivergedAtStep { get; set; }
    public double WallS { get; set; }
    public long Tokens { get; set; }
    public double TokensPerS { get; set; }
    public double PeakRssMb { get; set; }
    public double? AllreduceS { get; set; }
    public double? AllreduceWaitS { get; set; }
    public double? AllreduceMb { get; set; }
    public string? LastCheckpoint { get; set; }
    public List<string>? Plots { get; set; }
    /// <summary>Real tokens per trained sequence (min, median, mean, max) and the padding share of the batches (<see cref="SequenceLengths"/>).</summary>
    public JsonObject? Lengths { get; set; }
    /// <summary>Stability diagnostics (<see cref="StabilityMonitor.ToJson"/>).</summary>
    public JsonObject? Stability { get; set; }
    /// <summary>Per layer, the attention kernels this process ran and how often (training and evaluation calls).</summary>
    public IReadOnlyList<LayerKernelUsage>? AttentionKernels { get; set; }
    /// <summary>Resumes that went on with other training data than the checkpoint was trained on (train --accept-changed-data):
    /// per resume, the step and what changed. Null when the data never changed.</summary>
    public List<DataChangeRecord>? DataChanges { get; set; }

    /// <summary>The one serialiser of summary.json (keys and their order as readers expect them).</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["status"] = Status.ToText(), ["step"] = Step, ["steps"] = Steps, ["attention"] = Attention, ["model"] = Model,
            ["parameters"] = Parameters, ["device"] = Device, ["cpu"] = Cpu, ["data"] = Data,
        };
        if (Ranks is int r) o["ranks"] = r;
        if (Validation is not null) o["validation"] = Validation.ToJson(ValidationStep);
        if (BestStep is int b) o["best_step"] = b;
        if (ModelDir is not null) o["model_dir"] = ModelDir;
        if (Reason is not null) o["reason"] = Reason;
        if (DivergedAtStep is int d) o["diverged_at_step"] = d;
        o["wall_s"] = WallS;
        o["tokens"] = Tokens;
        o["tokens_per_s"] = TokensPerS;
        o["peak_rss_mb"] = PeakRssMb;
        if (AllreduceS is double a) o["allreduce_s"] = a;
        if (AllreduceWaitS is double w) o["allreduce_wait_s"] = w;
        if (AllreduceMb is double mb) o["allreduce_mb"] = mb;
        if (LastCheckpoint is not null) o["last_checkpoint"] = LastCheckpoint;
        if (Plots is not null) o["plots"] = new JsonArray(Plots.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray());
        if (Lengths is not null) o["lengths"] = Lengths.DeepClone();
        if (Stability is not null) o["stability"] = Stability.DeepClone();
        if (AttentionKernels is not null)
            o["attention_kernels"] = new JsonArray(AttentionKernels.Select(l => (JsonNode)new JsonObject
            {
                ["layer"] = l.Layer,
                ["calls"] = new JsonObject(l.Kernels.Select(k => KeyValuePair.Create(k.Kernel, (JsonNode?)k.Calls))),
            }).ToArray());
        if (DataChanges is not null)
            o["data_changes"] = new JsonArray(DataChanges.Select(c => (JsonNode)new JsonObject
            {
                ["step"] = c.Step, ["from"] = c.From, ["to"] = c.To, ["what"] = c.What,
            }).ToArray());
        return o;
    }

    public string ToJsonText() => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

    /// <summary>The one deserialiser; throws <see cref="BertLabException"/> on text that is not a summary.</summary>
    public static RunSummary FromJson(JsonNode? node, string source = "summary.json")
    {
        // a run that has a summary has started: "pending" is a sweep's word for a point, never a run's
        if (node is not JsonObject o || RunStatusText.Read(o["status"]) is not RunStatus status || status == RunStatus.Pending)
            throw new BertLabException($"{source}: not a run summary (no known \"status\")");
        try
        {
            return new RunSummary
            {
                Status = status, Step = Int(o["step"]) ?? 0, Steps = Int(o["steps"]) ?? 0, Attention = Str(o["attention"]), Model = Str(o["model"]),
                Parameters = o["parameters"]?.GetValue<long>() ?? 0, Device = Str(o["device"]), Cpu = Str(o["cpu"]), Data = Str(o["data"]),
                Ranks = Int(o["ranks"]), Validation = Evaluation.FromJson(o["validation"]), ValidationStep = Int(o["validation"]?["step"]),
                BestStep = Int(o["best_step"]), ModelDir = Str(o["model_dir"]), Reason = Str(o["reason"]), DivergedAtStep = Int(o["diverged_at_step"]),
                WallS = Num(o["wall_s"]) ?? 0, Tokens = o["tokens"]?.GetValue<long>() ?? 0, TokensPerS = Num(o["tokens_per_s"]) ?? 0,
                PeakRssMb = Num(o["peak_rss_mb"]) ?? 0, AllreduceS = Num(o["allreduce_s"]), AllreduceWaitS = Num(o["allreduce_wait_s"]),
                AllreduceMb = Num(o["allreduce_mb"]), LastCheckpoint = Str(o["last_checkpoint"]),
                Plots = o["plots"] is JsonArray a ? a.Select(p => p!.GetValue<string>()).ToList() : null,
                Lengths = o["lengths"] is JsonObject lengths ? (JsonObject)lengths.DeepClone() : null,
                Stability = o["stability"] is JsonObject stability ? (JsonObject)stability.DeepClone() : null,
                AttentionKernels = o["attention_kernels"] is JsonArray kernels
                    ? kernels.Select(l => new LayerKernelUsage(l!["layer"]!.GetValue<int>(),
                        l["calls"]!.AsObject().Select(k => new KernelUsage(k.Key, k.Value!.GetValue<long>())).ToList())).ToList()
                    : null,
                DataChanges = o["data_changes"] is JsonArray changes
                    ? changes.Select(c => new DataChangeRecord(c!["step"]!.GetValue<int>(), Str(c["from"]) ?? "", Str(c["to"]) ?? "", Str(c["what"]) ?? "")).ToList()
                    : null,
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new BertLabException($"{source}: malformed run summary: {e.Message}");
        }
        static int? Int(JsonNode? n) => n?.GetValue<int>();
        static double? Num(JsonNode? n) => n?.GetValue<double>();
        static string? Str(JsonNode? n) => n?.GetValue<string>();
    }

    /// <summary>Reads a summary file; null when it does not exist or is not a complete summary.</summary>
    public static RunSummary? TryRead(string path)
    {
        if (!File.Exists(path)) return null;
        try { return FromJson(JsonNode.Parse(File.ReadAllText(path)), path); }
        catch (Exception e) when (e is JsonException or BertLabException or IOException) { return null; }
    }
}

/// <summary>One resume on changed training data: at <paramref name="Step"/>, from fingerprint <paramref name="From"/> to
/// <paramref name="To"/>, <paramref name="What"/> in words (the files that changed).</summary>
public sealed record DataChangeRecord(int Step, string From, string To, string What);
