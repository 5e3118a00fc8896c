using BertLab.Model.Onnx.Proto.Schema;
using Google.Protobuf;

namespace BertLab.Model.Onnx.Proto;

/// <summary>
/// An ONNX ModelProto, parsed by the classes generated from <c>onnx.proto</c>, with the fields BertLab needs (IR
/// version, opsets, producer, the main graph). A file is parsed from a stream, so its bytes are held once: in the
/// parsed message, whose tensors' <c>raw_data</c> the <see cref="OnnxTensor"/> views read in place.
/// </summary>
public sealed class OnnxModel
{
    OnnxModel(ModelProto proto)
    {
        IrVersion = proto.IrVersion;
        ProducerName = proto.ProducerName;
        ProducerVersion = proto.ProducerVersion;
        var opsets = new Dictionary<string, long>();
        foreach (var o in proto.OpsetImport) opsets[o.Domain] = o.Version;
        Opsets = opsets;
        Graph = new OnnxGraph(proto.Graph);
    }

    public long IrVersion { get; }
    public string ProducerName { get; }
    public string ProducerVersion { get; }
    /// <summary>Operator set version by domain ("" is the default ONNX domain).</summary>
    public IReadOnlyDictionary<string, long> Opsets { get; }
    public OnnxGraph Graph { get; }

    public static OnnxModel Load(string path)
    {
        if (Directory.Exists(path)) throw new BertLabException($"{path} is a directory, not an ONNX model file");
        if (!File.Exists(path)) throw new BertLabException($"ONNX model file not found: {path}");
        long size = new FileInfo(path).Length;
        if (size > int.MaxValue) throw new BertLabException($"{path}: {size} bytes is larger than an ONNX protobuf can be (2 GiB); models that big keep their weights in external data, which BertLab does not read");
        if (size == 0) throw new BertLabException($"{path}: not an ONNX model: the file is empty");
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            return Parse(() => ModelProto.Parser.ParseFrom(file));
        }
        catch (BertLabException e) { throw new BertLabException($"{path}: {e.Message}", e); }
    }

    /// <summary>Parses a serialized ModelProto; throws <see cref="BertLabException"/> if it is not one.</summary>
    public static OnnxModel Parse(byte[] bytes)
    {
        if (bytes.Length == 0) throw new BertLabException("not an ONNX model: the file is empty");
        return Parse(() => ModelProto.Parser.ParseFrom(bytes));
    }

    static OnnxModel Parse(Func<ModelProto> parse)
    {
        try
        {
            var proto = parse();
            if (!proto.HasIrVersion || proto.IrVersion <= 0 || proto.Graph is null)
                throw new BertLabException($"not an ONNX model: the protobuf has no {(proto.Graph is null ? "graph" : "ir_version")}");
            return new OnnxModel(proto);
        }
        catch (Exception e) when (e is InvalidProtocolBufferException or InvalidDataException)
        {
            throw new BertLabException($"not an ONNX model (the file is not a valid ONNX protobuf: {e.Message})", e);
        }
    }
}
