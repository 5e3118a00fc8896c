namespace BertLab.Data.Tasks;

/// <summary>An evaluation split with its examples.</summary>
public sealed record TaskSplitData(TaskSplit Split, IReadOnlyList<TaskExample> Examples);

/// <summary>A task's training and evaluation examples, with the task's classes fixed.</summary>
public sealed class TaskDataset
{
    public required TaskSpec Spec { get; init; }
    /// <summary>The folder the files were read from.</summary>
    public required string Directory { get; init; }
    public required IReadOnlyList<TaskExample> Train { get; init; }
    public required IReadOnlyList<TaskSplitData> Dev { get; init; }
    /// <summary>Malformed rows skipped while reading (only for tasks that allow it, like QQP).</summary>
    public int SkippedRows { get; init; }
}
