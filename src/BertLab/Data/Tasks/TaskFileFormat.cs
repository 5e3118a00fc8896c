namespace BertLab.Data.Tasks;

/// <summary>How a task's files are laid out. Any of them may be gzip-compressed (name ends in .gz).</summary>
public enum TaskFileFormat
{
    /// <summary>Tab-separated, quoting disabled (as GLUE's files must be read: QQP and MNLI hold stray quotes).</summary>
    Tsv,
    /// <summary>Comma-separated with RFC 4180 quoting ("a ""quoted"" field", fields may span lines).</summary>
    Csv,
    /// <summary>One JSON object per line.</summary>
    Jsonl,
}

public static class TaskFileFormats
{
    /// <summary>The format a file name implies (.tsv, .csv, .jsonl/.json, optionally followed by .gz).</summary>
    public static TaskFileFormat FromPath(string path)
    {
        var name = path.ToLowerInvariant();
        if (name.EndsWith(".gz")) name = name[..^3];
        if (name.EndsWith(".tsv") || name.EndsWith(".txt")) return TaskFileFormat.Tsv;
        if (name.EndsWith(".csv")) return TaskFileFormat.Csv;
        if (name.EndsWith(".jsonl") || name.EndsWith(".json") || name.EndsWith(".ndjson")) return TaskFileFormat.Jsonl;
        throw new BertLabException($"{path}: cannot tell the file format from its name (allowed: .tsv, .csv, .jsonl, each optionally .gz)");
    }
}
