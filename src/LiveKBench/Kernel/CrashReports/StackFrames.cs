using System.Buffers;
using System.Text.RegularExpressions;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>Stack-frame extraction (crash-reports.md §3.8).</summary>
internal static class StackFrames
{
    public const int MaxLine = 1024;

    private static readonly Regex AnyStackStart = Combine(LinuxOopses.StackStartRes);
    private static readonly SearchValues<string> StackStartLiterals = SearchValues.Create([.. LinuxOopses.StackStarts.Select(s => s.Literal)], StringComparison.Ordinal);
    private static readonly Regex AnyCorrupted = Combine(LinuxOopses.CorruptedLines);
    private static readonly Regex GlobalSkip = new(string.Join("|", LinuxOopses.GlobalSkip), RegexOptions.CultureInvariant | RegexOptions.Compiled, Rx.Timeout);
    private static readonly Dictionary<string, bool> GlobalSkipCache = new(StringComparer.Ordinal);

    private static Regex Combine(Regex[] res) => new(
        string.Join("|", res.Select(r => "(?:" + r + ")")),
        RegexOptions.CultureInvariant | RegexOptions.Compiled | RegexOptions.ExplicitCapture,
        Rx.Timeout);

    /// <summary>
    /// True if the line is a stack frame for the corruption check, i.e. matches a <see cref="LinuxOopses.FrameRes"/> regex
    /// (at most the first <see cref="MaxLine"/> characters are looked at).
    /// </summary>
    public static bool IsFrame(string line) => FindFrame(LinuxOopses.FrameRes, line.Length > MaxLine ? line[..MaxLine] : line) is not null;

    /// <summary>
    /// The captured names (non-empty groups, in group order) of the first regex of <paramref name="res"/> (in table
    /// order) that matches the line, or null. <paramref name="res"/> is <see cref="LinuxOopses.FrameRes"/> or
    /// <see cref="LinuxOopses.StackFrameRes"/>. The first regex, the common "[&lt;pc&gt;] func+0x1/0x2" line, is matched
    /// by hand (<see cref="PlainFrameName"/>); the others are guarded (<see cref="Rx.Guard"/>) by their literals.
    /// </summary>
    private static string[]? FindFrame(Regex[] res, string line)
    {
        if (PlainFrameName(line) is { } name)
        {
            return [name];
        }
        for (var i = 1; i < res.Length; i++)
        {
            if (Rx.Find(res[i], line) is { } m)
            {
                return Captures(m);
            }
        }
        return null;
    }

    private static string[] Captures(Match m)
    {
        var names = new List<string>(m.Groups.Count - 1);
        for (var i = 1; i < m.Groups.Count; i++)
        {
            var g = m.Groups[i];
            if (g.Success && g.Length > 0)
            {
                names.Add(g.Value);
            }
        }
        return [.. names];
    }

    /// <summary>
    /// Group 1 of <see cref="LinuxOopses.FrameRes"/>[0], <c>^ *(?:{{PC}} ){0,2}{{FUNC}}</c>, or null when it does not
    /// match: spaces, at most two <c>[&lt;pc&gt;] </c> groups, then a name followed by <c>.</c> or <c>+</c>. No
    /// backtracking can change the outcome (each piece's successor cannot continue a shorter match), so one left-to-right
    /// pass gives the regex's answer.
    /// </summary>
    internal static string? PlainFrameName(string s)
    {
        var p = 0;
        while (p < s.Length && s[p] == ' ')
        {
            p++;
        }
        for (var k = 0; k < 2; k++)
        {
            var q = SkipPc(s, p);
            if (q < 0)
            {
                break;
            }
            p = q;
        }
        var start = p;
        while (p < s.Length && (char.IsAsciiLetterOrDigit(s[p]) || s[p] == '_'))
        {
            p++;
        }
        if (p == start || p >= s.Length || (s[p] != '.' && s[p] != '+'))
        {
            return null;
        }
        return s[start..p];
    }

