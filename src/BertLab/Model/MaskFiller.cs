using BertLab.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Model;

/// <summary>One candidate for a [MASK] position.</summary>
public sealed record MaskPrediction(int MaskIndex, string Token, int TokenId, double Probability);

/// <summary>Fills [MASK] tokens with a masked-LM checkpoint: the top-k tokens and their probabilities per mask.</summary>
public sealed class MaskFiller : IDisposable
{
    readonly BertForMaskedLM _model;
    readonly ITokenizer _tokenizer;

    public MaskFiller(string modelDir)
    {
        _model = BertCheckpoint.LoadMaskedLM(modelDir);
        _model.eval();
        _tokenizer = ModelTokenizer.For(modelDir);
    }

    public IReadOnlyList<MaskPrediction> Predict(string text, int topK = 5)
    {
        if (topK < 1) throw new BertLabException($"top-k must be at least 1, not {topK}");
        var encoded = _tokenizer.Encode(text, maxLength: _model.Config.MaxPositionEmbeddings);
        var vocab = _tokenizer.Vocabulary;
        var positions = Enumerable.Range(0, encoded.Length).Where(i => encoded.InputIds[i] == vocab.MaskId).ToList();
        var whole = _tokenizer.Encode(text);
        var allMasks = Enumerable.Range(0, whole.Length).Where(i => whole.InputIds[i] == vocab.MaskId).ToList();
        if (allMasks.Count > positions.Count)
            throw new BertLabException($"{vocab[vocab.MaskId]} at token {allMasks[positions.Count]} of {whole.Length} lies beyond the {_model.Config.MaxPositionEmbeddings} tokens " +
                                       $"the model reads ([CLS] and [SEP] included, its max_position_embeddings): shorten the text before the mask");
        if (positions.Count == 0) throw new BertLabException($"the text has no {vocab[vocab.MaskId]} token: \"{text}\"");
        SentenceEmbedder.CheckIds(encoded.InputIds, _model.Config.VocabSize, "the text");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var ids = tensor(encoded.InputIds.Select(i => (long)i).ToArray(), new long[] { 1, encoded.Length });
        var logits = _model.Forward(ids).Logits[0];
        var predictions = new List<MaskPrediction>();
        for (int m = 0; m < positions.Count; m++)
        {
            var probs = logits[positions[m]].softmax(-1);
            var (values, indices) = probs.topk(Math.Min(topK, (int)probs.shape[0]));
            var v = values.data<float>().ToArray();
            var ix = indices.data<long>().ToArray();
            for (int k = 0; k < v.Length; k++) predictions.Add(new MaskPrediction(m, vocab[(int)ix[k]], (int)ix[k], v[k]));
        }
        return predictions;
    }

    public void Dispose() => _model.Dispose();
}
