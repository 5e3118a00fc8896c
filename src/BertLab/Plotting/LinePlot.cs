namespace BertLab.Plotting;

/// <summary>One named series of (x, y) points.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y);

/// <summary>PNG line charts (ScottPlot, headless) for loss curves, learning rates and time/memory scaling.</summary>
public static class LinePlot
{
    public static void Save(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series,
        bool logX = false, bool logY = false, int width = 900, int height = 560)
    {
        var plot = new ScottPlot.Plot();
        bool any = false;
        foreach (var s in series)
        {
            var pts = s.X.Zip(s.Y).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)
                                              && (!logX || p.First > 0) && (!logY || p.Second > 0)).ToList();
            if (pts.Count == 0) continue;
            var xs = pts.Select(p => logX ? Math.Log10(p.First) : p.First).ToArray();
            var ys = pts.Select(p => logY ? Math.Log10(p.Second) : p.Second).ToArray();
            var sc = plot.Add.Scatter(xs, ys);
            sc.LegendText = s.Name;
            sc.MarkerSize = pts.Count > 60 ? 0 : 5;
            sc.LineWidth = 2;
            any = true;
        }
        if (!any) return;
        plot.Title(title);
        plot.XLabel(xLabel + (logX ? " (log10)" : ""));
        plot.YLabel(yLabel + (logY ? " (log10)" : ""));
        plot.ShowLegend();
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        plot.SavePng(path, width, height);
    }
}
