using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Training;
using BertLab.IO;

namespace BertLab.Experiments;

/// <summary>How a sweep runs: parallel workers, one grid point only (a SLURM array task), the cores to divide.</summary>
public sealed class SweepRunOptions
{
    public int Workers { get; init; } = 1;
    /// <summary>Run only this grid point (the SLURM array index); null = all.</summary>
    public int? Only { get; init; }
    /// <summary>Cores divided among the workers (run.threads = max(1, cores / workers) unless a run sets run.threads).
    /// Default: SLURM_CPUS_PER_TASK when set, else the cores this process may use.</summary>
    public int Cores { get; init; } = DefaultCores();
    /// <summary>Delete a finished run's checkpoints/ (its model/ keeps the final weights): a sweep of many runs fills disks.</summary>
    public bool PruneCheckpoints { get; init; }

    public static int DefaultCores() =>
        int.TryParse(Environment.GetEnvironmentVariable("SLURM_CPUS_PER_TASK"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var c) && c > 0
            ? c : Environment.ProcessorCount;
}

/// <summary>What happened to one grid point in this invocation.</summary>
public sealed record PointOutcome(int Index, string Dir, string Action, RunStatus Status, int? Step, string? Detail);

/// <summary>
/// Runs a sweep's grid points into &lt;sweep-dir&gt;/runs/&lt;index&gt;-&lt;slug&gt;/: skips finished ones (summary.json says completed
/// or diverged), resumes interrupted ones from their last checkpoint, starts the rest; a failing run never stops the sweep.
/// The tokenised data is prepared once (under a lock) before any worker starts, since runs share the shard cache.
/// </summary>
public sealed class SweepRunner
{
    public const string ResolvedConfigFile = "resolved_config.json";
    const string RunLockFile = ".sweep-run.lock";
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    readonly SweepDefinition _definition;
    readonly string _sweepDir;
    readonly IRunLauncher _launcher;
    readonly SweepRunOptions _options;
    readonly Action<string> _log;
    readonly string _source;

    public SweepRunner(SweepDefinition definition, string sweepDir, IRunLauncher launcher, SweepRunOptions? options = null, Action<string>? log = null, string? source = null)
    {
        _definition = definition;
        _sweepDir = Path.GetFullPath(sweepDir);
        _launcher = launcher;
        _options = options ?? new SweepRunOptions();
        _log = log ?? (_ => { });
        _source = source ?? definition.Name;
        if (_options.Workers < 1) throw new BertLabException($"--workers must be at least 1, got {_options.Workers}");
    }

    /// <summary>Held by a whole-sweep run (not by one point's, --only, which SLURM array tasks run side by side).</summary>
    public const string SweepLockFile = ".bertlab-sweep.lock";

    public IReadOnlyList<PointOutcome> Run(CancellationToken cancel = default)
    {
        // a second `sweep run` on the same directory is turned away before it writes anything
        string lockPath = Path.Combine(_sweepDir, SweepLockFile);
        using var sweepLock = _options.Only is null
            ? FileLock.TryAcquireNamed(lockPath) ?? throw new BertLabException($"{_sweepDir} is in use by another bertlab sweep run (PID {FileLock.Owner(lockPath)}); wait for it to end or stop it, then run the same command again")
            : null;
        var points = _definition.Expand();
        SweepState.Initialize(_sweepDir, _definition, points, _source);
        if (_options.Only is int only && (only < 0 || only >= points.Count))
            throw new BertLabException($"--only {only}: the sweep '{_definition.Name}' has grid points 0..{points.Count - 1}");
        var selected = _options.Only is int o ? points.Where(p => p.Index == o).ToList() : points;
        BuildSetup(_definition, _sweepDir, _log);

        var todo = new List<SweepPoint>();
        var outcomes = new List<PointOutcome>();
        foreach (var p in selected)
        {
            var dir = RunDirOf(p, points.Count);
            var summary = new RunDirectory(dir).ReadSummary();
            string? mismatch = ConfigMismatch(dir, p);
            if (mismatch is null && summary is not null && summary.Status.IsFinal())
            {
                outcomes.Add(new PointOutcome(p.Index, Rel(dir), "skipped", summary.Status, summary.Step, "already finished"));
                Record(p, PointStatus.Of(summary));
                _log($"[{p.Index}] {Rel(dir)}: {summary.Status.ToText()}, already finished: skipped");
            }
            else todo.Add(p);
        }

        int workers = Math.Max(1, Math.Min(_options.Workers, todo.Count));
        int threads = Math.Max(1, _options.Cores / workers);
        PrepareData(todo, points.Count);

        var gate = new object();
        // in index order, one point at a time per worker (the default range partitioning would split the list in halves)
        Parallel.ForEach(System.Collections.Concurrent.Partitioner.Create(todo, System.Collections.Concurrent.EnumerablePartitionerOptions.NoBuffering), new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = cancel }, p =>
        {
            var outcome = RunPoint(p, points.Count, threads, cancel);
            lock (gate) outcomes.Add(outcome);
        });
        return outcomes.OrderBy(x => x.Index).ToList();
    }

