using System.Globalization;
using System.Net;
using System.Text;

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
/// A hand-written SVG 1.1 grouped bar chart with confidence-interval whiskers (ScottPlot is not available here).
/// Panels sit side by side; the y axis is 0–100 % with grid lines every 20 %. Output is deterministic text.
/// </summary>
public static class SvgBarChart
{
    private static readonly string[] Palette = ["#4C78A8", "#F58518", "#54A24B", "#E45756", "#72B7B2", "#B279A2"];

    /// <summary>Renders the panels as an SVG document.</summary>
    /// <param name="title">Chart title.</param>
    /// <param name="panels">Panels (≥ 1).</param>
    /// <returns>SVG text (UTF-8, no external resources).</returns>
    public static string Render(string title, IReadOnlyList<BarPanel> panels)
    {
        const double barW = 22, gap = 18, left = 56, top = 56, plotH = 260, bottom = 110;
        var series = panels.SelectMany(p => p.Groups).SelectMany(g => g.Bars).Select(b => b.Series).Distinct().ToList();
        var panelWidths = panels.Select(p => Math.Max(160, (p.Groups.Count * ((series.Count * barW) + gap)) + gap)).ToList();
        var width = left + panelWidths.Sum() + (40 * panels.Count) + 20;
        var height = top + plotH + bottom;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"""<svg xmlns="http://www.w3.org/2000/svg" width="{width:0}" height="{height:0}" viewBox="0 0 {width:0} {height:0}" font-family="DejaVu Sans, Arial, sans-serif" font-size="11">""").Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"""<rect width="100%" height="100%" fill="white"/>""").Append('\n');
        sb.Append(CultureInfo.InvariantCulture, $"""<text x="{width / 2:0}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{Esc(title)}</text>""").Append('\n');
        // legend
        var lx = left;
        foreach (var (s, i) in series.Select((s, i) => (s, i)))
        {
            sb.Append(CultureInfo.InvariantCulture, $"""<rect x="{lx:0}" y="32" width="12" height="12" fill="{Palette[i % Palette.Length]}"/><text x="{lx + 16:0}" y="42">{Esc(s)}</text>""").Append('\n');
            lx += 30 + (7 * s.Length);
        }
        var x0 = left;
        for (var p = 0; p < panels.Count; p++)
        {
            var panel = panels[p];
            var pw = panelWidths[p];
            // axes and grid
            for (var t = 0; t <= 5; t++)
            {
                var y = top + plotH - (plotH * t / 5.0);
                sb.Append(CultureInfo.InvariantCulture, $"""<line x1="{x0:0}" y1="{y:0.#}" x2="{x0 + pw:0}" y2="{y:0.#}" stroke="#ddd"/>""");
                sb.Append(CultureInfo.InvariantCulture, $"""<text x="{x0 - 4:0}" y="{y + 4:0.#}" text-anchor="end">{t * 20}%</text>""").Append('\n');
            }
            sb.Append(CultureInfo.InvariantCulture, $"""<line x1="{x0:0}" y1="{top:0}" x2="{x0:0}" y2="{top + plotH:0}" stroke="#333"/>""");
            sb.Append(CultureInfo.InvariantCulture, $"""<line x1="{x0:0}" y1="{top + plotH:0}" x2="{x0 + pw:0}" y2="{top + plotH:0}" stroke="#333"/>""").Append('\n');
            sb.Append(CultureInfo.InvariantCulture, $"""<text x="{x0 + (pw / 2):0}" y="{top - 4:0}" text-anchor="middle" font-weight="bold">{Esc(panel.Title)}</text>""").Append('\n');
            var gx = x0 + gap;
            foreach (var g in panel.Groups)
            {
                foreach (var b in g.Bars)
                {
                    var si = series.IndexOf(b.Series);
                    var bx = gx + (si * barW);
                    var h = plotH * Clamp(b.Value);
                    sb.Append(CultureInfo.InvariantCulture, $"""<rect x="{bx:0.#}" y="{top + plotH - h:0.#}" width="{barW - 2:0}" height="{h:0.#}" fill="{Palette[si % Palette.Length]}"><title>{Esc(g.Label)} {Esc(b.Series)}: {b.Value:P1} [{b.Low:P1}, {b.High:P1}]</title></rect>""");
                    var cx = bx + ((barW - 2) / 2);
                    var yl = top + plotH - (plotH * Clamp(b.Low));
                    var yh = top + plotH - (plotH * Clamp(b.High));
                    sb.Append(CultureInfo.InvariantCulture, $"""<line x1="{cx:0.#}" y1="{yl:0.#}" x2="{cx:0.#}" y2="{yh:0.#}" stroke="#222" stroke-width="1.2"/>""");
                    sb.Append(CultureInfo.InvariantCulture, $"""<line x1="{cx - 4:0.#}" y1="{yl:0.#}" x2="{cx + 4:0.#}" y2="{yl:0.#}" stroke="#222"/><line x1="{cx - 4:0.#}" y1="{yh:0.#}" x2="{cx + 4:0.#}" y2="{yh:0.#}" stroke="#222"/>""").Append('\n');
                }
                var labelX = gx + (series.Count * barW / 2);
                sb.Append(CultureInfo.InvariantCulture, $"""<text transform="translate({labelX:0.#},{top + plotH + 12:0}) rotate(35)" text-anchor="start">{Esc(g.Label)}</text>""").Append('\n');
                gx += (series.Count * barW) + gap;
            }
            x0 += pw + 40;
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    private static double Clamp(double v) => double.IsFinite(v) ? Math.Clamp(v, 0, 1) : 0;

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}
