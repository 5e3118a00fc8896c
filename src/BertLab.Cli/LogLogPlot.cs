using ScottPlot;

namespace BertLab.Cli;

/// <summary>A PNG line plot with logarithmic axes (ScottPlot plots log10 of the data; the tick labels undo it).</summary>
public static class LogLogPlot
{
    public static void Save(string path, string title, string xLabel, string yLabel, IEnumerable<(string name, double[] xs, double[] ys)> series)
    {
        var plt = new Plot();
        foreach (var (name, xs, ys) in series)
        {
            if (xs.Length == 0) continue;
            var line = plt.Add.Scatter(xs.Select(Math.Log10).ToArray(), ys.Select(y => Math.Log10(Math.Max(y, 1e-9))).ToArray());
            line.LegendText = name;
            line.MarkerSize = 6;
        }
        static string Label(double v)
        {
            double x = Math.Pow(10, v);
            return x >= 1 ? x.ToString("#,0", System.Globalization.CultureInfo.InvariantCulture) : x.ToString("G2", System.Globalization.CultureInfo.InvariantCulture);
        }
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = Label, IntegerTicksOnly = true, MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        };
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            LabelFormatter = Label, IntegerTicksOnly = true, MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        };
        plt.Grid.MajorLineColor = Colors.Black.WithOpacity(.15);
        plt.Grid.MinorLineColor = Colors.Black.WithOpacity(.05);
        plt.Grid.MinorLineWidth = 1;
        plt.Title(title);
        plt.XLabel(xLabel);
        plt.YLabel(yLabel);
        plt.ShowLegend(Alignment.LowerRight);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        plt.SavePng(path, 900, 600);
    }
}