    /// <summary>How often a held run directory is looked at again.</summary>
    static readonly TimeSpan HolderPoll = TimeSpan.FromMilliseconds(500);

    /// <summary>Waits while another process holds <paramref name="dir"/>'s training lock, naming it once in the log. The
    /// caller holds the point's sweep lock, so no other sweep can start the run meanwhile; the holder is a run whose sweep
    /// is gone (a run of a live sweep is behind that sweep's point lock).</summary>
    void WaitForEarlierHolder(SweepPoint p, string dir, CancellationToken cancel)
    {
        string trainLock = Path.Combine(dir, RunDirectory.LockFile);
        if (!File.Exists(trainLock)) return;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        bool announced = false;
        while (true)
        {
            using (var probe = FileLock.TryAcquire(trainLock))
                if (probe is not null) break;
            if (!announced)
            {
                _log($"[{p.Index}] {Rel(dir)}: held by PID {FileLock.Owner(trainLock)}, a run of an earlier sweep: waiting for it to stop");
                announced = true;
            }
            if (cancel.WaitHandle.WaitOne(HolderPoll)) cancel.ThrowIfCancellationRequested();
        }
        if (announced) _log($"[{p.Index}] {Rel(dir)}: released after {clock.Elapsed.TotalSeconds:F1} s");
    }

