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
    /// must not already hold a run (<see cref="Claim"/> checks that).</summary>
    public static RunDirectory ChooseRunDirectory(string? resumeDir, string? outDir, RunConfig config)
    {
        if (resumeDir is not null)
        {
            if (!Directory.Exists(resumeDir)) throw new BertLabException($"--resume {resumeDir}: no such run directory");
            return new RunDirectory(resumeDir);
        }
        if (outDir is not null && File.Exists(outDir)) throw new BertLabException($"--out {outDir}: is a file, not a directory; choose another --out");
        // whether it already holds a run is checked under its lock (Claim): another process may be starting one there
        return new RunDirectory(outDir ?? Path.Combine("runs", $"{DateTime.Now:yyyyMMdd-HHmmss}-{config.Model.Attention.Preset}"));
    }

    /// <summary>
    /// Takes the run directory for this process (<see cref="RunDirectory.Lock"/>: exit 2 naming the owner's PID when
    /// another process has it), then checks again, under the lock, that a new run does not land on an existing one.
    /// Nothing in the directory is written but the lock.
    /// </summary>
    public static IDisposable Claim(RunDirectory dir, bool resume)
    {
        var held = dir.Lock();
        if (!resume && dir.HoldsRun)
        {
            held.Dispose();
            throw new BertLabException($"{dir.Root} already holds a run; continue it with --resume {dir.Root} or choose another --out");
        }
        return held;
    }

    /// <summary>
    /// What a resume would do, decided before anything is written: null to go on; a message when the run already
    /// completed its <c>run.steps</c> (nothing to do, nothing changed). Throws when the new <c>run.steps</c> lies behind
    /// where the run already is (a run cannot be shortened).
    /// </summary>
    public static string? CheckResume(RunDirectory dir, RunConfig config)
    {
        var summary = dir.ReadSummary();
        int reached = Math.Max(dir.Checkpoints() is { Count: > 0 } all ? all[^1].Step : 0, summary?.Status == RunStatus.Completed ? summary.Step : 0);
        if (config.Run.Steps < reached)
            throw new BertLabException($"{dir.Root} is already at step {reached}; run.steps {config.Run.Steps} would go back: resume with --steps {reached} or more (nothing was changed)");
        if (summary is { Status: RunStatus.Completed } && summary.Step == config.Run.Steps)
            return $"{dir.Root} already completed its {summary.Step} steps: nothing to do, nothing changed (to train on: --resume {dir.Root} --steps N with N > {summary.Step})";
        return null;
    }

    /// <summary>Ranks on one machine share its cores: run.threads 0 ("all cores") becomes this rank's share of them.</summary>
    public static void ShareThreads(RunConfig config, int ranksOnThisMachine)
    {
        if (config.Run.Threads == 0) config.Run.Threads = Math.Max(1, Environment.ProcessorCount / Math.Max(1, ranksOnThisMachine));
    }
}
