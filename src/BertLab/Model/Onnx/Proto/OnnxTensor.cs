using System.Buffers.Binary;
using System.Runtime.InteropServices;
using BertLab.Model.Onnx.Proto.Schema;
using TorchSharp;

namespace BertLab.Model.Onnx.Proto;

/// <summary>ONNX TensorProto.DataType values BertLab reads.</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    BFloat16 = 16,
}

/// <summary>
/// An ONNX TensorProto (an initializer or a Constant's value), a view of the generated
/// <see cref="TensorProto"/>: its name, shape, element type and data, held either as <c>raw_data</c> (the parsed
/// message's bytes, read in place) or as the typed repeated fields.
/// </summary>
public sealed class OnnxTensor
{
    readonly TensorProto _proto;

    internal OnnxTensor(TensorProto proto)
    {
        _proto = proto;
        Dims = proto.Dims.ToArray();
    }

    internal TensorProto Proto => _proto;

    public string Name => _proto.Name;
    public long[] Dims { get; }
    public OnnxDataType DataType => (OnnxDataType)_proto.DataType;
    /// <summary>raw_data, without a copy (empty when absent).</summary>
    public ReadOnlyMemory<byte> RawData => _proto.RawData.Memory;
    public bool HasRawData => _proto.HasRawData;
    public IReadOnlyList<float> FloatData => _proto.FloatData;
    public IReadOnlyList<long> Int64Data => _proto.Int64Data;
    /// <summary>int32_data also carries INT32, INT16, INT8, UINT8, BOOL and FLOAT16/BFLOAT16 bit patterns.</summary>
    public IReadOnlyList<int> Int32Data => _proto.Int32Data;
    public bool IsExternal => _proto.ExternalData.Count > 0 || _proto.DataLocation == TensorProto.Types.DataLocation.External;

    public long ElementCount => Dims.Aggregate(1L, (a, d) => a * d);

    public bool IsFloatingPoint => DataType is OnnxDataType.Float or OnnxDataType.Float16 or OnnxDataType.BFloat16 or OnnxDataType.Double;

    public override string ToString() => $"{Name} {DataType}[{string.Join(",", Dims)}]";

    /// <summary>The elements as fp32 (FLOAT, FLOAT16, BFLOAT16 or DOUBLE tensors).</summary>
    public float[] ToFloatArray()
    {
        CheckInline();
        long n = ElementCount;
        if (n > Array.MaxLength) throw new BertLabException($"ONNX tensor '{Name}' has {n} elements: too large");
        var result = new float[n];
        switch (DataType)
        {
            case OnnxDataType.Float:
                if (HasRawData)
                {
                    CheckRawLength(4);
                    var src = RawData.Span;
                    if (BitConverter.IsLittleEndian) MemoryMarshal.Cast<byte, float>(src).CopyTo(result);
                    else for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadSingleLittleEndian(src.Slice(i * 4, 4));
                }
                else
                {
                    CheckCount(FloatData.Count);
                    for (int i = 0; i < result.Length; i++) result[i] = FloatData[i];
                }
                break;
            case OnnxDataType.Float16:
            case OnnxDataType.BFloat16:
            {
                bool bf = DataType == OnnxDataType.BFloat16;
                if (HasRawData)
                {
                    CheckRawLength(2);
                    var src = RawData.Span;
                    for (int i = 0; i < result.Length; i++) result[i] = Half16(BinaryPrimitives.ReadUInt16LittleEndian(src.Slice(i * 2, 2)), bf);
                }
                else
                {
                    CheckCount(Int32Data.Count);
                    for (int i = 0; i < result.Length; i++) result[i] = Half16((ushort)Int32Data[i], bf);
                }
                break;
            }
            case OnnxDataType.Double:
                if (!HasRawData) throw new BertLabException($"ONNX tensor '{Name}': DOUBLE data outside raw_data is not supported");
                CheckRawLength(8);
                for (int i = 0; i < result.Length; i++) result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(RawData.Span.Slice(i * 8, 8));
                break;
            default:
                throw new BertLabException($"ONNX tensor '{Name}' has element type {DataType}; expected a floating-point type (FLOAT, FLOAT16, BFLOAT16, DOUBLE)");
        }
        return result;
    }

    /// <summary>The elements as int64 (INT64 or INT32 tensors).</summary>
    public long[] ToInt64Array()
    {
        CheckInline();
        long n = ElementCount;
        var result = new long[n];
        switch (DataType)
        {
            case OnnxDataType.Int64:
                if (HasRawData)
                {
                    CheckRawLength(8);
                    for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt64LittleEndian(RawData.Span.Slice(i * 8, 8));
                }
                else { CheckCount(Int64Data.Count); for (int i = 0; i < result.Length; i++) result[i] = Int64Data[i]; }
                break;
            case OnnxDataType.Int32:
                if (HasRawData)
                {
                    CheckRawLength(4);
                    for (int i = 0; i < result.Length; i++) result[i] = BinaryPrimitives.ReadInt32LittleEndian(RawData.Span.Slice(i * 4, 4));
                }
                else { CheckCount(Int32Data.Count); for (int i = 0; i < result.Length; i++) result[i] = Int32Data[i]; }
                break;
            default:
                throw new BertLabException($"ONNX tensor '{Name}' has element type {DataType}; expected INT64 or INT32");
        }
        return result;
    }

    /// <summary>A new fp32 TorchSharp tensor with this tensor's shape.</summary>
    public torch.Tensor ToTorchFloat() => torch.tensor(ToFloatArray(), Dims, torch.float32);

    static float Half16(ushort bits, bool bfloat) =>
        bfloat ? BitConverter.UInt32BitsToSingle((uint)bits << 16) : (float)BitConverter.UInt16BitsToHalf(bits);

    void CheckInline()
    {
        if (IsExternal)
            throw new BertLabException($"ONNX tensor '{Name}' is stored in an external data file; re-export the model with the weights inside the .onnx file (onnx.save(model, path, save_as_external_data=False))");
    }

    void CheckRawLength(int elementSize)
    {
        if (RawData.Length != ElementCount * elementSize)
            throw new BertLabException($"ONNX tensor '{Name}': raw_data holds {RawData.Length} bytes, but shape [{string.Join(",", Dims)}] of {DataType} needs {ElementCount * elementSize}");
    }

    void CheckCount(int count)
    {
        if (count != ElementCount)
            throw new BertLabException($"ONNX tensor '{Name}': holds {count} values, but shape [{string.Join(",", Dims)}] needs {ElementCount}");
    }
}
