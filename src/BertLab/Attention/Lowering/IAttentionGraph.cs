using static TorchSharp.torch;

namespace BertLab.Attention.Lowering;

/// <summary>
/// The graph operations an attention mechanism is lowered to (ONNX operators of the default domain, opset 17, by their
/// ONNX meaning; values are named by strings). Declared here so that each registry entry carries its own lowering without
/// the Attention layer knowing a graph format; the ONNX exporter implements it (Model/Onnx).
/// </summary>
public interface IAttentionGraph
{
    /// <summary>d, the size of one head (the last axis of Q, K, V).</summary>
    int HeadDim { get; }

    /// <summary>A float scalar constant.</summary>
    string Constant(float value);

    /// <summary>A per-head parameter of the layer being lowered ([H], saved as <c>...attention.self.NAME</c>) after
    /// <paramref name="transform"/> (computed by torch, as BertLab computes it), as a (1, H, 1, 1) constant with
    /// <paramref name="extraDims"/> more trailing 1s; <paramref name="localName"/> names it within the layer.</summary>
    string HeadParameter(string name, Func<Tensor, Tensor> transform, string localName, int extraDims = 0);

    string MatMul(string a, string b);
    string Add(string a, string b);
    string Sub(string a, string b);
    string Mul(string a, string b);
    string Div(string a, string b);
    string Max(string a, string b);
    string Pow(string x, string exponent);
    string Greater(string a, string b);
    string Where(string condition, string ifTrue, string ifFalse);
    string Abs(string x);
    string Sqrt(string x);
    string Reciprocal(string x);
    string Relu(string x);
    string Sigmoid(string x);
    string Acos(string x);
    string Clip(string x, float min, float max);
    string Transpose(string x, params long[] perm);
    string Unsqueeze(string x, params long[] axes);
    string Squeeze(string x, params long[] axes);
    string ReduceSum(string x, long axis, bool keepDims);
    string ReduceMax(string x, long axis, bool keepDims);
    string ReduceL1(string x, long axis, bool keepDims);
    string ReduceL2(string x, long axis, bool keepDims);
    string Softmax(string x, long axis);
    string CastToFloat(string x);
    string CastToBool(string x);
}

/// <summary>Small compositions of <see cref="IAttentionGraph"/> operations the lowerings share.</summary>
public static class AttentionGraphExtensions
{
    /// <summary>kᵀ of a (B, H, S, d) value.</summary>
    public static string KT(this IAttentionGraph g, string k) => g.Transpose(k, 0, 1, 3, 2);

    /// <summary>1 − x/2 (the distance similarities' map of a distance in [0, 2] to a score in [0, 1]).</summary>
    public static string OneMinusHalf(this IAttentionGraph g, string x) => g.Sub(g.Constant(1f), g.Div(x, g.Constant(2f)));
}
