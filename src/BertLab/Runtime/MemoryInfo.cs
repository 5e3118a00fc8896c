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
        if (!OperatingSystem.IsLinux()) return 0;
        try { return long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize; }
        catch (Exception) { return 0; }
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
