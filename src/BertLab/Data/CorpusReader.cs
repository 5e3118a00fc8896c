using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace BertLab.Data;

/// <summary>
/// A document (or a piece of one) as read from a corpus, before cleaning. Documents longer than
/// <see cref="CorpusReaderOptions.MaxPieceChars"/> are cut into pieces at whitespace so that memory stays bounded
/// (a corpus with a single 10 GB line still streams); later pieces have <see cref="ContinuesPrevious"/> set, and the
/// sequence packer joins them without a [SEP].
/// </summary>
public readonly record struct RawDocument(string Text, bool ContinuesPrevious);

public sealed record CorpusReaderOptions
{
    /// <summary>How plain-text files are split into documents.</summary>
    public DocumentSplit Split { get; init; } = DocumentSplit.Auto;
    /// <summary>The JSON field holding the text in .jsonl files.</summary>
    public string TextField { get; init; } = "text";
    /// <summary>Longest piece handed on; longer documents are cut at whitespace.</summary>
    public int MaxPieceChars { get; init; } = 1 << 16;
}

/// <summary>Streams documents from corpus files (.txt, .jsonl, gzip of either), never holding a whole file in memory.</summary>
public static class CorpusReader
{
    public static IEnumerable<RawDocument> Read(IEnumerable<CorpusFile> files, CorpusReaderOptions? options = null)
    {
        options ??= new CorpusReaderOptions();
        foreach (var file in files)
            foreach (var doc in ReadFile(file, options))
                yield return doc;
    }

    public static IEnumerable<RawDocument> ReadFile(CorpusFile file, CorpusReaderOptions options)
    {
        if (file.IsJsonLines) return ReadJsonLines(file, options);
        var split = options.Split == DocumentSplit.Auto ? DetectSplit(file) : options.Split;
        return split == DocumentSplit.Lines ? ReadLineDocuments(file, options) : ReadBlankLineDocuments(file, options);
    }

    static readonly Regex BlankLine = new(@"\n[ \t\r]*\n", RegexOptions.Compiled);

    /// <summary>Blank-line separated if the first 64 KiB of text hold a blank line; otherwise one document per line.</summary>
    public static DocumentSplit DetectSplit(CorpusFile file)
    {
        using var reader = OpenText(file);
        var buffer = new char[1 << 16];
        int n = reader.ReadBlock(buffer, 0, buffer.Length);
        return BlankLine.IsMatch(new string(buffer, 0, n)) ? DocumentSplit.BlankLines : DocumentSplit.Lines;
    }

    static StreamReader OpenText(CorpusFile file) =>
        new(file.OpenRead(), new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);

    static IEnumerable<RawDocument> ReadLineDocuments(CorpusFile file, CorpusReaderOptions options)
    {
        using var reader = OpenText(file);
        bool midLine = false;
        foreach (var (text, complete) in Lines(reader, options.MaxPieceChars))
        {
            if (midLine || !string.IsNullOrWhiteSpace(text)) yield return new RawDocument(text, midLine);
            midLine = !complete;
        }
    }

    static IEnumerable<RawDocument> ReadBlankLineDocuments(CorpusFile file, CorpusReaderOptions options)
    {
        using var reader = OpenText(file);
        var doc = new StringBuilder();
        bool midLine = false, continues = false;
        foreach (var (text, complete) in Lines(reader, options.MaxPieceChars))
        {
            if (!midLine && complete && string.IsNullOrWhiteSpace(text))
            {
                if (doc.Length > 0) yield return new RawDocument(doc.ToString(), continues);
                doc.Clear();
                continues = false;
                continue;
            }
            if (!midLine && doc.Length > 0) doc.Append('\n');
            doc.Append(text);
            midLine = !complete;
            if (doc.Length >= options.MaxPieceChars)
            {
                yield return new RawDocument(doc.ToString(), continues);
                doc.Clear();
                continues = true;
            }
        }
        if (doc.Length > 0) yield return new RawDocument(doc.ToString(), continues);
    }

