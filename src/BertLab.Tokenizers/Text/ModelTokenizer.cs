namespace BertLab.Text;

/// <summary>The tokenizer that belongs to a model folder.</summary>
public static class ModelTokenizer
{
    /// <summary>
    /// WordPiece over the folder's vocab.txt (the embedded bert-base-uncased vocabulary when it has none), cased as
    /// <see cref="TextCasing.ForModel"/> says: the folder's tokenizer_config.json "do_lower_case" when it records one
    /// (Hugging Face's setting), else the vocabulary's own rule.
    /// </summary>
    public static WordPieceTokenizer For(string modelDirectory)
    {
        var path = Path.Combine(modelDirectory, "vocab.txt");
        var vocab = Vocabulary.Load(File.Exists(path) ? path : null);
        return TextCasing.ForModel(modelDirectory, vocab).Tokenizer(vocab);
    }
}
