using System.Runtime.InteropServices;

namespace BertLab.Training;

/// <summary>
/// Graceful stop on SIGINT (Ctrl-C) and SIGTERM (SLURM, MPI and container runtimes send it before killing): the first
/// signal only sets <see cref="Requested"/>, and the trainer finishes its current step, writes a checkpoint and a
/// "stopped" summary, and the process exits 130 (SIGINT) or 143 (SIGTERM). A second signal exits at once.
/// </summary>
public static class StopSignal
{
    public const int SigInt = 2, SigTerm = 15;
    static int _signal;
    static long _firstTicks;
    /// <summary>A repeat within this time is the same stop, not a second one: Ctrl-C reaches a sweep's runs both from the
    /// terminal (one process group) and forwarded by the sweep.</summary>
    static readonly TimeSpan Repeat = TimeSpan.FromSeconds(2);
    static PosixSignalRegistration? _int, _term;
    static Action<string>? _notify;
    static readonly object Gate = new();

    /// <summary>The first signal received since <see cref="Install"/> (2 or 15), or null.</summary>
    public static int? Received => Volatile.Read(ref _signal) is int s && s != 0 ? s : null;
    public static bool Requested => Received is not null;
    public static string? Name => Received switch { SigInt => "SIGINT", SigTerm => "SIGTERM", _ => null };
    /// <summary>The exit code for the signal received: 130 for SIGINT, 143 for SIGTERM (128 + the signal's number).</summary>
    public static int ExitCode => Received == SigTerm ? ExitCodes.Terminated : ExitCodes.Interrupted;

    /// <summary>Starts handling SIGINT and SIGTERM in this process; <paramref name="notify"/> (when given, it replaces an
    /// earlier one) hears of the first signal, at once if that signal came before this call: the program installs the
    /// handlers as it starts (a stop during start-up is then a stop, not a kill) and the verb names its listener later.</summary>
    public static void Install(Action<string>? notify = null)
    {
        lock (Gate)
        {
            if (notify is not null) _notify = notify;
            _int ??= PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Handle(c, SigInt));
            _term ??= PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Handle(c, SigTerm));
        }
        if (notify is not null && Requested) notify(StoppingMessage);
    }

    static string StoppingMessage => $"{Name} received: stopping after this step (a checkpoint is written; a second signal stops at once)";

    static void Handle(PosixSignalContext context, int signal)
    {
        context.Cancel = true;
        if (Interlocked.CompareExchange(ref _signal, signal, 0) == 0) Volatile.Write(ref _firstTicks, Environment.TickCount64);
        else if (Environment.TickCount64 - Volatile.Read(ref _firstTicks) < Repeat.TotalMilliseconds) return;
        else
        {
            Console.Error.WriteLine($"second signal ({(signal == SigTerm ? "SIGTERM" : "SIGINT")}): stopping at once, without a checkpoint");
            Environment.Exit(signal == SigTerm ? ExitCodes.Terminated : ExitCodes.Interrupted);
        }
        Action<string>? notify;
        lock (Gate) notify = _notify;
        notify?.Invoke(StoppingMessage);
    }

    /// <summary>Forgets a received signal (tests; a process that handled its stop and goes on).</summary>
    public static void Reset() => Volatile.Write(ref _signal, 0);

    [DllImport("libc", EntryPoint = "sigaction")]
    static extern int SysSigaction(int sig, IntPtr act, IntPtr oldact);

    [DllImport("libc", EntryPoint = "signal")]
    static extern IntPtr SysSignal(int sig, IntPtr handler);

    /// <summary>
    /// Gives SIGINT back its default action when this process started with it ignored: a non-interactive shell starts
    /// every <c>command &amp;</c> that way, <c>nohup</c> too, and so do many CI runners and schedulers. The .NET runtime
    /// installs no handler for an ignored SIGINT, so without this <c>kill -INT</c> would not stop a run at a checkpoint.
    /// Call it first thing in Main, before anything installs signal handlers (it changes only SIG_IGN, never a handler).
    /// Returns true when it changed the disposition.
    /// </summary>
    public static bool RestoreIgnoredSigint()
    {
        if (!OperatingSystem.IsLinux()) return false;
        // struct sigaction (glibc, x86-64 and arm64): the handler is its first field; 256 bytes cover the whole struct.
        IntPtr old = Marshal.AllocHGlobal(256);
        try
        {
            if (SysSigaction(SigInt, IntPtr.Zero, old) != 0) return false;
            if (Marshal.ReadIntPtr(old) != (IntPtr)1) return false; // SIG_IGN is 1
            SysSignal(SigInt, IntPtr.Zero);                            // SIG_DFL is 0
            return true;
        }
        finally { Marshal.FreeHGlobal(old); }
    }

    [DllImport("libc", SetLastError = true, EntryPoint = "kill")]
    static extern int SysKill(int pid, int sig);

    /// <summary>Sends <paramref name="signal"/> to a process (a sweep forwards its stop to its runs); false when it failed.</summary>
    public static bool Send(int pid, int signal) => OperatingSystem.IsWindows() ? false : SysKill(pid, signal) == 0;
}

/// <summary>Work stopped on request (<see cref="StopSignal"/>) after saving what it had: the message says what was kept;
/// the process exits with <see cref="StopSignal.ExitCode"/>.</summary>
public sealed class TrainingStoppedException : BertLabException
{
    public TrainingStoppedException(string message) : base(message) { }
}
