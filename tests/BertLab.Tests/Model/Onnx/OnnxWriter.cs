using System.Text;

namespace BertLab.Tests.Model.Onnx;

/// <summary>Writes small ONNX ModelProtos for tests (the protobuf wire format by hand, independent of the reader).</summary>
public sealed class ProtoWriter
{
    readonly MemoryStream _s = new();

    public byte[] ToArray() => _s.ToArray();

    public ProtoWriter Varint(ulong v)
    {
        while (v >= 0x80) { _s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        _s.WriteByte((byte)v);
        return this;
    }

    ProtoWriter Key(int field, int wire) => Varint((ulong)(field << 3 | wire));
    public ProtoWriter Int(int field, long v) => Key(field, 0).Varint((ulong)v);
    public ProtoWriter Float(int field, float v) { Key(field, 5); _s.Write(BitConverter.GetBytes(v)); return this; }
    public ProtoWriter Bytes(int field, byte[] b) { Key(field, 2).Varint((ulong)b.Length); _s.Write(b); return this; }
    public ProtoWriter String(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));
    public ProtoWriter Message(int field, ProtoWriter m) => Bytes(field, m.ToArray());

    public ProtoWriter PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (var v in values) inner.Varint((ulong)v);
        return Message(field, inner);
    }
}

/// <summary>Builds an ONNX graph node by node.</summary>
public sealed class OnnxBuilder
{
    readonly ProtoWriter _graph = new();
    int _counter;

    public string Fresh() => $"v{_counter++}";

    /// <summary>A FLOAT initializer with raw_data; values i * scale + offset unless given.</summary>
    public string Float(string name, long[] dims, float[]? values = null)
    {
        long n = dims.Aggregate(1L, (a, d) => a * d);
        values ??= Enumerable.Range(0, (int)n).Select(i => (float)(i * 0.001 + name.Length * 0.01)).ToArray();
        var raw = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        _graph.Message(5, new ProtoWriter().PackedInts(1, dims).Int(2, 1).String(8, name).Bytes(9, raw));
        return name;
    }

    /// <summary>An INT64 initializer stored in int64_data (not raw_data).</summary>
    public string Int64(string name, params long[] values)
    {
        _graph.Message(5, new ProtoWriter().PackedInts(1, new long[] { values.Length }).Int(2, 7).PackedInts(7, values).String(8, name));
        return name;
    }

    /// <summary>A Constant node holding a float scalar.</summary>
    public string ConstFloat(float v)
    {
        string o = Fresh();
        var t = new ProtoWriter().Int(2, 1).Bytes(9, BitConverter.GetBytes(v));
        Node("Constant", Array.Empty<string>(), new[] { o }, new ProtoWriter().String(1, "value").Message(5, t).Int(20, 4));
        return o;
    }

    public string Op(string op, params string[] inputs) => Op(op, inputs, Array.Empty<ProtoWriter>());

    public string Op(string op, string[] inputs, params ProtoWriter[] attributes)
    {
        string o = Fresh();
        Node(op, inputs, new[] { o }, attributes);
        return o;
    }

    public void Node(string op, string[] inputs, string[] outputs, params ProtoWriter[] attributes)
    {
        var n = new ProtoWriter();
        foreach (var i in inputs) n.String(1, i);
        foreach (var o in outputs) n.String(2, o);
        n.String(3, $"{op}_{_counter}").String(4, op);
        foreach (var a in attributes) n.Message(5, a);
        _graph.Message(1, n);
    }

    public static ProtoWriter IntAttr(string name, long v) => new ProtoWriter().String(1, name).Int(3, v).Int(20, 2);
    public static ProtoWriter FloatAttr(string name, float v) => new ProtoWriter().String(1, name).Float(2, v).Int(20, 1);
    public static ProtoWriter IntsAttr(string name, params long[] v) => new ProtoWriter().String(1, name).PackedInts(8, v).Int(20, 7);

    public void Input(string name) => _graph.Message(11, new ProtoWriter().String(1, name));
    public void Output(string name) => _graph.Message(12, new ProtoWriter().String(1, name));

    public byte[] Build(long irVersion = 7, long opset = 13)
    {
        _graph.String(2, "test-graph");
        return new ProtoWriter().Int(1, irVersion).String(2, "bertlab-tests")
            .Message(7, _graph).Message(8, new ProtoWriter().String(1, "").Int(2, opset)).ToArray();
    }
}
