using BertLab.Attention.Lowering;
using BertLab.Runtime;
using TorchSharp;
using static TorchSharp.torch;

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

    /// <summary>ONNX lowering of <see cref="Apply"/> (evaluation: no dropout) on the (B, H, Sq, Sk) scores.</summary>
    public abstract string Lower(IAttentionGraph g, string scores, GraphMasks masks);

    /// <summary>Python lowering (bertlab_attention.py): the body of <c>def apply(s, keys)</c>, keys the (B, 1, 1, Sk)
    /// boolean mask of real keys; padded keys must contribute exactly 0.</summary>
    public abstract string Python { get; }

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
    public override string Lower(IAttentionGraph g, string scores, GraphMasks masks) =>
        g.Softmax(g.Where(masks.KeysBool, scores, g.Constant(float.NegativeInfinity)), -1);
    public override string Python => """return s.masked_fill(~keys, float("-inf")).softmax(-1)""";
}

/// <summary>relu, sigmoid or identity, then the key mask multiplies: the function given three times, as a torch
/// function, an ONNX lowering and a Python expression in <c>s</c>.</summary>
public sealed class ElementwiseActivation : Activation
{
    readonly Func<Tensor, Tensor> _f;
    readonly Func<IAttentionGraph, string, string> _lower;
    readonly string _python;

    public ElementwiseActivation(string name, Func<Tensor, Tensor> f, Func<IAttentionGraph, string, string> lower, string python)
    {
        Name = name; _f = f; _lower = lower; _python = python;
    }

    public override string Name { get; }
    public override Tensor Apply(Tensor scores, PaddingMask mask, bool training, double dropoutProb) =>
        mask.HasPadding ? _f(scores) * mask.Keys : _f(scores);
    public override string Lower(IAttentionGraph g, string scores, GraphMasks masks) => g.Mul(_lower(g, scores), masks.Keys);
    public override string Python => $"return ({_python}) * keys.to(s.dtype)";
}
