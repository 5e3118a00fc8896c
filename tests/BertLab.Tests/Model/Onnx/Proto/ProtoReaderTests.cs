using BertLab.Model.Onnx.Proto;
using Xunit;

namespace BertLab.Tests.Model.Onnx.Proto;

public class ProtoReaderTests
{
    [Fact]
    public void ReadsVarintsOfTheProtobufSpecification()
    {
        // From the protobuf encoding guide: 1 = 01, 150 = 96 01, 300 = AC 02; -1 as int64 = ten bytes.
        var bytes = new byte[] { 0x01, 0x96, 0x01, 0xAC, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 };
        var r = new ProtoReader(bytes);
        Assert.Equal(1UL, r.ReadVarint());
        Assert.Equal(150UL, r.ReadVarint());
        Assert.Equal(300UL, r.ReadVarint());
        Assert.Equal(-1L, r.ReadInt64());
        Assert.True(r.AtEnd);
    }

    [Fact]
    public void ReadsKeysStringsAndFixedFields()
    {
        // field 1 varint 150 (08 96 01); field 2 string "testing" (12 07 ...); field 3 fixed32 float 1.5 (1D 00 00 C0 3F)
        var bytes = new byte[] { 0x08, 0x96, 0x01, 0x12, 0x07, (byte)'t', (byte)'e', (byte)'s', (byte)'t', (byte)'i', (byte)'n', (byte)'g', 0x1D, 0x00, 0x00, 0xC0, 0x3F };
        var r = new ProtoReader(bytes);
        Assert.True(r.Next(out int f, out var w)); Assert.Equal((1, WireType.Varint), (f, w)); Assert.Equal(150L, r.ReadInt64());
        Assert.True(r.Next(out f, out w)); Assert.Equal((2, WireType.LengthDelimited), (f, w)); Assert.Equal("testing", r.ReadString());
        Assert.True(r.Next(out f, out w)); Assert.Equal((3, WireType.Fixed32), (f, w)); Assert.Equal(1.5f, r.ReadFloat());
        Assert.False(r.Next(out _, out _));
    }

    [Fact]
    public void ReadsPackedAndUnpackedRepeatedInts()
    {
        // packed: field 4, length 6, values 3, 270, 86942 (03 8E 02 9E A7 05) — the guide's example
        var packed = new ProtoReader(new byte[] { 0x22, 0x06, 0x03, 0x8E, 0x02, 0x9E, 0xA7, 0x05 });
        var list = new List<long>();
        Assert.True(packed.Next(out _, out var w));
        packed.ReadInt64s(w, list);
        Assert.Equal(new long[] { 3, 270, 86942 }, list);

        var unpacked = new ProtoReader(new byte[] { 0x20, 0x03, 0x20, 0x8E, 0x02 });
        list.Clear();
        while (unpacked.Next(out _, out w)) unpacked.ReadInt64s(w, list);
        Assert.Equal(new long[] { 3, 270 }, list);
    }

    [Theory]
    [InlineData(new byte[] { 0x12, 0x09, 0x41 })]           // length runs past the end
    [InlineData(new byte[] { 0x08, 0x96 })]                 // truncated varint
    [InlineData(new byte[] { 0x0B })]                       // start-group wire type
    [InlineData(new byte[] { 0x1D, 0x00, 0x00 })]           // truncated fixed32
    public void MalformedInputThrowsInvalidData(byte[] bytes)
    {
        Assert.Throws<InvalidDataException>(() =>
        {
            var r = new ProtoReader(bytes);
            while (r.Next(out _, out var w)) r.Skip(w);
        });
    }
}
