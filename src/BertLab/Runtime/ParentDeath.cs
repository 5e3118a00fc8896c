using System.Runtime.InteropServices;

namespace BertLab.Runtime;

/// <summary>
/// A sweep's runs die with their sweep. The sweep starts each run with <see cref="EnvironmentVariables.ParentPid"/> set to its own
/// process id; the run, first thing in Main, asks the kernel for SIGTERM when its parent dies (Linux
/// <c>prctl(PR_SET_PDEATHSIG)</c>; .NET's Process has no hook between fork and exec, so the child sets it on itself)
/// and then checks that the parent is still the one named (it may have died before the request). SIGTERM, not SIGKILL:
/// the run finishes its step, writes a checkpoint and a "stopped" summary, so that the next `sweep run` resumes it.
/// Without the variable (a run started by a person, by SLURM, by mpirun) nothing changes.
/// </summary>
public static class ParentDeath
{
    const int PrSetPdeathsig = 1, SigTerm = 15;

    [DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    static extern int Prctl(int option, ulong arg2, ulong arg3, ulong arg4, ulong arg5);

    [DllImport("libc", EntryPoint = "getppid")]
    static extern int GetPpid();

    /// <summary>Arranges SIGTERM at the parent's death when the parent asked for it; when the parent is already gone,
    /// exits at once with 143 (nothing was written yet). Returns whether the watch is on.</summary>
    /// <remarks>The kernel ties the request to the parent's thread that started the child: the sweep starts each run
    /// from the thread that then waits for it (<c>WaitForExit</c>), so that thread lives as long as the run.</remarks>
    public static bool WatchParent()
    {
        if (!OperatingSystem.IsLinux()) return false;
        if (!int.TryParse(EnvironmentVariables.ParentPid.Value, out int parent) || parent <= 0) return false;
        if (Prctl(PrSetPdeathsig, SigTerm, 0, 0, 0) != 0) return false;
        // the parent died between fork and here: the kernel sends nothing for that
        if (GetPpid() != parent)
        {
            Console.Error.WriteLine($"bertlab: the process that started this one (PID {parent}) has ended; not starting");
            Environment.Exit(128 + SigTerm);
        }
        return true;
    }

    /// <summary>Sets the variable for a child about to be started by this process.</summary>
    public static void MarkChild(System.Diagnostics.ProcessStartInfo psi) =>
        psi.Environment[EnvironmentVariables.ParentPid.Name] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