    /// <summary>End of a <c>\[\&lt;?(?:0x)?[0-9a-f]+\&gt;?\] </c> group at <paramref name="p"/>, or -1.</summary>
    private static int SkipPc(string s, int p)
    {
        if (p >= s.Length || s[p] != '[')
        {
            return -1;
        }
        p++;
        if (p < s.Length && s[p] == '<')
        {
            p++;
        }
        // "0x" then hex digits; without "0x", the "0" would be followed by 'x', which no later piece accepts.
        if (p + 1 < s.Length && s[p] == '0' && s[p + 1] == 'x')
        {
            p += 2;
        }
        var digits = p;
        while (p < s.Length && char.IsAsciiHexDigitLower(s[p]))
        {
            p++;
        }
        if (p == digits)
        {
            return -1;
        }
        if (p < s.Length && s[p] == '>')
        {
            p++;
        }
        if (p + 1 >= s.Length || s[p] != ']' || s[p + 1] != ' ')
        {
            return -1;
        }
        return p + 2;
    }

    /// <summary>True if the frame is in the global skip list (memoised: frame names repeat a lot) or in the format's own list.</summary>
    private static bool Skipped(StackSpec spec, string name)
    {
        bool global;
        lock (GlobalSkipCache)
        {
            if (!GlobalSkipCache.TryGetValue(name, out global))
            {
                if (GlobalSkipCache.Count > 100_000)
                {
                    GlobalSkipCache.Clear();
                }
                global = Rx.IsMatch(GlobalSkip, name);
                GlobalSkipCache[name] = global;
            }
        }
        return global || (spec.ExtraSkipRe is { } extra && Rx.IsMatch(extra, name));
    }

