using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace BertLab.Model.Onnx.Proto;

/// <summary>
/// The writing half of <see cref="ProtoReader"/>: Protocol Buffers wire format into a growing buffer. A nested
/// message is written by building it in its own writer and appending it with <see cref="Message"/>.
/// </summary>
public sealed class OnnxProtoWriter
{
    readonly MemoryStream _s = new();

    public long Length => _s.Length;
    public byte[] ToArray() => _s.ToArray();
    public void CopyTo(Stream destination) { _s.Position = 0; _s.CopyTo(destination); }

    public OnnxProtoWriter Varint(ulong v)
    {
        while (v >= 0x80) { _s.WriteByte((byte)(v | 0x80)); v >>= 7; }
        _s.WriteByte((byte)v);
        return this;
    }

    OnnxProtoWriter Key(int field, WireType wire) => Varint((ulong)field << 3 | (ulong)wire);

    /// <summary>An int64 / int32 / enum / bool field (negative values take ten bytes, as protobuf requires).</summary>
    public OnnxProtoWriter Int(int field, long v) => Key(field, WireType.Varint).Varint((ulong)v);

    public OnnxProtoWriter Float(int field, float v)
    {
        Key(field, WireType.Fixed32);
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(b, v);
        _s.Write(b);
        return this;
    }

    public OnnxProtoWriter Bytes(int field, ReadOnlySpan<byte> b)
    {
        Key(field, WireType.LengthDelimited).Varint((ulong)b.Length);
        _s.Write(b);
        return this;
    }

    public OnnxProtoWriter String(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));

    public OnnxProtoWriter Message(int field, OnnxProtoWriter m)
    {
        Key(field, WireType.LengthDelimited).Varint((ulong)m._s.Length);
        m._s.Position = 0;
        m._s.CopyTo(_s);
        return this;
    }

    public OnnxProtoWriter PackedInts(int field, IEnumerable<long> values)
    {
        var inner = new OnnxProtoWriter();
        foreach (var v in values) inner.Varint((ulong)v);
        return Message(field, inner);
    }

    public OnnxProtoWriter PackedFloats(int field, IReadOnlyList<float> values)
    {
        var raw = new byte[values.Count * 4];
        for (int i = 0; i < values.Count; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4, 4), values[i]);
        return Bytes(field, raw);
    }

    /// <summary>Little-endian bytes of a float array (TensorProto.raw_data).</summary>
    public static byte[] RawFloats(ReadOnlySpan<float> values)
    {
        var raw = new byte[values.Length * 4];
        if (BitConverter.IsLittleEndian) MemoryMarshal.AsBytes(values).CopyTo(raw);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4, 4), values[i]);
        return raw;
    }

    public static byte[] RawInt64s(ReadOnlySpan<long> values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * 8, 8), values[i]);
        return raw;
    }
}
