namespace BertLab.Plotting;

/// <summary>One named series of (x, y) points; <paramref name="ErrorY"/>: per point the half-width of an error bar (NaN: none).
/// <see cref="Style"/>: its colour and marker; null takes <see cref="PlotStyles.For"/> of its position in the panel.</summary>
public sealed record Series(string Name, IReadOnlyList<double> X, IReadOnlyList<double> Y, IReadOnlyList<double>? ErrorY = null)
{
    public SeriesStyle? Style { get; init; }
}

/// <summary>An interval of x drawn as a bar in a strip below the panel (one row per bracket, labelled with its name), in a
/// series' style: where a quantity is known to lie (e.g. an arm's edge of stability between its last stable and first
/// unstable learning rate). A null end is open: the bar runs dashed to the edge of the plot.</summary>
public sealed record XBracket(string Name, double? Lo, double? Hi, SeriesStyle Style);

/// <summary>One chart of a figure: its series, axes and optional brackets.</summary>
public sealed record Panel(string Title, string XLabel, string YLabel, IReadOnlyList<Series> Series)
{
    public bool LogX { get; init; }
    public bool LogY { get; init; }
    public IReadOnlyList<XBracket> Brackets { get; init; } = Array.Empty<XBracket>();
    /// <summary>The title of the bracket strip.</summary>
    public string? BracketLabel { get; init; }
    public bool Legend { get; init; } = true;
    /// <summary>Ticks of the x axis at these values (e.g. a learning-rate grid), labelled with the values; null: automatic.</summary>
    public IReadOnlyList<double>? XTicks { get; init; }
    /// <summary>Fixed y limits (in the axis's units, log10 on a log axis), e.g. shared by panels that should be read side by side.</summary>
    public (double Lo, double Hi)? YRange { get; init; }
}

/// <summary>PNG line charts (ScottPlot, headless) for loss curves, learning rates and time/memory scaling; one panel or a grid of them.</summary>
public static class LinePlot
{
    /// <summary>Beyond this many series a legend no longer fits beside the plot, and none is drawn.</summary>
    public const int MaxLegendEntries = 30;

    public static void Save(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series,
        bool logX = false, bool logY = false, int width = 900, int height = 560)
    {
        var panel = new Panel(title, xLabel, yLabel, series.ToList()) { LogX = logX, LogY = logY };
        var plot = new ScottPlot.Plot();
        if (Fill(plot, panel) is null) return;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }

    // pixels around the data area of a panel with a bracket strip, so that the strip's x axis lines up with the panel's
    const float StripLeft = 210, StripRight = 250, MainBottom = 55, StripBottom = 50, Top = 40;

    /// <summary>A figure of <paramref name="panels"/> in a grid of <paramref name="columns"/> columns, each panel with brackets
    /// followed by their strip (a quarter of its height); nothing is written when no panel has a point to draw.</summary>
    public static void SavePanels(string path, IReadOnlyList<Panel> panels, int columns, int width, int height)
    {
        if (panels.Count == 0) return;
        columns = Math.Clamp(columns, 1, panels.Count);
        int rows = (panels.Count + columns - 1) / columns;
        bool strips = panels.Any(p => p.Brackets.Count > 0);
        int unit = strips ? 4 : 1;
        var figure = new ScottPlot.Multiplot();
        ScottPlot.IMultiplotExtensions.AddPlots(figure, panels.Count + panels.Count(p => p.Brackets.Count > 0));
        var layout = new ScottPlot.MultiplotLayouts.CustomGrid();
        bool any = false;
        int next = 0;
        for (int i = 0; i < panels.Count; i++)
        {
            int r = i / columns, c = i % columns;
            var main = ScottPlot.IMultiplotExtensions.GetPlot(figure, next++);
            var limits = Fill(main, panels[i]);
            any |= limits is not null;
            layout.Set(main, new ScottPlot.GridCell(r * unit, c, rows * unit, columns, strips ? 3 : 1, 1));
            if (panels[i].Brackets.Count == 0) continue;
            main.Layout.Fixed(new ScottPlot.PixelPadding(StripLeft, StripRight, MainBottom, Top));
            var strip = ScottPlot.IMultiplotExtensions.GetPlot(figure, next++);
            Strip(strip, panels[i], limits);
            layout.Set(strip, new ScottPlot.GridCell(r * unit + 3, c, rows * unit, columns, 1, 1));
        }
        if (!any) return;
        figure.Layout = layout;
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        ScottPlot.IMultiplotExtensions.SavePng(figure, path, width, height);
    }

