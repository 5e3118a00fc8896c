using System.Globalization;
using System.Text;

namespace BertLab.Cli;

/// <summary>
/// A table as plain text columns: a header line, a rule, one line per row, columns two spaces apart, numbers right-aligned.
/// Unlike a boxed console table it never squeezes columns to the terminal's width, so it stays readable at
/// 80 columns and when piped into a log (where a boxed table is cut to a narrow default width).
/// </summary>
public sealed class PlainTable
{
    readonly string[] _headers;
    readonly List<string[]> _rows = new();

    public PlainTable(params string[] headers) => _headers = headers;

    public PlainTable AddRow(params string[] cells)
    {
        if (cells.Length != _headers.Length) throw new ArgumentException($"row has {cells.Length} cells, the table {_headers.Length} columns");
        _rows.Add(cells);
        return this;
    }

    static bool IsNumeric(string s) => s == "-" || s.Length > 0 && double.TryParse(s.TrimEnd('%'), NumberStyles.Any, CultureInfo.InvariantCulture, out _);

    public string Render()
    {
        int n = _headers.Length;
        var width = Enumerable.Range(0, n).Select(c => _rows.Select(r => r[c].Length).Append(_headers[c].Length).Max()).ToArray();
        var right = Enumerable.Range(0, n).Select(c => _rows.Count > 0 && _rows.All(r => IsNumeric(r[c]))).ToArray();
        var sb = new StringBuilder();
        void Line(IReadOnlyList<string> cells)
        {
            var parts = cells.Select((s, c) => right[c] ? s.PadLeft(width[c]) : s.PadRight(width[c]));
            sb.Append(string.Join("  ", parts).TrimEnd()).Append('\n');
        }
        Line(_headers);
        Line(width.Select(w => new string('-', w)).ToArray());
        foreach (var r in _rows) Line(r);
        return sb.ToString();
    }

    /// <summary>Writes the table to standard output (not through the console's width-limited renderer).</summary>
    public void Write(TextWriter? writer = null)
    {
        var w = writer ?? Console.Out;
        w.Write(Render());
        w.Flush();
    }
}