    static IEnumerable<RawDocument> ReadJsonLines(CorpusFile file, CorpusReaderOptions options)
    {
        using var reader = OpenText(file);
        long lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            string? text;
            try
            {
                using var json = JsonDocument.Parse(line);
                if (json.RootElement.ValueKind != JsonValueKind.Object)
                    throw new BertLabException($"{file.Path}:{lineNumber}: expected a JSON object per line");
                if (!json.RootElement.TryGetProperty(options.TextField, out var field))
                {
                    var names = string.Join(", ", json.RootElement.EnumerateObject().Select(p => p.Name));
                    throw new BertLabException($"{file.Path}:{lineNumber}: no field \"{options.TextField}\" (fields: {names}); choose one with --text-field");
                }
                text = field.ValueKind == JsonValueKind.String ? field.GetString() : null;
                if (field.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    throw new BertLabException($"{file.Path}:{lineNumber}: field \"{options.TextField}\" is a {field.ValueKind}, expected a string");
            }
            catch (JsonException e)
            {
                throw new BertLabException($"{file.Path}:{lineNumber}: not valid JSON ({e.Message})");
            }
            if (string.IsNullOrWhiteSpace(text)) continue;
            bool continues = false;
            foreach (var piece in SplitLong(text, options.MaxPieceChars))
            {
                yield return new RawDocument(piece, continues);
                continues = true;
            }
        }
    }

    /// <summary>Cuts a long text into pieces of at most about maxChars, at whitespace where possible.</summary>
    public static IEnumerable<string> SplitLong(string text, int maxChars)
    {
        int start = 0;
        while (text.Length - start > maxChars)
        {
            int cut = CutPoint(text.AsSpan(start, maxChars));
            yield return text.Substring(start, cut);
            start += cut;
        }
        if (start < text.Length) yield return start == 0 ? text : text[start..];
    }

    /// <summary>Where to cut a piece: after the last whitespace in its second half, else at its end (never inside a surrogate pair).</summary>
    static int CutPoint(ReadOnlySpan<char> window)
    {
        for (int i = window.Length - 1; i >= window.Length / 2; i--)
            if (char.IsWhiteSpace(window[i])) return i + 1;
        int cut = window.Length;
        if (char.IsHighSurrogate(window[cut - 1])) cut--;
        return cut;
    }

    static List<string> CutWhileLonger(StringBuilder line, int maxChars)
    {
        var pieces = new List<string>();
        if (line.Length <= maxChars) return pieces;
        var text = line.ToString();
        int start = 0;
        while (text.Length - start > maxChars)
        {
            int cut = CutPoint(text.AsSpan(start, maxChars));
            pieces.Add(text.Substring(start, cut));
            start += cut;
        }
        line.Clear().Append(text, start, text.Length - start);
        return pieces;
    }

    /// <summary>Lines of a reader without their line ends; a line longer than maxChars comes in pieces (Complete = false but for its last).</summary>
    internal static IEnumerable<(string Text, bool Complete)> Lines(TextReader reader, int maxChars)
    {
        var buffer = new char[1 << 16];
        var line = new StringBuilder();
        int n;
        while ((n = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            for (int i = 0; i < n; i++)
            {
                if (buffer[i] != '\n') continue;
                line.Append(buffer, start, i - start);
                start = i + 1;
                if (line.Length > 0 && line[^1] == '\r') line.Length--;
                foreach (var piece in CutWhileLonger(line, maxChars)) yield return (piece, false);
                yield return (line.ToString(), true);
                line.Clear();
            }
            line.Append(buffer, start, n - start);
            foreach (var piece in CutWhileLonger(line, maxChars)) yield return (piece, false);
        }
        if (line.Length > 0)
        {
            if (line[^1] == '\r') line.Length--;
            yield return (line.ToString(), true);
        }
    }
}
