using System.Text;

namespace BertLab.Data;

/// <summary>
/// The preprocessing bug of the research log's finding 7: every punctuation character removed from the text (Unicode
/// punctuation, and the ASCII symbols that Python's string.punctuation also lists: $ + &lt; = &gt; ^ ` | ~). Letters, digits
/// and whitespace stay; nothing is put in a removed character's place, as str.translate with a deletion table does.
/// </summary>
public static class PunctuationStripper
{
    public static bool IsStripped(char c) => char.IsPunctuation(c) || (c < 128 && char.IsSymbol(c));

    public static string Strip(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var c in text) if (!IsStripped(c)) sb.Append(c);
        return sb.ToString();
    }
}
