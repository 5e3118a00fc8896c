using System.Globalization;
using BertLab.Model.Onnx.Proto;

namespace BertLab.Model.Onnx;

/// <summary>One attribute of an ONNX node (AttributeProto), written by <see cref="OnnxGraphBuilder"/>.</summary>
public sealed class OnnxAttr
{
    readonly Action<OnnxProtoWriter> _write;
    OnnxAttr(Action<OnnxProtoWriter> write) => _write = write;
    internal void WriteTo(OnnxProtoWriter w) => _write(w);

    // AttributeProto: name 1, f 2, i 3, s 4, floats 7, ints 8, type 20 (FLOAT 1, INT 2, STRING 3, INTS 7).
    public static OnnxAttr Int(string name, long v) => new(w => w.String(1, name).Int(3, v).Int(20, 2));
    public static OnnxAttr Float(string name, float v) => new(w => w.String(1, name).Float(2, v).Int(20, 1));
    public static OnnxAttr String(string name, string v) => new(w => w.String(1, name).String(4, v).Int(20, 3));
    public static OnnxAttr Ints(string name, params long[] v) => new(w => w.String(1, name).PackedInts(8, v).Int(20, 7));
}

/// <summary>
/// Builds an ONNX ModelProto node by node (default domain only): initializers, typed inputs and outputs with
/// symbolic dimensions, and operators whose outputs get fresh names. The counterpart of <see cref="OnnxModel"/>.
/// </summary>
public sealed class OnnxGraphBuilder
{
    readonly OnnxProtoWriter _nodes = new();
    readonly OnnxProtoWriter _initializers = new();
    readonly OnnxProtoWriter _inputs = new();
    readonly OnnxProtoWriter _outputs = new();
    readonly HashSet<string> _names = new(StringComparer.Ordinal);
    readonly Dictionary<string, string> _constants = new(StringComparer.Ordinal);
    int _counter;

    public int NodeCount { get; private set; }
    /// <summary>Operator types used, for the export report and tests ("standard operators only").</summary>
    public SortedSet<string> OpTypes { get; } = new(StringComparer.Ordinal);

    string Fresh(string hint)
    {
        string name;
        do name = $"{hint}_{_counter++}"; while (_names.Contains(name));
        return name;
    }

