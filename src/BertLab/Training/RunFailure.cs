using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BertLab.Training;

/// <summary>Why a training process ended without a summary that explains it.</summary>
public enum FailureKind
{
    /// <summary>An error the user can fix (configuration, data, checkpoint): exit code 2 and this one message.</summary>
    UserError,
    /// <summary>An unexpected exception (a bug or an environment fault): the message is its type and text; the stack
    /// trace is in the process's output.</summary>
    Crash,
    /// <summary>The process ended without writing a summary or a failure record (a native crash, SIGKILL, out of memory):
    /// only its exit code, the signal that ended it, and its output are known.</summary>
    NoRecord,
    /// <summary>The process could not be started.</summary>
    NotStarted,
}

/// <summary>
/// &lt;run-dir&gt;/failure.json: a training process that fails before or outside its own summary (a configuration the
/// trainer rejects at start, a data error, a crash in start-up) writes its message here, so that whoever launched it
/// (a sweep) reads a typed failure instead of its console output. A later summary of the run removes it
/// (<see cref="RunDirectory.WriteSummary"/>). The other kinds are made by a launcher that found no record.
/// </summary>
public sealed record RunFailure(FailureKind Kind, string Message)
{
    public const string FileName = "failure.json";

    /// <summary>The process's exit code, where the launcher knows it.</summary>
    public int? ExitCode { get; init; }
    /// <summary>The signal that ended the process (exit code 128 + n), for <see cref="FailureKind.NoRecord"/>.</summary>
    public int? Signal { get; init; }
    /// <summary>Where the process's output went (the run's train.log), for <see cref="FailureKind.NoRecord"/>.</summary>
    public string? Log { get; init; }

    static readonly string[] KindNames = { "user_error", "crash", "no_record", "not_started" };

    public static string PathIn(string runDir) => Path.Combine(runDir, FileName);

    /// <summary>The one serialiser of failure.json.</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject { [MetricKeys.Status] = RunStatus.Failed.ToText(), ["kind"] = KindNames[(int)Kind], ["message"] = Message };
        if (ExitCode is int e) o["exit_code"] = e;
        if (Signal is int s) o["signal"] = s;
        if (Log is not null) o["log"] = Log;
        return o;
    }

    /// <summary>failure.json's text: indented, and messages readable as written (quotes and paths unescaped).</summary>
    public string ToJsonText() => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";

    /// <summary>The one deserialiser; throws <see cref="BertLabException"/> on text that is not a failure record.</summary>
    public static RunFailure FromJson(JsonNode? node, string source = FileName)
    {
        if (node is not JsonObject o || RunStatusText.Read(o[MetricKeys.Status]) != RunStatus.Failed
            || o["kind"] is not JsonValue k || !k.TryGetValue<string>(out var kind) || Array.IndexOf(KindNames, kind) is var i && i < 0
            || o["message"] is not JsonValue m || !m.TryGetValue<string>(out var message))
            throw new BertLabException($"{source}: not a failure record (status \"failed\", a known \"kind\" and a \"message\")");
        try
        {
            return new RunFailure((FailureKind)i, message)
            {
                ExitCode = o["exit_code"]?.GetValue<int>(), Signal = o["signal"]?.GetValue<int>(), Log = o["log"]?.GetValue<string>(),
            };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new BertLabException($"{source}: malformed failure record: {e.Message}");
        }
    }

    /// <summary>The failure record in a run directory; null when there is none (or it is unreadable).</summary>
    public static RunFailure? TryRead(string runDir)
    {
        var path = PathIn(runDir);
        if (!File.Exists(path)) return null;
        try { return FromJson(JsonNode.Parse(File.ReadAllText(path)), path); }
        catch (Exception e) when (e is JsonException or BertLabException or IOException) { return null; }
    }

    /// <summary>Removes a record left by an earlier attempt (before a launch, after a summary).</summary>
    public static void Delete(string runDir)
    {
        var path = PathIn(runDir);
        if (File.Exists(path)) File.Delete(path);
    }

    /// <summary>
    /// Records why `train` on <paramref name="runDir"/> failed: a user error with <paramref name="userErrorMessage"/> (the
    /// message the user saw), else a crash with the exception's type and message. Written atomically, and only into a
    /// directory that exists and that no other process owns (a run that another process trains keeps its files); it never
    /// throws, so that the original error is what the user sees.
    /// </summary>
    public static void Record(string runDir, Exception error, string? userErrorMessage)
    {
        var failure = userErrorMessage is not null
            ? new RunFailure(FailureKind.UserError, userErrorMessage)
            : new RunFailure(FailureKind.Crash, $"{error.GetType().FullName}: {error.Message}");
        try
        {
            if (!Directory.Exists(runDir)) return;
            using var owner = BertLab.IO.FileLock.TryAcquire(Path.Combine(runDir, RunDirectory.LockFile));
            if (owner is null) return;
            BertLab.IO.AtomicFile.WriteText(PathIn(runDir), failure.ToJsonText());
        }
        // whatever stops the record (a read-only or full disk, a permission) must not replace the error being reported
        catch (Exception e) when (e is not OutOfMemoryException) { }
    }

    /// <summary>"SIGKILL" for 9; null for a signal without a common name.</summary>
    public static string? SignalName(int signal) => signal switch
    {
        1 => "SIGHUP", 2 => "SIGINT", 3 => "SIGQUIT", 4 => "SIGILL", 6 => "SIGABRT", 7 => "SIGBUS", 8 => "SIGFPE", 9 => "SIGKILL",
        11 => "SIGSEGV", 13 => "SIGPIPE", 15 => "SIGTERM", _ => null,
    };
}
