using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using BertLab.Attention;
using BertLab.Runtime;

namespace BertLab.Model;

/// <summary>What the encoder can return; lists are filled only when asked for.</summary>
public sealed class BertModelOutput
{
    public required Tensor LastHiddenState { get; init; }
    public Tensor? PooledOutput { get; init; }
    /// <summary>Embedding output, then each layer's output (num_hidden_layers + 1 tensors).</summary>
    public List<Tensor> HiddenStates { get; } = new();
    /// <summary>Per layer (B, H, S, S) probabilities (explicit path only).</summary>
    public List<Tensor> Attentions { get; } = new();
    /// <summary>Per layer (B, S, D) attention contexts (merged heads), for statistics.</summary>
    public List<Tensor> Contexts { get; } = new();
    /// <summary>ATTENTION.md output penalty: mean over layers and real tokens of relu(‖o‖ − ‖x‖); null when λ = 0.</summary>
    public Tensor? OutputPenalty { get; init; }
}

/// <summary>Options of one forward pass.</summary>
public sealed record ForwardOptions
{
    public bool HiddenStates { get; init; }
    public bool Attentions { get; init; }
    public bool Contexts { get; init; }
    public static readonly ForwardOptions None = new();
}

public sealed class BertPooler : nn.Module
{
    private readonly Linear dense;

    public BertPooler(BertConfig c) : base(nameof(BertPooler))
    {
        dense = nn.Linear(c.HiddenSize, c.HiddenSize);
        RegisterComponents();
    }

    public Tensor Forward(Tensor hidden) => tanh(MixedPrecision.Linear(dense, hidden[.., 0]));
}

/// <summary>Hugging Face's BertModel: embeddings, post-LN encoder, optional pooler.</summary>
public sealed class BertModel : nn.Module
{
    private readonly BertEmbeddings embeddings;
    private readonly BertEncoder encoder;
    private readonly BertPooler? pooler;

    public BertConfig Config { get; }

    public BertModel(BertConfig config, bool addPoolingLayer = true) : base(nameof(BertModel))
    {
        config.Validate();
        Config = config;
        embeddings = new BertEmbeddings(config);
        encoder = new BertEncoder(config);
        if (addPoolingLayer) pooler = new BertPooler(config);
        RegisterComponents();
    }

    public BertEmbeddings Embeddings => embeddings;
    public BertEncoder Encoder => encoder;
    public bool HasPooler => pooler is not null;

    /// <summary>Per layer, the attention kernels its calls ran so far in this process, with their counts.</summary>
    public IReadOnlyList<LayerKernelUsage> AttentionKernelUsage() =>
        encoder.Layers.Select((layer, i) => new LayerKernelUsage(i, layer.Attention.Self.Mechanism.KernelUsage())).ToList();

    /// <param name="attentionMask">(B, S) 1 = real token, 0 = padding; null = all real.</param>
    public BertModelOutput Forward(Tensor inputIds, Tensor? attentionMask = null, Tensor? tokenTypeIds = null, ForwardOptions? options = null)
    {
        options ??= ForwardOptions.None;
        if (inputIds.dim() != 2) throw new BertLabException($"input_ids must be (batch, seq), got shape [{string.Join(", ", inputIds.shape)}]");
        Tensor? keyMask = attentionMask is null ? null : attentionMask.to_type(ScalarType.Bool);
        var h = embeddings.Forward(inputIds, tokenTypeIds);
        var hidden = new List<Tensor>();
        var attn = new List<Tensor>();
        var contexts = new List<Tensor>();
        if (options.HiddenStates) hidden.Add(h);
        double lambda = Config.Attention.OutputPenalty;
        Tensor? penalty = null;
        foreach (var layer in encoder.Layers)
        {
            var input = h;
            var (next, probs, context) = layer.Forward(h, keyMask, options.Attentions);
            if (options.Attentions && probs is not null) attn.Add(probs);
            if (options.Contexts) contexts.Add(context);
            if (lambda > 0)
            {
                var term = Attention.OutputPenalty.Term(MixedPrecision.Float(input), MixedPrecision.Float(context), keyMask);
                penalty = penalty is null ? term : penalty + term;
            }
            h = next;
            if (options.HiddenStates) hidden.Add(h);
        }
        var output = new BertModelOutput
        {
            LastHiddenState = MixedPrecision.Float(h),   // callers get fp32 whatever the policy
            PooledOutput = pooler is null ? null : MixedPrecision.Float(pooler.Forward(h)),
            OutputPenalty = penalty is null ? null : penalty / encoder.Layers.Count,
        };
        output.HiddenStates.AddRange(hidden);
        output.Attentions.AddRange(attn);
        output.Contexts.AddRange(contexts);
        return output;
    }
}
