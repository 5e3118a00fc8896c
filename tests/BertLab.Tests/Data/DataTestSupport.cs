using System.IO.Compression;
using System.Text;
using BertLab.Data;
using BertLab.Text;

namespace BertLab.Tests.Data;

/// <summary>Shared helpers: the default vocabulary and tokenizer, temporary folders, a slice of the default corpus.</summary>
public static class DataTestSupport
{
    static readonly Lazy<Vocabulary> _vocab = new(() => Vocabulary.Load());
    public static Vocabulary Vocab => _vocab.Value;
    public static ITokenizer Tokenizer => new WordPieceTokenizer(Vocab);

    static readonly string TempRoot = Path.Combine(Path.GetTempPath(), "bertlab-data-tests");

    static DataTestSupport()
    {
        // folders of earlier runs (open memory maps make deleting them during a run pointless)
        if (!Directory.Exists(TempRoot)) return;
        foreach (var old in Directory.EnumerateDirectories(TempRoot).Where(d => Directory.GetLastWriteTimeUtc(d) < DateTime.UtcNow.AddHours(-1)))
            try { Directory.Delete(old, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public static string TempDir()
    {
        var dir = Path.Combine(TempRoot, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static string Write(string dir, string name, string content)
    {
        var path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (name.EndsWith(".gz"))
        {
            using var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest);
            gz.Write(Encoding.UTF8.GetBytes(content));
        }
        else File.WriteAllText(path, content);
        return path;
    }

    /// <summary>The first documents of each default-corpus file (about 1 MB of text), one document per line.</summary>
    public static string DefaultCorpusSlice(string dir, Func<string, string>? transform = null, int austen = 2500, int spurgeonPieces = 6, int wordnet = 6000)
    {
        var files = CorpusFile.Resolve(null);
        var sb = new StringBuilder();
        foreach (var file in files)
        {
            int take = file.Path.Contains("austen") ? austen : file.Path.Contains("spurgeon") ? spurgeonPieces : wordnet;
            foreach (var doc in CorpusReader.ReadFile(file, new CorpusReaderOptions()).Take(take))
                sb.Append((transform ?? (s => s))(doc.Text.Replace('\n', ' '))).Append('\n');
        }
        return Write(dir, "slice.txt", sb.ToString());
    }
}
