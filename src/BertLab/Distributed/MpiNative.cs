using System.Runtime.InteropServices;
using BertLab.Runtime;

namespace BertLab.Distributed;

/// <summary>
/// The few MPI calls data-parallel training needs, bound at run time to Open MPI's libmpi.so.40 (Debian's
/// <c>libopenmpi3</c>) through function pointers. MPI.NET 1.4.0 (the binding on NuGet) is built against Microsoft MPI's
/// msmpi.dll with MS-MPI's integer handles, so it cannot talk to Open MPI (see bench/RESULTS.md, "Data-parallel scaling").
/// Open MPI's handles are addresses of exported globals: MPI_COMM_WORLD is &amp;ompi_mpi_comm_world, MPI_FLOAT is
/// &amp;ompi_mpi_float, MPI_SUM is &amp;ompi_mpi_op_sum, MPI_IN_PLACE is (void*)1. The library is loaded with RTLD_GLOBAL
/// so that Open MPI's own plug-ins (mca_*.so, loaded later by libmpi) resolve their symbols against it.
/// </summary>
public sealed unsafe class MpiNative
{
    public const int ThreadSerialized = 2;
    public static readonly IntPtr InPlace = 1;

    readonly delegate* unmanaged<int*, IntPtr*, int, int*, int> _initThread;
    readonly delegate* unmanaged<int*, int> _initialized;
    readonly delegate* unmanaged<int*, int> _finalized;
    readonly delegate* unmanaged<IntPtr, int*, int> _commRank;
    readonly delegate* unmanaged<IntPtr, int*, int> _commSize;
    readonly delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int> _allreduce;
    readonly delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int> _bcast;
    readonly delegate* unmanaged<IntPtr, int> _barrier;
    readonly delegate* unmanaged<int> _finalize;
    readonly delegate* unmanaged<IntPtr, int, int> _abort;

    public IntPtr CommWorld { get; }
    public IntPtr Float { get; }
    public IntPtr Double { get; }
    public IntPtr Int64 { get; }
    public IntPtr Sum { get; }
    public IntPtr Max { get; }
    public string LibraryPath { get; }

    [DllImport("libc", EntryPoint = "dlopen")]
    static extern IntPtr DlOpen(string file, int mode);
    [DllImport("libc", EntryPoint = "dlerror")]
    static extern IntPtr DlError();
    const int RtldNow = 2, RtldGlobal = 0x100;

    MpiNative(IntPtr lib, string path)
    {
        LibraryPath = path;
        IntPtr F(string name) => NativeLibrary.TryGetExport(lib, name, out var p) ? p
            : throw new BertLabException($"{path} has no symbol {name}: is it Open MPI (libmpi.so.40)? Set BERTLAB_MPI_LIBRARY to Open MPI's libmpi.so");
        _initThread = (delegate* unmanaged<int*, IntPtr*, int, int*, int>)F("MPI_Init_thread");
        _initialized = (delegate* unmanaged<int*, int>)F("MPI_Initialized");
        _finalized = (delegate* unmanaged<int*, int>)F("MPI_Finalized");
        _commRank = (delegate* unmanaged<IntPtr, int*, int>)F("MPI_Comm_rank");
        _commSize = (delegate* unmanaged<IntPtr, int*, int>)F("MPI_Comm_size");
        _allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int>)F("MPI_Allreduce");
        _bcast = (delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int>)F("MPI_Bcast");
        _barrier = (delegate* unmanaged<IntPtr, int>)F("MPI_Barrier");
        _finalize = (delegate* unmanaged<int>)F("MPI_Finalize");
        _abort = (delegate* unmanaged<IntPtr, int, int>)F("MPI_Abort");
        CommWorld = F("ompi_mpi_comm_world");
        Float = F("ompi_mpi_float");
        Double = F("ompi_mpi_double");
        Int64 = F("ompi_mpi_int64_t");
        Sum = F("ompi_mpi_op_sum");
        Max = F("ompi_mpi_op_max");
    }

    /// <summary>Loads Open MPI's libmpi (BERTLAB_MPI_LIBRARY, else libmpi.so.40, else libmpi.so); null when none is installed.</summary>
    public static MpiNative? TryLoad(out string? error)
    {
        error = null;
        var candidates = EnvironmentVariables.MpiLibrary.Value is string env
            ? new[] { env } : new[] { "libmpi.so.40", "libmpi.so" };
        var errors = new List<string>();
        foreach (var name in candidates)
        {
            var handle = DlOpen(name, RtldNow | RtldGlobal);
            if (handle != IntPtr.Zero) return new MpiNative(handle, name);
            var e = DlError();
            errors.Add(e == IntPtr.Zero ? name : Marshal.PtrToStringUTF8(e) ?? name);
        }
        error = string.Join("; ", errors);
        return null;
    }

    static void Check(int rc, string call)
    {
        if (rc != 0) throw new InvalidOperationException($"{call} failed with MPI error code {rc}");
    }

    public int InitThread(int required)
    {
        int provided;
        Check(_initThread(null, null, required, &provided), "MPI_Init_thread");
        return provided;
    }

    public bool Initialized { get { int f; Check(_initialized(&f), "MPI_Initialized"); return f != 0; } }
    public bool Finalized { get { int f; Check(_finalized(&f), "MPI_Finalized"); return f != 0; } }
    public int Rank { get { int r; Check(_commRank(CommWorld, &r), "MPI_Comm_rank"); return r; } }
    public int Size { get { int s; Check(_commSize(CommWorld, &s), "MPI_Comm_size"); return s; } }

    /// <summary>In-place all-reduce of <paramref name="count"/> elements at <paramref name="buffer"/>.</summary>
    public void AllreduceInPlace(IntPtr buffer, int count, IntPtr datatype, IntPtr op) =>
        Check(_allreduce(InPlace, buffer, count, datatype, op, CommWorld), "MPI_Allreduce");

    public void Bcast(IntPtr buffer, int count, IntPtr datatype, int root) =>
        Check(_bcast(buffer, count, datatype, root, CommWorld), "MPI_Bcast");

    public void Barrier() => Check(_barrier(CommWorld), "MPI_Barrier");
    public void FinalizeMpi() => Check(_finalize(), "MPI_Finalize");
    public void Abort(int code) => _abort(CommWorld, code);
}
