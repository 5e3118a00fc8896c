namespace BertLab.Text;

/// <summary>One encoded text or text pair, as BERT takes it.</summary>
public sealed class TokenizedInput
{
    public required int[] InputIds { get; init; }
    public required int[] TokenTypeIds { get; init; }
    public required int[] AttentionMask { get; init; }
    public int Length => InputIds.Length;
}

/// <summary>BERT tokenization (basic tokenization + WordPiece), BertLab's own interface over whatever implements it.</summary>
public interface ITokenizer
{
    Vocabulary Vocabulary { get; }
    /// <summary>WordPiece tokens of a text, no special tokens.</summary>
    IReadOnlyList<string> Tokenize(string text);
    /// <summary>WordPiece ids of a text, no special tokens.</summary>
    int[] EncodeIds(string text);
    /// <summary>[CLS] text [SEP] (pair [SEP]); maxLength 0 = no truncation (longest-first for pairs); padToMaxLength pads with [PAD].</summary>
    TokenizedInput Encode(string text, string? pair = null, int maxLength = 0, bool padToMaxLength = false);
}
