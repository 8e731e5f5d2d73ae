using System.Text;
using System.Text.RegularExpressions;
using LiveKBench.Kernel.CrashReports;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.CrashReports;

/// <summary>
/// The parser's speed-ups rest on claims that these tests check on the corpus and on random text: every literal guard
/// (a literal or character each match of a regex must contain) really is contained in every match, so skipping the
/// regex when the guard fails cannot change a result; hand-written matchers and <see cref="HintedRegex"/> give exactly
/// the regex's answer.
/// </summary>
public sealed class StackStartTests
{
    private static IEnumerable<string> CorpusLines()
    {
        var dir = SharedData.Path("syzkaller-reports", "linux", "report");
        foreach (var f in Directory.GetFiles(dir).Where(f => Path.GetFileName(f).All(char.IsAsciiDigit)))
        {
            foreach (var line in Encoding.Latin1.GetString(CorpusFile.Load(f).Log).Split('\n'))
            {
                yield return line;
            }
        }
    }

    [Fact]
    public void Every_stack_start_match_in_the_corpus_contains_its_literal()
    {
        var matched = new int[LinuxOopses.StackStarts.Length];
        foreach (var line in CorpusLines())
        {
            for (var i = 0; i < LinuxOopses.StackStarts.Length; i++)
            {
                var (literal, re) = LinuxOopses.StackStarts[i];
                var m = re.Match(line);
                if (m.Success)
                {
                    matched[i]++;
                    Assert.Contains(literal, m.Value, StringComparison.Ordinal);
                }
            }
        }
        // The common markers really occur, so the check above is not vacuous.
        Assert.True(matched[0] > 100, $"Call Trace lines matched: {matched[0]}");
        Assert.True(matched[1..5].Sum() > 10, "Allocated/Freed lines matched");
    }

    [Fact]
    public void Every_corrupting_line_in_the_corpus_contains_its_literal()
    {
        var n = 0;
        foreach (var line in CorpusLines())
        {
            foreach (var re in LinuxOopses.CorruptedLines)
            {
                var m = re.Match(line);
                if (m.Success)
                {
                    n++;
                    Assert.Contains(LinuxOopses.CorruptedLineLiteral, m.Value, StringComparison.Ordinal);
                }
            }
        }
        Assert.True(n > 0, "the corpus has fault-injection frames");
    }

    public static TheoryData<string> BacktraceTexts() =>
    [
        "backtrace:\nfoo+0x1/0x2\n",
        "x backtrace:\n",
        "k backtrace:\n",
        "unreferenced object 0xffff (size 8):\n  comm \"syz\", pid 1\n  backtrace (crc 1a2b3c4d):\n    kmalloc+0x1/0x2\n",
        "line\n backtrace:\nnext\n",
        "line\nbacktrace:\n",
        "kbacktrace: k backtrace: a backtrace:",
        "backtrace (crc zz):  backtrace (crc 0f):",
        "no marker here at all",
        "b",
        "",
        "  backtrace",
        "\n\n backtrace (crc 00):\n",
    ];

    [Theory]
    [MemberData(nameof(BacktraceTexts))]
    public void Hinted_regex_finds_the_same_match_as_the_plain_regex(string text)
    {
        var hinted = new HintedRegex(@"(?:^|[^k] )backtrace(?: \(crc [0-9a-f]+\))?:", "backtrace", 2);
        var plain = hinted.Regex.Match(text);
        var fast = hinted.Find(text);
        Assert.Equal(plain.Success, fast is not null);
        if (fast is not null)
        {
            Assert.Equal(plain.Index, fast.Index);
            Assert.Equal(plain.Value, fast.Value);
        }
    }

    [Fact]
    public void Hinted_regex_agrees_with_the_plain_regex_on_random_text()
    {
        var hinted = new HintedRegex(@"(?:^|[^k] )backtrace(?: \(crc [0-9a-f]+\))?:", "backtrace", 2);
        var rnd = new Random(7);
        string[] pieces = ["backtrace", ":", " ", "k", "\n", "(crc 1f)", " (crc 1f)", "a", "b"];
        var found = 0;
        for (var i = 0; i < 5000; i++)
        {
            var sb = new StringBuilder();
            for (var j = rnd.Next(1, 12); j > 0; j--)
            {
                sb.Append(pieces[rnd.Next(pieces.Length)]);
            }
            var text = sb.ToString();
            var plain = hinted.Regex.Match(text);
            var fast = hinted.Find(text);
            Assert.Equal(plain.Success, fast is not null);
            if (fast is not null)
            {
                found++;
                Assert.Equal((plain.Index, plain.Value), (fast.Index, fast.Value));
            }
        }
        Assert.True(found > 50, $"random texts with a match: {found}");
    }

