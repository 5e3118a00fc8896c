using BertLab.Model.Onnx.Proto.Schema;

namespace BertLab.Model.Onnx.Proto;

/// <summary>An ONNX NodeProto: one operator application, wired to other nodes by value names (a view of the generated <see cref="NodeProto"/>).</summary>
public sealed class OnnxNode
{
    readonly NodeProto _proto;

    internal OnnxNode(NodeProto proto)
    {
        _proto = proto;
        Attributes = proto.Attribute.Select(a => new OnnxAttribute(a)).ToArray();
    }

    public string Name => _proto.Name;
    public string OpType => _proto.OpType;
    public string Domain => _proto.Domain;
    /// <summary>Input value names; an empty string is an omitted optional input.</summary>
    public IReadOnlyList<string> Inputs => _proto.Input;
    public IReadOnlyList<string> Outputs => _proto.Output;
    public IReadOnlyList<OnnxAttribute> Attributes { get; }

    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    public override string ToString() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";
}

/// <summary>
/// An ONNX AttributeProto (the scalar, list and tensor kinds; subgraphs are not read). A scalar is present when its
/// field is (proto2 presence), so files that leave out AttributeProto.type read the same.
/// </summary>
public sealed class OnnxAttribute
{
    readonly AttributeProto _proto;

    internal OnnxAttribute(AttributeProto proto)
    {
        _proto = proto;
        Tensor = proto.T is null ? null : new OnnxTensor(proto.T);
    }

    public string Name => _proto.Name;
    public float? Float => _proto.HasF ? _proto.F : null;
    public long? Int => _proto.HasI ? _proto.I : null;
    /// <summary>The UTF-8 string value (invalid sequences become U+FFFD).</summary>
    public string? String => _proto.HasS ? _proto.S.ToStringUtf8() : null;
    public OnnxTensor? Tensor { get; }
    public IReadOnlyList<float> Floats => _proto.Floats;
    public IReadOnlyList<long> Ints => _proto.Ints;
}
