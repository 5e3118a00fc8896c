namespace BertLab.Model.Onnx.Proto;

/// <summary>
/// An ONNX ModelProto read with <see cref="ProtoReader"/>: only the fields BertLab needs (IR version,
/// opsets, producer, the main graph). The file is read into memory once; tensors view its bytes.
/// </summary>
public sealed class OnnxModel
{
    public long IrVersion { get; init; }
    public string ProducerName { get; init; } = "";
    public string ProducerVersion { get; init; } = "";
    /// <summary>Operator set version by domain ("" is the default ONNX domain).</summary>
    public IReadOnlyDictionary<string, long> Opsets { get; init; } = new Dictionary<string, long>();
    public OnnxGraph Graph { get; init; } = new();

    public static OnnxModel Load(string path)
    {
        if (Directory.Exists(path)) throw new BertLabException($"{path} is a directory, not an ONNX model file");
        if (!File.Exists(path)) throw new BertLabException($"ONNX model file not found: {path}");
        long size = new FileInfo(path).Length;
        if (size > int.MaxValue) throw new BertLabException($"{path}: {size} bytes is larger than an ONNX protobuf can be (2 GiB); models that big keep their weights in external data, which BertLab does not read");
        byte[] bytes = File.ReadAllBytes(path);
        try { return Parse(bytes); }
        catch (BertLabException e) { throw new BertLabException($"{path}: {e.Message}", e); }
    }

    /// <summary>Parses a serialized ModelProto; throws <see cref="BertLabException"/> if it is not one.</summary>
    public static OnnxModel Parse(byte[] bytes)
    {
        if (bytes.Length == 0) throw new BertLabException("not an ONNX model: the file is empty");
        try
        {
            var r = new ProtoReader(bytes);
            long ir = 0;
            string producer = "", producerVersion = "";
            var opsets = new Dictionary<string, long>();
            OnnxGraph? graph = null;
            while (r.Next(out int field, out var wire))
            {
                switch (field)
                {
                    case 1: ProtoReader.Expect(field, wire, WireType.Varint, "ModelProto"); ir = r.ReadInt64(); break;
                    case 2: ProtoReader.Expect(field, wire, WireType.LengthDelimited, "ModelProto"); producer = r.ReadString(); break;
                    case 3: ProtoReader.Expect(field, wire, WireType.LengthDelimited, "ModelProto"); producerVersion = r.ReadString(); break;
                    case 7: ProtoReader.Expect(field, wire, WireType.LengthDelimited, "ModelProto"); graph = OnnxGraph.Parse(r.ReadMessage()); break;
                    case 8:
                    {
                        ProtoReader.Expect(field, wire, WireType.LengthDelimited, "ModelProto");
                        var o = r.ReadMessage();
                        string domain = ""; long version = 0;
                        while (o.Next(out int of, out var ow))
                        {
                            if (of == 1 && ow == WireType.LengthDelimited) domain = o.ReadString();
                            else if (of == 2 && ow == WireType.Varint) version = o.ReadInt64();
                            else o.Skip(ow);
                        }
                        opsets[domain] = version;
                        break;
                    }
                    default: r.Skip(wire); break;
                }
            }
            if (graph is null || ir <= 0)
                throw new BertLabException($"not an ONNX model: the protobuf has no {(graph is null ? "graph" : "ir_version")}");
            return new OnnxModel { IrVersion = ir, ProducerName = producer, ProducerVersion = producerVersion, Opsets = opsets, Graph = graph };
        }
        catch (InvalidDataException e)
        {
            throw new BertLabException($"not an ONNX model (the file is not a valid ONNX protobuf: {e.Message})", e);
        }
    }
}
