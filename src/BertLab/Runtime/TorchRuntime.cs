using System.Runtime.InteropServices;
using TorchSharp;

namespace BertLab.Runtime;

/// <summary>
/// Process-wide libtorch setup, done once before the first tensor: the MKL fast path on AMD CPUs, a malloc
/// configuration that avoids mmap/munmap churn of large buffers, the thread count and the device.
/// </summary>
public static class TorchRuntime
{
    static bool _initialized;
    static readonly object Lock = new();

    /// <summary>Whether MKL's fast path was forced on (AMD CPUs; see build/mklfix.c).</summary>
    public static bool MklFastPath { get; private set; }
    public static string CpuVendor { get; } = ReadCpuField("vendor_id") ?? "unknown";
    public static string CpuModel { get; } = ReadCpuField("model name") ?? "unknown";

    /// <summary>Set BERTLAB_MKL_FIX=0 to measure without the MKL fast path.</summary>
    public static void Initialize(int threads = 0)
    {
        lock (Lock)
        {
            if (!_initialized)
            {
                _initialized = true;
                if (OperatingSystem.IsLinux())
                {
                    if (!EnvironmentVariables.MallocTune.IsOff) TuneMalloc();
                    if (!EnvironmentVariables.MklFix.IsOff) MklFastPath = LoadMklFix();
                }
            }
            if (threads > 0) torch.set_num_threads(threads);
        }
    }

