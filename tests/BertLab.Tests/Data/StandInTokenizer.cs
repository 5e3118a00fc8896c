using BertLab.Text;

namespace BertLab.Tests.Data;

/// <summary>
/// Test-only stand-in until BertLab.Text.WordPieceTokenizer is on main: lower-cases, splits on whitespace and
/// punctuation, greedy longest-match WordPiece. Enough for the data layer's tests, which compare against it.
/// </summary>
public sealed class StandInTokenizer(Vocabulary vocabulary) : ITokenizer
{
    public Vocabulary Vocabulary { get; } = vocabulary;

    static IEnumerable<string> Words(string text)
    {
        var word = new System.Text.StringBuilder();
        foreach (var ch in text.ToLowerInvariant())
        {
            if (char.IsWhiteSpace(ch)) { if (word.Length > 0) { yield return word.ToString(); word.Clear(); } }
            else if (char.IsPunctuation(ch) || char.IsSymbol(ch))
            {
                if (word.Length > 0) { yield return word.ToString(); word.Clear(); }
                yield return ch.ToString();
            }
            else word.Append(ch);
        }
        if (word.Length > 0) yield return word.ToString();
    }

    public IReadOnlyList<string> Tokenize(string text) => EncodeIds(text).Select(i => Vocabulary[i]).ToList();

    public int[] EncodeIds(string text)
    {
        var ids = new List<int>();
        foreach (var word in Words(text))
        {
            int start = 0;
            var pieces = new List<int>();
            while (start < word.Length)
            {
                int end = word.Length, found = -1;
                while (end > start)
                {
                    var piece = (start > 0 ? "##" : "") + word[start..end];
                    if (Vocabulary.TryGetId(piece, out found)) break;
                    end--;
                }
                if (end == start) { pieces = [Vocabulary.UnkId]; break; }
                pieces.Add(found);
                start = end;
            }
            ids.AddRange(pieces);
        }
        return ids.ToArray();
    }

    public TokenizedInput Encode(string text, string? pair = null, int maxLength = 0, bool padToMaxLength = false) =>
        throw new NotSupportedException();
}
