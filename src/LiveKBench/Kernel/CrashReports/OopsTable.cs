using System.Text.RegularExpressions;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>A frame extractor: gets the stripped frames of one stack, returns the chosen frame and its index.</summary>
internal delegate (string Frame, int Index) FrameExtractor(IReadOnlyList<string> frames);

/// <summary>How to find the guilty frame(s) of one oops format (see crash-reports.md §3.8).</summary>
internal sealed class StackSpec
{
    /// <summary>Regex parts; a null entry is the STACK sentinel.</summary>
    public required Regex?[] Parts { get; init; }

    public Regex?[]? Parts2 { get; init; }

    public Regex? ExtraSkipRe { get; set; }

    public string[] ExtraSkip { get; init; } = [];

    public FrameExtractor? Extractor { get; init; }
}

/// <summary>One title format of an oops group.</summary>
internal sealed class OopsFormat
{
    public required Regex Title { get; init; }

    /// <summary>A literal every <see cref="Title"/> match starts with (<see cref="Rx.LeadingLiteral"/>), or "".</summary>
    public string TitleLiteral { get; init; } = "";

    public Regex? Report { get; init; }

    public required string Fmt { get; init; }

    public string[] Alt { get; init; } = [];

    public StackSpec? Stack { get; init; }

    public bool NoStackTrace { get; init; }

    public bool Corrupted { get; init; }
}

/// <summary>An oops group: a plain header substring, ordered formats and suppressions.</summary>
internal sealed class OopsGroup
{
    public required string Header { get; init; }

    public byte[] HeaderBytes { get; private set; } = [];

    public OopsFormat[] Formats { get; init; } = [];

    public Regex[] Suppressions { get; set; } = [];

    public OopsGroup Suppress(params string[] patterns)
    {
        Suppressions = [.. Suppressions, .. patterns.Select(Rx.C)];
        return this;
    }

    public OopsGroup Init()
    {
        HeaderBytes = System.Text.Encoding.Latin1.GetBytes(Header);
        return this;
    }
}

