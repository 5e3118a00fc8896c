using System.Text.Json;
using System.Text.Json.Nodes;
using BertLab.Model;
using BertLab.IO;

namespace BertLab.Experiments;

/// <summary>
/// &lt;sweep-dir&gt;/sweep.json: the sweep's name, source and grid (index, name, run directory, settings) and each point's
/// status (pending, running, completed, diverged at step k with the reason, failed with the error, stopped), updated
/// under a lock so that several processes (local workers, SLURM array tasks) can share the directory.
/// </summary>
public static class SweepState
{
    public const string FileName = "sweep.json";
    const string LockName = ".sweep.json.lock";
    static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(2);
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static string PathOf(string sweepDir) => Path.Combine(sweepDir, FileName);

    /// <summary>Writes the plan, or checks that the directory holds this same grid (its run directories, in order).</summary>
    public static void Initialize(string sweepDir, SweepDefinition def, IReadOnlyList<SweepPoint> points, string source)
    {
        Directory.CreateDirectory(sweepDir);
        using var _ = FileLock.Acquire(Path.Combine(sweepDir, LockName), LockTimeout);
        var path = PathOf(sweepDir);
        if (File.Exists(path))
        {
            var existing = Read(sweepDir);
            var dirs = (existing["points"] as JsonArray ?? new()).Select(p => p?["dir"]?.GetValue<string>()).ToList();
            var wanted = points.Select(p => RunDir(p, points.Count)).ToList();
            if (!dirs.SequenceEqual(wanted))
            {
                int firstDiff = Enumerable.Range(0, Math.Max(dirs.Count, wanted.Count)).First(i => i >= dirs.Count || i >= wanted.Count || dirs[i] != wanted[i]);
                throw new BertLabException($"{sweepDir} holds a different sweep ({dirs.Count} points; point {firstDiff} is " +
                                           $"'{(firstDiff < dirs.Count ? dirs[firstDiff] : "missing")}' there, '{(firstDiff < wanted.Count ? wanted[firstDiff] : "missing")}' here); use another --out");
            }
            return;
        }
        var o = new JsonObject
        {
            ["name"] = def.Name,
            ["description"] = def.Description,
            ["source"] = source,
            ["builtin"] = def.Builtin,
            ["budget"] = def.Budget,
            ["axes"] = new JsonArray(def.Axes.Select(a => (JsonNode?)JsonValue.Create(a.Key)).ToArray()),
            ["points"] = new JsonArray(points.Select(p =>
            {
                var point = new JsonObject
                {
                    ["index"] = p.Index,
                    ["name"] = p.Name,
                    ["dir"] = RunDir(p, points.Count),
                    ["settings"] = new JsonObject(p.Settings.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value?.DeepClone()))
                        .GroupBy(kv => kv.Key).Select(g => g.Last())),
                };
                PointStatus.Pending.WriteTo(point);
                return (JsonNode?)point;
            }).ToArray()),
        };
        AtomicFile.WriteText(path, o.ToJsonString(Indented) + "\n");
    }

    /// <summary>runs/&lt;index&gt;-&lt;slug&gt;, relative to the sweep directory.</summary>
    public static string RunDir(SweepPoint p, int count) => "runs/" + p.DirName(count);

    public static JsonObject Read(string sweepDir)
    {
        var path = PathOf(sweepDir);
        if (!File.Exists(path)) throw new BertLabException($"{sweepDir}: no {FileName}; is this a sweep directory (made by `bertlab sweep run` or `bertlab sweep slurm`)?");
        try { return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new BertLabException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new BertLabException($"{path}: corrupt: {e.Message}"); }
    }

    /// <summary>Replaces the status of one point (read-modify-write under the lock).</summary>
    public static void UpdatePoint(string sweepDir, int index, PointStatus status)
    {
        using var _ = FileLock.Acquire(Path.Combine(sweepDir, LockName), LockTimeout);
        var o = Read(sweepDir);
        status.WriteTo(Point(o, index) ?? throw new BertLabException($"{PathOf(sweepDir)}: no point {index}"));
        AtomicFile.WriteText(PathOf(sweepDir), o.ToJsonString(Indented) + "\n");
    }

    /// <summary>The recorded status of one point; null when the plan has no such point.</summary>
    public static PointStatus? ReadPoint(string sweepDir, int index) => Point(Read(sweepDir), index) is JsonObject p ? PointStatus.FromJson(p) : null;

    static JsonObject? Point(JsonObject plan, int index) =>
        (plan["points"] as JsonArray)?.FirstOrDefault(p => p?["index"]?.GetValue<int>() == index) as JsonObject;
}
