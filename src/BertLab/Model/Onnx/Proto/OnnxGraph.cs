using BertLab.Model.Onnx.Proto.Schema;

namespace BertLab.Model.Onnx.Proto;

/// <summary>
/// An ONNX GraphProto (a view of the generated <see cref="GraphProto"/>): nodes in topological order, initializers
/// (the weights and folded constants) and the graph's declared inputs/outputs, with lookups to follow values between nodes.
/// </summary>
public sealed class OnnxGraph
{
    public string Name { get; }
    public IReadOnlyList<OnnxNode> Nodes { get; }
    public IReadOnlyDictionary<string, OnnxTensor> Initializers { get; }
    /// <summary>Initializer names in file order.</summary>
    public IReadOnlyList<string> InitializerOrder { get; }
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>Throws <see cref="InvalidDataException"/> when two initializers share a name.</summary>
    internal OnnxGraph(GraphProto proto)
    {
        Name = proto.Name;
        Nodes = proto.Node.Select(n => new OnnxNode(n)).ToArray();
        var inits = new Dictionary<string, OnnxTensor>(proto.Initializer.Count, StringComparer.Ordinal);
        var order = new List<string>(proto.Initializer.Count);
        foreach (var t in proto.Initializer)
        {
            if (!inits.TryAdd(t.Name, new OnnxTensor(t))) throw new InvalidDataException($"initializer '{t.Name}' appears twice");
            order.Add(t.Name);
        }
        Initializers = inits;
        InitializerOrder = order;
        Inputs = proto.Input.Select(v => new OnnxValueInfo(v)).ToArray();
        Outputs = proto.Output.Select(v => new OnnxValueInfo(v)).ToArray();
    }

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
}

/// <summary>An ONNX ValueInfoProto of a tensor: name, element type and shape (a dimension is a number or a symbolic name).</summary>
public sealed class OnnxValueInfo
{
    internal OnnxValueInfo(ValueInfoProto proto)
    {
        Name = proto.Name;
        var tensor = proto.Type?.TensorType; // tensor types only
        ElementType = (OnnxDataType)(tensor?.ElemType ?? 0);
        Shape = tensor?.Shape?.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => d.DimValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => d.DimParam,
            _ => "?",
        }).ToArray() ?? Array.Empty<string>();
    }

    public string Name { get; }
    public OnnxDataType ElementType { get; }
    /// <summary>One entry per dimension: the size as text ("384") or its symbolic name ("batch"); "?" when unknown.</summary>
    public IReadOnlyList<string> Shape { get; }

    public override string ToString() => $"{Name}: {ElementType}[{string.Join(", ", Shape)}]";
}
