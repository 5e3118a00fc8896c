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
}

/// <summary>
/// An sbatch job-array script: one array task per grid point, each running
/// <c>bertlab sweep run SOURCE --out DIR --only $SLURM_ARRAY_TASK_ID</c> into the shared sweep directory.
/// </summary>
public static class SlurmScript
{
    public const string FileName = "sweep.sbatch";

    /// <param name="bertlab">The command that runs bertlab on the compute nodes (e.g. <c>/usr/bin/dotnet /opt/bertlab/BertLab.Cli.dll</c>).</param>
    /// <param name="sourceArguments">The sweep source and its options, e.g. ["research-log", "--budget", "tiny"] or [path of the sweep file].</param>
    public static string Create(string jobName, int points, string sweepDir, string workingDir, string bertlab, IReadOnlyList<string> sourceArguments, SlurmOptions o)
    {
        if (points < 1) throw new BertLabException("the sweep has no grid points");
        if (o.Cpus < 1) throw new BertLabException($"--cpus must be at least 1, got {o.Cpus}");
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
        sb.Append("set -euo pipefail\n");
        sb.Append("cd ").Append(q(workingDir)).Append('\n');
        sb.Append("export SLURM_CPUS_PER_TASK=\"${SLURM_CPUS_PER_TASK:-").Append(o.Cpus.ToString(CultureInfo.InvariantCulture)).Append("}\"\n");
        sb.Append("exec ").Append(bertlab).Append(" sweep run ").Append(string.Join(" ", sourceArguments.Select(q)))
          .Append(" --out ").Append(q(sweepDir)).Append(" --only \"$SLURM_ARRAY_TASK_ID\"\n");
        return sb.ToString();
    }
}
