using System.Text.Json.Nodes;
using TorchSharp;

namespace BertLab.Training;

/// <summary>
/// TensorBoard event files (TorchSharp's torch.utils.tensorboard.SummaryWriter) with the wall time passed explicitly
/// on every scalar: TorchSharp's default records 0, which TensorBoard's "relative" and "wall" axes then show as 1970.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    /// <summary>The folder of a run (train) or fine-tuning output that holds the event files.</summary>
    public const string Folder = "tensorboard";

    TorchSharp.Modules.SummaryWriter? _writer;

    /// <summary>Nothing is created until the first scalar: a run that is refused before it trains (a rejected resume)
    /// leaves its folder untouched.</summary>
    public TensorBoardWriter(string logDir) => LogDir = logDir;

    public string LogDir { get; }

    /// <summary>One scalar at <paramref name="step"/>; non-finite values are skipped (TensorBoard cannot plot them).</summary>
    public void Scalar(string tag, double value, int step)
    {
        if (!double.IsFinite(value)) return;
        if (_writer is null)
        {
            Directory.CreateDirectory(LogDir);
            _writer = torch.utils.tensorboard.SummaryWriter(LogDir);
        }
        _writer.add_scalar(tag, (float)value, step, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
    }

    /// <summary>Every number in <paramref name="node"/>, tagged by its path under <paramref name="prefix"/> (a/b/0/c).</summary>
    public void Scalars(string prefix, JsonNode? node, int step)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o) Scalars(prefix + "/" + k, v, step);
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++) Scalars(prefix + "/" + i, a[i], step);
                break;
            case JsonValue v when v.TryGetValue<double>(out var d):
                Scalar(prefix, d, step);
                break;
        }
    }

    /// <summary>Nothing to release: TorchSharp's writer appends and closes the file on every event.</summary>
    public void Dispose() { }
}

/// <summary>
/// Writes pre-training's logged records to TensorBoard (run folder/tensorboard): train/ (loss, mlm_accuracy, lr,
/// grad_norm, tokens_per_s, output_penalty), validation/ (val_loss, val_accuracy, val_perplexity, …), attention/ (the
/// attention diagnostics) and system/ (memory), each at its optimiser step.
/// </summary>
public sealed class TensorBoardObserver : ITrainingObserver, IDisposable
{
    static readonly HashSet<string> NotScalars = ["step", "elapsed_s"];
    static readonly HashSet<string> System = ["rss_mb", "managed_mb", "live_tensors", "created_outside_scope"];

    readonly TensorBoardWriter _writer;

    public TensorBoardObserver(string runDir) => _writer = new TensorBoardWriter(Path.Combine(runDir, TensorBoardWriter.Folder));

    public string LogDir => _writer.LogDir;

    public void OnLog(StepRecord stepRecord, int totalSteps)
    {
        // the record as metrics.jsonl holds it, so TensorBoard's tags are metrics.jsonl's keys
        var record = stepRecord.ToJson();
        int step = stepRecord.Step;
        foreach (var (key, value) in record)
        {
            if (NotScalars.Contains(key)) continue;
            string tag = key switch
            {
                "attention" => "attention",
                _ when key.StartsWith("val_", StringComparison.Ordinal) => "validation/" + key,
                _ when System.Contains(key) => "system/" + key,
                _ => "train/" + key,
            };
            _writer.Scalars(tag, value, step);
        }
    }

    public void Dispose() => _writer.Dispose();
}

/// <summary>Several observers as one (the CLI attaches its console and TensorBoard).</summary>
public sealed class TrainingObservers(params ITrainingObserver[] observers) : ITrainingObserver
{
    public void OnStart(RunConfig config, string runDir, long parameters, int startStep) { foreach (var o in observers) o.OnStart(config, runDir, parameters, startStep); }
    public void OnLog(StepRecord record, int totalSteps) { foreach (var o in observers) o.OnLog(record, totalSteps); }
    public void OnEvaluation(Evaluation evaluation, int step) { foreach (var o in observers) o.OnEvaluation(evaluation, step); }
    public void OnCheckpoint(string path) { foreach (var o in observers) o.OnCheckpoint(path); }
    public void OnMessage(string message) { foreach (var o in observers) o.OnMessage(message); }
}
