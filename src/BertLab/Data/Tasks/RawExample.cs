namespace BertLab.Data.Tasks;

/// <summary>An example as it stands in a file: texts and the label's text (null when the file has no label column).</summary>
public sealed record RawExample(string Text, string? Pair, string? Label, string Source);
