using BertLab.Text;

namespace BertLab.Data;

/// <summary>
/// A vocabulary learnt from a corpus for a study (`bertlab vocab train`'s algorithm, <see cref="WordPieceTrainer"/>, over the
/// documents as the data preparation reads them, <see cref="CorpusReader"/>): a small model trained on a corpus learns its
/// context far sooner with a few thousand pieces of that corpus than with BERT's 30,522 (whose embeddings and decoder
/// would dominate it). Exactly <c>size</c> entries: when the corpus runs out of pairs to merge first, [unused0], [unused1], …
/// fill the rest (as in BERT's own vocabulary), so the model's vocab_size can be fixed before the vocabulary exists.
/// </summary>
public static class StudyVocabulary
{
    public static Vocabulary Learn(IReadOnlyList<CorpusFile> files, int size, CorpusReaderOptions? reading = null)
    {
        var trainer = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = size });
        foreach (var document in CorpusReader.Read(files, reading ?? new CorpusReaderOptions()))
            trainer.AddText(document.Text);
        if (trainer.TotalWords == 0) throw new BertLabException($"corpus ({string.Join(", ", files.Select(f => f.Path))}): no words to learn a vocabulary from");
        var learnt = trainer.Build();
        if (learnt.Count >= size) return learnt;
        var tokens = learnt.Tokens.ToList();
        for (int i = 0; tokens.Count < size; i++)
        {
            string filler = $"[unused{i}]";
            if (!learnt.TryGetId(filler, out _)) tokens.Add(filler);
        }
        return new Vocabulary(tokens);
    }
}
