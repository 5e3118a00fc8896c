using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;
using BertLab.IO;

namespace BertLab.Model;

/// <summary>
/// safetensors files (read through TorchSharp.PyBridge, written here for the metadata transformers wants), with the checks a user needs: a missing, truncated or
/// corrupt file gives one message naming the file (and the tensor), never a library stack trace.
/// </summary>
public static class SafetensorsFile
{
    public sealed record Entry(string Name, string DType, long[] Shape, long Begin, long End);

    /// <summary>Reads and checks the header: JSON, offsets inside the file, sizes consistent with dtype × shape.</summary>
    public static List<Entry> ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new BertLabException($"file not found: {path}");
        using var fs = File.OpenRead(path);
        long fileLength = fs.Length;
        if (fileLength < 8) throw new BertLabException($"{path}: not a safetensors file (only {fileLength} bytes)");
        var lenBytes = new byte[8];
        fs.ReadExactly(lenBytes);
        long headerLength = BitConverter.ToInt64(lenBytes);
        if (headerLength <= 0 || headerLength > 100_000_000 || 8 + headerLength > fileLength)
            throw new BertLabException($"{path}: corrupt or truncated safetensors file (header length {headerLength}, file {fileLength} bytes)");
        var header = new byte[headerLength];
        fs.ReadExactly(header);
        JsonObject obj;
        try { obj = JsonNode.Parse(header)!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new BertLabException($"{path}: corrupt safetensors header ({e.Message})"); }
        long dataLength = fileLength - 8 - headerLength;
        var entries = new List<Entry>();
        foreach (var (name, node) in obj)
        {
            if (name == "__metadata__") continue;
            try
            {
                var dtype = node!["dtype"]!.GetValue<string>();
                var shape = node["shape"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(x => x!.GetValue<long>()).ToArray();
                long elements = shape.Aggregate(1L, (a, b) => a * b);
                long expected = elements * DTypeSize(dtype);
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] - offsets[0] != expected)
                    throw new BertLabException($"{path}: tensor '{name}' has inconsistent offsets for {dtype} [{string.Join(", ", shape)}]");
                if (offsets[1] > dataLength)
                    throw new BertLabException($"{path}: truncated file: tensor '{name}' ends at byte {offsets[1]} but the data holds only {dataLength}");
                entries.Add(new Entry(name, dtype, shape, offsets[0], offsets[1]));
            }
            catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
            {
                throw new BertLabException($"{path}: corrupt header entry for tensor '{name}'");
            }
        }
        // two tensors sharing bytes would load as aliases of each other's data: a corrupt (or hand-made) file
        Entry? previous = null;
        foreach (var e in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (previous is not null && e.Begin < previous.End)
                throw new BertLabException($"{path}: corrupt safetensors file: tensors '{previous.Name}' (bytes {previous.Begin}–{previous.End}) and '{e.Name}' (bytes {e.Begin}–{e.End}) overlap");
            previous = e;
        }
        return entries;
    }

    static long DTypeSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => throw new BertLabException($"unsupported safetensors dtype '{dtype}'"),
    };

    /// <summary>All tensors of a file (CPU), after the header checks.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        ReadHeader(path);
        try { return TorchSharp.PyBridge.Safetensors.LoadStateDict(path); }
        catch (Exception e) when (e is not BertLabException) { throw new BertLabException($"{path}: cannot read safetensors file ({e.Message})"); }
    }

    /// <summary>
    /// Writes a safetensors file with <c>__metadata__ {"format": "pt"}</c> (transformers' from_pretrained checks it;
    /// TorchSharp.PyBridge's writer omits it), tensors sorted by name, 8-byte aligned header. Atomic: a temporary
    /// name in the same folder, then a rename; the previous file stays intact on failure.
    /// </summary>
    public static void Save(string path, IDictionary<string, Tensor> tensors)
    {
        var items = tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => (name: kv.Key, t: kv.Value.detach().cpu().contiguous())).ToList();
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, t) in items)
        {
            long size = t.NumberOfElements * t.ElementSize;
            header[name] = new JsonObject
            {
                ["dtype"] = DTypeName(t.dtype),
                ["shape"] = new JsonArray(t.shape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + size),
            };
            offset += size;
        }
        var headerBytes = System.Text.Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (headerBytes.Length + 7) / 8 * 8;
        AtomicFile.Write(path, tmp =>
        {
            using var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            fs.Write(BitConverter.GetBytes((long)padded));
            fs.Write(headerBytes);
            for (int i = headerBytes.Length; i < padded; i++) fs.WriteByte((byte)' ');
            foreach (var (_, t) in items) fs.Write(t.bytes);
            fs.Flush(flushToDisk: true);
        });
    }

    static string DTypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "F32",
        ScalarType.Float64 => "F64",
        ScalarType.Float16 => "F16",
        ScalarType.BFloat16 => "BF16",
        ScalarType.Int64 => "I64",
        ScalarType.Int32 => "I32",
        ScalarType.Int16 => "I16",
        ScalarType.Int8 => "I8",
        ScalarType.Byte => "U8",
        ScalarType.Bool => "BOOL",
        _ => throw new BertLabException($"cannot write dtype {t} to safetensors"),
    };
}
