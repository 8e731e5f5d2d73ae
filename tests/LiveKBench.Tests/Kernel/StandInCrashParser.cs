using System.Text;
using System.Text.RegularExpressions;
using LiveKBench.Kernel.CrashReports;
using LiveKBench.Kernel.Vm;

namespace LiveKBench.Tests.Kernel;

/// <summary>
/// TEMPORARY STAND-IN for CrashReportParser (being written on another branch): a grep over kernel oops lines,
/// good enough for the verdict and end-to-end tests here. Titles are the raw first oops line, not syzkaller titles;
/// "same crash" = the function named after " in " in the bug title appears in the report text.
/// Replace with <c>new CrashAnalyzer(b => CrashReportParser.Parse(b), CrashReportParser.IsSameCrash)</c> when merged.
/// </summary>
public static partial class StandInCrashParser
{
    /// <summary>The stand-in as a <see cref="CrashAnalyzer"/>.</summary>
    public static CrashAnalyzer Analyzer { get; } = new(Parse, IsSameCrash);

    /// <summary>First kernel oops line and the text after it; null when none. User-space "traps:" lines never match.</summary>
    public static CrashReport? Parse(byte[] console)
    {
        var text = Encoding.UTF8.GetString(console);
        var m = OopsLine().Match(text);
        if (!m.Success)
        {
            return null;
        }
        var end = Math.Min(text.Length, m.Index + 8000);
        return new CrashReport { Title = m.Value.TrimEnd(), Text = text[m.Index..end], StartPos = m.Index, EndPos = end };
    }

    /// <summary>Crude same-crash check: the function after the last " in " of the bug title occurs in the report.</summary>
    public static bool IsSameCrash(CrashReport report, string bugTitle, IEnumerable<string>? alt)
    {
        foreach (var t in new[] { bugTitle }.Concat(alt ?? []))
        {
            var k = t.LastIndexOf(" in ", StringComparison.Ordinal);
            if (k >= 0 && report.Text.Contains(t[(k + 4)..].Trim(), StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    [GeneratedRegex(@"(?m)^(BUG: |WARNING: |Oops: |general protection fault, |kernel BUG at |Kernel panic - not syncing|UBSAN: ).*$")]
    private static partial Regex OopsLine();
}
