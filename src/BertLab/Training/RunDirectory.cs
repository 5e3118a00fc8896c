using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Model;
using BertLab.IO;

namespace BertLab.Training;

/// <summary>
/// The layout of a training run's directory, and every read and write in it:
/// <code>
/// run_config.json                 the resolved configuration (resume reads it back)
/// metrics.jsonl                   one <see cref="StepRecord"/> per logged step
/// summary.json                    the <see cref="RunSummary"/>
/// failure.json                    why `train` failed before or outside its summary (<see cref="RunFailure"/>)
/// checkpoints/step-NNNNNNNN/      weights, optimiser state, bertlab_state.json (written as .tmp-step-N, then renamed)
/// model/                          the final weights (written as model.tmp, then renamed)
/// plots/                          loss and validation curves
/// </code>
/// Files are replaced atomically (temporary file, then rename), so a killed process never leaves a half-written one in use.
/// </summary>
public sealed class RunDirectory
{
    public const string ConfigFile = "run_config.json";
    public const string MetricsFile = "metrics.jsonl";
    public const string SummaryFile = "summary.json";
    public const string CheckpointsDir = "checkpoints";
    public const string ModelDir = "model";
    /// <summary>BertLab's own per-checkpoint state (<see cref="TrainerState"/>: step, RNG, data position, divergence guard,
    /// stability diagnostics). Not Hugging Face's trainer_state.json: another schema, so another name.</summary>
    public const string StateFile = "bertlab_state.json";
    /// <summary>The state file's name before it was renamed; still read on resume.</summary>
    public const string LegacyStateFile = "trainer_state.json";
    const string CheckpointPrefix = "step-";
    /// <summary>The lock a training process holds on its run directory while it runs (<see cref="Lock"/>).</summary>
    public const string LockFile = ".bertlab-train.lock";

    public RunDirectory(string path) => Root = path;

    public string Root { get; }
    public string ConfigPath => Path.Combine(Root, ConfigFile);
    public string MetricsPath => Path.Combine(Root, MetricsFile);
    public string SummaryPath => Path.Combine(Root, SummaryFile);
    public string CheckpointsPath => Path.Combine(Root, CheckpointsDir);
    public string ModelPath => Path.Combine(Root, ModelDir);

    public void Create() => FileFailure.CreateDirectory(Root);

    /// <summary>
    /// Makes this process the run directory's one owner (an exclusive flock on <see cref="LockFile"/>, which the kernel
    /// releases when the process ends, however it ends, so a killed run never blocks its resume). Throws a
    /// <see cref="BertLabException"/> naming the owner's process id when another process holds it.
    /// </summary>
    public IDisposable Lock()
    {
        if (File.Exists(Root)) throw new BertLabException($"{Root} is a file, not a run directory; choose another --out");
        Create();
        var path = Path.Combine(Root, LockFile);
        return FileLock.TryAcquireNamed(path)
            ?? throw new BertLabException($"{Root} is in use by another bertlab process (PID {FileLock.Owner(path)}); wait for it to end, stop it, or choose another --out");
    }

    /// <summary>True when the directory already holds a run (a summary or a checkpoint).</summary>
    public bool HoldsRun => File.Exists(SummaryPath) || LatestCheckpoint() is not null;

