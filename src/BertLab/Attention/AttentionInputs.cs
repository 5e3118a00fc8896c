using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Attention;

/// <summary>What one self-attention call gets: per-head projections and the padding mask.</summary>
public sealed class AttentionInputs
{
    /// <summary>(B, H, S, d) after the Q/K/V projections, split into heads.</summary>
    public required Tensor Query { get; init; }
    public required Tensor Key { get; init; }
    public required Tensor Value { get; init; }
    /// <summary>(B, S) boolean, true = real token; null = no padding.</summary>
    public Tensor? KeyMask { get; init; }
    public bool Training { get; init; }
    /// <summary>attention_probs_dropout_prob (applied to the probabilities of softmax-type activations in training).</summary>
    public double DropoutProb { get; init; }
    /// <summary>The caller wants the (B, H, S, S) attention matrix back (only the quadratic kernel returns it).</summary>
    public bool NeedProbs { get; init; }
    /// <summary>Learnable parameters of this layer's mechanism, by name (e.g. "scale_logit").</summary>
    public required Func<string, Tensor> Parameter { get; init; }
}

public sealed class AttentionResult
{
    /// <summary>(B, H, S, d); padded query rows are exactly 0 for every non-softmax mechanism.</summary>
    public required Tensor Output { get; init; }
    /// <summary>(B, H, S, S) when requested and available.</summary>
    public Tensor? Probs { get; init; }
}
