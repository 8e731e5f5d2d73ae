using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Arena.Bugs;

/// <summary>
/// A bug's alternative crash titles, collected as syzbot deduplicates crashes (reference/crash-reports.md §7): two crashes are
/// the same bug when their titles are equal or their title + alt-title sets intersect.
/// </summary>
public static class AltTitles
{
    /// <summary>
    /// The alt titles of a bug: every distinct non-empty title of <paramref name="crashTitles"/> (syzbot's crash titles of the bug),
    /// and the title and alt titles our parser finds in <paramref name="crashReport"/>; without <paramref name="title"/> itself.
    /// Ordered as found, no duplicates.
    /// </summary>
    /// <param name="title">The bug's title.</param>
    /// <param name="crashTitles">Titles of the bug's crashes (nulls ignored).</param>
    /// <param name="crashReport">The bug's crash report text, or null.</param>
    /// <param name="extra">More titles (a bundle's <c>altTitles</c>), or null.</param>
    /// <returns>The alt titles.</returns>
    public static List<string> Collect(string title, IEnumerable<string?> crashTitles, string? crashReport, IEnumerable<string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(crashTitles);
        var seen = new HashSet<string>(StringComparer.Ordinal) { title };
        var list = new List<string>();
        void Add(string? t)
        {
            if (!string.IsNullOrWhiteSpace(t) && seen.Add(t.Trim()))
            {
                list.Add(t.Trim());
            }
        }
        foreach (var t in crashTitles)
        {
            Add(t);
        }
        if (!string.IsNullOrEmpty(crashReport) && CrashReportParser.Parse(System.Text.Encoding.UTF8.GetBytes(crashReport)) is { } rep)
        {
            Add(rep.Title);
            foreach (var t in rep.AltTitles)
            {
                Add(t);
            }
        }
        foreach (var t in extra ?? [])
        {
            Add(t);
        }
        return list;
    }

    /// <summary>Same crash: equal titles, or the title + alt-title sets of both sides intersect.</summary>
    /// <param name="titleA">First title.</param>
    /// <param name="altA">First alt titles (null = none).</param>
    /// <param name="titleB">Second title.</param>
    /// <param name="altB">Second alt titles (null = none).</param>
    /// <returns>True when they are the same crash.</returns>
    public static bool SameCrash(string titleA, IEnumerable<string>? altA, string titleB, IEnumerable<string>? altB)
    {
        var a = new HashSet<string>(altA ?? [], StringComparer.Ordinal) { titleA };
        return a.Contains(titleB) || (altB ?? []).Any(a.Contains);
    }
}
