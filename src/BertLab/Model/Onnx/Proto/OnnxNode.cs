namespace BertLab.Model.Onnx.Proto;

/// <summary>An ONNX NodeProto: one operator application, wired to other nodes by value names.</summary>
public sealed class OnnxNode
{
    public string Name { get; init; } = "";
    public string OpType { get; init; } = "";
    public string Domain { get; init; } = "";
    /// <summary>Input value names; an empty string is an omitted optional input.</summary>
    public IReadOnlyList<string> Inputs { get; init; } = Array.Empty<string>();
    public IReadOnlyList<string> Outputs { get; init; } = Array.Empty<string>();
    public IReadOnlyList<OnnxAttribute> Attributes { get; init; } = Array.Empty<OnnxAttribute>();

    public OnnxAttribute? Attribute(string name) => Attributes.FirstOrDefault(a => a.Name == name);

    public override string ToString() => $"{OpType} '{Name}' ({string.Join(", ", Inputs)}) -> ({string.Join(", ", Outputs)})";

    internal static OnnxNode Parse(ProtoReader r)
    {
        var inputs = new List<string>();
        var outputs = new List<string>();
        var attributes = new List<OnnxAttribute>();
        string name = "", op = "", domain = "";
        while (r.Next(out int field, out var wire))
        {
            if (field is 1 or 2 or 3 or 4 or 5 or 7) ProtoReader.Expect(field, wire, WireType.LengthDelimited, "NodeProto");
            switch (field)
            {
                case 1: inputs.Add(r.ReadString()); break;
                case 2: outputs.Add(r.ReadString()); break;
                case 3: name = r.ReadString(); break;
                case 4: op = r.ReadString(); break;
                case 5: attributes.Add(OnnxAttribute.Parse(r.ReadMessage())); break;
                case 7: domain = r.ReadString(); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxNode { Name = name, OpType = op, Domain = domain, Inputs = inputs, Outputs = outputs, Attributes = attributes };
    }
}

/// <summary>An ONNX AttributeProto (the scalar, list and tensor kinds; subgraphs are skipped).</summary>
public sealed class OnnxAttribute
{
    public string Name { get; init; } = "";
    public float? Float { get; init; }
    public long? Int { get; init; }
    public string? String { get; init; }
    public OnnxTensor? Tensor { get; init; }
    public IReadOnlyList<float> Floats { get; init; } = Array.Empty<float>();
    public IReadOnlyList<long> Ints { get; init; } = Array.Empty<long>();

    internal static OnnxAttribute Parse(ProtoReader r)
    {
        string name = "";
        float? f = null; long? i = null; string? s = null; OnnxTensor? t = null;
        var floats = new List<float>();
        var ints = new List<long>();
        while (r.Next(out int field, out var wire))
        {
            switch (field)
            {
                case 1: ProtoReader.Expect(field, wire, WireType.LengthDelimited, "AttributeProto"); name = r.ReadString(); break;
                case 2: ProtoReader.Expect(field, wire, WireType.Fixed32, "AttributeProto"); f = r.ReadFloat(); break;
                case 3: ProtoReader.Expect(field, wire, WireType.Varint, "AttributeProto"); i = r.ReadInt64(); break;
                case 4:
                    ProtoReader.Expect(field, wire, WireType.LengthDelimited, "AttributeProto");
                    var bytes = r.ReadBytes();
                    s = System.Text.Encoding.UTF8.GetString(bytes);
                    break;
                case 5: ProtoReader.Expect(field, wire, WireType.LengthDelimited, "AttributeProto"); t = OnnxTensor.Parse(r.ReadMessage()); break;
                case 7: r.ReadFloats(wire, floats); break;
                case 8: r.ReadInt64s(wire, ints); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxAttribute { Name = name, Float = f, Int = i, String = s, Tensor = t, Floats = floats, Ints = ints };
    }
}
