using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Model;

/// <summary>Dense + activation + LayerNorm before the vocabulary projection (cls.predictions.transform).</summary>
public sealed class BertPredictionHeadTransform : nn.Module
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly string _act;

    public BertPredictionHeadTransform(BertConfig c) : base(nameof(BertPredictionHeadTransform))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        _act = c.HiddenAct;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => MixedPrecision.LayerNorm(LayerNorm, Activations.Apply(_act, MixedPrecision.Linear(dense, x)));
}

/// <summary>
/// cls.predictions: transform, then a decoder whose weight is the word-embedding matrix when
/// tie_word_embeddings (no separate parameter, as in Hugging Face's saved files), plus its own bias.
/// </summary>
public sealed class BertLMPredictionHead : nn.Module
{
    private readonly BertPredictionHeadTransform transform;
    private readonly Parameter bias;
    private readonly Linear? decoder;

    public BertLMPredictionHead(BertConfig c) : base(nameof(BertLMPredictionHead))
    {
        transform = new BertPredictionHeadTransform(c);
        bias = new Parameter(zeros(c.VocabSize));
        if (!c.TieWordEmbeddings) decoder = nn.Linear(c.HiddenSize, c.VocabSize, hasBias: false);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor wordEmbeddings) =>
        MixedPrecision.Float(VocabularyGradients.Decoder(transform.Forward(hidden), decoder?.weight ?? wordEmbeddings, bias));
}

public sealed class BertOnlyMLMHead : nn.Module
{
    private readonly BertLMPredictionHead predictions;

    public BertOnlyMLMHead(BertConfig c) : base(nameof(BertOnlyMLMHead))
    {
        predictions = new BertLMPredictionHead(c);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden, Tensor wordEmbeddings) => predictions.Forward(hidden, wordEmbeddings);
}

public sealed class MaskedLMOutput
{
    /// <summary>(B, S, V), or (M, V) over the M labelled positions when computed at masked positions only.</summary>
    public required Tensor Logits { get; init; }
    /// <summary>The MLM cross-entropy summed over the labelled positions; null without labels. The training objective is
    /// composed from it and <see cref="BertModelOutput.OutputPenalty"/> by <see cref="TrainingObjective"/>.</summary>
    public Tensor? MlmLossSum { get; init; }
    /// <summary>Labelled positions when known on the host without a device synchronisation (masked-only logits), else null.</summary>
    public long? LabelledCount { get; init; }
    /// <summary>Labels at the positions of <see cref="Logits"/> when masked-only.</summary>
    public Tensor? SelectedLabels { get; init; }
    public required BertModelOutput Encoder { get; init; }
    /// <summary>λ of the output penalty (attention.output_penalty).</summary>
    public double PenaltyWeight { get; init; }
    internal Tensor? LabelsForCount { get; init; }

    Tensor? _mlmLoss, _loss;
    /// <summary>Mean cross-entropy over the labelled positions (Hugging Face's loss); null without labels.</summary>
    public Tensor? MlmLoss => MlmLossSum is null ? null
        : _mlmLoss ??= LabelledCount is long n ? MlmLossSum / (double)Math.Max(1, n) : MlmLossSum / LabelsForCount!.ne(-100).sum().clamp_min(1);
    /// <summary>This batch's training objective alone: <see cref="MlmLoss"/> + λ · output penalty (<see cref="TrainingObjective.WithPenalty"/>); null without labels.</summary>
    public Tensor? Loss => MlmLoss is null ? null : _loss ??= TrainingObjective.WithPenalty(MlmLoss, Encoder.OutputPenalty, PenaltyWeight);
}

/// <summary>Hugging Face's BertForMaskedLM (no pooler): bert + cls.predictions.</summary>
public sealed class BertForMaskedLM : nn.Module
{
    private readonly BertModel bert;
    private readonly BertOnlyMLMHead cls;

    public BertForMaskedLM(BertConfig config) : base(nameof(BertForMaskedLM))
    {
        bert = new BertModel(config, addPoolingLayer: false);
        cls = new BertOnlyMLMHead(config);
        RegisterComponents();
        BertInit.Apply(this, config);
    }

    /// <summary>Flat indices of the labelled positions (labels ≠ −100) of a (B, S) or flat label tensor.</summary>
    public static Tensor MaskedPositions(Tensor labels) => nonzero(labels.reshape(-1).ne(-100)).squeeze(1);

    public BertModel Bert => bert;
    public BertConfig Config => bert.Config;

    /// <param name="labels">(B, S) token ids at predicted positions, −100 elsewhere.</param>
    /// <param name="maskedOnly">Compute the vocabulary projection only where labels ≠ −100 (≈3× faster training).</param>
    /// <param name="maskedIndex">The flat positions where labels ≠ −100, computed by whoever built the batch (on the host);
    /// without it they are found with nonzero, which waits for the device (a host synchronisation inside the step).</param>
    public MaskedLMOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, Tensor? labels = null,
        ForwardOptions? options = null, bool maskedOnly = false, Tensor? maskedIndex = null)
    {
        var enc = bert.Forward(inputIds, attentionMask, tokenTypeIds, options);
        var h = enc.LastHiddenState;
        Tensor? selected = null;
        Tensor logits;
        if (maskedOnly && labels is not null)
        {
            var flatLabels = labels.reshape(-1);
            var index = maskedIndex ?? MaskedPositions(flatLabels);
            selected = flatLabels.index_select(0, index);
            var rows = h.reshape(-1, h.shape[^1]).index_select(0, index);
            logits = cls.Forward(rows, bert.Embeddings.WordEmbeddingWeight);
        }
        else logits = cls.Forward(h, bert.Embeddings.WordEmbeddingWeight);

        Tensor? sum = null;
        if (labels is not null)
            sum = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[^1]), selected ?? labels.reshape(-1), ignore_index: -100, reduction: nn.Reduction.Sum);
        return new MaskedLMOutput
        {
            Logits = logits, MlmLossSum = sum, LabelledCount = selected is null ? null : selected.shape[0], SelectedLabels = selected, Encoder = enc,
            PenaltyWeight = Config.Attention.OutputPenalty, LabelsForCount = selected is null ? labels : null,
        };
    }
}