    public void WriteConfig(RunConfig config) =>
        AtomicFile.WriteText(ConfigPath, config.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    /// <summary>The saved configuration, as JSON to apply overrides to (resume).</summary>
    public JsonObject ReadConfigJson()
    {
        if (!File.Exists(ConfigPath)) throw new BertLabException($"{Root}: no {ConfigFile}; is this a run directory?");
        return RunConfig.LoadJson(ConfigPath);
    }

    // ---- metrics.jsonl

    public void AppendMetrics(StepRecord record) => File.AppendAllText(MetricsPath, record.ToJson().ToJsonString() + "\n");

    public void DeleteMetrics()
    {
        if (File.Exists(MetricsPath)) File.Delete(MetricsPath);
    }

    /// <summary>On resume, drop records written after the checkpoint (they will be produced again, identically).</summary>
    public void TruncateMetrics(int step)
    {
        if (!File.Exists(MetricsPath)) return;
        var keep = File.ReadAllLines(MetricsPath).Where(l =>
        {
            try { return JsonNode.Parse(l)?[MetricKeys.Step]?.GetValue<int>() <= step; }
            catch (JsonException) { return false; }
        }).ToList();
        AtomicFile.WriteText(MetricsPath, keep.Count == 0 ? "" : string.Join("\n", keep) + "\n");
    }

    // ---- summary.json

    /// <summary>Writes the summary; a failure record of an earlier attempt no longer describes the run and goes.</summary>
    public void WriteSummary(RunSummary summary)
    {
        AtomicFile.WriteText(SummaryPath, summary.ToJsonText());
        RunFailure.Delete(Root);
    }

    /// <summary>The run's summary; null when there is none (or it is not a complete summary).</summary>
    public RunSummary? ReadSummary() => RunSummary.TryRead(SummaryPath);

    // ---- checkpoints/

    /// <summary>Complete checkpoints (those with their state file), oldest first.</summary>
    public IReadOnlyList<(string Dir, int Step)> Checkpoints()
    {
        if (!Directory.Exists(CheckpointsPath)) return Array.Empty<(string, int)>();
        return Directory.GetDirectories(CheckpointsPath, CheckpointPrefix + "*")
            .Select(d => (dir: d, ok: int.TryParse(Path.GetFileName(d)[CheckpointPrefix.Length..], out int s), step: s))
            .Where(x => x.ok && StatePath(x.dir) is not null)
            .OrderBy(x => x.step).Select(x => (x.dir, x.step)).ToList();
    }

    public string? LatestCheckpoint() => Checkpoints() is { Count: > 0 } all ? all[^1].Dir : null;

    public static string? LatestCheckpoint(string runDir) => new RunDirectory(runDir).LatestCheckpoint();

    /// <summary>The state file of a checkpoint directory (its current name, else the legacy one); null when neither exists.</summary>
    public static string? StatePath(string checkpointDir)
    {
        var current = Path.Combine(checkpointDir, StateFile);
        if (File.Exists(current)) return current;
        var legacy = Path.Combine(checkpointDir, LegacyStateFile);
        return File.Exists(legacy) ? legacy : null;
    }

    /// <summary>
    /// Writes checkpoints/.tmp-step-N completely (<paramref name="write"/> fills the folder; <paramref name="state"/> goes
    /// last, as the state file that marks it complete), then renames it to step-N: a kill mid-write never leaves a step-N
    /// that loads wrongly. Returns the checkpoint's path.
    /// </summary>
    public string WriteCheckpoint(int step, Action<string> write, TrainerState state)
    {
        FileFailure.CreateDirectory(CheckpointsPath);
        var name = $"{CheckpointPrefix}{step:D8}";
        var tmp = Path.Combine(CheckpointsPath, ".tmp-" + name);
        var final = Path.Combine(CheckpointsPath, name);
        AtomicFile.WriteDirectory(final, tmp, t =>
        {
            write(t);
            File.WriteAllText(Path.Combine(t, StateFile), state.ToJson());
        });
        return final;
    }

    /// <summary>The state saved with a checkpoint (a corrupt one: a <see cref="BertLabException"/> naming the checkpoint and the file).</summary>
    public static TrainerState ReadCheckpointState(string checkpointDir)
    {
        var path = StatePath(checkpointDir) ?? throw new BertLabException($"{checkpointDir}: no {StateFile}");
        return TrainerState.Parse(File.ReadAllText(path), $"{checkpointDir}: corrupt {Path.GetFileName(path)}");
    }

    /// <summary>Keeps the last <paramref name="keepLast"/> checkpoints and the one at <paramref name="protectedStep"/> (the best).</summary>
    public void Prune(int keepLast, int protectedStep)
    {
        foreach (var (dir, step) in Checkpoints().SkipLast(keepLast))
            if (step != protectedStep) Directory.Delete(dir, true);
    }

    // ---- model/

    /// <summary>Writes model.tmp completely with <paramref name="write"/>, then renames it to model/. Returns model/'s path.</summary>
    public string WriteModel(Action<string> write)
    {
        var dir = ModelPath;
        AtomicFile.WriteDirectory(dir, dir + ".tmp", write);
        return dir;
    }
}
