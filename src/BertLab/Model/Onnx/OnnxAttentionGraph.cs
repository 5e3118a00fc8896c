using BertLab.Attention.Lowering;
using BertLab.Model.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace BertLab.Model.Onnx;

/// <summary>
/// <see cref="IAttentionGraph"/> on an <see cref="OnnxGraphBuilder"/>: the operations an attention lowering uses, as
/// ONNX opset-17 nodes, for one layer (its per-head parameters read from <paramref name="parameter"/> and named
/// <paramref name="prefix"/> + local name).
/// </summary>
public sealed class OnnxAttentionGraph(OnnxGraphBuilder b, int heads, int headDim, Func<string, Tensor> parameter, string prefix) : IAttentionGraph
{
    public int HeadDim => headDim;

    public string Constant(float value) => b.Scalar(value);

    public string HeadParameter(string name, Func<Tensor, Tensor> transform, string localName, int extraDims = 0)
    {
        using var scope = NewDisposeScope();
        var raw = parameter(name);
        if (!raw.shape.SequenceEqual(new long[] { heads }))
            throw new BertLabException($"checkpoint tensor '{prefix}{name}' has shape [{string.Join(", ", raw.shape)}] but the config needs [{heads}]");
        var values = transform(raw.to_type(ScalarType.Float32).cpu()).contiguous().data<float>().ToArray();
        var dims = new List<long> { 1, heads, 1, 1 };
        for (int i = 0; i < extraDims; i++) dims.Add(1);
        return b.Initializer(prefix + localName, values, dims.ToArray());
    }

    public string MatMul(string a, string c) => b.Op("MatMul", a, c);
    public string Add(string a, string c) => b.Op("Add", a, c);
    public string Sub(string a, string c) => b.Op("Sub", a, c);
    public string Mul(string a, string c) => b.Op("Mul", a, c);
    public string Div(string a, string c) => b.Op("Div", a, c);
    public string Max(string a, string c) => b.Op("Max", a, c);
    public string Pow(string x, string exponent) => b.Op("Pow", x, exponent);
    public string Greater(string a, string c) => b.Op("Greater", a, c);
    public string Where(string condition, string ifTrue, string ifFalse) => b.Op("Where", condition, ifTrue, ifFalse);
    public string Abs(string x) => b.Op("Abs", x);
    public string Sqrt(string x) => b.Op("Sqrt", x);
    public string Reciprocal(string x) => b.Op("Reciprocal", x);
    public string Relu(string x) => b.Op("Relu", x);
    public string Sigmoid(string x) => b.Op("Sigmoid", x);
    public string Acos(string x) => b.Op("Acos", x);
    public string Clip(string x, float min, float max) => b.Op("Clip", x, b.Scalar(min), b.Scalar(max));
    public string Transpose(string x, params long[] perm) => b.Op("Transpose", new[] { x }, OnnxAttr.Ints("perm", perm));
    public string Unsqueeze(string x, params long[] axes) => b.Op("Unsqueeze", x, b.Int64s(axes));
    public string Squeeze(string x, params long[] axes) => b.Op("Squeeze", x, b.Int64s(axes));
    // Opset 17: ReduceSum takes its axes as an input, the other reductions as an attribute.
    public string ReduceSum(string x, long axis, bool keepDims) => b.Op("ReduceSum", new[] { x, b.Int64s(axis) }, OnnxAttr.Int("keepdims", keepDims ? 1 : 0));
    public string ReduceMax(string x, long axis, bool keepDims) => b.Op("ReduceMax", new[] { x }, OnnxAttr.Ints("axes", axis), OnnxAttr.Int("keepdims", keepDims ? 1 : 0));
    public string ReduceL1(string x, long axis, bool keepDims) => b.Op("ReduceL1", new[] { x }, OnnxAttr.Ints("axes", axis), OnnxAttr.Int("keepdims", keepDims ? 1 : 0));
    public string ReduceL2(string x, long axis, bool keepDims) => b.Op("ReduceL2", new[] { x }, OnnxAttr.Ints("axes", axis), OnnxAttr.Int("keepdims", keepDims ? 1 : 0));
    public string Softmax(string x, long axis) => b.Op("Softmax", new[] { x }, OnnxAttr.Int("axis", axis));
    public string CastToFloat(string x) => b.Op("Cast", new[] { x }, OnnxAttr.Int("to", (long)OnnxDataType.Float));
    public string CastToBool(string x) => b.Op("Cast", new[] { x }, OnnxAttr.Int("to", (long)OnnxDataType.Bool));
}
