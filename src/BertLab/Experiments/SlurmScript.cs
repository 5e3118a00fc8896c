using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace BertLab.Experiments;

/// <summary>Settings of the job array that `bertlab sweep slurm` writes.</summary>
public sealed class SlurmOptions
{
    public string? Partition { get; init; }
    /// <summary>Time limit per array task, HH:MM:SS (or D-HH:MM:SS).</summary>
    public string Time { get; init; } = "04:00:00";
    public int Cpus { get; init; } = 2;
    /// <summary>Memory per array task, e.g. 4G; null = the partition's default.</summary>
    public string? Memory { get; init; }
    /// <summary>Seconds before the time limit at which SLURM warns the task (SIGUSR1): enough for the run to finish its
    /// step and write a checkpoint; the task then requeues itself.</summary>
    public int WarningSeconds { get; init; } = 180;
    /// <summary>A task requeues itself at most this many times (SLURM_RESTART_COUNT): a run that never finishes stops.</summary>
    public int MaxRequeues { get; init; } = 20;
}

/// <summary>
/// An sbatch job-array script: one array task per grid point, each running
/// <c>bertlab sweep run SOURCE --out DIR --only $SLURM_ARRAY_TASK_ID</c> into the shared sweep directory.
/// Time limits and preemption: the task is requeueable (<c>--requeue</c>) and asks for SIGUSR1 a few minutes before its
/// limit (<c>--signal=B:USR1@N</c>, to the batch shell). On that warning the shell passes SIGTERM to bertlab (the run
/// finishes its step, writes a checkpoint, ends "stopped", exit 143) and requeues its own array task with
/// <c>scontrol requeue</c>, so that the task starts again and resumes from the checkpoint: a study longer than the
/// partition's limit needs nobody to resubmit it. Preemption and scancel send SIGTERM: the shell passes it on in the same
/// way, but does not requeue (SLURM requeues a preempted job by itself when the cluster's PreemptMode says so).
/// </summary>
public static class SlurmScript
{
    public const string FileName = "sweep.sbatch";

    /// <summary>Before the bertlab command (which runs in the background, so that the shell can take signals).</summary>
    const string TaskBody =
        "# SIGUSR1 (--signal: the time limit is near): stop the run at a checkpoint, then requeue this array task to resume it.\n" +
        "# SIGTERM (preemption, scancel): stop the run at a checkpoint; no requeue from here.\n" +
        "requeue=0 run=\"\"\n" +
        "max_requeues=__MAX_REQUEUES__\n" +
        "trap 'requeue=1; kill -TERM \"$run\" 2>/dev/null' USR1\n" +
        "trap 'kill -TERM \"$run\" 2>/dev/null' TERM\n";

    /// <summary>After it: wait through the traps for bertlab's own exit status, then requeue when the warning came.</summary>
    const string TaskEnd =
        "run=$!\n" +
        "status=0\n" +
        "while kill -0 \"$run\" 2>/dev/null; do wait \"$run\"; status=$?; done\n" +
        "# a wait cut short by a trap returns > 128; once bertlab has ended, wait gives its status (127: already collected)\n" +
        "wait \"$run\" 2>/dev/null; last=$?; [ \"$last\" -ne 127 ] && status=$last\n" +
        "if [ \"$requeue\" = 1 ] && [ \"$status\" = 143 ] && [ \"${SLURM_RESTART_COUNT:-0}\" -ge \"$max_requeues\" ]; then\n" +
        "  echo \"bertlab: the run stopped at a checkpoint; not requeued: this task was requeued $max_requeues times already (raise --max-requeues or a longer --time)\" >&2\n" +
        "elif [ \"$requeue\" = 1 ] && [ \"$status\" = 143 ]; then\n" +
        "  task=\"${SLURM_ARRAY_JOB_ID:-${SLURM_JOB_ID:-}}_${SLURM_ARRAY_TASK_ID}\"\n" +
        "  echo \"bertlab: time limit near: the run stopped at a checkpoint; requeueing array task $task to resume it\" >&2\n" +
        "  scontrol requeue \"$task\" && exit 0\n" +
        "  echo \"bertlab: scontrol requeue $task failed: run the same sweep again to resume\" >&2\n" +
        "fi\n" +
        "exit \"$status\"\n";

