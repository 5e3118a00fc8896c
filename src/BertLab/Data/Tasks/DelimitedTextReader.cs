using System.IO.Compression;
using System.Text;

namespace BertLab.Data.Tasks;

/// <summary>
/// Reads rows of TSV (quoting disabled: a quote is an ordinary character, as GLUE's files require)
/// or CSV (RFC 4180: quoted fields may hold commas, doubled quotes and line breaks).
/// Blank lines are skipped, or (<c>keepBlankLines</c>) read as rows of one empty field, except those at the end of
/// the file. Each row comes with its 1-based line number.
/// </summary>
public static class DelimitedTextReader
{
    /// <summary>Opens a file for reading text, through gzip when its name ends in .gz; a UTF-8 BOM is dropped.</summary>
    public static TextReader OpenText(string path)
    {
        if (!File.Exists(path)) throw new BertLabException($"file not found: {path}");
        Stream s = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) s = new GZipStream(s, CompressionMode.Decompress);
        return new StreamReader(s, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true);
    }

    public static IEnumerable<(int Line, string[] Fields)> ReadTsv(TextReader reader, bool keepBlankLines = false)
    {
        int line = 0;
        string? text;
        var blank = new List<int>();
        while ((text = reader.ReadLine()) is not null)
        {
            line++;
            if (text.Length == 0) { if (keepBlankLines) blank.Add(line); continue; }
            foreach (var b in blank) yield return (b, new[] { "" });
            blank.Clear();
            yield return (line, text.Split('\t'));
        }
    }

    public static IEnumerable<(int Line, string[] Fields)> ReadCsv(TextReader reader, bool keepBlankLines = false)
    {
        var blank = new List<int>();
        var fields = new List<string>();
        var field = new StringBuilder();
        int line = 1, rowLine = 1;
        bool inQuotes = false, fieldStarted = false, rowHasContent = false;
        int c;
        while ((c = reader.Read()) != -1)
        {
            char ch = (char)c;
            if (inQuotes)
            {
                if (ch == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                    else inQuotes = false;
                }
                else
                {
                    if (ch == '\n') line++;
                    field.Append(ch);
                }
                continue;
            }
            switch (ch)
            {
                case '"' when !fieldStarted:
                    inQuotes = true; fieldStarted = true; rowHasContent = true;
                    break;
                case ',':
                    fields.Add(field.ToString()); field.Clear(); fieldStarted = false; rowHasContent = true;
                    break;
                case '\r':
                    break;
                case '\n':
                    if (rowHasContent || field.Length > 0)
                    {
                        fields.Add(field.ToString());
                        foreach (var b in blank) yield return (b, new[] { "" });
                        blank.Clear();
                        yield return (rowLine, fields.ToArray());
                    }
                    else if (keepBlankLines) blank.Add(rowLine);
                    fields.Clear(); field.Clear(); fieldStarted = false; rowHasContent = false;
                    line++; rowLine = line;
                    break;
                default:
                    field.Append(ch); fieldStarted = true; rowHasContent = true;
                    break;
            }
        }
        if (inQuotes) throw new BertLabException($"line {rowLine}: a quoted field is never closed");
        if (rowHasContent || field.Length > 0)
        {
            fields.Add(field.ToString());
            foreach (var b in blank) yield return (b, new[] { "" });
            yield return (rowLine, fields.ToArray());
        }
    }
}
