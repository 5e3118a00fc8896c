using BertLab.Text;

namespace BertLab.Cli;

/// <summary>The tokenizer the CLI uses (BertLab.Text.WordPieceTokenizer).</summary>
static class TokenizerFactory
{
    // Bound by reflection only until BertLab.Text.WordPieceTokenizer is merged into this branch; then a plain `new`.
    public static ITokenizer Create(Vocabulary vocabulary, bool lowerCase)
    {
        var type = typeof(ITokenizer).Assembly.GetType("BertLab.Text.WordPieceTokenizer")
                   ?? throw new BertLabException("this build has no WordPiece tokenizer (BertLab.Text.WordPieceTokenizer)");
        var ctor = type.GetConstructors().First(c => c.GetParameters().Length >= 2 && c.GetParameters()[0].ParameterType == typeof(Vocabulary));
        var args = ctor.GetParameters().Select((p, i) => i == 0 ? vocabulary : i == 1 ? lowerCase : p.DefaultValue).ToArray();
        return (ITokenizer)ctor.Invoke(args);
    }
}
