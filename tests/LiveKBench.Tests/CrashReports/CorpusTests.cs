using System.Text;
using LiveKBench.Kernel.CrashReports;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.CrashReports;

/// <summary>
/// Every public syzkaller pkg/report test file is one case; asserts everything crash-reports.md §9 lists that the
/// file provides, plus the positional invariants.
/// </summary>
public sealed class CorpusTests
{
    private const string Sentinel = "<no-data>";

    /// <summary>One case per corpus file (name only, so discovery stays cheap); a sentinel when the data is absent.</summary>
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        var dir = Locate();
        if (dir is null)
        {
            data.Add(Sentinel);
            return data;
        }
        foreach (var f in Directory.GetFiles(dir)
                     .Select(Path.GetFileName)
                     .Where(n => n is { Length: > 0 } && n.All(char.IsAsciiDigit))
                     .OrderBy(n => int.Parse(n!, System.Globalization.CultureInfo.InvariantCulture)))
        {
            data.Add(f!);
        }
        return data;
    }

    private static string? Locate()
    {
        var env = Environment.GetEnvironmentVariable("KBENCH_SHARED_DATA");
        var root = !string.IsNullOrWhiteSpace(env) ? env : Path.Combine(SharedData.RepoRoot, "..", "shared", "data");
        var dir = Path.Combine(root, "syzkaller-reports", "linux", "report");
        return Directory.Exists(dir) ? dir : null;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void CorpusFile_MatchesExpectations(string name)
    {
        var dir = SharedData.Path("syzkaller-reports", "linux", "report");
        Assert.NotEqual(Sentinel, name);
        Check(dir, name);
    }

    private static void Check(string dir, string name)
    {
        var f = CorpusFile.Load(Path.Combine(dir, name));
        var log = f.Log;

        Assert.Equal(f.Title.Length > 0, CrashReportParser.ContainsCrash(log));
        var rep = CrashReportParser.Parse(log);
        if (rep is not null)
        {
            Assert.NotEqual("", rep.Title);
        }

        Assert.Equal(f.Title, rep?.Title ?? "");
        Assert.Equal(f.Corrupted, rep?.Corrupted ?? false);
        Assert.Equal(f.Suppressed, rep?.Suppressed ?? false);
        Assert.Equal(f.Panicked, rep?.Panicked ?? false);
        var type = rep is null || rep.Type == "UNKNOWN" ? "" : rep.Type;
        Assert.Equal(f.Type, type);
        Assert.Equal(f.AltTitles, rep?.AltTitles ?? []);
        if (f.Frame is not null)
        {
            Assert.Equal(f.Frame, rep?.Frame ?? "");
        }
        if (f.Report is not null)
        {
            Assert.Equal(f.Report, rep?.Text ?? "");
        }
        Assert.Equal(f.Executor, rep?.Executor ?? "");

        if (rep is null)
        {
            return;
        }
        Assert.NotEqual("", rep.Text);
        if (rep.StartPos != 0 && rep.EndPos != 0)
        {
            Assert.True(rep.StartPos < rep.EndPos, $"StartPos {rep.StartPos} < EndPos {rep.EndPos}");
        }
        Assert.True(rep.EndPos <= log.Length, "EndPos <= len(log)");
        Assert.True(rep.StartPos < rep.SkipPos && rep.SkipPos <= rep.EndPos, $"StartPos {rep.StartPos} < SkipPos {rep.SkipPos} <= EndPos {rep.EndPos}");
        if (f.StartLine is not null)
        {
            var start = log.AsSpan().IndexOf(Encoding.Latin1.GetBytes(f.StartLine));
            var end = log.AsSpan().IndexOf(Encoding.Latin1.GetBytes(f.EndLine!)) + f.EndLine!.Length;
            Assert.Equal(start, rep.StartPos);
            Assert.Equal(end, rep.EndPos);
        }
        if (rep.StartPos != 0)
        {
            var again = CrashReportParser.ParseFrom(log, rep.StartPos);
            Assert.NotNull(again);
            Assert.Equal(rep.Title, again.Title);
            Assert.Equal(rep.StartPos, again.StartPos);
            var after = CrashReportParser.ParseFrom(log, rep.EndPos);
            Assert.True(after is null || after.Title != rep.Title, "parsing from EndPos must not find the same crash");
        }
    }
}
