using System.Text;
using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Tests.CrashReports;

/// <summary>
/// The parser must never throw on arbitrary bytes and must stay bounded. No wall-clock time is asserted: every regex
/// carries a match timeout (which would surface as an exception if the parser let it escape) and the tests only
/// assert that parsing completes with sane results.
/// </summary>
public sealed class HostileInputTests
{
    private static void ParseEverything(byte[] input, bool all = true)
    {
        var rep = CrashReportParser.Parse(input);
        Assert.Equal(rep is not null, CrashReportParser.ContainsCrash(input) && rep is not null);
        if (rep is not null)
        {
            Assert.InRange(rep.StartPos, 0, input.Length);
            Assert.InRange(rep.EndPos, rep.StartPos, input.Length);
            Assert.False(string.IsNullOrEmpty(rep.Title));
        }
        if (!all)
        {
            return;
        }
        var reports = CrashReportParser.ParseAll(input);
        if (rep is not null)
        {
            Assert.NotEmpty(reports);
            Assert.Equal(rep.Title, reports[0].Title);
        }
    }

    [Fact]
    public void EmptyInput_ReturnsNull()
    {
        Assert.Null(CrashReportParser.Parse([]));
        Assert.Empty(CrashReportParser.ParseAll([]));
        Assert.False(CrashReportParser.ContainsCrash([]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomBytes_DoNotThrow(int seed)
    {
        var rnd = new Random(seed);
        var buf = new byte[1 << 20];
        rnd.NextBytes(buf);
        ParseEverything(buf);
    }

    [Fact]
    public void RandomBytesWithOopsHeaders_DoNotThrow()
    {
        var rnd = new Random(7);
        var sb = new StringBuilder();
        string[] pieces = ["BUG: ", "WARNING: ", "INFO: ", "Call Trace:\n", "RIP: 0010:", "general protection fault", "Kernel panic - not syncing: ",
            "[  1.000000][ T1] ", "\n", " ? ", "+0x1/0x2", "KASAN: ", "in ", "kernel BUG at ", "panic: ", "SYZFAIL:", "\0", "\xff"];
        for (var i = 0; i < 200_000; i++)
        {
            sb.Append(pieces[rnd.Next(pieces.Length)]);
            if (rnd.Next(4) == 0)
            {
                sb.Append((char)rnd.Next(256));
            }
        }
        // Nearly every line is an oops here, so only the first report is parsed (ParseAll is O(reports x window)).
        ParseEverything(Encoding.Latin1.GetBytes(sb.ToString()), all: false);
    }

    [Fact]
    public void NulBytes_DoNotThrow()
    {
        var buf = new byte[1 << 20];
        ParseEverything(buf);
        var withCrash = Encoding.Latin1.GetBytes("\0\0\0[    1.000000] BUG: KASAN: use-after-free in foo+0x1/0x2\0\0\n\0Read of size 8\0\n\0");
        ParseEverything(withCrash);
    }

    [Fact]
    public void InvalidUtf8_IsHandledAsBytes()
    {
        var head = "[    1.000000] general protection fault: 0000 [#1] SMP KASAN\n[    1.000001] RIP: 0010:f\xc3\x28oo+0x1/0x2\n"u8.ToArray();
        byte[] bad = [0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xff, 0xfe, 0x0a];
        var buf = head.Concat(bad).Concat(bad).ToArray();
        var rep = CrashReportParser.Parse(buf);
        Assert.NotNull(rep);
        Assert.StartsWith("general protection fault", rep.Title, StringComparison.Ordinal);
        foreach (var c in rep.Title)
        {
            Assert.InRange(c, ' ', '~');
        }
    }

    [Fact]
    public void SingleHugeLine_DoesNotThrow()
    {
        var buf = new byte[50 << 20];
        buf.AsSpan().Fill((byte)'a');
        ParseEverything(buf, all: false);
        // The same line with an oops header in the middle: one giant line is the whole report.
        " WARNING: CPU: 0 PID: 1 at a.c:1 "u8.CopyTo(buf.AsSpan(25 << 20));
        var rep = CrashReportParser.Parse(buf);
        Assert.NotNull(rep);
        Assert.Equal(0, rep.StartPos);
        Assert.Equal(buf.Length, rep.EndPos);
    }

    [Fact]
    public void PathologicalLines_AgainstRegexes_Complete()
    {
        var sb = new StringBuilder();
        // Long runs that make naive backtracking patterns explode: many "in " and ".", unterminated
        // KASAN headers waiting for a "Read of size", nested brackets and login prefixes.
        sb.Append("BUG: KASAN: use-after-free in ");
        sb.Append(string.Concat(Enumerable.Repeat("a.", 100_000)));
        sb.Append('\n');
        for (var i = 0; i < 2000; i++)
        {
            sb.Append(new string(' ', 200)).Append("in in in in ").Append(new string('x', 100)).Append('\n');
        }
        sb.Append(string.Concat(Enumerable.Repeat(" login: [", 50_000))).Append('\n');
        sb.Append("WARNING: ").Append(string.Concat(Enumerable.Repeat(" at a.c:1 ", 50_000))).Append('\n');
        sb.Append("INFO: task ").Append(new string(':', 100_000)).Append(" blocked for more than\n");
        sb.Append("Call Trace:\n").Append(string.Concat(Enumerable.Repeat("[<ffffffff>] ", 50_000))).Append('\n');
        ParseEverything(Encoding.Latin1.GetBytes(sb.ToString()));
    }

    [Fact]
    public void ManyOopsLines_ParseAllTerminates()
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 300; i++)
        {
            sb.Append("[  ").Append(i).Append(".000000] WARNING: CPU: 0 PID: 1 at a.c:1 foo").Append(i % 7).Append("+0x1/0x2\n");
        }
        var all = CrashReportParser.ParseAll(Encoding.Latin1.GetBytes(sb.ToString()));
        Assert.Equal(300, all.Count);
        Assert.All(all, r => Assert.StartsWith("WARNING in ", r.Title, StringComparison.Ordinal));
    }

    [Fact]
    public void IsSameCrash_UsesTitleAndAltOverlap()
    {
        var gpf = new CrashReport { Title = "general protection fault in foo", AltTitles = ["bad-access in foo"] };
        var paging = new CrashReport { Title = "BUG: unable to handle kernel paging request in foo", AltTitles = ["bad-access in foo"] };
        var other = new CrashReport { Title = "general protection fault in bar", AltTitles = ["bad-access in bar"] };
        Assert.True(CrashReportParser.IsSameCrash(gpf, paging));
        Assert.False(CrashReportParser.IsSameCrash(gpf, other));
        Assert.True(CrashReportParser.IsSameCrash(gpf, "general protection fault in foo"));
        Assert.True(CrashReportParser.IsSameCrash(gpf, "x", ["bad-access in foo"]));
        Assert.False(CrashReportParser.IsSameCrash(gpf, "x", ["y"]));
    }
}
