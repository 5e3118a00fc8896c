using System.Runtime.InteropServices;

namespace BertLab.Runtime;

/// <summary>
/// Device memory in use, from the CUDA runtime that libtorch already loaded (cudaMemGetInfo; the driver's cuMemGetInfo
/// as a fallback). TorchSharp exposes no allocator statistics; libtorch's caching allocator keeps what it reserved until
/// the process ends, so "in use after the timed steps − in use before the model existed" is the run's peak reservation
/// (its allocator pool, cuBLAS workspaces and any other device allocations), measured the same way for any program.
/// </summary>
public static class CudaMemory
{
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    delegate int MemGetInfo(out nuint free, out nuint total);

    static MemGetInfo? _fn;
    static bool _looked;

    static MemGetInfo? Find()
    {
        if (_looked) return _fn;
        _looked = true;
        foreach (var (lib, symbol) in new[]
        {
            ("libcudart.so.13", "cudaMemGetInfo"), ("libcudart.so.12", "cudaMemGetInfo"), ("libcudart.so", "cudaMemGetInfo"),
            ("libcuda.so.1", "cuMemGetInfo_v2"),
        })
        {
            if (NativeLibrary.TryLoad(lib, out var handle) && NativeLibrary.TryGetExport(handle, symbol, out var address))
            {
                _fn = Marshal.GetDelegateForFunctionPointer<MemGetInfo>(address);
                Source = $"{lib}:{symbol}";
                return _fn;
            }
        }
        return null;
    }

    /// <summary>Which library answered (for the benchmark record); null when none was found.</summary>
    public static string? Source { get; private set; }

    /// <summary>Device memory in use on the current device, in MiB (all processes); null when it cannot be read.</summary>
    public static double? UsedMb()
    {
        var fn = Find();
        if (fn is null) return null;
        try
        {
            return fn(out var free, out var total) == 0 ? (total - free) / (1024.0 * 1024.0) : null;
        }
        catch (Exception) { return null; }
    }
}
