using BertLab.Model.Onnx;
using BertLab.Model.Onnx.Proto;
using Xunit;

namespace BertLab.Tests.Model.Onnx.Proto;

/// <summary>
/// The ONNX reader (classes generated from onnx.proto) on messages written byte by byte by the tests' own
/// <see cref="ProtoWriter"/>, whose field numbers come from the ONNX schema, and the writer's output read back the
/// same independent way: the encodings other producers use (packed and unpacked repeated fields, attributes without
/// their type, unknown fields) and the ones malformed files have.
/// </summary>
public class OnnxCodecTests
{
    static byte[] Model(ProtoWriter graph, long ir = 8) =>
        new ProtoWriter().Int(1, ir).String(2, "codec-test").Message(7, graph).Message(8, new ProtoWriter().String(1, "").Int(2, 17)).ToArray();

    [Fact]
    public void ReadsRepeatedFieldsPackedAndUnpacked()
    {
        var graph = new ProtoWriter()
            // dims unpacked (as onnx.proto declares them), int64_data unpacked too
            .Message(5, new ProtoWriter().Int(1, 2).Int(1, 3).Int(2, 7).String(8, "a")
                .Int(7, 1).Int(7, -2).Int(7, 300).Int(7, 4).Int(7, 5).Int(7, long.MaxValue))
            // dims packed, int64_data packed (the protobuf guide's 3, 270, 86942)
            .Message(5, new ProtoWriter().PackedInts(1, new long[] { 3 }).Int(2, 7).String(8, "b").PackedInts(7, new long[] { 3, 270, 86942 }))
            // float_data unpacked (fixed32 each)
            .Message(5, new ProtoWriter().PackedInts(1, new long[] { 2 }).Int(2, 1).String(8, "c").Float(4, 1.5f).Float(4, -0.25f));
        var g = OnnxModel.Parse(Model(graph)).Graph;
        Assert.Equal(new long[] { 2, 3 }, g.Initializers["a"].Dims);
        Assert.Equal(new long[] { 1, -2, 300, 4, 5, long.MaxValue }, g.Initializers["a"].ToInt64Array());
        Assert.Equal(new long[] { 3, 270, 86942 }, g.Initializers["b"].ToInt64Array());
        Assert.Equal(new[] { 1.5f, -0.25f }, g.Initializers["c"].ToFloatArray());
        Assert.Equal(new[] { "a", "b", "c" }, g.InitializerOrder);
    }

    [Fact]
    public void AnAttributesKindIsTheFieldItHasEvenWithoutItsType()
    {
        var node = new ProtoWriter().String(1, "x").String(2, "y").String(4, "Gemm")
            .Message(5, new ProtoWriter().String(1, "transA").Int(3, 0))                  // i = 0 present, no type field
            .Message(5, new ProtoWriter().String(1, "alpha").Float(2, 0f).Int(20, 1))
            .Message(5, new ProtoWriter().String(1, "approximate").String(4, "tanh").Int(20, 3))
            .Message(5, new ProtoWriter().String(1, "perm").PackedInts(8, new long[] { 1, 0 }).Int(20, 7));
        var n = OnnxModel.Parse(Model(new ProtoWriter().Message(1, node))).Graph.Nodes.Single();
        Assert.Equal(0L, n.Attribute("transA")!.Int);
        Assert.Null(n.Attribute("transA")!.Float);
        Assert.Equal(0f, n.Attribute("alpha")!.Float);
        Assert.Null(n.Attribute("alpha")!.Int);
        Assert.Equal("tanh", n.Attribute("approximate")!.String);
        Assert.Equal(new long[] { 1, 0 }, n.Attribute("perm")!.Ints);
        Assert.Null(n.Attribute("missing"));
    }

    [Fact]
    public void SkipsFieldsOutsideTheSchemaItReads()
    {
        // ModelProto.training_info (20) and a field number ONNX does not define (1000); NodeProto.doc_string (6);
        // a TypeProto.sequence_type (4) input, which has no tensor shape.
        var graph = new ProtoWriter()
            .Message(1, new ProtoWriter().String(1, "x").String(2, "y").String(4, "Relu").String(6, "a note"))
            .Message(11, new ProtoWriter().String(1, "seq").Message(2, new ProtoWriter().Message(4, new ProtoWriter())));
        var bytes = new ProtoWriter().Int(1, 8).Message(20, new ProtoWriter().Message(1, new ProtoWriter().String(2, "t")))
            .Message(7, graph).Int(1000, 5).Message(8, new ProtoWriter().Int(2, 17)).ToArray();
        var m = OnnxModel.Parse(bytes);
        Assert.Equal("Relu", m.Graph.Nodes.Single().OpType);
        Assert.Equal(17, m.Opsets[""]);
        Assert.Equal("seq", m.Graph.Inputs.Single().Name);
        Assert.Empty(m.Graph.Inputs.Single().Shape);
    }

    [Theory]
    [InlineData(new byte[] { 0x3A, 0x09, 0x41 })]           // graph's length runs past the end
    [InlineData(new byte[] { 0x08, 0x96 })]                 // truncated varint
    [InlineData(new byte[] { 0x3D, 0x00, 0x00 })]           // truncated fixed32
    [InlineData(new byte[] { 0x08, 0x01 })]                 // ir_version only: no graph
    [InlineData(new byte[] { 0x3A, 0x00 })]                 // graph only: no ir_version
    public void MalformedInputIsAClearError(byte[] bytes)
    {
        var e = Assert.Throws<BertLabException>(() => OnnxModel.Parse(bytes));
        Assert.Contains("not an ONNX model", e.Message);
    }

