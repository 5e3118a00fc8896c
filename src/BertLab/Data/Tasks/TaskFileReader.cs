using System.Text.Json;

namespace BertLab.Data.Tasks;

/// <summary>The examples of one file, as written, and how many malformed rows were skipped.</summary>
public sealed record RawTaskFile(string Path, IReadOnlyList<RawExample> Examples, int SkippedRows, bool HasLabels);

/// <summary>Reads the text, pair and label columns of a TSV, CSV or JSONL file (optionally .gz).</summary>
public static class TaskFileReader
{
    /// <param name="headerlessColumns">column names when the file has no header row (CoLA); null: the first row names them</param>
    /// <param name="labelColumn">null: do not read labels; a column the file lacks gives unlabeled examples</param>
    /// <param name="skipMalformedRows">skip rows with too few columns (counted) instead of failing</param>
    /// <param name="keepBlankRows">a blank line (before the last row) is an example with empty text (and empty pair), so that
    /// examples stay aligned with the rows of the file (bertlab predict); by default blank lines are skipped</param>
    public static RawTaskFile Read(string path, TaskFileFormat format, string textColumn, string? pairColumn,
        string? labelColumn, IReadOnlyList<string>? headerlessColumns = null, bool skipMalformedRows = false, bool keepBlankRows = false)
    {
        try
        {
            return format == TaskFileFormat.Jsonl
                ? ReadJsonl(path, textColumn, pairColumn, labelColumn, keepBlankRows)
                : ReadDelimited(path, format, textColumn, pairColumn, labelColumn, headerlessColumns, skipMalformedRows, keepBlankRows);
        }
        catch (IOException e) when (e is not FileNotFoundException)
        {
            throw new BertLabException($"{path}: cannot read: {e.Message}", e);
        }
    }

    /// <summary>The column names of a file: its header row, or the keys of its first JSON object.</summary>
    public static IReadOnlyList<string> Columns(string path, TaskFileFormat format)
    {
        using var reader = DelimitedTextReader.OpenText(path);
        if (format == TaskFileFormat.Jsonl)
        {
            string? line;
            while ((line = reader.ReadLine()) is not null && line.Trim().Length == 0) { }
            if (line is null) return Array.Empty<string>();
            using var doc = ParseLine(line, path, 1);
            return doc.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        }
        var rows = format == TaskFileFormat.Csv ? DelimitedTextReader.ReadCsv(reader) : DelimitedTextReader.ReadTsv(reader);
        return rows.Select(r => r.Fields).FirstOrDefault() ?? Array.Empty<string>();
    }

    static RawTaskFile ReadDelimited(string path, TaskFileFormat format, string textColumn, string? pairColumn,
        string? labelColumn, IReadOnlyList<string>? headerlessColumns, bool skipMalformedRows, bool keepBlankRows)
    {
        using var reader = DelimitedTextReader.OpenText(path);
        var rows = (format == TaskFileFormat.Csv ? DelimitedTextReader.ReadCsv(reader, keepBlankRows) : DelimitedTextReader.ReadTsv(reader, keepBlankRows)).GetEnumerator();
        string[] header;
        if (headerlessColumns is not null) header = headerlessColumns.ToArray();
        else if (rows.MoveNext()) header = rows.Current.Fields;
        else throw new BertLabException($"{path}: the file is empty (expected a header row naming the columns)");

        int textIdx = ColumnIndex(header, textColumn, path, required: true);
        int pairIdx = pairColumn is null ? -1 : ColumnIndex(header, pairColumn, path, required: true);
        int labelIdx = labelColumn is null ? -1 : ColumnIndex(header, labelColumn, path, required: false);
        // The label is the last column in MNLI, STS-B, QNLI, RTE, WNLI; a row with more fields than
        // the header (a stray tab inside a text) still has its label last.
        bool labelIsLast = labelIdx == header.Length - 1;
        int needed = Math.Max(textIdx, Math.Max(pairIdx, labelIdx)) + 1;

        var examples = new List<RawExample>();
        int skipped = 0;
        string name = Path.GetFileName(path);
        while (rows.MoveNext())
        {
            var (line, f) = rows.Current;
            if (keepBlankRows && f is [""])
            {
                examples.Add(new RawExample("", pairIdx < 0 ? null : "", null, $"{name}:{line}"));
                continue;
            }
            if (f.Length < needed)
            {
                if (skipMalformedRows) { skipped++; continue; }
                throw new BertLabException($"{path}:{line}: expected at least {needed} columns ({string.Join(", ", header.Take(needed))}), found {f.Length}");
            }
            string? label = labelIdx < 0 ? null : labelIsLast ? f[^1] : f[labelIdx];
            examples.Add(new RawExample(f[textIdx], pairIdx < 0 ? null : f[pairIdx], label, $"{name}:{line}"));
        }
        return new RawTaskFile(path, examples, skipped, labelIdx >= 0);
    }

    static int ColumnIndex(string[] header, string column, string path, bool required)
    {
        int i = Array.IndexOf(header, column);
        if (i < 0) i = Array.FindIndex(header, h => string.Equals(h.Trim(), column, StringComparison.OrdinalIgnoreCase));
        if (i < 0 && required)
            throw new BertLabException($"{path}: no column '{column}' (columns: {string.Join(", ", header.Select(h => $"'{h}'"))})");
        return i;
    }

    static RawTaskFile ReadJsonl(string path, string textColumn, string? pairColumn, string? labelColumn, bool keepBlankRows)
    {
        var blank = new List<int>();
        using var reader = DelimitedTextReader.OpenText(path);
        var examples = new List<RawExample>();
        string name = Path.GetFileName(path);
        bool? hasLabels = null;
        int lineNo = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Trim().Length == 0) { if (keepBlankRows) blank.Add(lineNo); continue; }
            foreach (var b in blank) examples.Add(new RawExample("", pairColumn is null ? null : "", null, $"{name}:{b}"));
            blank.Clear();
            using var doc = ParseLine(line, path, lineNo);
            var o = doc.RootElement;
            string text = Field(o, textColumn, path, lineNo, required: true)!;
            string? pair = pairColumn is null ? null : Field(o, pairColumn, path, lineNo, required: true);
            string? label = labelColumn is null ? null : Field(o, labelColumn, path, lineNo, required: hasLabels == true);
            hasLabels ??= label is not null;
            if (hasLabels == false && label is not null)
                throw new BertLabException($"{path}:{lineNo}: '{labelColumn}' appears here but not in the first record");
            examples.Add(new RawExample(text, pair, label, $"{name}:{lineNo}"));
        }
        return new RawTaskFile(path, examples, 0, hasLabels ?? false);
    }

    static JsonDocument ParseLine(string line, string path, int lineNo)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { throw new BertLabException($"{path}:{lineNo}: invalid JSON: {e.Message}"); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new BertLabException($"{path}:{lineNo}: each line must be a JSON object");
        }
        return doc;
    }

    /// <summary>A field as text: strings as they are, numbers and booleans as written (1, 0.5, true).</summary>
    static string? Field(JsonElement o, string key, string path, int lineNo, bool required)
    {
        if (!o.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            if (!required) return null;
            var keys = string.Join(", ", o.EnumerateObject().Select(p => $"'{p.Name}'"));
            throw new BertLabException($"{path}:{lineNo}: no field '{key}' (fields: {keys})");
        }
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString()!,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.GetRawText(),
            _ => throw new BertLabException($"{path}:{lineNo}: field '{key}' must be a string, number or boolean, got {v.ValueKind}"),
        };
    }
}
