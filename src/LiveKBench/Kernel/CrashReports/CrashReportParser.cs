using System.Text;
using System.Text.RegularExpressions;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>
/// Finds and titles kernel oopses in raw console output, compatible with syzkaller's pkg/report for Linux
/// (behaviour specified in shared/reference/crash-reports.md). Works on bytes, never throws on any input,
/// and runs in time linear in the input (a SIMD multi-string prefilter rejects most lines without any regex).
/// </summary>
public static class CrashReportParser
{
    private const int MaxTitleWindow = 1 << 20;
    private const int MaxSuppressedLine = 1 << 16;
    private const int MaxLineInReport = 1 << 18;

    /// <summary>
    /// How far past the start line the report text and EndPos are collected. syzkaller walks to the end of the output;
    /// bounding the walk keeps Parse linear and ParseAll at O(reports x window) on huge logs. Real reports are far smaller.
    /// </summary>
    private const int MaxReportSpan = 1 << 20;

    private static readonly OopsGroup[] Groups = LinuxOopses.Groups;
    private static readonly NeedleScanner HeaderScanner = new(Groups.Select(g => g.Header));
    /// <summary>
    /// Everything the report walk looks for in a line: oops headers, info-with-stack lines and its four content markers.
    /// One scan points at the lines that may hold one; every other line skips those checks.
    /// </summary>
    private static readonly NeedleScanner ReportScanner = new(
        Groups.Select(g => g.Header).Concat(LinuxOopses.InfoWithStack).Concat(
        ["Disabling lock debugging due to kernel taint", "Sending NMI from CPU", "Kernel panic - not syncing", "WARNING: possible circular locking dependency detected"]));
    private static readonly byte[] ReplayMarker = "** replaying previous printk message **"u8.ToArray();
    private static readonly byte[] PanicMarker = "Kernel panic - not syncing"u8.ToArray();
    private static readonly byte[] VmDisconnected = "serialport: VM disconnected."u8.ToArray();
    private static readonly byte[][] ReportStartIgnores = [.. LinuxOopses.ReportStartIgnores.Select(s => Encoding.Latin1.GetBytes(s))];
    private static readonly byte[][] InfoWithStack = [.. LinuxOopses.InfoWithStack.Select(s => Encoding.Latin1.GetBytes(s))];
    private static readonly Regex TimestampRe = new(@"\[ *[0-9]+\.[0-9]+\]", RegexOptions.CultureInvariant, Rx.Timeout);
    private static readonly Regex ExecutorRe = new(@" Comm: syz\.([0-9]+)\.([0-9]+) ", RegexOptions.CultureInvariant, Rx.Timeout);
    /// <summary>Stack markers of the corruption check (crash-reports.md §3.10), in order; each finds its leftmost match.</summary>
    internal static readonly CorruptionMarker[] CorruptionStacks = BuildCorruptionStacks();

    /// <summary>A stack marker of the corruption check: its regex and a finder of its leftmost match.</summary>
    internal sealed record CorruptionMarker(Regex Regex, Func<string, Match?> Find, bool Riscv);

    private static CorruptionMarker[] BuildCorruptionStacks()
    {
        var hinted = new HintedRegex(@"(?:^|[^k] )backtrace(?: \(crc [0-9a-f]+\))?:", "backtrace", 2);
        var riscv = Rx.Guard(Rx.C("(?m)" + LinuxOopses.RiscvStart), "status: ");
        return
        [
            Plain(@"Call (?:T|t)race:", "Call Trace:", "Call trace:"),
            Plain(@"Allocated:", "Allocated:"),
            Plain(@"Allocated by task [0-9]+:", "Allocated by task "),
            Plain(@"Freed:", "Freed:"),
            Plain(@"Freed by task [0-9]+:", "Freed by task "),
            new(hinted.Regex, hinted.Find, false),
            Plain(@"Backtrace:", "Backtrace:"),
            Plain(@"Uninit was stored to memory at", "Uninit was stored to memory at"),
            Plain(@"Uninit was created at", "Uninit was created at"),
            Plain(@"Local variable .* created at", "Local variable "),
            // Multiline "^ *" would make .NET try every line start: the guard looks for the literal first.
            new(riscv, text => Rx.Find(riscv, text), true),
        ];
    }

    private static CorruptionMarker Plain(string pattern, params string[] literals)
    {
        var re = Rx.Guard(Rx.C(pattern), literals);
        return new(re, text => Rx.Find(re, text), false);
    }

