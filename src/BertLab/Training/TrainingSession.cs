using System.Text.Json.Nodes;

namespace BertLab.Training;

/// <summary>
/// The rules around a training run that are not the loop itself, for every front end (the CLI's train verb, sweeps):
/// where the run lives, which configuration a resume takes, how ranks share a machine's cores, the exit code.
/// </summary>
public static class TrainingSession
{
    /// <summary>The configuration to start from, as JSON to apply overrides to: a resumed run takes its saved
    /// run_config.json (and then no --config), a new run the given file or the defaults.</summary>
    public static JsonObject LoadConfigJson(string? configPath, string? resumeDir)
    {
        if (resumeDir is null) return RunConfig.LoadJson(configPath);
        if (configPath is not null) throw new BertLabException("--resume takes the run's saved configuration; do not combine it with --config");
        return new RunDirectory(resumeDir).ReadConfigJson();
    }

    /// <summary>The run directory: the resumed one, else <paramref name="outDir"/> or runs/&lt;date&gt;-&lt;attention&gt;, which
    /// must not already hold a run.</summary>
    public static RunDirectory ChooseRunDirectory(string? resumeDir, string? outDir, RunConfig config)
    {
        if (resumeDir is not null) return new RunDirectory(resumeDir);
        var dir = new RunDirectory(outDir ?? Path.Combine("runs", $"{DateTime.Now:yyyyMMdd-HHmmss}-{config.Model.Attention.Preset}"));
        if (dir.HoldsRun) throw new BertLabException($"{dir.Root} already holds a run; continue it with --resume {dir.Root} or choose another --out");
        return dir;
    }

    /// <summary>Ranks on one machine share its cores: run.threads 0 ("all cores") becomes this rank's share of them.</summary>
    public static void ShareThreads(RunConfig config, int ranksOnThisMachine)
    {
        if (config.Run.Threads == 0) config.Run.Threads = Math.Max(1, Environment.ProcessorCount / Math.Max(1, ranksOnThisMachine));
    }
}
