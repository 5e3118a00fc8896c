using BertLab.Attention;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Model;

/// <summary>
/// Q/K/V projections and the configured attention mechanism. The mechanism's learnable parameters
/// (e.g. scale_logit, p_logit) are registered here, so they are saved as <c>...attention.self.NAME</c>.
/// </summary>
public sealed class BertSelfAttention : nn.Module
{
    private readonly Linear query;
    private readonly Linear key;
    private readonly Linear value;
    private readonly int _heads, _headDim;
    private readonly double _dropout;

    public AttentionMechanism Mechanism { get; }
    public IReadOnlyList<string> ExtraParameterNames { get; }

    public BertSelfAttention(BertConfig c) : base(nameof(BertSelfAttention))
    {
        _heads = c.NumAttentionHeads;
        _headDim = c.HeadDim;
        _dropout = c.AttentionProbsDropoutProb;
        query = nn.Linear(c.HiddenSize, c.HiddenSize);
        key = nn.Linear(c.HiddenSize, c.HiddenSize);
        value = nn.Linear(c.HiddenSize, c.HiddenSize);
        Mechanism = new AttentionMechanism(c.Attention);
        RegisterComponents();
        var names = new List<string>();
        foreach (var (name, init) in Mechanism.CreateParameters(_heads))
        {
            register_parameter(name, new Parameter(init, requires_grad: true));
            names.Add(name);
        }
        ExtraParameterNames = names;
    }

    Tensor SplitHeads(Tensor x) => x.view(x.shape[0], x.shape[1], _heads, _headDim).transpose(1, 2);

    /// <summary>The attention logits (B, H, S, S) for the layer input <paramref name="hidden"/>: the similarity scores of a
    /// mechanism (after q/k normalisation, before the activation), q·k/√d for BERT's softmax. Diagnostics only.</summary>
    public Tensor Logits(Tensor hidden)
    {
        var q = SplitHeads(MixedPrecision.Linear(query, hidden));
        var k = SplitHeads(MixedPrecision.Linear(key, hidden));
        return Mechanism.Logits(q, k, name => get_parameter(name) ?? throw new InvalidOperationException($"attention parameter '{name}' is not registered"));
    }

    /// <summary>hidden (B, S, D), keyMask (B, S) bool or null → context (B, S, D) and optionally probabilities (B, H, S, S).</summary>
    public (Tensor context, Tensor? probs) Forward(Tensor hidden, Tensor? keyMask, bool needProbs)
    {
        var q = SplitHeads(MixedPrecision.Linear(query, hidden));
        var k = SplitHeads(MixedPrecision.Linear(key, hidden));
        var v = SplitHeads(MixedPrecision.Linear(value, hidden));
        var result = Mechanism.Forward(new AttentionInputs
        {
            Query = q, Key = k, Value = v, KeyMask = keyMask,
            Training = training, DropoutProb = _dropout, NeedProbs = needProbs,
            Parameter = name => get_parameter(name) ?? throw new InvalidOperationException($"attention parameter '{name}' is not registered"),
        });
        var o = result.Output.transpose(1, 2).contiguous();
        return (o.view(o.shape[0], o.shape[1], _heads * _headDim), result.Probs);
    }
}

/// <summary>Dense + dropout + residual + LayerNorm after self-attention (Hugging Face's BertSelfOutput).</summary>
public sealed class BertSelfOutput : nn.Module
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly FastDropout dropout;

    public BertSelfOutput(BertConfig c) : base(nameof(BertSelfOutput))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = new FastDropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor Forward(Tensor context, Tensor input) => MixedPrecision.LayerNorm(LayerNorm, dropout.forward(MixedPrecision.Linear(dense, context)) + input);
}

/// <summary>Self-attention block: <c>self</c> and <c>output</c>, as Hugging Face names them.</summary>
public sealed class BertAttention : nn.Module
{
    private readonly BertSelfAttention self;
    private readonly BertSelfOutput output;

    public BertAttention(BertConfig c) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(c);
        output = new BertSelfOutput(c);
        RegisterComponents();
    }

    public BertSelfAttention Self => self;

    /// <summary>Returns the block output, the probabilities if asked, and the attention context (for the output penalty and statistics).</summary>
    public (Tensor output, Tensor? probs, Tensor context) Forward(Tensor hidden, Tensor? keyMask, bool needProbs)
    {
        var (context, probs) = self.Forward(hidden, keyMask, needProbs);
        return (output.Forward(context, hidden), probs, context);
    }
}
