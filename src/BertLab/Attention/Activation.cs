using TorchSharp;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Attention;

/// <summary>
/// Act of ATTENTION.md §1 together with the key mask: padded keys contribute nothing. Softmax fills them with
/// −∞ before normalising; every element-wise activation is applied first and the mask multiplies after it
/// (so σ(0) = 0.5 cannot leak in).
/// </summary>
public abstract class Activation
{
    public abstract string Name { get; }

    /// <summary>Act(scores) with padded key columns contributing exactly 0; (B, H, Sq, Sk).</summary>
    public abstract Tensor Apply(Tensor scores, PaddingMask mask, bool training, double dropoutProb);

    /// <summary>The activation a configuration names, built by its <see cref="AttentionRegistry.Activations"/> entry.</summary>
    public static Activation Create(string name) => AttentionRegistry.Activations[name].Create();
}

/// <summary>Row softmax over real keys; attention dropout on the probabilities in training.</summary>
public sealed class SoftmaxActivation : Activation
{
    public override string Name => "softmax";
    public override Tensor Apply(Tensor scores, PaddingMask mask, bool training, double dropoutProb)
    {
        var masked = mask.HasPadding ? scores.masked_fill(mask.KeysBool.logical_not(), double.NegativeInfinity) : scores;
        var probs = masked.softmax(-1);
        return FastDropout.Apply(probs, dropoutProb, training);
    }
}

/// <summary>relu, sigmoid or identity, then the key mask multiplies.</summary>
public sealed class ElementwiseActivation : Activation
{
    readonly Func<Tensor, Tensor> _f;
    public ElementwiseActivation(string name, Func<Tensor, Tensor> f) { Name = name; _f = f; }
    public override string Name { get; }
    public override Tensor Apply(Tensor scores, PaddingMask mask, bool training, double dropoutProb) =>
        mask.HasPadding ? _f(scores) * mask.Keys : _f(scores);
}
