namespace BertLab.IO;

/// <summary>
/// An exclusive lock between processes on one file (an advisory flock on Linux: .NET maps FileShare.None to it): one
/// training process per run directory, one preparer per data cache folder, and SLURM array tasks and local workers
/// sharing a sweep directory never writing the same file at once. Released on Dispose, or by the kernel when the process dies.
/// </summary>
public sealed class FileLock : IDisposable
{
    readonly FileStream _stream;
    FileLock(FileStream stream) => _stream = stream;

    /// <summary>The lock, or null when another process (or this one) holds it.</summary>
    public static FileLock? TryAcquire(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        try { return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)); }
        catch (IOException) { return null; }
    }

    /// <summary>Waits (polling) until the lock is free; throws after the timeout.</summary>
    public static FileLock Acquire(string path, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        int wait = 20;
        while (true)
        {
            if (TryAcquire(path) is FileLock l) return l;
            if (DateTime.UtcNow > until) throw new BertLabException($"{path}: still locked by another process after {timeout.TotalSeconds:F0} s");
            Thread.Sleep(wait);
            wait = Math.Min(500, wait * 2);
        }
    }

    /// <summary>The lock, or null when another process holds it; the holder's process id is written beside the lock
    /// (<c>PATH.pid</c>) so that a process turned away can name it (<see cref="Owner"/>).</summary>
    public static FileLock? TryAcquireNamed(string path)
    {
        var l = TryAcquire(path);
        if (l is null) return null;
        try { File.WriteAllText(path + ".pid", Environment.ProcessId + "\n"); }
        catch (Exception e) when (FileFailure.IsFileFailure(e)) { }
        return l;
    }

    /// <summary>The process id the holder of <paramref name="path"/> wrote (<see cref="TryAcquireNamed"/>), or "unknown".</summary>
    public static string Owner(string path)
    {
        try { return File.Exists(path + ".pid") ? File.ReadAllText(path + ".pid").Trim() : "unknown"; }
        catch (Exception e) when (FileFailure.IsFileFailure(e)) { return "unknown"; }
    }

    public void Dispose() => _stream.Dispose();
}
