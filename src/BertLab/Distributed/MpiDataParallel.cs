using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BertLab.Training;
using TorchSharp;
using static TorchSharp.torch;
using BertLab.Runtime;

namespace BertLab.Distributed;

/// <summary>
/// Data parallelism over MPI: gradients are summed across ranks with in-place MPI_Allreduce over flat fp32 buckets
/// (BERTLAB_MPI_BUCKET_MB, default 16 MB: fewer, larger calls were faster than 4 MB on the 2-core VM, bench/RESULTS.md; a gradient larger than a bucket is reduced where it lies). Tensors that are not
/// contiguous fp32 on the CPU (e.g. on CUDA) are staged through host memory. A watchdog ends the job with a clear message
/// when one collective waits longer than BERTLAB_MPI_TIMEOUT_S (default 1800 s, 0 = off), e.g. a rank that hangs
/// without dying (a rank that dies is caught by mpirun, which then stops the whole job).
/// </summary>
public sealed class MpiDataParallel : IDataParallel, IDisposable
{
    readonly MpiNative _mpi;
    readonly int _bucketElements;
    readonly bool _profile;
    readonly double _timeoutSeconds;
    readonly Tensor _bucket;
    readonly Thread? _watchdog;
    long _collectiveStart;          // Stopwatch ticks when the current collective began; 0 when none
    string _collective = "";
    volatile bool _stopped;
    double _allreduceSeconds, _waitSeconds;
    long _bytes;
    int _calls;

    public int Rank { get; }
    public int Size { get; }
    public string Library => _mpi.LibraryPath;

    MpiDataParallel(MpiNative mpi)
    {
        _mpi = mpi;
        Rank = mpi.Rank;
        Size = mpi.Size;
        double mb = EnvironmentVariables.MpiBucketMb.NonNegative(16);
        _bucketElements = (int)Math.Clamp(mb * 1024 * 1024 / sizeof(float), 1024, int.MaxValue / 2);
        _profile = EnvironmentVariables.MpiProfile.IsOn;
        _timeoutSeconds = EnvironmentVariables.MpiTimeoutS.NonNegative(1800);
        _bucket = zeros(_bucketElements, dtype: ScalarType.Float32);
        if (_timeoutSeconds > 0)
        {
            _watchdog = new Thread(Watch) { IsBackground = true, Name = "mpi-watchdog" };
            _watchdog.Start();
        }
    }

    /// <summary>
    /// The number of processes the launcher started, from its environment: Open MPI's mpirun (OMPI_COMM_WORLD_SIZE),
    /// PMI launchers (PMI_SIZE) or SLURM's srun (SLURM_STEP_NUM_TASKS); null when not launched by one of them.
    /// </summary>
    public static int? LaunchedSize()
    {
        foreach (var name in new[] { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS" })
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out int n) && n > 0) return n;
        return null;
    }

