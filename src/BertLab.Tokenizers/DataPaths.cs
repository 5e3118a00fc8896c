
namespace BertLab;

/// <summary>
/// Finds BertLab's embedded defaults: a data/ folder next to the program (a published copy or the installed .NET tool
/// carries one) or in a folder above it (the repository, from bin/), else above the current directory.
/// </summary>
public static class DataPaths
{
    /// <summary>Set BERTLAB_DATA to use another data folder.</summary>
    public static string Root
    {
        get
        {
            if (Environment.GetEnvironmentVariable("BERTLAB_DATA") is { Length: > 0 } env) return env;   // declared in BertLab.Runtime.EnvironmentVariables
            foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            {
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                {
                    var candidate = Path.Combine(dir.FullName, "data");
                    if (File.Exists(Path.Combine(candidate, "vocab", "bert-base-uncased-vocab.txt"))) return candidate;
                }
            }
            throw new BertLabException($"cannot find BertLab's data/ folder (embedded defaults) next to the program ({AppContext.BaseDirectory}), above it or above the current folder; run from the repository, use a published or installed bertlab (they carry data/), or set BERTLAB_DATA");
        }
    }

    public static string Find(string relative) => Path.Combine(Root, relative);
}
