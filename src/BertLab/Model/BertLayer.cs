using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Model;

static class Activations
{
    public static Tensor Apply(string name, Tensor x) => name switch
    {
        "gelu" => nn.functional.gelu(x),
        "gelu_new" or "gelu_pytorch_tanh" => nn.functional.gelu(x, TorchSharp.Modules.GELU.Approximate.tanh),
        "relu" => nn.functional.relu(x),
        _ => throw new BertLabException($"unknown hidden_act '{name}'"),
    };
}

public sealed class BertIntermediate : nn.Module
{
    private readonly Linear dense;
    private readonly string _act;

    public BertIntermediate(BertConfig c) : base(nameof(BertIntermediate))
    {
        dense = nn.Linear(c.HiddenSize, c.IntermediateSize);
        _act = c.HiddenAct;
        RegisterComponents();
    }

    public Tensor Forward(Tensor x) => Activations.Apply(_act, MixedPrecision.Linear(dense, x));
}

public sealed class BertOutput : nn.Module
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly FastDropout dropout;

    public BertOutput(BertConfig c) : base(nameof(BertOutput))
    {
        dense = nn.Linear(c.IntermediateSize, c.HiddenSize);
        LayerNorm = nn.LayerNorm(c.HiddenSize, c.LayerNormEps);
        dropout = new FastDropout(c.HiddenDropoutProb);
        RegisterComponents();
    }

    public Tensor Forward(Tensor x, Tensor input) => MixedPrecision.LayerNorm(LayerNorm, dropout.forward(MixedPrecision.Linear(dense, x)) + input);
}

/// <summary>One post-LN transformer layer: attention, then the feed-forward block.</summary>
public sealed class BertLayer : nn.Module
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutput output;

    public BertLayer(BertConfig c) : base(nameof(BertLayer))
    {
        attention = new BertAttention(c);
        intermediate = new BertIntermediate(c);
        output = new BertOutput(c);
        RegisterComponents();
    }

    public BertAttention Attention => attention;

    public (Tensor hidden, Tensor? probs, Tensor context) Forward(Tensor hidden, Tensor? keyMask, bool needProbs)
    {
        var (a, probs, context) = attention.Forward(hidden, keyMask, needProbs);
        return (output.Forward(intermediate.Forward(a), a), probs, context);
    }
}

public sealed class BertEncoder : nn.Module
{
    private readonly ModuleList<BertLayer> layer;
    private readonly BertLayer[] _layers;

    public BertEncoder(BertConfig c) : base(nameof(BertEncoder))
    {
        _layers = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => new BertLayer(c)).ToArray();
        layer = new ModuleList<BertLayer>(_layers);
        RegisterComponents();
    }

    public IReadOnlyList<BertLayer> Layers => _layers;
}