    PointOutcome RunPoint(SweepPoint p, int count, int defaultThreads, CancellationToken cancel)
    {
        var dir = RunDirOf(p, count);
        Directory.CreateDirectory(dir);
        using var runLock = FileLock.TryAcquire(Path.Combine(dir, RunLockFile));
        if (runLock is null)
        {
            _log($"[{p.Index}] {Rel(dir)}: another process is running it: skipped");
            return new PointOutcome(p.Index, Rel(dir), "busy", RunStatus.Running, null, "another process is running this point");
        }
        // A run of an earlier sweep that died may still hold the run directory for a few seconds: it stops by itself (the
        // parent-death signal makes it checkpoint and exit), and this sweep then resumes it, never marks it failed.
        WaitForEarlierHolder(p, dir, cancel);
        // ... and a run that finished meanwhile (an earlier sweep's run that was near its end) is adopted as it is
        string? mismatch = ConfigMismatch(dir, p);
        if (mismatch is null && new RunDirectory(dir).ReadSummary() is { } done && done.Status.IsFinal())
        {
            Record(p, PointStatus.Of(done));
            _log($"[{p.Index}] {Rel(dir)}: {done.Status.ToText()} by an earlier sweep's run: adopted");
            return new PointOutcome(p.Index, Rel(dir), "adopted", done.Status, done.Step, "finished by an earlier sweep's run");
        }
        if (mismatch is not null)
        {
            var error = $"{Rel(dir)} holds a run with a different configuration ({mismatch}); delete it or run the sweep into another --out";
            Record(p, PointStatus.Failed(error));
            _log($"[{p.Index}] {Rel(dir)}: failed: {error}");
            return new PointOutcome(p.Index, Rel(dir), "refused", RunStatus.Failed, null, error);
        }
        var configPath = Path.Combine(dir, ResolvedConfigFile);
        File.WriteAllText(configPath, p.Config.ToJsonString(Indented) + "\n");
        if (p.StartFrom is string source && Trainer.LatestCheckpoint(dir) is null && new RunDirectory(dir).ReadSummary() is not { Status: RunStatus.Completed or RunStatus.Diverged })
            if (ContinueFrom(source, dir, p) is string why)
            {
                Record(p, PointStatus.Failed(why));
                _log($"[{p.Index}] {Rel(dir)}: failed: {why}");
                return new PointOutcome(p.Index, Rel(dir), "refused", RunStatus.Failed, null, why);
            }
        int configuredThreads = p.Config["run"]?["threads"]?.GetValue<int>() ?? 0;
        int threads = configuredThreads > 0 ? configuredThreads : defaultThreads;
        bool resume = Trainer.LatestCheckpoint(dir) is not null;
        if (!resume)
            foreach (var stale in new[] { Trainer.SummaryFile, Trainer.MetricsFile })
                if (File.Exists(Path.Combine(dir, stale))) File.Delete(Path.Combine(dir, stale));
        int attempts = (SweepState.ReadPoint(_sweepDir, p.Index)?.Attempts ?? 0) + 1;
        Record(p, new PointStatus { Status = RunStatus.Running, Attempts = attempts });
        _log($"[{p.Index}] {Rel(dir)}: {(resume ? "resuming from its last checkpoint" : "starting")} ({threads} thread{(threads == 1 ? "" : "s")})");

        LaunchResult result;
        try { result = _launcher.Launch(new RunRequest(dir, configPath, resume, threads), cancel); }
        catch (Exception e) when (e is not OperationCanceledException) { result = LaunchResult.NotStarted(e.Message); }

        // The run's typed summary decides; a run that ended without one (or with one from before) failed, with its typed failure.
        var summary = result.Summary ?? new RunDirectory(dir).ReadSummary();
        PointStatus status = summary is { Status: RunStatus.Completed or RunStatus.Diverged or RunStatus.Stopped }
            ? PointStatus.Of(summary) with { Attempts = attempts, ExitCode = result.ExitCode }
            : PointStatus.Failed(result.Failure?.Message ?? summary?.Reason ?? $"exit code {result.ExitCode} without a summary") with
            {
                Step = summary?.Step, Attempts = attempts, ExitCode = result.ExitCode,
                Signal = result.Failure?.Signal, Log = result.Failure?.Log is string log ? Rel(log) : null,
            };
        Record(p, status);
        var runDir = new RunDirectory(dir);
        if (_options.PruneCheckpoints && status.Status.IsFinal() && Directory.Exists(runDir.CheckpointsPath))
            Directory.Delete(runDir.CheckpointsPath, recursive: true);
        _log($"[{p.Index}] {Rel(dir)}: {status.Status.ToText()}" + (status.Step is int s ? $" at step {s}" : "") + (status.Detail is string d ? $": {d}" : ""));
        return new PointOutcome(p.Index, Rel(dir), resume ? "resumed" : "started", status.Status, status.Step, status.Detail);
    }

    /// <summary>Records a point's status, keeping the attempts counted so far when the new status does not count them.</summary>
    void Record(SweepPoint p, PointStatus status)
    {
        if (status.Attempts is null && SweepState.ReadPoint(_sweepDir, p.Index)?.Attempts is int a) status = status with { Attempts = a };
        SweepState.UpdatePoint(_sweepDir, p.Index, status);
    }

