namespace BertLab.Data.Tasks;

/// <summary>An evaluation split of a task: its name ("dev", "matched") and file, relative to the task folder.</summary>
public sealed record TaskSplit(string Name, string File);
