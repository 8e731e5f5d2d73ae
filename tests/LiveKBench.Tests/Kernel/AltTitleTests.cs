using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Kernel.CrashReports;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Kernel;

/// <summary>Alt-title collection and same-crash matching on the real syzbot bugs and crash reports of syzbot-replay.</summary>
public class AltTitleTests
{
    public static TheoryData<string> Bugs()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(SharedData.Path("syzbot-replay", "day1", "bug"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(f));
        }
        return data;
    }

    private static (string Title, List<string?> CrashTitles, string? Report) Load(string key)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedData.Path("syzbot-replay", "day1", "bug", key + ".json")));
        var root = doc.RootElement;
        var crashes = root.GetProperty("crashes").EnumerateArray().ToList();
        string? report = null;
        if (crashes.Count > 0 && crashes[0].TryGetProperty("crash-report-link", out var link) && link.GetString() is { } l)
        {
            var x = l[(l.IndexOf("x=", StringComparison.Ordinal) + 2)..];
            var path = SharedData.Path("syzbot-replay", "texts", "CrashReport", x + ".txt");
            report = File.Exists(path) ? File.ReadAllText(path) : null;
        }
        return (root.GetProperty("title").GetString()!, [.. crashes.Select(c => c.TryGetProperty("title", out var t) ? t.GetString() : null)], report);
    }

    [Theory]
    [MemberData(nameof(Bugs))]
    public void EveryRealReportIsTheSameCrashAsItsBug(string key)
    {
        var (title, crashTitles, report) = Load(key);
        Assert.NotNull(report);
        var alt = AltTitles.Collect(title, crashTitles, report);
        Assert.DoesNotContain(title, alt);
        Assert.Equal(alt.Count, alt.Distinct(StringComparer.Ordinal).Count());
        var parsed = CrashReportParser.Parse(Encoding.UTF8.GetBytes(report!));
        Assert.NotNull(parsed);
        // The report, as our parser titles it, matches the bug through its title + alt titles.
        Assert.True(CrashReportParser.IsSameCrash(parsed!, title, alt));
        Assert.True(AltTitles.SameCrash(parsed!.Title, parsed.AltTitles, title, alt));
    }

    [Fact]
    public void ALocalTitleThatDiffersFromSyzbotsStillMatchesThroughAltTitles()
    {
        // The local bundle calls the crash by a slightly different title than syzbot; the syzbot title is an alt title.
        var (title, crashTitles, report) = Load("rxrpc_error_report");
        var local = "general protection fault in rxrpc_error_report (local)";
        var alt = AltTitles.Collect(local, [title, .. crashTitles], report);
        Assert.Contains(title, alt);
        var parsed = CrashReportParser.Parse(Encoding.UTF8.GetBytes(report!))!;
        Assert.False(CrashReportParser.IsSameCrash(parsed, local));
        Assert.True(CrashReportParser.IsSameCrash(parsed, local, alt));
    }

    [Fact]
    public void DifferentBugsWithSimilarTitlesAreNotTheSameCrash()
    {
        // syzbot keeps "memory leak in fdb_create" and "... (2)" apart; so do their real reports.
        var (t1, c1, r1) = Load("fdb_create");
        var (t2, c2, r2) = Load("nr_rx_frame");
        var a1 = AltTitles.Collect(t1, c1, r1);
        var a2 = AltTitles.Collect(t2, c2, r2);
        Assert.False(AltTitles.SameCrash(t1, a1, t2, a2));
        var p2 = CrashReportParser.Parse(Encoding.UTF8.GetBytes(r2!))!;
        Assert.False(CrashReportParser.IsSameCrash(p2, t1, a1));
    }

    [Fact]
    public void IntersectingAltTitleSetsAreTheSameCrash()
    {
        Assert.True(AltTitles.SameCrash("general protection fault in foo", ["bad-access in foo"], "KASAN: null-ptr-deref Read in foo", ["bad-access in foo"]));
        Assert.True(AltTitles.SameCrash("WARNING in bar", null, "WARNING in bar", null));
        Assert.False(AltTitles.SameCrash("WARNING in bar", ["x"], "WARNING in baz", ["y"]));
    }
}
