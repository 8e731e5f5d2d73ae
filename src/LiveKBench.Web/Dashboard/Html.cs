using System.Globalization;
using System.Net;
using System.Text;
using LiveKBench.Evaluation.Aggregation;

namespace LiveKBench.Web.Dashboard;

/// <summary>HTML building helpers; every text from the store goes through <see cref="E"/>.</summary>
internal static class Html
{
    /// <summary>HTML-escapes text (element content and quoted attribute values).</summary>
    public static string E(string? s) => WebUtility.HtmlEncode(s ?? "");

    /// <summary>A value in [0, 1] as a percentage with one decimal ("12.5").</summary>
    public static string Pct(double v) => (v * 100).ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>Round-trip text of a double (for data attributes compared by tests).</summary>
    public static string R(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A mean with its 95 % CI as a table cell: "12.5 [3.0, 25.0]" with data-mean/low/high attributes.</summary>
    public static string CiCell(string metric, MeanCi? ci)
        => ci is null ? $"""<td class="num" data-metric="{E(metric)}" data-sort="-1" title="not measured">—</td>""" : $"""<td class="num" data-metric="{E(metric)}" data-mean="{R(ci.Mean)}" data-low="{R(ci.CiLow)}" data-high="{R(ci.CiHigh)}" data-sort="{R(ci.Mean)}"><span class="mean">{Pct(ci.Mean)}</span> <span class="ci">[{Pct(ci.CiLow)}, {Pct(ci.CiHigh)}]</span></td>""";

    /// <summary>A date as yyyy-MM-dd, or "—".</summary>
    public static string Date(DateTime? d) => d is { } x ? x.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "—";

    /// <summary>Dollars with 4 decimals, or "—".</summary>
    public static string Money(double? d) => d is { } x ? "$" + x.ToString("F4", CultureInfo.InvariantCulture) : "—";

    /// <summary>A link.</summary>
    public static string A(string href, string text, string? cls = null)
        => $"""<a href="{E(href)}"{(cls is null ? "" : $" class=\"{cls}\"")}>{E(text)}</a>""";

    /// <summary>Preformatted text, escaped; longer text is cut to <paramref name="max"/> characters with a note.</summary>
    public static string Pre(string? text, string cls = "", int max = 400_000)
    {
        text ??= "";
        var note = "";
        if (text.Length > max)
        {
            note = $"""<p class="note">(first {max:N0} of {text.Length:N0} characters)</p>""";
            text = text[..max];
        }
        return $"""<pre class="{cls}">{E(text)}</pre>{note}""";
    }

    /// <summary>A unified diff with added/removed lines coloured (every line escaped).</summary>
    public static string Diff(string? patch)
    {
        if (string.IsNullOrEmpty(patch))
        {
            return """<p class="note">(empty patch)</p>""";
        }
        var sb = new StringBuilder("<pre class=\"diff\">");
        foreach (var line in patch.Split('\n'))
        {
            var cls = line.StartsWith("+++", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal) ? "fh"
                : line.StartsWith('+') ? "add" : line.StartsWith('-') ? "del" : line.StartsWith("@@", StringComparison.Ordinal) ? "hunk" : "";
            sb.Append(cls.Length == 0 ? "<span>" : $"<span class=\"{cls}\">").Append(E(line)).Append("</span>");
        }
        return sb.Append("</pre>").ToString();
    }
}