/// <summary>Regex construction helpers shared by the tables.</summary>
internal static class Rx
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public static string Expand(string pattern) => pattern
        .Replace("{{ADDR}}", "0x[0-9a-f]+", StringComparison.Ordinal)
        .Replace("{{PC}}", @"\[\<?(?:0x)?[0-9a-f]+\>?\]", StringComparison.Ordinal)
        .Replace("{{FUNC}}", @"([a-zA-Z0-9_]+)(?:\.|\+)", StringComparison.Ordinal)
        .Replace("{{SRC}}", @"([a-zA-Z0-9-_/.]+\.[a-z]+:[0-9]+)", StringComparison.Ordinal)
        .Replace("{{TASK}}", @"[\s\S]{0,100}?", StringComparison.Ordinal)
        .Replace("[[:space:]]", @"[\t\n\v\f\r ]", StringComparison.Ordinal)
        .Replace("[[:xdigit:]]", "[0-9A-Fa-f]", StringComparison.Ordinal);

    /// <summary>
    /// A literal every match of <paramref name="pattern"/> (already expanded, no options) starts with, or "" when none
    /// is evident: the plain and escaped characters before the first regex construct, minus a last character that a
    /// quantifier follows; "" when the pattern has a top-level alternation.
    /// </summary>
    public static string LeadingLiteral(string pattern)
    {
        if (HasTopLevelAlternation(pattern))
        {
            return "";
        }
        var sb = new System.Text.StringBuilder();
        var i = 0;
        while (i < pattern.Length)
        {
            var c = pattern[i];
            int next;
            char lit;
            if (c == '\\' && i + 1 < pattern.Length && !char.IsAsciiLetterOrDigit(pattern[i + 1]) && pattern[i + 1] is not ('_' or ' '))
            {
                lit = pattern[i + 1];
                next = i + 2;
            }
            else if (char.IsAsciiLetterOrDigit(c) || " _:,'\"/=!<>@%&~;-".Contains(c, StringComparison.Ordinal))
            {
                lit = c;
                next = i + 1;
            }
            else
            {
                break;
            }
            if (next < pattern.Length && pattern[next] is '*' or '+' or '?' or '{')
            {
                break;
            }
            sb.Append(lit);
            i = next;
        }
        return sb.ToString();
    }

    private static bool HasTopLevelAlternation(string pattern)
    {
        var depth = 0;
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\')
            {
                i++;
            }
            else if (inClass)
            {
                inClass = c != ']';
            }
            else if (c == '[')
            {
                inClass = true;
            }
            else if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }
            else if (c == '|' && depth == 0)
            {
                return true;
            }
        }
        return false;
    }

    public static Regex C(string pattern) =>
        new(Expand(pattern), RegexOptions.CultureInvariant | RegexOptions.Compiled, Timeout);

    public static Regex Compiled(string pattern) =>
        new(Expand(pattern), RegexOptions.CultureInvariant | RegexOptions.Compiled, Timeout);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<Regex, string[]> GuardTable =
        new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Registers literals one of which every match of <paramref name="re"/> contains; <see cref="Find"/> and
    /// <see cref="IsMatch"/> then answer "no match" without running the regex on a text holding none of them. Every
    /// registered claim is checked on the corpus by a test (StackStartTests). Returns <paramref name="re"/>.
    /// </summary>
    public static Regex Guard(Regex re, params string[] literals)
    {
        GuardTable[re] = literals;
        return re;
    }

    /// <summary>The registered guards (regex → literals).</summary>
    public static IReadOnlyDictionary<Regex, string[]> Guards => GuardTable;

    private static bool Excluded(Regex re, string text)
    {
        if (!GuardTable.TryGetValue(re, out var literals))
        {
            return false;
        }
        foreach (var l in literals)
        {
            if (text.Contains(l, StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Match that never throws: a timeout counts as no match.</summary>
    public static Match? Find(Regex re, string text, int start = 0)
    {
        if (Excluded(re, text))
        {
            return null;
        }
        try
        {
            var m = re.Match(text, start);
            return m.Success ? m : null;
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }

    public static bool IsMatch(Regex re, string text)
    {
        if (Excluded(re, text))
        {
            return false;
        }
        try
        {
            return re.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}

/// <summary>
/// A regex that cannot start with a literal (e.g. <c>(?:^|[^k] )backtrace</c>), so .NET would try it at every position,
/// paired with a literal that every match contains at most <see cref="MaxLead"/> characters after the match start.
/// <see cref="Find"/> looks for the literal (vectorised) and tries the regex, anchored, only where a match could start;
/// the result is the same match <see cref="Regex.Match(string)"/> returns (the leftmost one), found much faster.
/// </summary>
internal sealed class HintedRegex
{
    private readonly Regex anchored;

    /// <summary>Creates the pair; <paramref name="pattern"/> is expanded like <see cref="Rx.C"/>.</summary>
    /// <param name="pattern">The regex.</param>
    /// <param name="literal">A literal contained in every match.</param>
    /// <param name="maxLead">Largest distance in characters from a match start to that literal.</param>
    public HintedRegex(string pattern, string literal, int maxLead)
    {
        Regex = Rx.C(pattern);
        anchored = Rx.C(@"\G(?:" + pattern + ")");
        Literal = literal;
        MaxLead = maxLead;
    }

    /// <summary>The plain regex.</summary>
    public Regex Regex { get; }

    /// <summary>The literal every match contains.</summary>
    public string Literal { get; }

    /// <summary>Largest distance from a match start to <see cref="Literal"/>.</summary>
    public int MaxLead { get; }

    /// <summary>The leftmost match in <paramref name="text"/>, or null (also on a regex timeout).</summary>
    public Match? Find(string text)
    {
        // Candidates are tried in increasing order; every match start lies within MaxLead before an occurrence.
        var next = 0;
        var from = 0;
        while (from <= text.Length)
        {
            var i = text.IndexOf(Literal, from, StringComparison.Ordinal);
            if (i < 0)
            {
                return null;
            }
            for (var p = Math.Max(next, i - MaxLead); p <= i; p++)
            {
                if (Rx.Find(anchored, text, p) is { } m)
                {
                    return m;
                }
            }
            next = i + 1;
            from = i + 1;
        }
        return null;
    }
}