    private static readonly (byte[] Literal, Regex? Re)[] Suppressions =
    [
        (L("panic: failed to start executor binary"), null),
        (L("panic: executor failed: pthread_create failed"), null),
        (L("panic: failed to create temp dir"), null),
        (L("fatal error: unexpected signal during runtime execution"), null),
        (L("signal SIGBUS: bus error"), null),
        (L("SYZFAIL: SIGBUS"), null),
        (L("Out of memory: Kill process "), Rx.C(@"Out of memory: Kill process .* \((?:syz-executor|sshd)\)")),
        (L("Killed process "), Rx.C(@"Killed process .* \((?:syz-executor|sshd)\)")),
        (L("lowmemorykiller: Killing 'syz-executor'"), null),
        (L("lowmemorykiller: Killing 'sshd'"), null),
        (L("INIT: PANIC: segmentation violation!"), null),
        (L("*** stack smashing detected ***: terminated"), null),
        (L("fatal error: runtime: out of memory"), null),
        (L("fatal error: runtime: cannot allocate memory"), null),
        (L("fatal error: out of memory"), null),
        (L("fatal error: newosproc"), null),
        (L("panic: "), Rx.C(@"panic: .*cannot allocate memory")),
    ];

    private static readonly NeedleScanner SuppressionScanner = new(Suppressions.Select(s => Encoding.Latin1.GetString(s.Literal)));

