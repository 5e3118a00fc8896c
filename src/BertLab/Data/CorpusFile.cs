using System.IO.Compression;
using System.Text.RegularExpressions;

namespace BertLab.Data;

/// <summary>How the documents of a plain-text file are delimited.</summary>
public enum DocumentSplit
{
    /// <summary>Blank-line separated if the file's first 64 KiB contain a blank line, else one document per line.</summary>
    Auto,
    /// <summary>Documents (paragraphs) separated by blank lines; lines inside a document are joined.</summary>
    BlankLines,
    /// <summary>One document per line.</summary>
    Lines,
}

/// <summary>One input file of a corpus: plain text or JSON lines, either possibly gzip-compressed.</summary>
public sealed record CorpusFile(string Path)
{
    public bool IsJsonLines
    {
        get
        {
            var name = System.IO.Path.GetFileName(Path).ToLowerInvariant();
            if (name.EndsWith(".gz")) name = name[..^3];
            return name.EndsWith(".jsonl") || name.EndsWith(".json") || name.EndsWith(".ndjson");
        }
    }

    /// <summary>Opens the file, transparently decompressing gzip (detected by its magic bytes, not its name).</summary>
    public Stream OpenRead()
    {
        var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        Span<byte> magic = stackalloc byte[2];
        int n = file.Read(magic);
        file.Position = 0;
        if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16);
        return file;
    }

    /// <summary>The extensions a directory is searched for.</summary>
    public static readonly string[] Extensions = [".txt", ".txt.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"];

    /// <summary>The embedded default corpus: data/corpus/*.txt.gz.</summary>
    public static string DefaultCorpusPath => DataPaths.Find("corpus");

    /// <summary>
    /// Resolves corpus arguments (files, directories searched recursively for <see cref="Extensions"/>, or glob patterns
    /// with *, ? and **) into a sorted, de-duplicated list of files. No argument means the embedded default corpus.
    /// </summary>
    public static IReadOnlyList<CorpusFile> Resolve(IEnumerable<string>? specs)
    {
        var list = specs?.Where(s => !string.IsNullOrWhiteSpace(s)).ToList() ?? [];
        if (list.Count == 0) list.Add(DefaultCorpusPath);
        var files = new List<string>();
        foreach (var spec in list)
        {
            var found = new List<string>();
            if (File.Exists(spec)) found.Add(System.IO.Path.GetFullPath(spec));
            else if (Directory.Exists(spec))
                found.AddRange(Directory.EnumerateFiles(spec, "*", SearchOption.AllDirectories)
                    .Where(f => Extensions.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
                    .Select(System.IO.Path.GetFullPath).Order(StringComparer.Ordinal));
            else if (spec.IndexOfAny(['*', '?']) >= 0) found.AddRange(Glob(spec));
            else throw new BertLabException($"corpus not found: {spec} (give a file, a directory or a glob such as 'texts/*.txt.gz')");
            if (found.Count == 0) throw new BertLabException($"corpus {spec} contains no corpus files ({string.Join(", ", Extensions)})");
            files.AddRange(found);
        }
        return files.Distinct(StringComparer.Ordinal).Select(f => new CorpusFile(f)).ToList();
    }

    static IEnumerable<string> Glob(string pattern)
    {
        var full = System.IO.Path.GetFullPath(pattern.Replace('\\', '/'));
        var parts = full.Split('/');
        int firstWild = Array.FindIndex(parts, p => p.IndexOfAny(['*', '?']) >= 0);
        var root = string.Join('/', parts[..firstWild]);
        if (root.Length == 0) root = "/";
        if (!Directory.Exists(root)) return [];
        var rest = string.Join('/', parts[firstWild..]);
        var regex = new Regex("^" + Regex.Escape(rest).Replace(@"\*\*/", "(.*/)?").Replace(@"\*\*", ".*")
            .Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$", RegexOptions.CultureInvariant);
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => regex.IsMatch(System.IO.Path.GetRelativePath(root, f).Replace('\\', '/')))
            .Order(StringComparer.Ordinal).ToList();
    }
}