    string Claim(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"ONNX value name '{name}' is used twice");
        return name;
    }

    // TensorProto: dims 1, data_type 2, name 8, raw_data 9. DataType FLOAT 1, INT64 7, BOOL 9.
    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        long n = dims.Aggregate(1L, (a, d) => a * d);
        if (n != values.Length) throw new ArgumentException($"initializer '{name}': {values.Length} values for dims [{string.Join(", ", dims)}]");
        var t = new OnnxProtoWriter().PackedInts(1, dims).Int(2, (long)OnnxDataType.Float).String(8, Claim(name)).Bytes(9, OnnxProtoWriter.RawFloats(values));
        _initializers.Message(5, t);
        return name;
    }

    public string Int64Initializer(string name, ReadOnlySpan<long> values, params long[] dims)
    {
        var t = new OnnxProtoWriter().PackedInts(1, dims).Int(2, (long)OnnxDataType.Int64).String(8, Claim(name)).Bytes(9, OnnxProtoWriter.RawInt64s(values));
        _initializers.Message(5, t);
        return name;
    }

    /// <summary>A float scalar constant (shared by every use of the same value).</summary>
    public string Scalar(float v)
    {
        string key = "f:" + BitConverter.SingleToInt32Bits(v).ToString(CultureInfo.InvariantCulture);
        if (!_constants.TryGetValue(key, out var name))
            _constants[key] = name = Initializer(Fresh("const"), new[] { v });
        return name;
    }

    /// <summary>An int64 scalar constant.</summary>
    public string ScalarInt64(long v)
    {
        string key = "i:" + v.ToString(CultureInfo.InvariantCulture);
        if (!_constants.TryGetValue(key, out var name))
            _constants[key] = name = Int64Initializer(Fresh("const"), new[] { v });
        return name;
    }

    /// <summary>A 1-D int64 constant (shapes, axes, permutations).</summary>
    public string Int64s(params long[] v)
    {
        string key = "I:" + string.Join(",", v.Select(x => x.ToString(CultureInfo.InvariantCulture)));
        if (!_constants.TryGetValue(key, out var name))
            _constants[key] = name = Int64Initializer(Fresh("const"), v, v.Length);
        return name;
    }

    public string Op(string opType, params string[] inputs) => Op(opType, inputs, Array.Empty<OnnxAttr>());

    public string Op(string opType, string[] inputs, params OnnxAttr[] attributes)
    {
        string output = Claim(Fresh(opType));
        Node(opType, inputs, new[] { output }, attributes);
        return output;
    }

    /// <summary>A node with explicitly named outputs (e.g. a graph output).</summary>
    public void Node(string opType, string[] inputs, string[] outputs, params OnnxAttr[] attributes)
    {
        // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5.
        var n = new OnnxProtoWriter();
        foreach (var i in inputs) n.String(1, i);
        foreach (var o in outputs) { _names.Add(o); n.String(2, o); }
        n.String(3, $"{opType}_node_{NodeCount++}").String(4, opType);
        foreach (var a in attributes) { var aw = new OnnxProtoWriter(); a.WriteTo(aw); n.Message(5, aw); }
        _nodes.Message(1, n);
        OpTypes.Add(opType);
    }

    /// <summary>A graph input; a dimension is a number ("768") or a symbolic name ("batch_size").</summary>
    public string Input(string name, OnnxDataType type, params string[] dims)
    {
        _inputs.Message(11, ValueInfo(Claim(name), type, dims));
        return name;
    }

    public void Output(string name, OnnxDataType type, params string[] dims) => _outputs.Message(12, ValueInfo(name, type, dims));

    static OnnxProtoWriter ValueInfo(string name, OnnxDataType type, string[] dims)
    {
        // ValueInfoProto: name 1, type 2; TypeProto.tensor_type 1; Tensor: elem_type 1, shape 2; Shape.dim 1; Dimension: dim_value 1, dim_param 2.
        var shape = new OnnxProtoWriter();
        foreach (var d in dims)
        {
            var dim = new OnnxProtoWriter();
            if (long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out long v)) dim.Int(1, v); else dim.String(2, d);
            shape.Message(1, dim);
        }
        var tensor = new OnnxProtoWriter().Int(1, (long)type).Message(2, shape);
        return new OnnxProtoWriter().String(1, name).Message(2, new OnnxProtoWriter().Message(1, tensor));
    }

    /// <summary>The serialized ModelProto (ir_version 8 goes with opsets up to 17).</summary>
    public byte[] Build(string graphName, int opset, string producerVersion, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var s = new MemoryStream();
        WriteTo(s, graphName, opset, producerVersion, metadata);
        return s.ToArray();
    }

    /// <summary>
    /// Writes the ModelProto to a stream without assembling it in memory first (the weights are held once, in the
    /// initializer buffer). ONNX files are protobufs, which cannot exceed 2 GiB; larger models would need external data.
    /// </summary>
    public long WriteTo(Stream stream, string graphName, int opset, string producerVersion, IReadOnlyDictionary<string, string>? metadata = null)
    {
        // ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8, metadata_props 14.
        var head = new OnnxProtoWriter().Int(1, opset <= 17 ? 8 : 9).String(2, "bertlab").String(3, producerVersion);
        // GraphProto: node 1, name 2, initializer 5, input 11, output 12 — written in field order.
        var name = new OnnxProtoWriter().String(2, graphName);
        long graphLength = _nodes.Length + name.Length + _initializers.Length + _inputs.Length + _outputs.Length;
        var tail = new OnnxProtoWriter().Message(8, new OnnxProtoWriter().String(1, "").Int(2, opset));
        if (metadata is not null)
            foreach (var (k, v) in metadata) tail.Message(14, new OnnxProtoWriter().String(1, k).String(2, v));
        var graphKey = new OnnxProtoWriter().Varint(7 << 3 | (ulong)WireType.LengthDelimited).Varint((ulong)graphLength);
        long total = head.Length + graphKey.Length + graphLength + tail.Length;
        if (total >= int.MaxValue)
            throw new BertLabException($"the ONNX model would be {total / 1e9:F1} GB: a protobuf cannot exceed 2 GiB (larger models need ONNX external data, which this export does not write)");
        foreach (var part in new[] { head, graphKey, _nodes, name, _initializers, _inputs, _outputs, tail }) part.CopyTo(stream);
        return total;
    }
}
