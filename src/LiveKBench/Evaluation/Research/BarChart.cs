using ScottPlot;

namespace LiveKBench.Evaluation.Research;

/// <summary>One bar: a value with a confidence interval (whisker).</summary>
/// <param name="Series">Series name (legend entry; the colour follows the series order).</param>
/// <param name="Value">Bar height, in the unit of the axis (a rate in [0, 1] here).</param>
/// <param name="Low">Lower whisker.</param>
/// <param name="High">Upper whisker.</param>
public sealed record Bar(string Series, double Value, double Low, double High);

/// <summary>A group of bars under one label.</summary>
/// <param name="Label">Group label (x axis).</param>
/// <param name="Bars">Bars, one per series.</param>
public sealed record BarGroup(string Label, IReadOnlyList<Bar> Bars);

/// <summary>A panel: a titled set of bar groups sharing a y axis from 0 to 1.</summary>
/// <param name="Title">Panel title, e.g. "CRR pass@1".</param>
/// <param name="Groups">Groups left to right.</param>
public sealed record BarPanel(string Title, IReadOnlyList<BarGroup> Groups);

/// <summary>
/// A grouped bar chart with confidence-interval whiskers, drawn by ScottPlot 5 (PNG and SVG). Panels sit side by side
/// on one 0–1 axis, each titled above its groups; one legend entry per series.
/// </summary>
public static class BarChart
{
    private static readonly Color[] Palette = [Color.FromHex("#4C78A8"), Color.FromHex("#F58518"), Color.FromHex("#54A24B"), Color.FromHex("#E45756"), Color.FromHex("#72B7B2"), Color.FromHex("#B279A2")];

    /// <summary>True when the panels hold at least one bar (a chart without bars is not drawn).</summary>
    public static bool HasData(IReadOnlyList<BarPanel> panels) => panels.Any(p => p.Groups.Any(g => g.Bars.Count > 0));

    /// <summary>Renders the panels as an SVG document.</summary>
    /// <param name="title">Chart title.</param>
    /// <param name="panels">Panels (≥ 1, with at least one bar: see <see cref="HasData"/>).</param>
    /// <returns>SVG text (no external resources).</returns>
    /// <exception cref="ArgumentException">No bars.</exception>
    public static string RenderSvg(string title, IReadOnlyList<BarPanel> panels)
    {
        var (plot, width, height) = Build(title, panels);
        return plot.GetSvgXml(width, height);
    }

    /// <summary>Writes the panels as a PNG image.</summary>
    /// <param name="title">Chart title.</param>
    /// <param name="panels">Panels (≥ 1, with at least one bar).</param>
    /// <param name="path">Output file (overwritten).</param>
    /// <exception cref="ArgumentException">No bars.</exception>
    public static void SavePng(string title, IReadOnlyList<BarPanel> panels, string path)
    {
        var (plot, width, height) = Build(title, panels);
        plot.SavePng(path, width, height);
    }

    private static (Plot Plot, int Width, int Height) Build(string title, IReadOnlyList<BarPanel> panels)
    {
        if (!HasData(panels))
        {
            throw new ArgumentException("the chart has no bars", nameof(panels));
        }
        var series = panels.SelectMany(p => p.Groups).SelectMany(g => g.Bars).Select(b => b.Series).Distinct().ToList();
        var plot = new Plot();
        plot.Title(title);
        var bars = new List<ScottPlot.Bar>();
        var ticks = new List<Tick>();
        var whiskerX = new List<double>();
        var whiskerY = new List<double>();
        var whiskerLow = new List<double>();
        var whiskerHigh = new List<double>();
        double x = 0;
        foreach (var panel in panels)
        {
            var start = x;
            foreach (var group in panel.Groups)
            {
                foreach (var bar in group.Bars)
                {
                    var pos = x + series.IndexOf(bar.Series);
                    bars.Add(new ScottPlot.Bar { Position = pos, Value = bar.Value, FillColor = Palette[series.IndexOf(bar.Series) % Palette.Length], Size = 0.9 });
                    whiskerX.Add(pos);
                    whiskerY.Add(bar.Value);
                    whiskerLow.Add(Math.Max(0, bar.Value - bar.Low));
                    whiskerHigh.Add(Math.Max(0, bar.High - bar.Value));
                }
                ticks.Add(new Tick(x + ((series.Count - 1) / 2.0), group.Label));
                x += series.Count + 1;
            }
            var title2 = plot.Add.Text(panel.Title, (start + x - 2) / 2, 1.08);
            title2.LabelAlignment = Alignment.LowerCenter;
            title2.LabelBold = true;
            x += 1;
            plot.Add.VerticalLine(x - 1.5, color: Colors.Gray);
        }
        plot.Add.Bars(bars);
        var whiskers = new ScottPlot.Plottables.ErrorBar(whiskerX, whiskerY, null, null, yErrorsNegative: whiskerLow, yErrorsPositive: whiskerHigh) { Color = Colors.Black };
        plot.Add.Plottable(whiskers);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = ticks.Count > 4 ? 30 : 0;
        plot.Axes.SetLimits(-1, x - 1, 0, 1.2);
        plot.Axes.Left.Label.Text = "rate (95% CI whiskers)";
        foreach (var (s, i) in series.Select((s, i) => (s, i)))
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = s, FillColor = Palette[i % Palette.Length] });
        }
        plot.Legend.Alignment = Alignment.UpperRight;
        plot.ShowLegend();
        var width = Math.Max(480, (int)(x * 28) + 160);
        return (plot, width, 420);
    }
}
