using System.Net;
using System.Text;

namespace BertLab.Experiments;

/// <summary>A report as a list of blocks, rendered to Markdown and to one self-contained HTML page (images inlined as base64).</summary>
public sealed class ReportDocument
{
    /// <summary>Everything after this marker depends on the machine and the wall clock (throughput, memory).</summary>
    public const string WallClockMarker = "<!-- wall-clock section: differs between machines and runs -->";

    abstract record Block;
    sealed record HeadingBlock(int Level, string Text) : Block;
    sealed record ParagraphBlock(string Text) : Block;
    sealed record TableBlock(string[] Header, List<string[]> Rows) : Block;
    sealed record ImageBlock(string RelativePath, string Alt) : Block;
    sealed record MarkerBlock : Block;
    sealed record DetailsStart(string Summary) : Block;
    sealed record DetailsEnd : Block;

    readonly List<Block> _blocks = new();

    public void Heading(int level, string text) => _blocks.Add(new HeadingBlock(level, text));
    public void Paragraph(string text) => _blocks.Add(new ParagraphBlock(text));
    public void Table(string[] header, IEnumerable<string[]> rows) => _blocks.Add(new TableBlock(header, rows.ToList()));
    public void Image(string relativePath, string alt) => _blocks.Add(new ImageBlock(relativePath, alt));
    public void WallClockSection() => _blocks.Add(new MarkerBlock());

    /// <summary>What follows, up to <see cref="EndCollapsed"/>, is folded away in the HTML page (a &lt;details&gt; element
    /// titled <paramref name="summary"/>); the Markdown shows it as it is.</summary>
    public void BeginCollapsed(string summary) => _blocks.Add(new DetailsStart(summary));
    public void EndCollapsed() => _blocks.Add(new DetailsEnd());

    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        foreach (var b in _blocks)
        {
            switch (b)
            {
                case HeadingBlock h: sb.Append('#', h.Level).Append(' ').Append(h.Text).Append("\n\n"); break;
                case ParagraphBlock p: sb.Append(p.Text).Append("\n\n"); break;
                case ImageBlock i: sb.Append("![").Append(i.Alt).Append("](").Append(i.RelativePath).Append(")\n\n"); break;
                case MarkerBlock: sb.Append(WallClockMarker).Append("\n\n"); break;
                case DetailsStart or DetailsEnd: break;
                case TableBlock t:
                    sb.Append("| ").Append(string.Join(" | ", t.Header.Select(Cell))).Append(" |\n");
                    sb.Append('|').Append(string.Join("|", t.Header.Select(_ => "---"))).Append("|\n");
                    foreach (var row in t.Rows) sb.Append("| ").Append(string.Join(" | ", row.Select(Cell))).Append(" |\n");
                    sb.Append('\n');
                    break;
            }
        }
        return sb.ToString();
        static string Cell(string s) => s.Replace("|", "\\|").Replace("\n", " ");
    }

    /// <summary>One HTML file; images are read from <paramref name="baseDir"/> and embedded as data: URIs.</summary>
    public string ToHtml(string title, string baseDir)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title)).Append("</title>\n<style>\n")
          .Append("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}\n")
          .Append("table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}\n")
          .Append("th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}code{background:#f6f6f6}\n")
          .Append("details{margin:1em 0}summary{cursor:pointer;font-weight:600}\n")
          .Append("</style>\n</head>\n<body>\n");
        foreach (var b in _blocks)
        {
            switch (b)
            {
                case HeadingBlock h: sb.Append($"<h{h.Level}>").Append(Inline(h.Text)).Append($"</h{h.Level}>\n"); break;
                case ParagraphBlock p: sb.Append("<p>").Append(Inline(p.Text)).Append("</p>\n"); break;
                case MarkerBlock: sb.Append(WallClockMarker).Append('\n'); break;
                case DetailsStart d: sb.Append("<details>\n<summary>").Append(Inline(d.Summary)).Append("</summary>\n"); break;
                case DetailsEnd: sb.Append("</details>\n"); break;
                case ImageBlock i:
                    var path = Path.Combine(baseDir, i.RelativePath);
                    string src = File.Exists(path) ? "data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(path)) : E(i.RelativePath);
                    sb.Append("<p><img alt=\"").Append(E(i.Alt)).Append("\" src=\"").Append(src).Append("\"></p>\n");
                    break;
                case TableBlock t:
                    sb.Append("<table>\n<tr>").Append(string.Concat(t.Header.Select(h => "<th>" + Inline(h) + "</th>"))).Append("</tr>\n");
                    foreach (var row in t.Rows) sb.Append("<tr>").Append(string.Concat(row.Select(c => "<td>" + Inline(c) + "</td>"))).Append("</tr>\n");
                    sb.Append("</table>\n");
                    break;
            }
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    static string E(string s) => WebUtility.HtmlEncode(s);

    /// <summary>HTML-escapes and renders the Markdown subset used in the text: `code` and **bold**.</summary>
    static string Inline(string s)
    {
        var e = E(s);
        e = System.Text.RegularExpressions.Regex.Replace(e, "`([^`]+)`", "<code>$1</code>");
        e = System.Text.RegularExpressions.Regex.Replace(e, @"\*\*([^*]+)\*\*", "<b>$1</b>");
        return e;
    }

    /// <summary>The part of a Markdown report that depends only on the runs' results (before the wall-clock section).</summary>
    public static string DeterministicPart(string markdown)
    {
        int i = markdown.IndexOf(WallClockMarker, StringComparison.Ordinal);
        return i < 0 ? markdown : markdown[..i];
    }
}