    /// <summary>
    /// Seeds a run directory with the last checkpoint of <paramref name="source"/> (and its metrics up to that step), and this
    /// point's configuration as run_config.json, so that the launch resumes there: the run goes on to its own (larger) step
    /// count. Returns why it cannot (the source has no checkpoint, or it trained another configuration), else null.
    /// </summary>
    static string? ContinueFrom(string source, string dir, SweepPoint p)
    {
        if (Trainer.LatestCheckpoint(source) is not string checkpoint)
            return $"cannot continue {source}: it has no checkpoint (was the earlier stage run with its checkpoints kept?)";
        var saved = Path.Combine(source, Trainer.ConfigFile);
        if (!File.Exists(saved)) return $"cannot continue {source}: no {Trainer.ConfigFile}";
        var earlier = JsonNode.Parse(File.ReadAllText(saved))!.AsObject();
        var wanted = (JsonObject)p.Config.DeepClone();
        // the continued run may differ in its horizon and the cadence of its logs, evaluations and checkpoints only
        foreach (var o in new[] { earlier, wanted })
            if (o["run"] is JsonObject section) foreach (var k in new[] { "steps", "threads", "eval_interval", "log_interval", "checkpoint_interval", "keep_last" }) section.Remove(k);
        if (FirstDifference(earlier, wanted, "") is string d) return $"cannot continue {source}: it trained another configuration ({d})";
        var run = new RunDirectory(dir);
        var into = Path.Combine(run.CheckpointsPath, Path.GetFileName(checkpoint));
        CopyDirectory(checkpoint, into + ".tmp");
        Directory.Move(into + ".tmp", into);
        var metrics = Path.Combine(source, Trainer.MetricsFile);
        if (File.Exists(metrics)) File.Copy(metrics, Path.Combine(dir, Trainer.MetricsFile), overwrite: true);
        File.WriteAllText(Path.Combine(dir, Trainer.ConfigFile), p.Config.ToJsonString(Indented) + "\n");
        return null;
    }

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.EnumerateFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)), overwrite: true);
        foreach (var d in Directory.EnumerateDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }

    /// <summary>Makes the sweep's missing setup files (<see cref="SweepDefinition.Setup"/>), one process at a time.</summary>
    public static void BuildSetup(SweepDefinition definition, string sweepDir, Action<string> log)
    {
        if (definition.Setup.Count == 0) return;
        Directory.CreateDirectory(sweepDir);
        using var _ = FileLock.Acquire(Path.Combine(sweepDir, ".sweep-setup.lock"), TimeSpan.FromHours(2));
        foreach (var a in definition.Setup)
        {
            if (File.Exists(a.Path)) { log($"setup: {a.What}: {Path.GetRelativePath(sweepDir, a.Path)} exists"); continue; }
            Directory.CreateDirectory(Path.GetDirectoryName(a.Path)!);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            log($"setup: {a.What} …");
            a.Build(m => log("setup: " + m));
            if (!File.Exists(a.Path)) throw new InvalidOperationException($"setup step '{a.What}' did not write {a.Path}");
            log($"setup: {a.What}: {Path.GetRelativePath(sweepDir, a.Path)} in {clock.Elapsed.TotalSeconds:F1} s");
        }
    }

    /// <summary>Tokenises each distinct data setting once, under a lock on its cache folder (parallel runs would race on it).</summary>
    void PrepareData(IReadOnlyList<SweepPoint> todo, int count)
    {
        var seen = new HashSet<string>();
        foreach (var p in todo)
        {
            var config = RunConfig.FromJson(p.Config);
            if (config.Data.Synthetic is not null) continue; // generated on the fly: nothing to prepare
            var dir = RunDirOf(p, count);
            var cacheRoot = PretrainingData.CacheRoot(config, dir);
            string key = cacheRoot + "\n" + p.Config["data"]!.ToJsonString();
            if (!seen.Add(key)) continue;
            using var _ = FileLock.Acquire(Path.Combine(cacheRoot, ".prepare.lock"), TimeSpan.FromHours(2));
            try
            {
                using var data = PretrainingData.Open(config, dir, m => _log("data: " + m.Replace("data: ", "")));
            }
            catch (BertLabException) { /* the run itself will fail with this message, recorded per point */ }
        }
    }

    string RunDirOf(SweepPoint p, int count) => Path.Combine(_sweepDir, SweepState.RunDir(p, count));
    string Rel(string dir) => Path.GetRelativePath(_sweepDir, dir);

    /// <summary>Null when the run directory has no run yet or holds this point's configuration (run.threads aside);
    /// else the first differing key path.</summary>
    static string? ConfigMismatch(string dir, SweepPoint p)
    {
        var saved = Path.Combine(dir, Trainer.ConfigFile);
        if (!File.Exists(saved)) return null;
        JsonObject existing;
        try { existing = JsonNode.Parse(File.ReadAllText(saved)) as JsonObject ?? new JsonObject(); }
        catch (JsonException) { return null; }
        var wanted = JsonNode.Parse(p.Config.ToJsonString())!.AsObject();
        foreach (var o in new[] { existing, wanted }) (o["run"] as JsonObject)?.Remove("threads");
        return FirstDifference(existing, wanted, "");
    }

    static string? FirstDifference(JsonNode? a, JsonNode? b, string path)
    {
        if (a is JsonObject oa && b is JsonObject ob)
        {
            foreach (var key in oa.Select(kv => kv.Key).Union(ob.Select(kv => kv.Key)))
                if (FirstDifference(oa[key], ob[key], path.Length == 0 ? key : path + "." + key) is string d) return d;
            return null;
        }
        string sa = a?.ToJsonString() ?? "null", sb = b?.ToJsonString() ?? "null";
        if (JsonNumbers.TryGetDouble(a, out var da) && JsonNumbers.TryGetDouble(b, out var db) && da == db) return null;
        return sa == sb ? null : $"{path}: {sa} there, {sb} here";
    }
}
