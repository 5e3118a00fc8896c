using System.Text.RegularExpressions;

namespace BertLab;

/// <summary>
/// I/O failures (disk full, read-only file system, a folder where a file belongs, permission denied, …) as one message
/// naming the user's path and the cause. Atomic writes, which report their failures this way: <see cref="IO.AtomicFile"/>.
/// </summary>
public static class FileFailure
{
    // errno values .NET puts in IOException.HResult on Linux for failures it has no dedicated exception for
    const int EIO = 5, EEXIST = 17, ENOTDIR = 20, EISDIR = 21, EFBIG = 27, ENOSPC = 28, EROFS = 30, EDQUOT = 122;

    /// <summary>An exception the file system raised (as opposed to a bug).</summary>
    public static bool IsFileFailure(Exception e) => e is IOException or UnauthorizedAccessException;

    /// <summary>The cause in words: "no space left on device", "read-only file system", "is a directory", …</summary>
    public static string Cause(Exception e, string? path = null)
    {
        string m = e.Message;
        switch (e)
        {
            case FileNotFoundException: return "no such file";
            case DirectoryNotFoundException: return "a folder on the path does not exist or is a file";
            case PathTooLongException: return "the name is too long";
            case UnauthorizedAccessException:
                return path is not null && Directory.Exists(path) ? "is a directory" : "permission denied";
        }
        switch (e.HResult)
        {
            case ENOSPC: return "no space left on device";
            case EROFS: return "read-only file system";
            case EISDIR: return "is a directory";
            case ENOTDIR: return "not a directory";
            case EDQUOT: return "disk quota exceeded";
            case EFBIG: return "file too large";
            case EIO: return "input/output error";
            case EEXIST when path is not null && File.Exists(path): return "is a file, not a directory";
            case EEXIST: return "already exists";
        }
        if (m.Contains("disk was full", StringComparison.OrdinalIgnoreCase) || m.Contains("No space left", StringComparison.OrdinalIgnoreCase))
            return "no space left on device";
        if (m.Contains("Read-only file system", StringComparison.OrdinalIgnoreCase)) return "read-only file system";
        if (m.Contains("Is a directory", StringComparison.OrdinalIgnoreCase)) return "is a directory";
        var withoutPath = path is null ? m : m.Replace($"'{path}'", "").Replace(path, "");
        return withoutPath.Trim(' ', ':', '.');
    }

    /// <summary>The first quoted path in a .NET I/O message ("No space left on device : '/x/y'"), if any.</summary>
    public static string? PathIn(string message)
    {
        var match = Regex.Match(message, "'(/[^']*|[A-Za-z]:\\\\[^']*)'");
        return match.Success ? match.Groups[1].Value : null;
    }

    /// <summary>"PATH: CAUSE" (or "cannot write PATH: CAUSE"), the path being <paramref name="path"/> or the one the message names.</summary>
    public static string Describe(Exception e, string? path = null, string? action = null)
    {
        path ??= PathIn(e.Message);
        var cause = Cause(e, path);
        if (path is null) return $"I/O error: {cause}";
        return action is null ? $"{path}: {cause}" : $"cannot {action} {path}: {cause}";
    }

    /// <summary>A <see cref="BertLabException"/> saying that <paramref name="path"/> could not be written, and why.</summary>
    public static BertLabException Wrap(Exception e, string path, string action = "write") => new(Describe(e, path, action), e);

    /// <summary>Creates a folder (and its parents) for output, with one clear message when it cannot be.</summary>
    public static void CreateDirectory(string path)
    {
        try { Directory.CreateDirectory(path); }
        catch (Exception e) when (IsFileFailure(e)) { throw Wrap(e, path, "create folder"); }
    }

    /// <summary>Deletes a file if it exists, ignoring failures (cleanup after another failure).</summary>
    public static void TryDelete(string path)
    {
        try { if (File.Exists(path)) File.Delete(path); }
        catch (Exception e) when (IsFileFailure(e)) { }
    }
}
