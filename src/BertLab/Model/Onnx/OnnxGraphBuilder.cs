using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using BertLab.Model.Onnx.Proto;
using BertLab.Model.Onnx.Proto.Schema;
using Google.Protobuf;

namespace BertLab.Model.Onnx;

/// <summary>One attribute of an ONNX node (AttributeProto), written by <see cref="OnnxGraphBuilder"/>.</summary>
public sealed class OnnxAttr
{
    readonly AttributeProto _proto;
    OnnxAttr(AttributeProto proto) => _proto = proto;
    internal AttributeProto ToProto() => _proto.Clone();

    public static OnnxAttr Int(string name, long v) => new(new AttributeProto { Name = name, I = v, Type = AttributeProto.Types.AttributeType.Int });
    public static OnnxAttr Float(string name, float v) => new(new AttributeProto { Name = name, F = v, Type = AttributeProto.Types.AttributeType.Float });
    public static OnnxAttr String(string name, string v) => new(new AttributeProto { Name = name, S = ByteString.CopyFromUtf8(v), Type = AttributeProto.Types.AttributeType.String });
    public static OnnxAttr Ints(string name, params long[] v) => new(new AttributeProto { Name = name, Ints = { v }, Type = AttributeProto.Types.AttributeType.Ints });
}

/// <summary>
/// Builds an ONNX ModelProto node by node (default domain only): initializers, typed inputs and outputs with
/// symbolic dimensions, and operators whose outputs get fresh names. The counterpart of <see cref="OnnxModel"/>.
/// </summary>
public sealed class OnnxGraphBuilder
{
    readonly GraphProto _graph = new();
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

    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        long n = dims.Aggregate(1L, (a, d) => a * d);
        if (n != values.Length) throw new ArgumentException($"initializer '{name}': {values.Length} values for dims [{string.Join(", ", dims)}]");
        AddInitializer(name, OnnxDataType.Float, RawFloats(values), dims);
        return name;
    }

    public string Int64Initializer(string name, ReadOnlySpan<long> values, params long[] dims)
    {
        AddInitializer(name, OnnxDataType.Int64, RawInt64s(values), dims);
        return name;
    }

    /// <summary>An initializer whose raw_data is <paramref name="raw"/> itself (wrapped, not copied: the builder owns it).</summary>
    void AddInitializer(string name, OnnxDataType type, byte[] raw, long[] dims)
    {
        var t = new TensorProto { Name = Claim(name), DataType = (int)type, RawData = UnsafeByteOperations.UnsafeWrap(raw) };
        t.Dims.AddRange(dims);
        _graph.Initializer.Add(t);
    }

    /// <summary>Little-endian bytes of a float array (TensorProto.raw_data).</summary>
    static byte[] RawFloats(ReadOnlySpan<float> values)
    {
        var raw = new byte[values.Length * 4];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(raw);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4, 4), values[i]);
        return raw;
    }

    static byte[] RawInt64s(ReadOnlySpan<long> values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8, 8), values[i]);
        return raw;
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
        var n = new NodeProto { Name = $"{opType}_node_{NodeCount++}", OpType = opType };
        n.Input.AddRange(inputs);
        foreach (var o in outputs) { _names.Add(o); n.Output.Add(o); }
        foreach (var a in attributes) n.Attribute.Add(a.ToProto());
        _graph.Node.Add(n);
        OpTypes.Add(opType);
    }

    /// <summary>A graph input; a dimension is a number ("768") or a symbolic name ("batch_size").</summary>
    public string Input(string name, OnnxDataType type, params string[] dims)
    {
        _graph.Input.Add(ValueInfo(Claim(name), type, dims));
        return name;
    }

    public void Output(string name, OnnxDataType type, params string[] dims) => _graph.Output.Add(ValueInfo(name, type, dims));

    static ValueInfoProto ValueInfo(string name, OnnxDataType type, string[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(long.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out long v)
                ? new TensorShapeProto.Types.Dimension { DimValue = v }
                : new TensorShapeProto.Types.Dimension { DimParam = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    /// <summary>The serialized ModelProto (ir_version 8 goes with opsets up to 17).</summary>
    public byte[] Build(string graphName, int opset, string producerVersion, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var s = new MemoryStream();
        WriteTo(s, graphName, opset, producerVersion, metadata);
        return s.ToArray();
    }

    /// <summary>
    /// Writes the ModelProto to a stream without assembling it in memory first (the weights are held once, as the
    /// initializers' raw_data). ONNX files are protobufs, which cannot exceed 2 GiB; larger models would need external data.
    /// </summary>
    public long WriteTo(Stream stream, string graphName, int opset, string producerVersion, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var model = new ModelProto
        {
            IrVersion = opset <= 17 ? 8 : 9, ProducerName = "bertlab", ProducerVersion = producerVersion,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = opset } },
        };
        if (metadata is not null)
            foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        _graph.Name = graphName;
        // The generated CalculateSize is an int: add up the graph's parts as longs so that a model past 2 GiB is
        // refused before anything is written rather than overflowing.
        long graphLength = Sized(_graph.Node) + Sized(_graph.Initializer) + Sized(_graph.Input) + Sized(_graph.Output)
            + CodedOutputStream.ComputeTagSize(2) + CodedOutputStream.ComputeStringSize(graphName);
        long total = model.CalculateSize() + CodedOutputStream.ComputeTagSize(7) + LengthPrefix(graphLength) + graphLength;
        if (total >= int.MaxValue)
            throw new BertLabException($"the ONNX model would be {total / 1e9:F1} GB: a protobuf cannot exceed 2 GiB (larger models need ONNX external data, which this export does not write)");
        model.Graph = _graph;
        try { model.WriteTo(stream); }
        finally { model.Graph = null; }
        return total;
    }

    /// <summary>The encoded length of a repeated message field (numbers below 16 have one-byte tags).</summary>
    static long Sized<T>(IEnumerable<T> messages) where T : IMessage
    {
        long n = 0;
        foreach (var m in messages) { long size = m.CalculateSize(); n += 1 + LengthPrefix(size) + size; }
        return n;
    }

    static long LengthPrefix(long length) => length < 1L << 31 ? CodedOutputStream.ComputeLengthSize((int)length) : 5;
}
