using System.Globalization;
using System.Text;

namespace BertLab.Runtime;

/// <summary>One BERTLAB_* environment variable: what it does, its default, and which code reads it.</summary>
public sealed record EnvironmentVariable(string Name, string Default, string Effect, string ReadBy)
{
    /// <summary>The variable's value in this process; null when unset or empty.</summary>
    public string? Value => Environment.GetEnvironmentVariable(Name) is { Length: > 0 } v ? v : null;

    /// <summary>True when set to "1" (a switch that is off by default).</summary>
    public bool IsOn => Value == "1";

    /// <summary>True when set to "0" (a switch that is on by default).</summary>
    public bool IsOff => Value == "0";

    /// <summary>The value as a non-negative number, <paramref name="fallback"/> when unset; anything else is an error naming the variable.</summary>
    public double NonNegative(double fallback)
    {
        if (Value is not string text || string.IsNullOrWhiteSpace(text)) return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || v < 0)
            throw new BertLabException($"environment variable {Name}={text}: expected a non-negative number");
        return v;
    }
}

/// <summary>
/// Every environment variable BertLab reads: settings of the machine and of measurements, never of a run's results
/// (those are keys of run_config.json, <c>Training.RunConfigKeys</c>). README.md holds <see cref="MarkdownTable"/>, and a
/// test keeps it, and the BERTLAB_* names the sources mention, equal to this list.
/// </summary>
public static class EnvironmentVariables
{
    public static readonly EnvironmentVariable Data = new("BERTLAB_DATA", "the repository's data/ folder, or one next to the program",
        "The folder of the embedded defaults (vocabulary, corpus, tasks), for a program run outside the repository", "DataPaths.Root");
    public static readonly EnvironmentVariable MallocTune = new("BERTLAB_MALLOC_TUNE", "on",
        "0: no malloc tuning and no re-execution with glibc's huge-page heap (measure without them)",
        "TorchRuntime.Initialize, TorchRuntime.HugePageTunables");
    public static readonly EnvironmentVariable MklFix = new("BERTLAB_MKL_FIX", "on",
        "0: do not force MKL's fast path on AMD CPUs (measure without it)", "TorchRuntime.Initialize");
    public static readonly EnvironmentVariable KernelProfile = new("BERTLAB_KERNEL_PROFILE", "off",
        "1: print the stage times of the CPU cottention kernel and of each benchmark step to stderr", "LinearCosineCpu, AttentionBenchmark");
    public static readonly EnvironmentVariable MpiLibrary = new("BERTLAB_MPI_LIBRARY", "libmpi.so.40, else libmpi.so",
        "The Open MPI library data-parallel training loads", "MpiNative.TryLoad");
    public static readonly EnvironmentVariable MpiBucketMb = new("BERTLAB_MPI_BUCKET_MB", "16",
        "Size in MB of the fp32 buckets gradients are all-reduced in (speed only: the sums are the same)", "MpiDataParallel");
    public static readonly EnvironmentVariable MpiProfile = new("BERTLAB_MPI_PROFILE", "off",
        "1: a barrier before each gradient all-reduce, so summary.json separates waiting for the slowest rank from the all-reduce",
        "MpiDataParallel");
    public static readonly EnvironmentVariable MpiTimeoutS = new("BERTLAB_MPI_TIMEOUT_S", "1800",
        "Seconds one collective may wait before the watchdog ends the job with a message; 0 = no watchdog", "MpiDataParallel");

    public static readonly EnvironmentVariable ParentPid = new("BERTLAB_PARENT_PID", "unset",
        "Set by a sweep for each run it starts (its own PID): the run stops at a checkpoint when that process dies", "ParentDeath.WatchParent");

    public static IReadOnlyList<EnvironmentVariable> All { get; } = [Data, MallocTune, MklFix, KernelProfile, MpiLibrary, MpiBucketMb, MpiProfile, MpiTimeoutS, ParentPid];

    /// <summary>The Markdown table of every variable: name, effect, default, reader (README.md holds a copy).</summary>
    public static string MarkdownTable()
    {
        var sb = new StringBuilder();
        sb.Append("| variable | what it does | default | read by |\n");
        sb.Append("| --- | --- | --- | --- |\n");
        foreach (var v in All) sb.Append($"| `{v.Name}` | {v.Effect} | {v.Default} | `{v.ReadBy}` |\n");
        return sb.ToString();
    }
}
