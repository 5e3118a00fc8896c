using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Model;

/// <summary>Word + learned absolute position + token type embeddings, then LayerNorm and dropout (Hugging Face's BertEmbeddings).</summary>
public sealed class BertEmbeddings : nn.Module
{
    private readonly Embedding word_embeddings;
    private readonly Embedding position_embeddings;
    private readonly Embedding token_type_embeddings;
    private readonly LayerNorm LayerNorm;
    private readonly FastDropout dropout;
    private readonly int _maxPositions;
    private readonly long _padTokenId;

    public BertEmbeddings(BertConfig c) : base(nameof(BertEmbeddings))
    {
        word_embeddings = nn.Embedding(c.VocabSize, c.HiddenSize, padding_idx: c.PadTokenId);
        position_embeddings = nn.Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
        token_type_embeddings = nn.Embedding(c.TypeVocabSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = new FastDropout(c.HiddenDropoutProb);
        _maxPositions = c.MaxPositionEmbeddings;
        _padTokenId = c.PadTokenId;
        RegisterComponents();
    }

    public Parameter WordEmbeddingWeight => word_embeddings.weight!;

    public Tensor Forward(Tensor inputIds, Tensor? tokenTypeIds)
    {
        long s = inputIds.shape[1];
        if (s > _maxPositions)
            throw new BertLabException($"sequence length {s} exceeds max_position_embeddings {_maxPositions}");
        using var positions = arange(s, dtype: ScalarType.Int64, device: inputIds.device).unsqueeze(0);
        var types = tokenTypeIds ?? zeros_like(inputIds);
        var e = VocabularyGradients.Embedding(word_embeddings, inputIds, _padTokenId) + position_embeddings.forward(positions) + token_type_embeddings.forward(types);
        return dropout.forward(MixedPrecision.Activation(LayerNorm.forward(e)));
    }
}
