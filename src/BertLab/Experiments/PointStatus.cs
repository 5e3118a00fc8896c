using System.Text.Json.Nodes;
using BertLab.Training;

namespace BertLab.Experiments;

/// <summary>
/// One grid point's status in sweep.json: pending, running, or how its run ended (from the run's summary), or failed with
/// the error (from the run's failure record, or what the sweep saw: an exit code, a signal, a refused directory), with the
/// attempts so far. <see cref="WriteTo"/> and <see cref="FromJson"/> are its one serialiser: the status fields of a point
/// object beside its index, name, directory and settings.
/// </summary>
public sealed record PointStatus
{
    public RunStatus Status { get; init; } = RunStatus.Pending;
    /// <summary>The step the run reached.</summary>
    public int? Step { get; init; }
    /// <summary>Why the run diverged or stopped (its summary's reason).</summary>
    public string? Reason { get; init; }
    /// <summary>Why the point failed.</summary>
    public string? Error { get; init; }
    /// <summary>How many times this sweep directory started or resumed the point.</summary>
    public int? Attempts { get; init; }
    public int? ExitCode { get; init; }
    /// <summary>The signal that ended a run that left no record.</summary>
    public int? Signal { get; init; }
    /// <summary>The run's output (train.log), relative to the sweep directory, for a run that left no record.</summary>
    public string? Log { get; init; }

    public static readonly PointStatus Pending = new();

    /// <summary>The reason, else the error.</summary>
    public string? Detail => Reason ?? Error;

    public static PointStatus Of(RunSummary summary) => new() { Status = summary.Status, Step = summary.Step, Reason = summary.Reason };

    public static PointStatus Failed(string error) => new() { Status = RunStatus.Failed, Error = error };

    static readonly string[] Keys = { "status", "step", "reason", "error", "attempts", "exit_code", "signal", "log" };

    /// <summary>Replaces the status fields of a point object with this status (absent values are left out).</summary>
    public void WriteTo(JsonObject point)
    {
        foreach (var k in Keys) point.Remove(k);
        point["status"] = Status.ToText();
        if (Step is int step) point["step"] = step;
        if (Reason is not null) point["reason"] = Reason;
        if (Error is not null) point["error"] = Error;
        if (Attempts is int a) point["attempts"] = a;
        if (ExitCode is int e) point["exit_code"] = e;
        if (Signal is int s) point["signal"] = s;
        if (Log is not null) point["log"] = Log;
    }

    /// <summary>The status fields of a point object (a point without a known status is pending).</summary>
    public static PointStatus FromJson(JsonObject point) => new()
    {
        Status = RunStatusText.Read(point["status"]) ?? RunStatus.Pending,
        Step = Int(point["step"]), Reason = Str(point["reason"]), Error = Str(point["error"]), Attempts = Int(point["attempts"]),
        ExitCode = Int(point["exit_code"]), Signal = Int(point["signal"]), Log = Str(point["log"]),
    };

    static int? Int(JsonNode? n) => JsonNumbers.TryGetDouble(n, out var d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue ? (int)d : null;
    static string? Str(JsonNode? n) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
