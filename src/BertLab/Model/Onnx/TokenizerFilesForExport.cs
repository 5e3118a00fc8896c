using BertLab.Text;

namespace BertLab.Model.Onnx;

/// <summary>
/// The Hugging Face tokenizer files an ONNX client (transformers.js) needs beside the graph. Every model directory
/// BertLab writes already carries them (<see cref="ModelFiles"/>); for an older directory without them they are written
/// here by the same writer, with the casing rule of <see cref="TextCasing"/>.
/// </summary>
public static class TokenizerFilesForExport
{
    /// <summary>Writes the missing files into <paramref name="dir"/> (which holds vocab.txt or gets the default vocabulary); returns their names.</summary>
    public static List<string> WriteIfMissing(string dir, BertConfig config)
    {
        var names = TokenizerFiles.Names;
        var missing = names.Where(n => !File.Exists(Path.Combine(dir, n))).ToList();
        if (missing.Count == 0) return missing;
        var vocabPath = Path.Combine(dir, BertCheckpoint.VocabFile);
        var vocab = Vocabulary.Load(File.Exists(vocabPath) ? vocabPath : Vocabulary.DefaultPath);
        TokenizerFiles.Write(dir, vocab, ModelFiles.LowerCase(vocab, dir), config.MaxPositionEmbeddings);
        return missing;
    }
}