    private static bool Any(Regex[] res, string line)
    {
        // Every match of these tables contains a known literal: lines without it are answered without a regex.
        if (ReferenceEquals(res, LinuxOopses.StackStartRes))
        {
            return line.AsSpan().IndexOfAny(StackStartLiterals) >= 0 && Rx.IsMatch(AnyStackStart, line);
        }
        if (ReferenceEquals(res, LinuxOopses.CorruptedLines))
        {
            return line.Contains(LinuxOopses.CorruptedLineLiteral, StringComparison.Ordinal) && Rx.IsMatch(AnyCorrupted, line);
        }
        foreach (var re in res)
        {
            if (Rx.IsMatch(re, line))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Canonical frames (one per stack), raw frames, and whether extraction was ok, for the text of
    /// <paramref name="window"/> from character <paramref name="index"/> on.
    /// </summary>
    public static (List<string> Frames, List<string> Raw, bool Ok) Extract(StackSpec spec, WindowLines window, int index)
    {
        var lines = window.From(index);
        var r = Run(spec, spec.Parts, lines);
        // Fall back to parts2 when a stack yielded no frame; a crossed fault-injection line alone keeps the result.
        if (!r.Ok && spec.Parts2 is not null && r.Frames.Contains("corrupted"))
        {
            r = Run(spec, spec.Parts2, lines);
        }
        return r;
    }

    public static string StripPrefix(string frame)
    {
        var best = frame;
        foreach (var p in LinuxOopses.StripPrefixes)
        {
            if (frame.StartsWith(p, StringComparison.Ordinal) && frame.Length - p.Length < best.Length)
            {
                best = frame[p.Length..];
            }
        }
        return best;
    }

    private static void Append(List<string> frames, Match m, StackSpec skip) => Append(frames, Captures(m), skip);

    private static void Append(List<string> frames, string[] captures, StackSpec skip)
    {
        foreach (var c in captures)
        {
            var name = Demangler.Filter(c);
            if (Skipped(skip, name))
            {
                continue;
            }
            frames.Add(name);
        }
    }

    private static (List<string> Frames, List<string> Raw, bool Ok) Run(StackSpec spec, Regex?[] parts, string[] lines)
    {
        var ok = true;
        var numStacks = 0;
        var current = new List<string>();
        var result = new List<string>();
        var raw = new List<string>();
        var li = 0;
        // The default extractor takes a stack's first frame: once a stack has one, later frame lines need no matching.
        var firstOnly = spec.Extractor is null;

        void Close()
        {
            var stripped = current.Select(StripPrefix).ToList();
            var (frame, idx) = (spec.Extractor ?? Extractors.First)(stripped);
            if (frame.Length == 0 || idx < 0)
            {
                result.Add("corrupted");
                raw.Add("corrupted");
                ok = false;
            }
            else
            {
                result.Add(frame);
                raw.Add(current[idx]);
            }
            current = [];
        }

        for (var pi = 0; pi < parts.Length; pi++)
        {
            var part = parts[pi];
            if (part is null)
            {
                if (numStacks > 0)
                {
                    Close();
                }
                numStacks++;
                for (; li < lines.Length; li++)
                {
                    var ln = lines[li];
                    if (Any(LinuxOopses.CorruptedLines, ln))
                    {
                        ok = false;
                        break;
                    }
                    if (Any(LinuxOopses.StackStartRes, ln))
                    {
                        li++;
                        break;
                    }
                    if (pi + 1 < parts.Length && parts[pi + 1] is { } next)
                    {
                        var nm = Rx.Find(next, ln);
                        if (nm is not null)
                        {
                            Append(current, nm, spec);
                            pi++;
                            li++;
                            break;
                        }
                    }
                    if ((!firstOnly || current.Count == 0) && FindFrame(LinuxOopses.StackFrameRes, ln) is { } fm)
                    {
                        Append(current, fm, spec);
                    }
                }
            }
            else
            {
                for (; li < lines.Length; li++)
                {
                    var ln = lines[li];
                    if (Any(LinuxOopses.CorruptedLines, ln))
                    {
                        // §3.8: a corrupting line ends this regex part; the next part continues after it.
                        ok = false;
                        li++;
                        break;
                    }
                    var m = Rx.Find(part, ln);
                    if (m is not null)
                    {
                        Append(current, m, spec);
                        li++;
                        break;
                    }
                }
            }
        }
        Close();
        return (result, raw, ok);
    }
}

/// <summary>
/// The lines of a title window, split once and shared by every format that extracts frames from it. Lines are capped
/// at <see cref="StackFrames.MaxLine"/> characters: frame lines are short, and the cap keeps every per-line regex bounded.
/// </summary>
internal sealed class WindowLines(string text)
{
    private string[]? lines;
    private int[]? starts;

    /// <summary>The window.</summary>
    public string Text { get; } = text;

    /// <summary>The (capped) lines of <see cref="Text"/> from character <paramref name="index"/> on; the first is the rest of the line holding it.</summary>
    public string[] From(int index)
    {
        if (lines is null || starts is null)
        {
            var all = Text.Split('\n');
            starts = new int[all.Length];
            var p = 0;
            for (var i = 0; i < all.Length; i++)
            {
                starts[i] = p;
                p += all[i].Length + 1;
                if (all[i].Length > StackFrames.MaxLine)
                {
                    all[i] = all[i][..StackFrames.MaxLine];
                }
            }
            lines = all;
        }
        var k = Array.BinarySearch(starts, index);
        if (k < 0)
        {
            k = ~k - 1;
        }
        var result = new string[lines.Length - k];
        Array.Copy(lines, k, result, 0, result.Length);
        if (index > starts[k])
        {
            var lineEnd = Text.IndexOf('\n', index);
            var first = lineEnd < 0 ? Text[index..] : Text[index..lineEnd];
            result[0] = first.Length > StackFrames.MaxLine ? first[..StackFrames.MaxLine] : first;
        }
        return result;
    }
}