    [Fact]
    public void Stall_anchor_test_agrees_with_the_anchor_regex_on_every_corpus_frame()
    {
        // The anchors read as regexes (^ start, $ end) are the definition; IsStallAnchor is the fast form.
        var reference = new Regex(string.Join("|", Extractors.StallAnchors.Select(a => "(?:" + a + ")")));
        var frame = new Regex(@"\b([a-zA-Z0-9_]+)(?:\.[a-z0-9_.]+)?\+0x[0-9a-f]+/0x[0-9a-f]+");
        var names = new HashSet<string>(StringComparer.Ordinal)
        {
            "kthread", "kthreadd", "sys_ioctl", "ksys_ioctl", "__sys_connect", "connect", "sys_connectx", "page_fault",
            "page_fault_oops", "asm_exc_page_fault", "setsockopt", "__sys_setsockopt", "x", "",
        };
        foreach (var line in CorpusLines())
        {
            foreach (Match m in frame.Matches(line))
            {
                names.Add(m.Groups[1].Value);
            }
        }
        var anchors = 0;
        foreach (var name in names)
        {
            var expected = reference.IsMatch(name);
            Assert.True(expected == Extractors.IsStallAnchor(name), $"{name}: regex says {expected}");
            anchors += expected ? 1 : 0;
        }
        Assert.True(names.Count > 1000 && anchors > 50, $"{names.Count} frame names, {anchors} anchors");
    }

    private static string? RegexFrameName(string line)
    {
        var m = LinuxOopses.FrameRes[0].Match(line);
        return m.Success ? m.Groups[1].Value : null;
    }

    [Fact]
    public void Hand_matched_frame_line_agrees_with_its_regex_on_every_corpus_line()
    {
        var frames = 0;
        foreach (var raw in CorpusLines())
        {
            // The parser matches lines without their console prefix ("[   12.3] "); try both forms.
            var cut = raw.IndexOf("] ", StringComparison.Ordinal);
            foreach (var line in cut < 0 ? [raw] : new[] { raw, raw[(cut + 2)..] })
            {
                var expected = RegexFrameName(line);
                Assert.True(expected == StackFrames.PlainFrameName(line), $"line '{line}': regex gives '{expected}'");
                frames += expected is null ? 0 : 1;
            }
        }
        Assert.True(frames > 10_000, $"frame lines: {frames}");
    }

