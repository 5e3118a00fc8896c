using System.Diagnostics;
using BertLab.Training;

namespace BertLab.Experiments;

/// <summary>What the sweep asks for one grid point: train it fresh from its resolved configuration, or resume it.</summary>
public sealed record RunLaunch(string RunDir, string ConfigPath, bool Resume, int Threads);

/// <summary>
/// How a launched run ended: its exit code (<see cref="ExitCodes"/>), its typed summary (summary.json, read with
/// <see cref="RunSummary.FromJson"/>; null when the run wrote none), and a diagnostic only for a run that ended without a
/// final summary (it failed before or outside the training loop: a configuration error, a crash).
/// </summary>
public sealed record LaunchResult(int ExitCode, string? Error)
{
    public RunSummary? Summary { get; init; }
}

/// <summary>Trains one grid point to its end (completed, diverged, failed).</summary>
public interface IRunLauncher
{
    LaunchResult Launch(RunLaunch request, CancellationToken cancel = default);
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

    public LaunchResult Launch(RunLaunch request, CancellationToken cancel = default)
    {
        var psi = new ProcessStartInfo(_host)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in _prefix) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add("train");
        if (request.Resume) { psi.ArgumentList.Add("--resume"); psi.ArgumentList.Add(request.RunDir); }
        else
        {
            psi.ArgumentList.Add("--config"); psi.ArgumentList.Add(request.ConfigPath);
            psi.ArgumentList.Add("--out"); psi.ArgumentList.Add(request.RunDir);
        }
        psi.ArgumentList.Add("--threads"); psi.ArgumentList.Add(request.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["COLUMNS"] = "200";

        Directory.CreateDirectory(request.RunDir);
        var logPath = Path.Combine(request.RunDir, LogFile);
        var gate = new object();
        var errors = new List<string>();
        using var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        log.WriteLine($"$ {CommandLine(psi.ArgumentList.Skip(_prefix.Count).ToArray())}");
        using var process = new Process { StartInfo = psi };
        void OnLine(string? line, bool stderr)
        {
            if (line is null) return;
            lock (gate)
            {
                log.WriteLine(line);
                if (stderr) errors.Add(line);
            }
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data, false);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data, true);
        try { process.Start(); }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return new LaunchResult(-1, $"could not start {_host}: {e.Message}");
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
        // The run's outcome is its summary; the exit code and stderr only explain a run that did not write one.
        var summary = new RunDirectory(request.RunDir).ReadSummary();
        bool explained = summary is not null && summary.Status != RunStatus.Running && process.ExitCode == ExitCodes.For(summary.Status);
        lock (gate) return new LaunchResult(process.ExitCode, explained ? null : ErrorFrom(errors, process.ExitCode)) { Summary = summary };
    }

    /// <summary>The CLI's one-line "error: …" for user errors, else the exception line of a crash, else the exit code.</summary>
    static string ErrorFrom(List<string> stderr, int exitCode)
    {
        var userError = stderr.LastOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal));
        if (userError is not null) return userError["error:".Length..].Trim();
        var crash = stderr.FirstOrDefault(l => l.StartsWith("Unhandled exception.", StringComparison.Ordinal));
        if (crash is not null) return crash["Unhandled exception.".Length..].Trim();
        var last = stderr.LastOrDefault(l => !string.IsNullOrWhiteSpace(l));
        string signal = exitCode > 128 ? $" (signal {exitCode - 128})" : "";
        return last is null ? $"exit code {exitCode}{signal}" : $"exit code {exitCode}{signal}: {last.Trim()}";
    }
}
