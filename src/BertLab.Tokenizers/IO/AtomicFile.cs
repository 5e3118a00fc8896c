namespace BertLab.IO;

/// <summary>
/// Files and folders replaced atomically: written under a temporary name beside the target, then renamed over it, so that
/// a killed process never leaves a half-written file in use. The one place for such writes (run directories, checkpoints,
/// sweep state, model folders, manifests); a file-system failure comes back as one <see cref="BertLabException"/> naming
/// the target and the cause (<see cref="FileFailure"/>), and the temporary is removed.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through a temporary in the same folder (<c>path.tmp-PID</c>) renamed over it when
    /// complete: the previous file stays intact on failure, the temporary is removed, and a file-system failure comes back
    /// as a <see cref="BertLabException"/> naming <paramref name="path"/> (not the temporary) and the cause.
    /// </summary>
    public static void Write(string path, Action<string> writeTemporary)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId;
        try
        {
            if (Directory.Exists(path)) throw new BertLabException($"cannot write {path}: is a directory");
            writeTemporary(tmp);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e)
        {
            FileFailure.TryDelete(tmp);
            if (FileFailure.IsFileFailure(e)) throw FileFailure.Wrap(e, path);
            throw;
        }
    }

    /// <summary>
    /// Writes a folder under the temporary name <paramref name="temporary"/> (e.g. checkpoints/.tmp-step-N), then renames it
    /// to <paramref name="path"/>, replacing an older one. On failure the temporary folder is removed and a file-system
    /// failure comes back as a <see cref="BertLabException"/> naming <paramref name="path"/> and the cause.
    /// </summary>
    public static void WriteDirectory(string path, string temporary, Action<string> writeTemporary)
    {
        try
        {
            if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true);
            writeTemporary(temporary);
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            Directory.Move(temporary, path);
        }
        catch (Exception e)
        {
            try { if (Directory.Exists(temporary)) Directory.Delete(temporary, recursive: true); }
            catch (Exception cleanup) when (FileFailure.IsFileFailure(cleanup)) { }
            if (e is BertLabException { InnerException: { } inner } && FileFailure.IsFileFailure(inner)) throw FileFailure.Wrap(inner, path);
            if (FileFailure.IsFileFailure(e)) throw FileFailure.Wrap(e, path);
            throw;
        }
    }

    /// <summary>Replaces <paramref name="path"/> with <paramref name="text"/> (UTF-8), as <see cref="Write"/> does.</summary>
    public static void WriteText(string path, string text) => Write(path, tmp => File.WriteAllText(tmp, text));
}
