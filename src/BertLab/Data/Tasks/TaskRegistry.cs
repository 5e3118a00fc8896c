namespace BertLab.Data.Tasks;

/// <summary>A task and the folder its files are read from.</summary>
public sealed record ResolvedTask(TaskSpec Spec, string Directory)
{
    public TaskDataset Load() => TaskDataLoader.Load(Spec, Directory);
}

/// <summary>Finds a task by name (GLUE, embedded) or by path (a GLUE task folder, a user data folder, a task JSON file).</summary>
public static class TaskRegistry
{
    /// <summary>Environment variable naming the folder that holds the GLUE task folders (CoLA/, SST-2/, MRPC/ ...).</summary>
    public const string GlueDirVariable = "GLUE_DIR";

    public static IReadOnlyList<TaskSpec> BuiltIn { get; } = EmbeddedTasks.All.Concat(GlueTasks.All).ToList();

    /// <summary>A built-in task by name, case-insensitive; GLUE folder names and dashes also match ("SST-2", "sts-b").</summary>
    public static TaskSpec? Find(string name)
    {
        string Norm(string s) => s.Replace("-", "").Replace("_", "").ToLowerInvariant();
        var n = Norm(name);
        return BuiltIn.FirstOrDefault(t => Norm(t.Name) == n || (t.GlueFolder is not null && Norm(t.GlueFolder) == n));
    }

    public static string KnownNames => string.Join(", ", BuiltIn.Select(t => t.Name));

    /// <summary>
    /// Resolves --task: a built-in name (its files in <paramref name="dataDirectory"/>, else the embedded copy,
    /// else $GLUE_DIR/&lt;GLUE folder&gt;), a folder (named like a GLUE task and holding its files, or
    /// holding task.json, or train.* and dev.*), or a task JSON file.
    /// </summary>
    public static ResolvedTask Resolve(string nameOrPath, string? dataDirectory = null)
    {
        if (File.Exists(nameOrPath))
        {
            if (!nameOrPath.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                throw new BertLabException($"--task {nameOrPath}: give a folder with train and dev files, or a task JSON file (train, dev, text_column, label_column ...), not a single data file");
            var spec = UserTasks.FromJsonFile(nameOrPath);
            return new ResolvedTask(spec, Path.GetDirectoryName(Path.GetFullPath(nameOrPath))!);
        }
        if (Directory.Exists(nameOrPath))
        {
            var dir = Path.GetFullPath(nameOrPath);
            var builtIn = Find(Path.GetFileName(Path.TrimEndingDirectorySeparator(dir)));
            if (builtIn is not null && File.Exists(Path.Combine(dir, builtIn.TrainFile))) return new ResolvedTask(builtIn, dir);
            var taskFile = Path.Combine(dir, "task.json");
            if (File.Exists(taskFile)) return new ResolvedTask(UserTasks.FromJsonFile(taskFile), dir);
            return new ResolvedTask(UserTasks.FromDirectory(dir), dir);
        }
        var known = Find(nameOrPath)
            ?? throw new BertLabException($"unknown task '{nameOrPath}' (known: {KnownNames}; or give a folder with train and dev files, or a task JSON file)");
        return new ResolvedTask(known, DirectoryFor(known, dataDirectory));
    }

    /// <summary>The folder a built-in task's files are read from.</summary>
    public static string DirectoryFor(TaskSpec spec, string? dataDirectory = null)
    {
        if (dataDirectory is not null)
        {
            if (!Directory.Exists(dataDirectory)) throw new BertLabException($"task data folder not found: {dataDirectory}");
            // the GLUE root (glue_data/) is accepted as well as the task's own folder (glue_data/MRPC)
            if (spec.GlueFolder is not null && !File.Exists(Path.Combine(dataDirectory, spec.TrainFile))
                && Directory.Exists(Path.Combine(dataDirectory, spec.GlueFolder)))
                return Path.Combine(dataDirectory, spec.GlueFolder);
            return dataDirectory;
        }
        if (spec.EmbeddedFolder is not null) return DataPaths.Find(spec.EmbeddedFolder);
        var glueDir = Environment.GetEnvironmentVariable(GlueDirVariable);
        if (spec.GlueFolder is not null && !string.IsNullOrEmpty(glueDir)) return Path.Combine(glueDir, spec.GlueFolder);
        throw new BertLabException($"task '{spec.Name}' needs the official GLUE files: pass --data DIR (the folder with {spec.GlueFolder}/{spec.TrainFile}, or {spec.GlueFolder}/ itself) or set {GlueDirVariable}");
    }
}
