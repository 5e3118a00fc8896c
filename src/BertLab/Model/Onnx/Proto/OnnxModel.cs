using BertLab.Model.Onnx.Proto.Schema;
using System.IO.MemoryMappedFiles;
using Google.Protobuf;

namespace BertLab.Model.Onnx.Proto;

/// <summary>
/// An ONNX ModelProto, parsed by the classes generated from <c>onnx.proto</c>, with the fields BertLab needs (IR
/// version, opsets, producer, the main graph). A file's bytes are held once after parsing: in the parsed message,
/// whose tensors' <c>raw_data</c> the <see cref="OnnxTensor"/> views read in place.
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
        try { return Parse(() => ParseMapped(path, size)); }
        catch (BertLabException e) { throw new BertLabException($"{path}: {e.Message}", e); }
    }

    /// <summary>
    /// Parses the file through a read-only memory map: each raw_data is copied once, straight from the mapped
    /// pages into its ByteString, and the mapping is gone when this returns. (A Stream would be read in 4 KiB
    /// chunks that are then joined, as the parser cannot trust a stream's lengths; a byte[] of the whole file
    /// would stay on the heap beside the copies.)
    /// </summary>
    static unsafe ModelProto ParseMapped(string path, long size)
    {
        using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, size, MemoryMappedFileAccess.Read);
        var handle = view.SafeMemoryMappedViewHandle;
        byte* start = null;
        handle.AcquirePointer(ref start);
        try { return ModelProto.Parser.ParseFrom(new ReadOnlySpan<byte>(start + view.PointerOffset, (int)size)); }
        finally { handle.ReleasePointer(); }
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
