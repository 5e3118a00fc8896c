using BertLab.Runtime;
using System.Diagnostics;
using System.Globalization;
using BertLab.Training;

namespace BertLab.Experiments;

/// <summary>What the sweep asks for one grid point: train it fresh from its resolved configuration, or resume it, with this
/// many CPU threads.</summary>
public sealed record RunRequest(string RunDir, string ConfigPath, bool Resume, int Threads)
{
    /// <summary>The <c>bertlab train</c> command line that carries out this request (its documented options).</summary>
    public IReadOnlyList<string> TrainArguments() => (Resume
            ? new[] { "train", "--resume", RunDir }
            : new[] { "train", "--config", ConfigPath, "--out", RunDir })
        .Concat(new[] { "--threads", Threads.ToString(CultureInfo.InvariantCulture) }).ToList();
}

/// <summary>
/// How a launched run ended: its exit code (<see cref="ExitCodes"/>), its typed summary (summary.json, read with
/// <see cref="RunSummary.FromJson"/>; null when the run wrote none) and, for a run whose summary does not explain the exit,
/// a typed failure: the run's own record (failure.json), the reason of a summary that says it failed, or what the launcher
/// saw (the exit code, the signal that ended it, where its output went).
/// </summary>
public sealed record LaunchResult(int ExitCode)
{
    public RunSummary? Summary { get; init; }
    public RunFailure? Failure { get; init; }

    public static LaunchResult NotStarted(string message) =>
        new(-1) { Failure = new RunFailure(FailureKind.NotStarted, message) };
}

/// <summary>Trains one grid point to its end (completed, diverged, failed).</summary>
public interface IRunLauncher
{
    LaunchResult Launch(RunRequest request, CancellationToken cancel = default);
}

/// <summary>
/// Runs each grid point as its own process, <c>dotnet BertLab.Cli.dll train --config … --out …</c> (or <c>train --resume …</c>):
/// torch.set_num_threads is process-global, so workers in one process could not have their own thread counts, and a
/// crash (out of memory, native abort) ends only that run. Output goes to &lt;run-dir&gt;/train.log.
/// </summary>
public sealed class ChildProcessLauncher : IRunLauncher
{
    public const string LogFile = "train.log";
    readonly string _host;
    readonly IReadOnlyList<string> _prefix;

    /// <param name="host">Executable: the dotnet host (with the CLI's dll as first argument) or the bertlab apphost.</param>
    /// <param name="prefixArguments">Arguments before the verb, e.g. the path of BertLab.Cli.dll.</param>
    public ChildProcessLauncher(string host, IReadOnlyList<string> prefixArguments)
    {
        _host = host;
        _prefix = prefixArguments;
    }

    /// <summary>The command that runs the given CLI assembly (BertLab.Cli.dll): <c>dotnet &lt;dll&gt;</c>.</summary>
    public static ChildProcessLauncher ForAssembly(string cliDll) => new(DotnetHost(), new[] { cliDll });

    /// <summary>The dotnet executable running this process (or DOTNET_HOST_PATH, or "dotnet" from PATH).</summary>
    public static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        var fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk)) return fromSdk;
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root) && File.Exists(Path.Combine(root, "dotnet"))) return Path.Combine(root, "dotnet");
        return "dotnet";
    }

    /// <summary>The command line (host and arguments) as a shell would show it, for job scripts.</summary>
    public string CommandLine(params string[] verbArguments) =>
        string.Join(" ", new[] { _host }.Concat(_prefix).Concat(verbArguments).Select(ShellQuote));

    public static string ShellQuote(string s) =>
        s.Length > 0 && s.All(c => char.IsAsciiLetterOrDigit(c) || "/._-=:+,@%".Contains(c)) ? s : "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>How long a run may take to stop gracefully after the sweep was stopped.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromMinutes(2);

    public LaunchResult Launch(RunRequest request, CancellationToken cancel = default)
    {
        var psi = new ProcessStartInfo(_host)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in _prefix) psi.ArgumentList.Add(a);
        foreach (var a in request.TrainArguments()) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "200";
        // the run stops (checkpoint, "stopped") when this process dies, by any signal (ParentDeath)
        ParentDeath.MarkChild(psi);

        Directory.CreateDirectory(request.RunDir);
        // a record of an earlier attempt must not explain this one
        RunFailure.Delete(request.RunDir);
        var logPath = Path.Combine(request.RunDir, LogFile);
        var gate = new object();
        using var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        log.WriteLine($"$ {CommandLine(psi.ArgumentList.Skip(_prefix.Count).ToArray())}");
        using var process = new Process { StartInfo = psi };
        // the output goes to train.log only: the run's outcome is its summary or its failure record, never its text
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (gate) log.WriteLine(line);
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        try { process.Start(); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return LaunchResult.NotStarted($"could not start {_host}: {e.Message}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // A stopped sweep stops its runs as Ctrl-C does: SIGINT, so each writes a checkpoint and a "stopped" summary
        // (resumable: the sweep run again continues it); a run that does not end within StopGrace is killed.
        using (cancel.Register(() =>
               {
                   try
                   {
                       if (!StopSignal.Send(process.Id, StopSignal.SigInt)) process.Kill(entireProcessTree: true);
                       else Task.Delay(StopGrace).ContinueWith(_ => { try { if (!process.HasExited) process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { } });
                   }
                   catch (InvalidOperationException) { }
               }))
            process.WaitForExit();
        var summary = new RunDirectory(request.RunDir).ReadSummary();
        bool explained = summary is not null && summary.Status != RunStatus.Running
                         && (process.ExitCode == ExitCodes.For(summary.Status)
                             || summary.Status == RunStatus.Stopped && process.ExitCode is ExitCodes.Interrupted or ExitCodes.Terminated);
        return new LaunchResult(process.ExitCode) { Summary = summary, Failure = explained ? null : FailureOf(request.RunDir, summary, process.ExitCode, logPath) };
    }

    /// <summary>Why a run's exit is not explained by its summary: its own failure record, else its summary's reason when
    /// that says failed, else the exit code and the signal that ended it, pointing to its output.</summary>
    public static RunFailure FailureOf(string runDir, RunSummary? summary, int exitCode, string logPath)
    {
        if (RunFailure.TryRead(runDir) is RunFailure recorded) return recorded with { ExitCode = exitCode };
        if (summary is { Status: RunStatus.Failed, Reason: string reason }) return new RunFailure(FailureKind.Crash, reason) { ExitCode = exitCode };
        // .NET reports a child ended by signal n as exit code 128 + n
        int? signal = exitCode is > 128 and < 128 + 65 ? exitCode - 128 : null;
        string how = signal is int s ? $"killed by signal {s}{(RunFailure.SignalName(s) is string name ? $" ({name})" : "")}, exit code {exitCode}," : $"exit code {exitCode}";
        return new RunFailure(FailureKind.NoRecord, $"{how} without a summary or a failure record; its output is in {logPath}")
        {
            ExitCode = exitCode, Signal = signal, Log = logPath,
        };
    }
}
