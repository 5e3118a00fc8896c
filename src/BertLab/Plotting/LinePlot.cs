namespace BertLab.Plotting;

/// <summary>One named series of (x, y) points; <paramref name="ErrorY"/>: per point the half-width of an error bar (NaN: none).</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, IReadOnlyList<double>? ErrorY = null);

/// <summary>PNG line charts (ScottPlot, headless) for loss curves, learning rates and time/memory scaling.</summary>
public static class LinePlot
{
    public static void Save(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series,
        bool logX = false, bool logY = false, int width = 900, int height = 560)
    {
        var plot = new ScottPlot.Plot();
        bool any = false;
        int count = 0;
        double x0 = double.PositiveInfinity, x1 = double.NegativeInfinity, y0 = double.PositiveInfinity, y1 = double.NegativeInfinity;
        foreach (var s in series)
        {
            count++;
            var err = s.ErrorY;
            var pts = s.X.Select((x, i) => (X: x, Y: s.Y[i], E: err is not null && i < err.Count ? err[i] : double.NaN))
                .Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y) && (!logX || p.X > 0) && (!logY || p.Y > 0)).ToList();
            if (pts.Count == 0) continue;
            var xs = pts.Select(p => logX ? Math.Log10(p.X) : p.X).ToArray();
            var ys = pts.Select(p => logY ? Math.Log10(p.Y) : p.Y).ToArray();
            x0 = Math.Min(x0, xs.Min()); x1 = Math.Max(x1, xs.Max());
            for (int i = 0; i < ys.Length; i++)
            {
                double e = double.IsFinite(pts[i].E) && !logY ? pts[i].E : 0;
                y0 = Math.Min(y0, ys[i] - e); y1 = Math.Max(y1, ys[i] + e);
            }
            var sc = plot.Add.Scatter(xs, ys);
            sc.LegendText = s.Name;
            sc.MarkerSize = pts.Count > 60 ? 0 : 5;
            sc.LineWidth = 2;
            // error bars (linear y only: a log axis has no symmetric half-width)
            var withError = Enumerable.Range(0, pts.Count).Where(i => double.IsFinite(pts[i].E) && pts[i].E > 0 && !logY).ToArray();
            if (withError.Length > 0)
            {
                var bars = plot.Add.ErrorBar(withError.Select(i => xs[i]).ToArray(), withError.Select(i => ys[i]).ToArray(), withError.Select(i => pts[i].E).ToArray());
                bars.Color = sc.Color;
            }
            any = true;
        }
        if (!any) return;
        // limits from every series and its error bars (the automatic ones follow the last plottable added)
        double px = Math.Max((x1 - x0) * 0.05, 1e-9), py = Math.Max((y1 - y0) * 0.05, 1e-9);
        plot.Axes.SetLimits(x0 - px, x1 + px, y0 - py, y1 + py);
        plot.Title(title);
        plot.XLabel(xLabel + (logX ? " (log10)" : ""));
        plot.YLabel(yLabel + (logY ? " (log10)" : ""));
        // many series: the legend goes beside the plot instead of over the data
        if (count > 4) plot.ShowLegend(ScottPlot.Edge.Right); else plot.ShowLegend();
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        plot.SavePng(path, width, height);
    }
}