    /// <summary>Ranks on this machine (OMPI_COMM_WORLD_LOCAL_SIZE, MPI_LOCALNRANKS, SLURM_NTASKS_PER_NODE), for sharing its cores; 1 if unknown.</summary>
    public static int LocalSize()
    {
        foreach (var name in new[] { "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE" })
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out int n) && n > 0) return n;
        return 1;
    }

    /// <summary>
    /// When this process is one of several started by mpirun/srun, initialises MPI and returns the group; null for a
    /// plain single-process run (including mpirun -np 1).
    /// </summary>
    public static MpiDataParallel? StartIfLaunched()
    {
        int? launched = LaunchedSize();
        if (launched is null or <= 1) return null;
        var mpi = MpiNative.TryLoad(out var error)
            ?? throw new BertLabException($"started as one of {launched} MPI processes, but Open MPI's library could not be loaded ({error}); install openmpi-bin and libopenmpi-dev (Debian) or set BERTLAB_MPI_LIBRARY");
        if (!mpi.Initialized) mpi.InitThread(MpiNative.ThreadSerialized);
        int size = mpi.Size;
        if (size != launched)
            throw new BertLabException($"the launcher started {launched} processes but MPI sees {size}: under SLURM use srun --mpi=pmix (Open MPI needs PMIx), or launch with mpirun");
        return new MpiDataParallel(mpi);
    }

    public void SumAll(double[] values)
    {
        var handle = GCHandle.Alloc(values, GCHandleType.Pinned);
        try
        {
            var ptr = handle.AddrOfPinnedObject();
            Collective("all-reduce of step scalars", () => _mpi.AllreduceInPlace(ptr, values.Length, _mpi.Double, _mpi.Sum), values.Length * 8);
        }
        finally { handle.Free(); }
    }

    public void SumGradients(IReadOnlyList<Tensor> parameters)
    {
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (_profile) Wait();
        long start = Stopwatch.GetTimestamp();
        int i = 0;
        while (i < grads.Count)
        {
            var g = grads[i];
            if (g.numel() >= _bucketElements)
            {
                ReduceTensor(g);
                i++;
                continue;
            }
            int j = i;
            long n = 0;
            while (j < grads.Count && n + grads[j].numel() <= _bucketElements) n += grads[j++].numel();
            long offset = 0;
            for (int k = i; k < j; k++)
            {
                long m = grads[k].numel();
                _bucket.narrow(0, offset, m).copy_(grads[k].reshape(-1));
                offset += m;
            }
            ReduceContiguous(_bucket, (int)n);
            offset = 0;
            for (int k = i; k < j; k++)
            {
                long m = grads[k].numel();
                grads[k].copy_(_bucket.narrow(0, offset, m).view_as(grads[k]));
                offset += m;
            }
            i = j;
        }
        _allreduceSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;   // the copies into and out of the buckets included
    }

    /// <summary>Reduces one tensor where it lies when it is contiguous fp32 on the CPU, else through a host copy.</summary>
    void ReduceTensor(Tensor t)
    {
        if (t.device_type == DeviceType.CPU && t.dtype == ScalarType.Float32 && t.is_contiguous())
        {
            ReduceContiguous(t, (int)t.numel());
            return;
        }
        using var host = t.to(ScalarType.Float32).cpu().contiguous();
        ReduceContiguous(host, (int)host.numel());
        t.copy_(host.view_as(t));
    }

    [DllImport("LibTorchSharp")]
    static extern IntPtr THSTensor_data(IntPtr handle);

    void ReduceContiguous(Tensor t, int count)
    {
        var ptr = THSTensor_data(t.Handle);
        Collective("gradient all-reduce", () => _mpi.AllreduceInPlace(ptr, count, _mpi.Float, _mpi.Sum), (long)count * 4, timed: false);
    }

    public void BroadcastParameters(IReadOnlyList<Tensor> parameters)
    {
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            bool direct = p.device_type == DeviceType.CPU && p.is_contiguous();
            var host = direct ? p : p.cpu().contiguous();
            var ptr = THSTensor_data(host.Handle);
            var (type, count) = host.dtype switch
            {
                ScalarType.Float32 => (_mpi.Float, host.numel()),
                ScalarType.Float64 => (_mpi.Double, host.numel()),
                ScalarType.Int64 => (_mpi.Int64, host.numel()),
                _ => throw new NotSupportedException($"broadcast of {host.dtype} parameters"),
            };
            Collective("broadcast of the parameters", () => _mpi.Bcast(ptr, (int)count, type, 0), count * host.ElementSize, timed: false);
            if (!direct) { p.copy_(host); host.Dispose(); }
        }
    }

    public void BeforeStep(long seed, int step)
    {
        // Every rank its own dropout stream, a function of (seed, step, rank) only: a resume reproduces it.
        ulong x = (ulong)seed ^ 0x9E3779B97F4A7C15UL * (ulong)(step + 1) ^ 0xD1B54A32D192ED03UL * (ulong)(Rank + 1);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        torch.manual_seed((long)((x ^ (x >> 31)) >> 1));
    }

    /// <summary>Waits for all ranks (e.g. while rank 0 prepares the shared data cache).</summary>
    public void Barrier() => Collective("barrier", _mpi.Barrier, 0, timed: false);

    void Wait()
    {
        var clock = Stopwatch.StartNew();
        Collective("barrier before the gradient all-reduce", _mpi.Barrier, 0, timed: false);
        _waitSeconds += clock.Elapsed.TotalSeconds;
    }

    public CommunicationTiming Timing() => new(_allreduceSeconds, _waitSeconds, _bytes, _calls);

    void Collective(string what, Action call, long bytes, bool timed = true)
    {
        _collective = what;
        long start = Stopwatch.GetTimestamp();
        Interlocked.Exchange(ref _collectiveStart, start);
        try { call(); }
        finally { Interlocked.Exchange(ref _collectiveStart, 0); }
        _bytes += bytes;
        _calls++;
        if (timed) _allreduceSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    void Watch()
    {
        while (!_stopped)
        {
            Thread.Sleep(1000);
            long start = Interlocked.Read(ref _collectiveStart);
            if (start == 0 || Stopwatch.GetElapsedTime(start).TotalSeconds < _timeoutSeconds) continue;
            Console.Error.WriteLine($"error: rank {Rank} of {Size} waited more than {_timeoutSeconds:G} s in the {_collective} (BERTLAB_MPI_TIMEOUT_S): " +
                                    "another rank hangs or is too slow; stopping the job. Resume from the last checkpoint with --resume.");
            Console.Error.Flush();
            _mpi.Abort(4);
            Environment.Exit(4);
        }
    }

    /// <summary>Ends the whole job at once (all ranks) with <paramref name="code"/>, after an error on this rank.</summary>
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        _mpi.Abort(code);
        Environment.Exit(code);
    }

    public void Dispose()
    {
        _stopped = true;
        _bucket.Dispose();
        if (_mpi.Initialized && !_mpi.Finalized) _mpi.FinalizeMpi();
    }
}