    /// <summary>The style each series is drawn in: its own, else the one of its position.</summary>
    public static IReadOnlyList<SeriesStyle> StylesOf(IReadOnlyList<Series> series) => series.Select((s, i) => s.Style ?? PlotStyles.For(i)).ToList();

    static ScottPlot.MarkerShape Shape(MarkerKind m) => m switch
    {
        MarkerKind.Circle => ScottPlot.MarkerShape.FilledCircle,
        MarkerKind.Square => ScottPlot.MarkerShape.FilledSquare,
        MarkerKind.TriangleUp => ScottPlot.MarkerShape.FilledTriangleUp,
        MarkerKind.Diamond => ScottPlot.MarkerShape.FilledDiamond,
        MarkerKind.TriangleDown => ScottPlot.MarkerShape.FilledTriangleDown,
        MarkerKind.OpenCircle => ScottPlot.MarkerShape.OpenCircle,
        MarkerKind.OpenSquare => ScottPlot.MarkerShape.OpenSquare,
        MarkerKind.OpenTriangleUp => ScottPlot.MarkerShape.OpenTriangleUp,
        _ => ScottPlot.MarkerShape.OpenDiamond,
    };

    /// <summary>Draws a panel into a plot; returns its x limits (in axis units), null when it has no point to draw.</summary>
    static (double Left, double Right)? Fill(ScottPlot.Plot plot, Panel panel)
    {
        bool logX = panel.LogX, logY = panel.LogY;
        var styles = StylesOf(panel.Series);
        bool any = false;
        double x0 = double.PositiveInfinity, x1 = double.NegativeInfinity, y0 = double.PositiveInfinity, y1 = double.NegativeInfinity;
        for (int k = 0; k < panel.Series.Count; k++)
        {
            var s = panel.Series[k];
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
            var color = ScottPlot.Color.FromHex(styles[k].Color);
            var sc = plot.Add.Scatter(xs, ys);
            sc.LegendText = s.Name;
            sc.Color = color;
            sc.MarkerShape = Shape(styles[k].Marker);
            sc.MarkerSize = pts.Count > 60 ? 0 : 8;
            sc.LineWidth = 2;
            // error bars (linear y only: a log axis has no symmetric half-width)
            var withError = Enumerable.Range(0, pts.Count).Where(i => double.IsFinite(pts[i].E) && pts[i].E > 0 && !logY).ToArray();
            if (withError.Length > 0)
            {
                var bars = plot.Add.ErrorBar(withError.Select(i => xs[i]).ToArray(), withError.Select(i => ys[i]).ToArray(), withError.Select(i => pts[i].E).ToArray());
                bars.Color = color;
            }
            any = true;
        }
        if (!any) return null;
        foreach (var b in panel.Brackets)
            foreach (var v in new[] { b.Lo, b.Hi })
                if (v is double d && (!logX || d > 0)) { double t = logX ? Math.Log10(d) : d; x0 = Math.Min(x0, t); x1 = Math.Max(x1, t); }
        if (panel.YRange is (double lo, double hi)) { y0 = lo; y1 = hi; }
        // a flat panel (every value the same) gets a unit of height around its value
        if (y1 - y0 < 1e-9) { y0 -= 0.5; y1 += 0.5; }
        // limits from every series and its error bars (the automatic ones follow the last plottable added); an open bracket
        // gets room to run out of the data on its side
        double span = x1 - x0;
        double padLeft = Math.Max(span * (panel.Brackets.Any(b => b.Lo is null) ? 0.15 : 0.05), 1e-9);
        double padRight = Math.Max(span * (panel.Brackets.Any(b => b.Hi is null) ? 0.15 : 0.05), 1e-9);
        double py = Math.Max((y1 - y0) * 0.05, 1e-9);
        plot.Axes.SetLimits(x0 - padLeft, x1 + padRight, y0 - py, y1 + py);
        plot.Title(panel.Title);
        // a log axis is labelled with the values themselves, not their log10
        XTicks(plot, panel);
        if (logY) plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Label(Math.Pow(10, v)) };
        plot.XLabel(panel.XLabel + (logX ? " (log scale)" : ""));
        plot.YLabel(panel.YLabel + (logY ? " (log scale)" : ""));
        // many series: the legend goes beside the plot instead of over the data; too many for a readable legend: none
        if (!panel.Legend || panel.Series.Count > MaxLegendEntries) plot.HideLegend();
        else if (panel.Series.Count > 4 || panel.Brackets.Count > 0) plot.ShowLegend(ScottPlot.Edge.Right);
        else plot.ShowLegend();
        return (x0 - padLeft, x1 + padRight);
    }

    static void XTicks(ScottPlot.Plot plot, Panel panel)
    {
        bool logX = panel.LogX;
        if (panel.XTicks is { Count: > 0 } ticks)
        {
            var at = ticks.Where(t => !logX || t > 0).Distinct().OrderBy(t => t).ToArray();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(at.Select(t => logX ? Math.Log10(t) : t).ToArray(), at.Select(Label).ToArray());
        }
        else if (logX) plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Label(Math.Pow(10, v)) };
    }

    static string Label(double v) => v.ToString("G3", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The panel's brackets, one row each from the top (labelled with its name), over the panel's x limits.</summary>
    static void Strip(ScottPlot.Plot plot, Panel panel, (double Left, double Right)? limits)
    {
        bool logX = panel.LogX;
        var (left, right) = limits ?? (0, 1);
        int n = panel.Brackets.Count;
        for (int i = 0; i < n; i++)
        {
            var b = panel.Brackets[i];
            double y = n - 1 - i;
            double? lo = b.Lo is double l && (!logX || l > 0) ? (logX ? Math.Log10(l) : l) : null;
            double? hi = b.Hi is double h && (!logX || h > 0) ? (logX ? Math.Log10(h) : h) : null;
            var color = ScottPlot.Color.FromHex(b.Style.Color);
            var bar = plot.Add.Scatter(new[] { lo ?? left, hi ?? right }, new[] { y, y });
            bar.Color = color; bar.LineWidth = 4; bar.MarkerSize = 0;
            if (lo is null || hi is null) bar.LinePattern = ScottPlot.LinePattern.Dashed;
            var ends = new[] { lo, hi }.Where(v => v is not null).Select(v => v!.Value).ToArray();
            if (ends.Length > 0)
            {
                var m = plot.Add.Scatter(ends, ends.Select(_ => y).ToArray());
                m.Color = color; m.LineWidth = 0; m.MarkerSize = 10; m.MarkerShape = Shape(b.Style.Marker);
            }
        }
        plot.Axes.SetLimits(left, right, -0.7, n - 0.3);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, n).Select(i => (double)(n - 1 - i)).ToArray(), panel.Brackets.Select(b => b.Name).ToArray());
        XTicks(plot, panel);
        plot.Grid.XAxisStyle.MajorLineStyle.Width = 1;
        plot.Grid.YAxisStyle.IsVisible = false;
        if (panel.BracketLabel is string label) plot.Title(label);
        plot.XLabel(panel.XLabel + (logX ? " (log scale)" : ""));
        plot.HideLegend();
        plot.Layout.Fixed(new ScottPlot.PixelPadding(StripLeft, StripRight, StripBottom, Top));
    }
}
