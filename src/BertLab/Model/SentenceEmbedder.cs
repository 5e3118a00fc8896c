using BertLab.Text;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Model;

/// <summary>Sentence embeddings as sentence-transformers makes them: mean of the last hidden states over real tokens, then L2-normalised.</summary>
public sealed class SentenceEmbedder : IDisposable
{
    readonly BertModel _model;
    readonly ITokenizer _tokenizer;
    readonly Device _device;

    public SentenceEmbedder(string modelDir, Device? device = null)
    {
        _device = device ?? CPU;
        _model = BertCheckpoint.LoadBertModel(modelDir, _device);
        _model.eval();
        _tokenizer = ModelTokenizer.For(modelDir);
    }

    public int Dimension => _model.Config.HiddenSize;

    /// <summary>(B, D) mean over positions where mask = 1, L2-normalised per row.</summary>
    public static Tensor Pool(Tensor lastHiddenState, Tensor attentionMask)
    {
        var m = attentionMask.unsqueeze(-1).to_type(lastHiddenState.dtype);
        var mean = (lastHiddenState * m).sum(1) / m.sum(1).clamp_min(1e-9);
        return nn.functional.normalize(mean, p: 2, dim: 1);
    }

    /// <summary>Embeds texts in batches of similar length (less padding); results come back in input order; the token is checked between batches.</summary>
    public float[][] Embed(IReadOnlyList<string> texts, int batchSize = 32, int maxLength = 256, Action<int>? progress = null,
        CancellationToken cancellationToken = default)
    {
        maxLength = Math.Min(maxLength, _model.Config.MaxPositionEmbeddings);
        var encoded = texts.Select(t => _tokenizer.Encode(t, maxLength: maxLength)).ToArray();
        for (int i = 0; i < encoded.Length; i++) CheckIds(encoded[i].InputIds, _model.Config.VocabSize, $"text {i}");
        var order = Enumerable.Range(0, texts.Count).OrderByDescending(i => encoded[i].Length).ToArray();
        var result = new float[texts.Count][];
        for (int start = 0; start < order.Length; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var idx = order.Skip(start).Take(batchSize).ToArray();
            int length = idx.Max(i => encoded[i].Length);
            var ids = new long[idx.Length * length];
            var mask = new long[idx.Length * length];
            var types = new long[idx.Length * length];
            for (int r = 0; r < idx.Length; r++)
            {
                var e = encoded[idx[r]];
                for (int c = 0; c < e.Length; c++)
                {
                    ids[r * length + c] = e.InputIds[c];
                    mask[r * length + c] = 1;
                    types[r * length + c] = e.TokenTypeIds[c];
                }
            }
            var shape = new long[] { idx.Length, length };
            using var _ = no_grad();
            var idsT = tensor(ids, shape).to(_device);
            var maskT = tensor(mask, shape).to(_device);
            var emb = Pool(_model.Forward(idsT, maskT, tensor(types, shape).to(_device)).LastHiddenState, maskT).cpu();
            for (int r = 0; r < idx.Length; r++) result[idx[r]] = emb[r].data<float>().ToArray();
            progress?.Invoke(Math.Min(start + batchSize, order.Length));
        }
        return result;
    }

    /// <summary>An id the embeddings lack would crash libtorch ("index out of range"): the tokenizer's vocabulary is not the model's.</summary>
    internal static void CheckIds(IReadOnlyList<int> ids, int vocabSize, string what)
    {
        foreach (var id in ids)
            if (id >= vocabSize)
                throw new BertLabException($"{what}: token id {id} is outside the model's vocabulary ({vocabSize} tokens): the tokenizer's vocabulary does not belong to this model (put the model's vocab.txt in its folder)");
    }

    public void Dispose() => _model.Dispose();
}
