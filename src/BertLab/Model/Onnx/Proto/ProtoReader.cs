using System.Buffers.Binary;
using System.Text;

namespace BertLab.Model.Onnx.Proto;

/// <summary>Protocol Buffers wire types (the low three bits of a field key).</summary>
public enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// A minimal reader of the Protocol Buffers wire format over a byte array: enough to walk the few
/// ONNX messages BertLab needs without generated classes. Length-delimited fields are returned as
/// slices of the same array (no copies), so a 90 MB model is read once and its weights are viewed in place.
/// Malformed input raises <see cref="InvalidDataException"/>.
/// </summary>
public struct ProtoReader
{
    readonly byte[] _buffer;
    int _pos;
    readonly int _end;

    public ProtoReader(byte[] buffer) : this(buffer, 0, buffer.Length) { }

    public ProtoReader(byte[] buffer, int offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > buffer.Length) throw new ArgumentOutOfRangeException(nameof(length));
        _buffer = buffer;
        _pos = offset;
        _end = offset + length;
    }

    public ProtoReader(ArraySegment<byte> segment) : this(segment.Array!, segment.Offset, segment.Count) { }

    public bool AtEnd => _pos >= _end;
    public int Position => _pos;

    /// <summary>Reads the next field key; false at the end of the message.</summary>
    public bool Next(out int field, out WireType wire)
    {
        if (_pos >= _end) { field = 0; wire = default; return false; }
        ulong key = ReadVarint();
        field = (int)(key >> 3);
        wire = (WireType)(key & 7);
        if (field <= 0 || key >> 3 > int.MaxValue) throw new InvalidDataException($"invalid protobuf field number {key >> 3} at byte {_pos}");
        if (wire is not (WireType.Varint or WireType.Fixed64 or WireType.LengthDelimited or WireType.Fixed32))
            throw new InvalidDataException($"unsupported protobuf wire type {(int)wire} (field {field}) at byte {_pos}");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _end) throw new InvalidDataException("truncated protobuf varint");
            byte b = _buffer[_pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException($"protobuf varint longer than 10 bytes at byte {_pos}");
    }

    public long ReadInt64() => (long)ReadVarint();
    public int ReadInt32() => (int)(long)ReadVarint();

    public uint ReadFixed32()
    {
        Require(4);
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_pos, 4));
        _pos += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        Require(8);
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.AsSpan(_pos, 8));
        _pos += 8;
        return v;
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());
    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>The payload of a length-delimited field, as a view of the underlying array.</summary>
    public ArraySegment<byte> ReadBytes()
    {
        ulong len = ReadVarint();
        if (len > (ulong)(_end - _pos)) throw new InvalidDataException($"protobuf length {len} at byte {_pos} runs past the end of its message");
        var seg = new ArraySegment<byte>(_buffer, _pos, (int)len);
        _pos += (int)len;
        return seg;
    }

    public ProtoReader ReadMessage() => new(ReadBytes());

    public string ReadString()
    {
        var b = ReadBytes();
        try { return StrictUtf8.GetString(b); }
        catch (DecoderFallbackException) { throw new InvalidDataException($"protobuf string field is not valid UTF-8 (before byte {_pos})"); }
    }

    /// <summary>A repeated int64 field: one value (unpacked) or a packed run, depending on the wire type.</summary>
    public void ReadInt64s(WireType wire, List<long> into)
    {
        if (wire == WireType.Varint) { into.Add(ReadInt64()); return; }
        if (wire != WireType.LengthDelimited) throw new InvalidDataException($"expected an int64 field, got wire type {wire}");
        var inner = ReadMessage();
        while (!inner.AtEnd) into.Add(inner.ReadInt64());
    }

    /// <summary>A repeated float field: one value (unpacked) or a packed run.</summary>
    public void ReadFloats(WireType wire, List<float> into)
    {
        if (wire == WireType.Fixed32) { into.Add(ReadFloat()); return; }
        if (wire != WireType.LengthDelimited) throw new InvalidDataException($"expected a float field, got wire type {wire}");
        var b = ReadBytes();
        if (b.Count % 4 != 0) throw new InvalidDataException("packed float field length is not a multiple of 4");
        for (int i = 0; i < b.Count; i += 4) into.Add(BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(i, 4)));
    }

    public void Skip(WireType wire)
    {
        switch (wire)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: Require(8); _pos += 8; break;
            case WireType.Fixed32: Require(4); _pos += 4; break;
            case WireType.LengthDelimited: ReadBytes(); break;
            default: throw new InvalidDataException($"cannot skip protobuf wire type {wire}");
        }
    }

    /// <summary>Throws unless the field has the wire type the schema gives it.</summary>
    public static void Expect(int field, WireType actual, WireType expected, string message)
    {
        if (actual != expected) throw new InvalidDataException($"{message} field {field} has wire type {actual}, expected {expected}");
    }

    void Require(int n)
    {
        if (_end - _pos < n) throw new InvalidDataException($"truncated protobuf field at byte {_pos}");
    }

    static readonly Encoding StrictUtf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
}