    private static byte[] L(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>Parses the first crash report in <paramref name="consoleOutput"/>, or returns null when there is none.</summary>
    public static CrashReport? Parse(ReadOnlySpan<byte> consoleOutput) => ParseFrom(consoleOutput, 0, null);

    /// <summary>Parses the first crash report in <paramref name="consoleOutput"/>, or returns null when there is none.</summary>
    public static CrashReport? Parse(byte[] consoleOutput) => Parse(consoleOutput.AsSpan());

    /// <summary>Reads a console log file and parses its first crash report.</summary>
    public static CrashReport? ParseFile(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>True if any line of the output looks like the start of an oops.</summary>
    public static bool ContainsCrash(ReadOnlySpan<byte> consoleOutput)
    {
        var pos = 0;
        while (pos < consoleOutput.Length)
        {
            var hit = HeaderScanner.Next(consoleOutput, pos);
            if (hit < 0)
            {
                return false;
            }
            var ls = ConsoleLines.LineStart(consoleOutput, hit);
            var le = ConsoleLines.LineEnd(consoleOutput, hit);
            if (MatchOops(consoleOutput[ls..le]) is not null)
            {
                return true;
            }
            pos = le + 1;
        }
        return false;
    }

    /// <summary>Parses all reports: the first one, then each following one after the previous start line.</summary>
    public static IReadOnlyList<CrashReport> ParseAll(ReadOnlySpan<byte> consoleOutput)
    {
        var list = new List<CrashReport>();
        var pos = 0;
        var facts = OutputFacts.Of(consoleOutput);
        while (pos < consoleOutput.Length)
        {
            var rep = ParseFrom(consoleOutput, pos, facts);
            if (rep is null)
            {
                break;
            }
            list.Add(rep);
            pos = rep.SkipPos;
        }
        return list;
    }

    /// <summary>True if the report is the same bug as one titled <paramref name="bugTitle"/> (title or alt-title overlap, as syzbot merges).</summary>
    public static bool IsSameCrash(CrashReport a, string bugTitle, IEnumerable<string>? bugAltTitles = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        var mine = new HashSet<string>(a.AltTitles, StringComparer.Ordinal) { a.Title };
        if (mine.Contains(bugTitle))
        {
            return true;
        }
        return bugAltTitles is not null && bugAltTitles.Any(mine.Contains);
    }

    /// <summary>True if two reports are the same bug: equal titles or any overlap of title plus alt titles.</summary>
    public static bool IsSameCrash(CrashReport a, CrashReport b)
    {
        ArgumentNullException.ThrowIfNull(b);
        return IsSameCrash(a, b.Title, b.AltTitles);
    }

    /// <summary>Parses the first report that starts at or after byte offset <paramref name="min"/>; positions are relative to the whole output.</summary>
    public static CrashReport? ParseFrom(ReadOnlySpan<byte> consoleOutput, int min) => ParseFrom(consoleOutput, min, null);

    /// <summary>
    /// Properties of the whole output that every report of it shares (computed once by <see cref="ParseAll"/>, so that
    /// parsing many reports does not rescan the whole output for each).
    /// </summary>
    /// <param name="Suppressed">A suppression message occurs anywhere in the output.</param>
    /// <param name="Disconnected">The output contains the GCE serial-port hang-up line.</param>
    /// <param name="LastPanic">Offset of the last <c>Kernel panic - not syncing</c>, or -1.</param>
    private sealed record OutputFacts(bool Suppressed, bool Disconnected, int LastPanic)
    {
        public static OutputFacts Of(ReadOnlySpan<byte> output) =>
            new(IsSuppressed(output), output.IndexOf(VmDisconnected) >= 0, output.LastIndexOf(PanicMarker));
    }

    private static CrashReport? ParseFrom(ReadOnlySpan<byte> consoleOutput, int min, OutputFacts? facts)
    {
        if (min < 0 || min >= consoleOutput.Length)
        {
            return null;
        }
        var buf = consoleOutput[min..];
        var start = FindStart(buf);
        if (start is null)
        {
            return null;
        }
        var (startPos, group, ctx) = start.Value;
        var rep = FindReport(buf, startPos, group, ctx);
        var startLineEnd = ConsoleLines.LineEnd(buf, startPos);
        var skipPos = startLineEnd;
        var endPos = Math.Max(rep.EndPos, skipPos);

        var reportNoPrefix = rep.Report.ToString();
        var windowLength = Math.Min(rep.ReportEnd, MaxTitleWindow);
        var window = windowLength == reportNoPrefix.Length ? reportNoPrefix : reportNoPrefix[..windowLength];
        var title = ExtractDescription(window, group, out var alts, out var corrupted, out var format);
        if (title.Length == 0)
        {
            var raw = ConsoleLines.Latin1(buf[startPos..Math.Min(endPos, startPos + MaxTitleWindow)]);
            title = ExtractDescription(raw, group, out alts, out corrupted, out format);
        }
        if (title.Length == 0)
        {
            title = "corrupted report";
            corrupted = "no title";
        }
        var reportText = rep.Prefix + reportNoPrefix;
        if (corrupted.Length == 0)
        {
            corrupted = IsCorrupted(title, reportNoPrefix, format);
        }

        title = TitleRules.Sanitise(TitleRules.Normalise(title.Length > 4096 ? title[..4096] : title));
        var altList = alts.Select(a => TitleRules.Sanitise(TitleRules.Normalise(a.Length > 4096 ? a[..4096] : a))).ToList();
        altList.Sort(StringComparer.Ordinal);

        var isCorrupted = corrupted.Length > 0 || (facts?.Disconnected ?? consoleOutput.IndexOf(VmDisconnected) >= 0);
        var type = TitleRules.TitleToType(title);
        var execMatch = Rx.Find(ExecutorRe, reportText);
        var executor = "";
        if (execMatch is not null
            && long.TryParse(execMatch.Groups[1].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var proc)
            && long.TryParse(execMatch.Groups[2].Value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            executor = $"proc={proc}, id={id}";
        }
        return new CrashReport
        {
            Title = title,
            AltTitles = altList,
            Type = type.Length == 0 ? "UNKNOWN" : type,
            Frame = TitleRules.FrameOf(title),
            Corrupted = isCorrupted,
            CorruptedReason = corrupted,
            Suppressed = facts?.Suppressed ?? IsSuppressed(consoleOutput),
            Panicked = facts is null ? buf.IndexOf(PanicMarker) >= 0 : facts.LastPanic >= min,
            Executor = executor,
            StartPos = min + startPos,
            EndPos = min + endPos,
            SkipPos = min + skipPos,
            Text = reportText,
        };
    }

    private static bool IsSuppressed(ReadOnlySpan<byte> output)
    {
        // One pass for all literals; at each hit, every literal found there is checked (with its regex, if any).
        var pos = 0;
        while (pos < output.Length)
        {
            var at = SuppressionScanner.Next(output, pos);
            if (at < 0)
            {
                return false;
            }
            var rest = output[at..];
            foreach (var (lit, re) in Suppressions)
            {
                if (!rest.StartsWith(lit))
                {
                    continue;
                }
                if (re is null)
                {
                    return true;
                }
                var le = ConsoleLines.LineEnd(output, at);
                if (Rx.IsMatch(re, ConsoleLines.Latin1(output[at..le])))
                {
                    return true;
                }
            }
            pos = at + 1;
        }
        return false;
    }

    private static OopsGroup? MatchOops(ReadOnlySpan<byte> line)
    {
        string? text = null;
        foreach (var g in Groups)
        {
            if (line.IndexOf(g.HeaderBytes) < 0)
            {
                continue;
            }
            var suppressed = false;
            foreach (var s in g.Suppressions)
            {
                text ??= ConsoleLines.Latin1(line.Length > MaxSuppressedLine ? line[..MaxSuppressedLine] : line);
                if (Rx.IsMatch(s, text))
                {
                    suppressed = true;
                    break;
                }
            }
            if (!suppressed)
            {
                return g;
            }
        }
        return null;
    }

    private static bool NextLineIsReplay(ReadOnlySpan<byte> buf, int lineEnd)
    {
        if (lineEnd >= buf.Length)
        {
            return false;
        }
        var ne = ConsoleLines.LineEnd(buf, lineEnd + 1);
        return buf[(lineEnd + 1)..ne].IndexOf(ReplayMarker) >= 0;
    }

    private readonly record struct Context(int Kind, string Id)
    {
        public static Context Of(ReadOnlySpan<byte> line)
        {
            if (!ConsoleLines.ParseContext(line, out var cs, out var cl))
            {
                return new Context(0, "");
            }
            return cl == 0 ? new Context(1, "") : new Context(2, ConsoleLines.Latin1(line.Slice(cs, cl)));
        }

        public bool Matches(ReadOnlySpan<byte> line, out bool hasContext)
        {
            if (!ConsoleLines.ParseContext(line, out var cs, out var cl))
            {
                hasContext = false;
                return Kind == 0;
            }
            hasContext = true;
            if (cl == 0)
            {
                return Kind == 1;
            }
            if (Kind != 2 || cl != Id.Length)
            {
                return false;
            }
            var s = line.Slice(cs, cl);
            for (var i = 0; i < cl; i++)
            {
                if (s[i] != Id[i])
                {
                    return false;
                }
            }
            return true;
        }

        public bool IsTask => Kind == 2 && Id.Contains('T', StringComparison.Ordinal);
    }

    private static (int StartPos, OopsGroup Group, Context Ctx)? FindStart(ReadOnlySpan<byte> buf)
    {
        var pos = 0;
        while (pos < buf.Length)
        {
            var hit = HeaderScanner.Next(buf, pos);
            if (hit < 0)
            {
                return null;
            }
            var ls = ConsoleLines.LineStart(buf, hit);
            var le = ConsoleLines.LineEnd(buf, hit);
            var g = MatchOops(buf[ls..le]);
            if (g is not null && !NextLineIsReplay(buf, le))
            {
                return (ls, g, Context.Of(buf[ls..le]));
            }
            pos = le + 1;
        }
        return null;
    }

    private sealed class Found
    {
        public string Prefix = "";
        public StringBuilder Report = new();
        public int ReportEnd;
        public int EndPos;
    }

    private static bool IsCpuContext(ReadOnlySpan<byte> line) =>
        ConsoleLines.ParseContext(line, out var cs, out var cl) && cl > 0 && line.Slice(cs, cl).Contains((byte)'C');

    private static Found FindReport(ReadOnlySpan<byte> buf, int startPos, OopsGroup group, Context ctx)
    {
        _ = group;
        var res = new Found();
        var maxPrefix = ctx.IsTask ? 50 : 5;

        // Prefix lines: the last maxPrefix lines before the start with the same context.
        var prefix = new List<string>();
        var p = startPos;
        while (p > 0 && prefix.Count < maxPrefix)
        {
            var le = p - 1;
            var ls = ConsoleLines.LineStart(buf, le);
            var line = buf[ls..le];
            p = ls;
            if (!ctx.Matches(line, out var hc))
            {
                continue;
            }
            var stripped = ConsoleLines.Strip(line, hc, out var questionable);
            if (stripped.Length > 0 && !questionable)
            {
                prefix.Add(stripped);
            }
        }
        prefix.Reverse();
        var psb = new StringBuilder();
        foreach (var l in prefix)
        {
            psb.Append(l).Append('\n');
        }
        res.Prefix = psb.ToString();

        var minLines = 22;
        var secondReportPos = 0;
        var textLines = 0;
        var skipText = false;
        var cpuTraceback = false;
        var report = res.Report;
        var limit = (int)Math.Min(buf.Length, (long)startPos + MaxReportSpan);
        var nextHit = ReportScanner.Next(buf[..limit], startPos);
        var pos = startPos;
        while (pos < limit)
        {
            var le = ConsoleLines.LineEnd(buf, pos);
            var line = buf[pos..le];
            var isOopsLine = pos == startPos;
            var lineHasHit = nextHit >= 0 && nextHit < le;
            if (lineHasHit)
            {
                var g = MatchOops(line);
                if (g is not null && !NextLineIsReplay(buf, le))
                {
                    res.EndPos = le;
                }
                if (!isOopsLine && secondReportPos == 0)
                {
                    var second = false;
                    if (g is not null && !NextLineIsReplay(buf, le))
                    {
                        second = true;
                        foreach (var ig in ReportStartIgnores)
                        {
                            if (line.IndexOf(ig) >= 0)
                            {
                                second = false;
                                break;
                            }
                        }
                    }
                    if (!second)
                    {
                        foreach (var info in InfoWithStack)
                        {
                            if (line.IndexOf(info) >= 0)
                            {
                                second = true;
                                break;
                            }
                        }
                    }
                    if (second)
                    {
                        secondReportPos = pos;
                    }
                }
                nextHit = le + 1 < limit ? ReportScanner.Next(buf[..limit], le + 1) : -1;
            }
            pos = le + 1;

            if (line.Length > MaxLineInReport)
            {
                line = line[..MaxLineInReport];
            }
            var sameCtx = ctx.Matches(line, out var hasCtx);
            var (strippedStart, strippedLength) = ConsoleLines.StripRange(line, hasCtx, out var questionable);
            if (isOopsLine)
            {
                if (line.IndexOf("BUG: KMSAN:"u8) >= 0)
                {
                    minLines = 16;
                }
            }
            else
            {
                if (questionable)
                {
                    continue;
                }
                // A line of another context is kept only in a CPU traceback (after "Sending NMI"), from a CPU context.
                if (!sameCtx && !(cpuTraceback && IsCpuContext(line)))
                {
                    continue;
                }
            }
            textLines++;
            var skipLine = skipText;
            if (!lineHasHit)
            {
                // No content marker in this line.
            }
            else if (line.IndexOf("Disabling lock debugging due to kernel taint"u8) >= 0)
            {
                skipLine = true;
            }
            else if (line.IndexOf("Sending NMI from CPU"u8) >= 0)
            {
                cpuTraceback = true;
            }
            else if ((line.IndexOf(PanicMarker) >= 0 || line.IndexOf("WARNING: possible circular locking dependency detected"u8) >= 0)
                && textLines > minLines)
            {
                skipText = true;
                skipLine = true;
            }
            if (!skipLine || isOopsLine)
            {
                ConsoleLines.AppendLatin1(report, line.Slice(strippedStart, strippedLength));
                report.Append('\n');
            }
            if (secondReportPos == 0 || ctx.Kind == 2)
            {
                res.ReportEnd = report.Length;
            }
        }
        return res;
    }

    private static string Format(string fmt, List<string> args)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (i < fmt.Length)
        {
            if (fmt[i] == '%' && i + 1 < fmt.Length && fmt[i + 1] == '[')
            {
                var close = fmt.IndexOf(']', i + 2);
                if (close > 0 && close + 1 < fmt.Length && (fmt[close + 1] == 'v' || fmt[close + 1] == 's')
                    && int.TryParse(fmt.AsSpan(i + 2, close - i - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n))
                {
                    sb.Append(n >= 1 && n <= args.Count ? args[n - 1] : "%!v(BADINDEX)");
                    i = close + 2;
                    continue;
                }
            }
            sb.Append(fmt[i]);
            i++;
        }
        return sb.ToString();
    }

    private static string ExtractDescription(string w, OopsGroup group, out List<string> alts, out string corrupted, out OopsFormat? format)
    {
        var startPos = w.Length;
        var desc = "";
        corrupted = "";
        alts = [];
        format = null;
        var matchedTitle = false;
        WindowLines? windowLines = null;
        foreach (var f in group.Formats)
        {
            // Once a title matched at startPos, a format can only compete if its leading literal occurs by then.
            if (startPos < w.Length && f.TitleLiteral.Length > 0
                && w.AsSpan(0, Math.Min(w.Length, startPos + f.TitleLiteral.Length)).IndexOf(f.TitleLiteral, StringComparison.Ordinal) < 0)
            {
                continue;
            }
            var m = Rx.Find(f.Title, w);
            if (m is null || m.Index > startPos)
            {
                continue;
            }
            if (m.Index == startPos && desc.Length > 0)
            {
                continue;
            }
            if (m.Index < startPos)
            {
                desc = "";
                format = null;
                startPos = m.Index;
            }
            matchedTitle = true;
            var match = m;
            if (f.Report is not null)
            {
                match = Rx.Find(f.Report, w);
                if (match is null)
                {
                    continue;
                }
            }
            var args = new List<string>();
            for (var gi = 1; gi < match.Groups.Count; gi++)
            {
                args.Add(match.Groups[gi].Success ? match.Groups[gi].Value : "");
            }
            corrupted = "";
            List<string> rawFrames = [];
            if (f.Stack is not null)
            {
                var (frames, raws, ok) = StackFrames.Extract(f.Stack, windowLines ??= new WindowLines(w), match.Index);
                args.AddRange(frames);
                rawFrames = raws;
                if (!ok)
                {
                    corrupted = "extracted no frames";
                }
            }
            desc = Format(f.Fmt, args);
            var newAlts = new List<string>();
            foreach (var a in f.Alt)
            {
                newAlts.Add(Format(a, args));
            }
            if (rawFrames.Count > 0)
            {
                var baseArgs = args.Take(args.Count - rawFrames.Count).ToList();
                var lists = new List<List<string>>();
                lists.Add([.. baseArgs, .. rawFrames]);
                foreach (var prefix in LinuxOopses.StripPrefixes)
                {
                    var changed = false;
                    var l = new List<string>(baseArgs);
                    foreach (var rf in rawFrames)
                    {
                        if (rf.StartsWith(prefix, StringComparison.Ordinal))
                        {
                            l.Add(rf[prefix.Length..]);
                            changed = true;
                        }
                        else
                        {
                            l.Add(rf);
                        }
                    }
                    if (changed)
                    {
                        lists.Add(l);
                    }
                }
                foreach (var l in lists)
                {
                    var t = Format(f.Fmt, l);
                    if (t != desc)
                    {
                        newAlts.Add(t);
                    }
                    foreach (var a in f.Alt)
                    {
                        newAlts.Add(Format(a, l));
                    }
                }
            }
            alts = [.. newAlts.Distinct(StringComparer.Ordinal)];
            format = f;
        }
        if (desc.Length == 0)
        {
            if (matchedTitle)
            {
                corrupted = "matched title but not report regexp";
            }
            var hi = w.IndexOf(group.Header, StringComparison.Ordinal);
            if (hi >= 0)
            {
                var eol = w.IndexOf('\n', hi);
                desc = eol < 0 ? w[hi..] : w[hi..eol];
            }
            format = null;
        }
        if (corrupted.Length == 0 && format is not null && format.Corrupted)
        {
            corrupted = "report format is marked as corrupted";
        }
        return desc;
    }

    private static string IsCorrupted(string title, string report, OopsFormat? format)
    {
        if (Rx.Find(TimestampRe, title) is not null)
        {
            return "title contains a timestamp";
        }
        if (format is null || format.NoStackTrace)
        {
            return "";
        }
        var hasStack = false;
        foreach (var (_, find, riscv) in CorruptionStacks)
        {
            var m = find(report);
            if (m is null)
            {
                continue;
            }
            // The report from the match on must have at least 4 lines (3 newlines).
            var newlines = 0;
            for (var p = report.IndexOf('\n', m.Index); p >= 0 && newlines < 3; p = report.IndexOf('\n', p + 1))
            {
                newlines++;
            }
            if (newlines < 3)
            {
                return "call trace is missed";
            }
            // Lines 1..15 after the match line: a frame (or "stack is not available") before the next stack marker.
            var found = false;
            var end = report.IndexOf('\n', m.Index);
            for (var i = 1; i <= 15 && end >= 0; i++)
            {
                var ls = end + 1;
                end = report.IndexOf('\n', ls);
                var line = end < 0 ? report[ls..] : report[ls..end];
                var stop = false;
                foreach (var marker in CorruptionStacks)
                {
                    if (marker.Find(line) is not null)
                    {
                        stop = true;
                        break;
                    }
                }
                if (stop)
                {
                    break;
                }
                if (line.Contains("(stack is not available)", StringComparison.Ordinal) || StackFrames.IsFrame(line))
                {
                    found = true;
                    break;
                }
            }
            if (!found && !riscv)
            {
                return "no frames in a stack trace";
            }
            hasStack = true;
        }
        return hasStack ? "" : "no stack trace in report";
    }
}