    [Fact]
    public void TwoInitializersOfOneNameAreAnError()
    {
        var t = new ProtoWriter().PackedInts(1, new long[] { 1 }).Int(2, 7).String(8, "w").PackedInts(7, new long[] { 1 });
        var e = Assert.Throws<BertLabException>(() => OnnxModel.Parse(Model(new ProtoWriter().Message(5, t).Message(5, t))));
        Assert.Contains("'w' appears twice", e.Message);
    }

    [Fact]
    public void ExternalDataIsRefusedWithTheFix()
    {
        var entry = new ProtoWriter().String(1, "location").String(2, "weights.bin");
        var t = new ProtoWriter().PackedInts(1, new long[] { 4 }).Int(2, 1).String(8, "w").Message(13, entry).Int(14, 1);
        var tensor = OnnxModel.Parse(Model(new ProtoWriter().Message(5, t))).Graph.Initializers["w"];
        Assert.True(tensor.IsExternal);
        var e = Assert.Throws<BertLabException>(() => tensor.ToFloatArray());
        Assert.Contains("external data file", e.Message);
    }

    [Fact]
    public void TheWritersBytesAreTheSchemasFields()
    {
        // What OnnxGraphBuilder writes, decoded by a reader that knows only the field numbers (ProtoFields below).
        var b = new OnnxGraphBuilder();
        b.Initializer("w", new[] { 1f, -2f }, 2);
        string x = b.Input("x", OnnxDataType.Float, "batch", "2");
        b.Node("Mul", new[] { x, "w" }, new[] { "y" }, OnnxAttr.Int("axis", -1), OnnxAttr.String("mode", "ü"));
        b.Output("y", OnnxDataType.Float, "batch", "2");
        var model = ProtoFields.Parse(b.Build("g", 17, "1.0", new Dictionary<string, string> { ["k"] = "v" }));

        Assert.Equal(8UL, model.Varint(1));                                  // ir_version
        Assert.Equal("bertlab", model.String(2));
        var opset = model.Message(8);
        Assert.Equal("", opset.String(1));
        Assert.Equal(17UL, opset.Varint(2));
        var meta = model.Message(14);
        Assert.Equal(("k", "v"), (meta.String(1), meta.String(2)));

        var graph = model.Message(7);
        Assert.Equal("g", graph.String(2));
        var init = graph.Message(5);
        Assert.Equal("w", init.String(8));
        Assert.Equal(1UL, init.Varint(2));                                   // FLOAT
        Assert.Equal(new ulong[] { 2 }, init.Varints(1));                    // dims
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0 }, init.Bytes(9)); // raw_data, little-endian 1, -2

        var node = graph.Message(1);
        Assert.Equal("Mul", node.String(4));
        Assert.Equal(new[] { "x", "w" }, node.Strings(1));
        Assert.Equal(new[] { "y" }, node.Strings(2));
        var attrs = node.Messages(5);
        Assert.Equal("axis", attrs[0].String(1));
        Assert.Equal(unchecked((ulong)-1L), attrs[0].Varint(3));              // ten-byte varint of -1
        Assert.Equal(2UL, attrs[0].Varint(20));                              // INT
        Assert.Equal("ü", attrs[1].String(4));
        Assert.Equal(3UL, attrs[1].Varint(20));                              // STRING

        var input = graph.Message(11);
        Assert.Equal("x", input.String(1));
        var tensorType = input.Message(2).Message(1);
        Assert.Equal(1UL, tensorType.Varint(1));
        var dims = tensorType.Message(2).Messages(1);
        Assert.Equal("batch", dims[0].String(2));
        Assert.Equal(2UL, dims[1].Varint(1));
        Assert.Equal("y", graph.Message(12).String(1));
    }

    /// <summary>A protobuf message decoded into its fields by number (varint, fixed32 and length-delimited only).</summary>
    sealed class ProtoFields
    {
        readonly List<(int Field, ulong Varint, byte[]? Bytes)> _fields = new();

        public static ProtoFields Parse(byte[] b)
        {
            var m = new ProtoFields();
            int pos = 0;
            ulong ReadVarint()
            {
                ulong v = 0;
                for (int shift = 0; ; shift += 7)
                {
                    byte x = b[pos++];
                    v |= (ulong)(x & 0x7F) << shift;
                    if (x < 0x80) return v;
                }
            }
            while (pos < b.Length)
            {
                ulong key = ReadVarint();
                int field = (int)(key >> 3);
                switch (key & 7)
                {
                    case 0: m._fields.Add((field, ReadVarint(), null)); break;
                    case 2: int len = (int)ReadVarint(); m._fields.Add((field, 0, b[pos..(pos + len)])); pos += len; break;
                    case 5: m._fields.Add((field, 0, b[pos..(pos + 4)])); pos += 4; break;
                    default: throw new InvalidOperationException($"wire type {key & 7}");
                }
            }
            return m;
        }

        public ulong Varint(int field) => _fields.Single(f => f.Field == field).Varint;
        public ulong[] Varints(int field) => _fields.Where(f => f.Field == field).Select(f => f.Varint).ToArray();
        public byte[] Bytes(int field) => _fields.Single(f => f.Field == field).Bytes!;
        public string String(int field) => System.Text.Encoding.UTF8.GetString(Bytes(field));
        public string[] Strings(int field) => _fields.Where(f => f.Field == field).Select(f => System.Text.Encoding.UTF8.GetString(f.Bytes!)).ToArray();
        public ProtoFields Message(int field) => Parse(Bytes(field));
        public ProtoFields[] Messages(int field) => _fields.Where(f => f.Field == field).Select(f => Parse(f.Bytes!)).ToArray();
    }
}
