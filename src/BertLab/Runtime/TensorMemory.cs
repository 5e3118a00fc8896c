using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace BertLab.Runtime;

/// <summary>Raw access to a CPU tensor's storage for the hand-written CPU kernels (fused AdamW, linear attention).</summary>
public static unsafe class TensorMemory
{
    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>Pointer to the first fp32 element of a CPU tensor (its storage offset included).</summary>
    public static float* Float32(Tensor t)
    {
        if (t.device.type != TorchSharp.DeviceType.CPU || t.dtype != ScalarType.Float32)
            throw new ArgumentException("TensorMemory.Float32: needs an fp32 CPU tensor");
        var p = THSTensor_data(t.Handle);
        if (p == IntPtr.Zero && t.numel() > 0) throw new InvalidOperationException("TensorMemory.Float32: no data pointer");
        return (float*)p;
    }

    /// <summary>The address of a CPU fp32 tensor's first element (to tell buffers apart in tests and diagnostics).</summary>
    public static long Address(Tensor t) => (long)Float32(t);
}
