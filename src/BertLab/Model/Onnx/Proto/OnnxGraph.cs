namespace BertLab.Model.Onnx.Proto;

/// <summary>
/// An ONNX GraphProto: nodes in topological order, initializers (the weights and folded constants)
/// and the graph's declared inputs/outputs, with lookups to follow values between nodes.
/// </summary>
public sealed class OnnxGraph
{
    public string Name { get; init; } = "";
    public IReadOnlyList<OnnxNode> Nodes { get; init; } = Array.Empty<OnnxNode>();
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; init; } = new Dictionary<string, OnnxTensor>();
    /// <summary>Initializer names in file order.</summary>
    public IReadOnlyList<string> InitializerOrder { get; init; } = Array.Empty<string>();
    public IReadOnlyList<OnnxValueInfo> Inputs { get; init; } = Array.Empty<OnnxValueInfo>();
    public IReadOnlyList<OnnxValueInfo> Outputs { get; init; } = Array.Empty<OnnxValueInfo>();

    Dictionary<string, OnnxNode>? _producers;
    Dictionary<string, List<OnnxNode>>? _consumers;

    /// <summary>The node whose output is <paramref name="value"/>; null for graph inputs and initializers.</summary>
    public OnnxNode? Producer(string value)
    {
        if (_producers is null)
        {
            var p = new Dictionary<string, OnnxNode>(StringComparer.Ordinal);
            foreach (var n in Nodes) foreach (var o in n.Outputs) if (o.Length > 0) p[o] = n;
            _producers = p;
        }
        return _producers.GetValueOrDefault(value);
    }

    /// <summary>The nodes that read <paramref name="value"/>, in graph order.</summary>
    public IReadOnlyList<OnnxNode> Consumers(string value)
    {
        if (_consumers is null)
        {
            var c = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
            foreach (var n in Nodes)
                foreach (var i in n.Inputs.Distinct())
                    if (i.Length > 0)
                    {
                        if (!c.TryGetValue(i, out var list)) c[i] = list = new List<OnnxNode>();
                        list.Add(n);
                    }
            _consumers = c;
        }
        return _consumers.TryGetValue(value, out var l) ? l : Array.Empty<OnnxNode>();
    }

    /// <summary>The constant behind a value: an initializer, or the tensor of the Constant node producing it.</summary>
    public OnnxTensor? ConstantValue(string value)
    {
        if (Initializers.TryGetValue(value, out var t)) return t;
        var p = Producer(value);
        if (p is { OpType: "Constant" }) return p.Attribute("value")?.Tensor;
        return null;
    }

    /// <summary>A scalar (or one-element) numeric constant behind a value, else null.</summary>
    public double? ScalarConstant(string value)
    {
        var t = ConstantValue(value);
        if (t is null || t.ElementCount != 1) return null;
        if (t.IsFloatingPoint) return t.ToFloatArray()[0];
        if (t.DataType is OnnxDataType.Int64 or OnnxDataType.Int32) return t.ToInt64Array()[0];
        return null;
    }

    internal static OnnxGraph Parse(ProtoReader r)
    {
        var nodes = new List<OnnxNode>();
        var inits = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        var order = new List<string>();
        var inputs = new List<OnnxValueInfo>();
        var outputs = new List<OnnxValueInfo>();
        string name = "";
        while (r.Next(out int field, out var wire))
        {
            if (field is 1 or 2 or 5 or 11 or 12) ProtoReader.Expect(field, wire, WireType.LengthDelimited, "GraphProto");
            switch (field)
            {
                case 1: nodes.Add(OnnxNode.Parse(r.ReadMessage())); break;
                case 2: name = r.ReadString(); break;
                case 5:
                    var t = OnnxTensor.Parse(r.ReadMessage());
                    if (!inits.TryAdd(t.Name, t)) throw new InvalidDataException($"initializer '{t.Name}' appears twice");
                    order.Add(t.Name);
                    break;
                case 11: inputs.Add(OnnxValueInfo.Parse(r.ReadMessage())); break;
                case 12: outputs.Add(OnnxValueInfo.Parse(r.ReadMessage())); break;
                default: r.Skip(wire); break;
            }
        }
        return new OnnxGraph { Name = name, Nodes = nodes, Initializers = inits, InitializerOrder = order, Inputs = inputs, Outputs = outputs };
    }
}

/// <summary>An ONNX ValueInfoProto of a tensor: name, element type and shape (a dimension is a number or a symbolic name).</summary>
public sealed class OnnxValueInfo
{
    public string Name { get; init; } = "";
    public OnnxDataType ElementType { get; init; }
    /// <summary>One entry per dimension: the size as text ("384") or its symbolic name ("batch"); "?" when unknown.</summary>
    public IReadOnlyList<string> Shape { get; init; } = Array.Empty<string>();

    public override string ToString() => $"{Name}: {ElementType}[{string.Join(", ", Shape)}]";

    internal static OnnxValueInfo Parse(ProtoReader r)
    {
        string name = "";
        var elem = OnnxDataType.Undefined;
        var shape = new List<string>();
        while (r.Next(out int field, out var wire))
        {
            if (field == 1 && wire == WireType.LengthDelimited) name = r.ReadString();
            else if (field == 2 && wire == WireType.LengthDelimited)
            {
                var type = r.ReadMessage();
                while (type.Next(out int tf, out var tw))
                {
                    if (tf != 1 || tw != WireType.LengthDelimited) { type.Skip(tw); continue; } // tensor_type only
                    var tensor = type.ReadMessage();
                    while (tensor.Next(out int xf, out var xw))
                    {
                        if (xf == 1 && xw == WireType.Varint) elem = (OnnxDataType)tensor.ReadInt32();
                        else if (xf == 2 && xw == WireType.LengthDelimited)
                        {
                            var sh = tensor.ReadMessage();
                            while (sh.Next(out int sf, out var sw))
                            {
                                if (sf != 1 || sw != WireType.LengthDelimited) { sh.Skip(sw); continue; }
                                var dim = sh.ReadMessage();
                                string d = "?";
                                while (dim.Next(out int df, out var dw))
                                {
                                    if (df == 1 && dw == WireType.Varint) d = dim.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
                                    else if (df == 2 && dw == WireType.LengthDelimited) d = dim.ReadString();
                                    else dim.Skip(dw);
                                }
                                shape.Add(d);
                            }
                        }
                        else tensor.Skip(xw);
                    }
                }
            }
            else r.Skip(wire);
        }
        return new OnnxValueInfo { Name = name, ElementType = elem, Shape = shape };
    }
}