    /// <summary>
    /// A full garbage collection with finalizers. Some TorchSharp objects hold native memory the GC cannot see and
    /// free it only when finalized; in a training loop that allocates little managed memory the GC rarely runs, and
    /// resident memory grew ~3 MB per step (measured: tiny model, 300 steps, 420 → 1280 MB; with this every 10 steps
    /// it stays flat). Then malloc_trim(0) hands the heap's free pages back to the kernel: without it a one-off request
    /// that did not fit the fragmented heap left resident memory ~40 MB higher for the rest of a run (at a random step
    /// between 100 and 500 of the tiny model), which is not a leak but reads like one. The trim is not cheap: the pages
    /// it hands back (huge pages with <see cref="HugePageTunable"/>) are faulted in and cleared again by the next step, so
    /// a training loop that trimmed every 10 steps spent about half its time in page faults (tiny model, vocabulary
    /// 2,048, sentence pairs, batch 32, one thread, 300 steps: 38.2 s with, 20.1 s without, side by side); the loop
    /// therefore collects often and trims rarely (<paramref name="trim"/>).
    /// </summary>
    public static void CollectNativeGarbage(bool trim = true)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        CpuBufferPool.Trim();
        if (trim && OperatingSystem.IsLinux() && !_noTrim)
        {
            try { MallocTrim(0); }
            catch (Exception) { _noTrim = true; } // not glibc
        }
    }

    static bool _noTrim;

    [DllImport("libc", EntryPoint = "malloc_trim")]
    static extern int MallocTrim(nuint pad);

    public static torch.Device Device(string name)
    {
        switch (name.ToLowerInvariant())
        {
            case "cpu": return torch.CPU;
            case "cuda":
                EnsureCudaBackend();
                if (!torch.cuda.is_available())
                    throw new BertLabException("--device cuda: no CUDA device is available (is a CUDA libtorch installed? see README)");
                return torch.CUDA;
            default:
                throw new BertLabException($"unknown device '{name}' (allowed: cpu, cuda)");
        }
    }

    static bool _cudaLoaded;

    /// <summary>
    /// Loads TorchSharp's CUDA backend (libtorch_cuda from the CUDA libtorch package, or from a PyTorch installation on
    /// LD_LIBRARY_PATH). If TorchSharp's loader refuses (the CPU libtorch package is referenced but absent), the native
    /// bridge is loaded explicitly from the application folder and the load retried.
    /// </summary>
    static void EnsureCudaBackend()
    {
        if (_cudaLoaded) return;
        try { torch.InitializeDeviceType(DeviceType.CUDA); }
        catch (Exception first)
        {
            var bridge = new[] { AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native") }
                .Select(d => Path.Combine(d, "libLibTorchSharp.so")).FirstOrDefault(File.Exists);
            if (bridge is null)
                throw new BertLabException($"--device cuda: TorchSharp could not load a CUDA libtorch ({first.Message}); install libtorch-cuda or put PyTorch's torch/lib on LD_LIBRARY_PATH");
            try
            {
                NativeLibrary.Load(bridge);
                torch.InitializeDeviceType(DeviceType.CUDA);
            }
            catch (Exception second)
            {
                throw new BertLabException($"--device cuda: TorchSharp could not load a CUDA libtorch ({first.Message}; with the bridge loaded explicitly: {second.Message})");
            }
        }
        _cudaLoaded = true;
    }

    public static string Describe() =>
        $"{CpuModel} ({CpuVendor}), {torch.get_num_threads()} threads, MKL fast path {(MklFastPath ? "on" : "off")}, " +
        $"malloc huge pages {(HugePages ? "on" : "off")}, GC gen0 budget {Gen0Budget >> 20} MB";

    /// <summary>Whether this process runs with glibc's huge-page tunable (see <see cref="ReexecWithHugePages"/>).</summary>
    public static bool HugePages => OperatingSystem.IsLinux() && (Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "").Contains(HugePageTunable);

    const int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;

    [DllImport("libc", EntryPoint = "dlopen")]
    static extern IntPtr DlOpen(string file, int mode);

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int MallOpt(int param, int value);

    static bool LoadMklFix()
    {
        if (CpuVendor == "GenuineIntel") return false; // MKL already takes its fast path
        var path = Path.Combine(AppContext.BaseDirectory, "libbertlab_mklfix.so");
        if (!File.Exists(path)) return false;
        try { return DlOpen(path, RTLD_NOW | RTLD_GLOBAL) != IntPtr.Zero; }
        catch (Exception) { return false; }
    }

    /// <summary>
    /// glibc malloc settings for a process whose tensors are freed and allocated again every training step. Measured on
    /// the project's 2-core VM (BERT-base MLM step, seq 128, batch 8): with glibc's defaults the heap's free top was
    /// handed back to the kernel and buffers above the (dynamic) mmap threshold were mapped and unmapped on every use, so
    /// each step faulted ~0.7 GB of fresh pages in again (1.4–1.8 M minor faults over a 6-step benchmark; the kernel's
    /// page clearing was 22 % of all CPU samples). So: the heap keeps its free pages (trim threshold 2 GB;
    /// <see cref="CollectNativeGarbage"/> still hands them back explicitly), the mmap threshold stays at 32 MB, and one
    /// arena serves every thread (the GC's finalizer thread, the thread pool and libtorch's workers otherwise each grow an
    /// arena of their own and resident memory crept up for hundreds of steps).
    /// Blocks above 32 MB stay mmap'd: libtorch allocates with a 64-byte alignment (posix_memalign), and glibc's heap
    /// cannot reuse a freed aligned block for the next request of the same size (it asks for size + alignment), so with
    /// mmap disabled a loop of 50 MB tensors grew the heap by 50 MB per iteration (measured).
    /// Transparent huge pages for the heap and those mappings need glibc's <c>glibc.malloc.hugetlb=1</c> tunable, which
    /// is read only at process start: the command-line program re-executes itself with it (<see cref="HugePageTunable"/>).
    /// </summary>
    static void TuneMalloc()
    {
        const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3, M_ARENA_MAX = -8;
        try
        {
            MallOpt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
            MallOpt(M_TRIM_THRESHOLD, int.MaxValue);
            MallOpt(M_ARENA_MAX, 1);
        }
        catch (Exception) { /* not glibc: keep the defaults */ }
    }

    /// <summary>The glibc tunable that backs malloc's heap with transparent huge pages (glibc ≥ 2.35, THP in "madvise" or
    /// "always" mode). Measured beside the settings of <see cref="TuneMalloc"/> alone: minor faults 1.1 M → 10 k and system
    /// time 9–15 s → 4–5 s over a 6-step BERT-base benchmark, and less user time (fewer TLB misses in the GEMMs).</summary>
    public const string HugePageTunable = "glibc.malloc.hugetlb=1";

    /// <summary>
    /// Whether this process should re-execute itself with <see cref="HugePageTunable"/> added to GLIBC_TUNABLES: Linux
    /// with glibc, transparent huge pages not disabled, the tunable not already set, and BERTLAB_MALLOC_TUNE not 0.
    /// Returns the new GLIBC_TUNABLES value, or null.
    /// </summary>
    public static string? HugePageTunables()
    {
        if (!OperatingSystem.IsLinux() || EnvironmentVariables.MallocTune.IsOff) return null;
        var current = Environment.GetEnvironmentVariable("GLIBC_TUNABLES") ?? "";
        if (current.Contains("glibc.malloc.hugetlb")) return null;
        try
        {
            var thp = File.ReadAllText("/sys/kernel/mm/transparent_hugepage/enabled");
            if (thp.Contains("[never]")) return null;
            if (!Version.TryParse(Marshal.PtrToStringAnsi(GnuGetLibcVersion()), out var glibc) || glibc < new Version(2, 35)) return null;
        }
        catch (Exception) { return null; }   // no sysfs entry, or not glibc
        return current.Length == 0 ? HugePageTunable : current + ":" + HugePageTunable;
    }

    /// <summary>
    /// The .NET GC's generation-0 budget in this process, in bytes (0 when the runtime does not say): 6 MB by default on
    /// the project's VM, more where DOTNET_GCgen0size is set, as the test host does (tests/BertLab.Tests/test.runsettings).
    /// Why it matters: TorchSharp frees a tensor's or a scalar's native object from the object's finalizer, and its
    /// methods pass native handles without keeping the managed object alive, so an argument the caller no longer
    /// references (a temporary, or the implicit Scalar of <c>x.add_(y)</c>) can be finalized while libtorch still reads
    /// it if a collection starts during the call. The calling thread cannot start one inside a native call; another
    /// thread's allocation can, and then the finalizer thread frees what the call uses (CI's test host died so once:
    /// a segfault in autograd's bump_version). In the command-line program's training loop no other thread allocates much
    /// (the data pipeline runs before it; the CPU kernels' thread-pool workers allocate a few objects per call), and
    /// tensors inside a dispose scope are never finalized early (the scope holds them), which is why every training and
    /// evaluation step runs in one. A larger budget only makes collections rarer, and it slows allocation-heavy .NET code
    /// (tokenising ran ~25 % slower at 128 MB), so the program keeps the default.
    /// </summary>
    public static long Gen0Budget =>
        GC.GetConfigurationVariables().TryGetValue("GCGen0MaxBudget", out var v) && v is IConvertible c ? c.ToInt64(null) : 0;

    /// <summary>
    /// Replaces this process by the same command line with <see cref="HugePageTunables"/> in its environment (execv of
    /// /proc/self/exe with /proc/self/cmdline: same process id, same open files). Returns only when there is nothing to
    /// do or the exec failed, in which case the program simply runs without huge pages.
    /// </summary>
    public static void ReexecWithHugePages()
    {
        if (HugePageTunables() is not string tunables) return;
        try
        {
            // NUL-terminated arguments; only the last terminator is dropped, so an empty last argument survives.
            var text = File.ReadAllText("/proc/self/cmdline");
            if (text.EndsWith('\0')) text = text[..^1];
            var argv = text.Split('\0');
            if (argv.Length == 0 || argv[0].Length == 0) return;
            if (SetEnv("GLIBC_TUNABLES", tunables, 1) != 0) return;
            var ptrs = argv.Select(Marshal.StringToHGlobalAnsi).Append(IntPtr.Zero).ToArray();
            Execv("/proc/self/exe", ptrs);
            // still here: exec failed; run as we are
        }
        catch (Exception) { }
    }

    /// <summary>The OpenMP wait policy the command-line program gives libtorch unless OMP_WAIT_POLICY is set.</summary>
    public const string DefaultOmpWaitPolicy = "PASSIVE";

    /// <summary>
    /// Sets OMP_WAIT_POLICY=PASSIVE in the process's C environment (libc setenv) and in .NET's copy of it, unless the
    /// variable is already set to something (an empty value counts as unset). libtorch's OpenMP runtime (libgomp) reads OMP_WAIT_POLICY once, in its library
    /// constructor, when libtorch is loaded; so this must run before anything touches TorchSharp. Environment.
    /// SetEnvironmentVariable alone does not reach the C environment on Unix. With the default policy libtorch's worker
    /// threads spin between parallel regions, which cost ~2.5× on a shared or busy machine (the ./bertlab script sets the
    /// same default for the same reason). Child processes (a sweep's runs) inherit the variable. Returns whether it set it.
    /// </summary>
    public static bool DefaultThreadWaitPolicy()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("OMP_WAIT_POLICY"))) return false;
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
        {
            try { if (SetEnv("OMP_WAIT_POLICY", DefaultOmpWaitPolicy, 1) != 0) return false; }   // unset or empty here
            catch (Exception) { return false; }   // no libc setenv: leave libgomp's default
        }
        Environment.SetEnvironmentVariable("OMP_WAIT_POLICY", DefaultOmpWaitPolicy);
        return true;
    }

    [DllImport("libc", EntryPoint = "gnu_get_libc_version")]
    static extern IntPtr GnuGetLibcVersion();

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "execv")]
    static extern int Execv(string path, IntPtr[] argv);

    static string? ReadCpuField(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith(field, StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (Exception) { }
        return null;
    }
}
