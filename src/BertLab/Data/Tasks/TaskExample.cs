namespace BertLab.Data.Tasks;

/// <summary>
/// One example of a sentence or sentence-pair task. <see cref="LabelId"/> is set for classification,
/// <see cref="Score"/> for regression; both are null in unlabeled files (GLUE test sets, prediction input).
/// </summary>
public sealed record TaskExample(string Text, string? Pair, int? LabelId, double? Score)
{
    /// <summary>Where the example came from ("train.tsv:12"), for error messages.</summary>
    public string? Source { get; init; }
}