    [Fact]
    public void Hand_matched_frame_line_agrees_with_its_regex_on_random_lines()
    {
        var rnd = new Random(11);
        string[] pieces = ["[<", "[", "<", ">", "]", "] ", " ", "0x", "0", "x", "ff", "A", "g", "_", "foo", ".", "+", "+0x1/0x2", ".isra.0", "(", ")"];
        var matched = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var sb = new StringBuilder();
            for (var j = rnd.Next(0, 10); j > 0; j--)
            {
                sb.Append(pieces[rnd.Next(pieces.Length)]);
            }
            var line = sb.ToString();
            var expected = RegexFrameName(line);
            Assert.True(expected == StackFrames.PlainFrameName(line), $"line '{line}': regex gives '{expected}'");
            matched += expected is null ? 0 : 1;
        }
        Assert.True(matched > 500, $"random lines that are frames: {matched}");
    }

    [Fact]
    public void Every_guarded_regex_match_in_the_corpus_contains_one_of_its_literals()
    {
        // Touch the tables so that every guard is registered.
        Assert.NotEmpty(LinuxOopses.Groups);
        Assert.NotEmpty(CrashReportParser.CorruptionStacks);
        var guards = Rx.Guards.ToList();
        Assert.True(guards.Count >= 15, $"guarded regexes: {guards.Count}");
        var matched = new int[guards.Count];
        foreach (var line in CorpusLines())
        {
            for (var i = 0; i < guards.Count; i++)
            {
                var (re, literals) = guards[i];
                var m = re.Match(line);
                if (m.Success)
                {
                    matched[i]++;
                    Assert.True(literals.Any(l => m.Value.Contains(l, StringComparison.Ordinal)), $"{re}: '{m.Value}' has none of {string.Join(", ", literals)}");
                }
            }
        }
        Assert.True(matched.Sum() > 2000, $"matches: {string.Join(", ", matched)}");
        Assert.True(matched.Count(n => n > 0) >= 10, $"guards with corpus matches: {string.Join(", ", matched)}");
    }

    [Theory]
    [InlineData(@"BUG: KASAN: ([a-z\-]+) in", "BUG: KASAN: ")]
    [InlineData(@"WARNING: .* at", "WARNING: ")]
    [InlineData(@"kernel BUG at mm/usercopy\.c", "kernel BUG at mm/usercopy.c")]
    [InlineData(@"INFO: task hung+", "INFO: task hun")]
    [InlineData(@"ab{2}", "a")]
    [InlineData(@"foo|bar", "")]
    [InlineData(@"(?:foo|bar) x", "")]
    [InlineData(@"[ab]|c", "")]
    [InlineData(@"x[|]y", "x")]
    [InlineData(@"(?i)warning", "")]
    [InlineData(@"\d+ BUG", "")]
    [InlineData(@"^BUG", "")]
    public void Leading_literal_of_a_pattern(string pattern, string expected) =>
        Assert.Equal(expected, Rx.LeadingLiteral(pattern));

    [Fact]
    public void Every_title_match_in_the_corpus_starts_with_its_leading_literal()
    {
        var dir = SharedData.Path("syzkaller-reports", "linux", "report");
        var texts = Directory.GetFiles(dir).Where(f => Path.GetFileName(f).All(char.IsAsciiDigit))
            .Select(f => Encoding.Latin1.GetString(CorpusFile.Load(f).Log)).ToList();
        var formats = LinuxOopses.Groups.SelectMany(g => g.Formats).ToList();
        Assert.True(formats.Count(f => f.TitleLiteral.Length > 0) > formats.Count / 2, "most formats have a leading literal");
        var checkedMatches = 0;
        foreach (var f in formats.Where(f => f.TitleLiteral.Length > 0))
        {
            foreach (var text in texts)
            {
                var m = f.Title.Match(text);
                if (m.Success)
                {
                    checkedMatches++;
                    Assert.StartsWith(f.TitleLiteral, m.Value, StringComparison.Ordinal);
                }
            }
        }
        Assert.True(checkedMatches > 400, $"title matches checked: {checkedMatches}");
    }

    [Fact]
    public void Title_normaliser_guards_never_skip_a_regex_that_would_match()
    {
        // Corpus lines are title-like text with addresses, numbers, IPs and executor names; random text adds the rest.
        var rnd = new Random(5);
        string[] pieces = ["syz-executor", "syzkaller", ".", ":", "0x", "10.0.0.1", "7", "abcdef", "12", "1234567", "CPU#", "+0x1f/0x20", " ", "a", "_", "/", "F"];
        var samples = CorpusLines().Select(l => l.Length > 200 ? l[..200] : l).Distinct().Take(20_000).ToList();
        for (var i = 0; i < 20_000; i++)
        {
            var sb = new StringBuilder();
            for (var j = rnd.Next(0, 8); j > 0; j--)
            {
                sb.Append(pieces[rnd.Next(pieces.Length)]);
            }
            samples.Add(sb.ToString());
        }
        var matches = new int[TitleRules.Normalisers.Length];
        foreach (var text in samples)
        {
            for (var k = 0; k < TitleRules.Normalisers.Length; k++)
            {
                var (re, _, mayMatch) = TitleRules.Normalisers[k];
                if (re.IsMatch(text))
                {
                    matches[k]++;
                    Assert.True(mayMatch(text), $"normaliser {k} matches '{text}' but its guard says no");
                }
            }
        }
        Assert.True(matches.All(n => n > 10), $"matches per normaliser: {string.Join(", ", matches)}");
    }
}
