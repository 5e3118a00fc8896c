using System.Globalization;

namespace BertLab.Runtime;

/// <summary>Resident memory of this process, from /proc (Linux).</summary>
public static class MemoryInfo
{
    public static double ResidentMb() => ReadKb("VmRSS:") / 1024.0;
    public static double PeakResidentMb() => ReadKb("VmHWM:") / 1024.0;

    /// <summary>Resident bytes now, from /proc/self/statm (cheap enough to sample every millisecond); 0 off Linux.</summary>
    public static long ResidentBytes()
    {
        using var sampler = new ResidentSampler();
        return sampler.Read();
    }

    /// <summary>
    /// <see cref="ResidentBytes"/> for a sampling thread, without allocating: one open /proc/self/statm read again from
    /// its start into a fixed buffer. A thread that allocates while another runs libtorch can start a garbage collection
    /// in the middle of a native call, and TorchSharp's finalizers may then free what the call is reading (see
    /// <see cref="TorchRuntime.Gen0Budget"/>); a sampler reading the file every millisecond with File.ReadAllText
    /// allocated ~1 MB/s, a collection every few seconds beside the benchmarked kernels.
    /// </summary>
    public sealed class ResidentSampler : IDisposable
    {
        readonly FileStream? _statm;
        readonly byte[] _buffer = new byte[128];

        public ResidentSampler()
        {
            if (!OperatingSystem.IsLinux()) return;
            try { _statm = new FileStream("/proc/self/statm", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0); }
            catch (Exception) { _statm = null; }
        }

        /// <summary>Resident bytes now; 0 off Linux or when the file cannot be read.</summary>
        public long Read()
        {
            if (_statm is null) return 0;
            try
            {
                _statm.Seek(0, SeekOrigin.Begin);
                int n = _statm.Read(_buffer, 0, _buffer.Length), i = 0;
                while (i < n && _buffer[i] != ' ') i++;      // field 1: total program size
                long pages = 0;
                for (i++; i < n && _buffer[i] >= '0' && _buffer[i] <= '9'; i++) pages = pages * 10 + (_buffer[i] - '0');
                return pages * Environment.SystemPageSize;   // field 2: resident pages
            }
            catch (Exception) { return 0; }
        }

        public void Dispose() => _statm?.Dispose();
    }

    /// <summary>Resets the peak (VmHWM) to the current resident size (Linux: clear_refs 5); false when not possible.</summary>
    public static bool ResetPeak()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); return true; }
        catch (Exception) { return false; }
    }

    static double ReadKb(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return Math.Round(double.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture), 1);
        }
        catch (Exception) { }
        return 0;
    }
}