    /// <param name="bertlab">The command that runs bertlab on the compute nodes (e.g. <c>/usr/bin/dotnet /opt/bertlab/BertLab.Cli.dll</c>).</param>
    /// <param name="sourceArguments">The sweep source and its options, e.g. ["research-log", "--budget", "tiny"] or [path of the sweep file].</param>
    public static string Create(string jobName, int points, string sweepDir, string workingDir, string bertlab, IReadOnlyList<string> sourceArguments, SlurmOptions o)
    {
        if (points < 1) throw new BertLabException("the sweep has no grid points");
        if (o.Cpus < 1) throw new BertLabException($"--cpus must be at least 1, got {o.Cpus}");
        if (o.MaxRequeues < 0) throw new BertLabException($"--max-requeues must be at least 0, got {o.MaxRequeues}");
        if (o.WarningSeconds is < 10 or > 65535) throw new BertLabException($"--warning must be between 10 and 65535 seconds, got {o.WarningSeconds}");
        if (!Regex.IsMatch(o.Time, @"^(\d+-)?\d{1,3}:\d{2}:\d{2}$"))
            throw new BertLabException($"--time '{o.Time}' is not a SLURM time limit; expected HH:MM:SS or D-HH:MM:SS");
        if (o.Partition is not null && !Regex.IsMatch(o.Partition, @"^[A-Za-z0-9_.,-]+$"))
            throw new BertLabException($"--partition '{o.Partition}' is not a partition name");
        string q(string s) => ChildProcessLauncher.ShellQuote(s);
        string safeName = Regex.Replace(jobName, "[^A-Za-z0-9_.-]", "-");
        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append("# Written by `bertlab sweep slurm`: one array task per grid point of the sweep '").Append(jobName.Replace("\n", " ")).Append("'.\n");
        sb.Append("# Submit with: sbatch ").Append(q(Path.Combine(sweepDir, FileName))).Append("   then: bertlab report ").Append(q(sweepDir)).Append('\n');
        sb.Append("#SBATCH --job-name=bertlab-").Append(safeName).Append('\n');
        sb.Append("#SBATCH --array=0-").Append((points - 1).ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("#SBATCH --ntasks=1\n");
        sb.Append("#SBATCH --cpus-per-task=").Append(o.Cpus.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("#SBATCH --time=").Append(o.Time).Append('\n');
        if (o.Partition is not null) sb.Append("#SBATCH --partition=").Append(o.Partition).Append('\n');
        if (o.Memory is not null) sb.Append("#SBATCH --mem=").Append(o.Memory).Append('\n');
        sb.Append("#SBATCH --output=").Append(Path.Combine(sweepDir, "slurm", "%A_%a.out")).Append('\n');
        sb.Append("#SBATCH --open-mode=append\n");
        sb.Append("#SBATCH --requeue\n");
        sb.Append("#SBATCH --signal=B:USR1@").Append(o.WarningSeconds.ToString(CultureInfo.InvariantCulture)).Append('\n');
        sb.Append("set -uo pipefail\n");
        sb.Append("cd ").Append(q(workingDir)).Append('\n');
        sb.Append("export SLURM_CPUS_PER_TASK=\"${SLURM_CPUS_PER_TASK:-").Append(o.Cpus.ToString(CultureInfo.InvariantCulture)).Append("}\"\n");
        sb.Append(TaskBody.Replace("__MAX_REQUEUES__", o.MaxRequeues.ToString(CultureInfo.InvariantCulture)));
        sb.Append(bertlab).Append(" sweep run ").Append(string.Join(" ", sourceArguments.Select(q)))
          .Append(" --out ").Append(q(sweepDir)).Append(" --only \"$SLURM_ARRAY_TASK_ID\" &\n");
        sb.Append(TaskEnd);
        return sb.ToString();
    }
}
