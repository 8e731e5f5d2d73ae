using System.Globalization;
using System.Text.RegularExpressions;

namespace LiveKBench.Kernel.Build;

/// <summary>Result of <see cref="PatchSanitizer.Sanitize"/>.</summary>
/// <param name="Ok">True when the patch may be given to <c>git apply</c>.</param>
/// <param name="Reason">Why it was rejected; null when <paramref name="Ok"/>.</param>
/// <param name="NormalizedPatch">The patch with CRLF turned into LF (ends with a newline); null when rejected.</param>
/// <param name="Paths">Every repository-relative path the patch reads or writes (prefix <c>a/</c>/<c>b/</c> stripped), distinct, ordinal order.</param>
public sealed record PatchCheck(bool Ok, string? Reason, string? NormalizedPatch, IReadOnlyList<string> Paths)
{
    /// <summary>A rejection with a reason.</summary>
    public static PatchCheck Reject(string reason) => new(false, reason, null, []);
}

/// <summary>
/// Checks an untrusted unified diff before it goes near a kernel tree: paths that leave the tree (<c>..</c>),
/// absolute paths, paths into <c>.git</c>, symlink or submodule modes (120000/160000), binary hunks,
/// oversize patches and malformed hunks are rejected; CRLF is normalised. Writing through a symlink that already
/// exists in the tree is checked separately by <see cref="CheckAgainstTree"/>.
/// </summary>
public static partial class PatchSanitizer
{
    /// <summary>Default maximum patch size: 10 MiB (counted in UTF-16 characters of the text, a lower bound on bytes).</summary>
    public const int DefaultMaxChars = 10 * 1024 * 1024;

    /// <summary>Checks and normalises a patch. An empty (or whitespace-only) patch is accepted and changes nothing.</summary>
    /// <param name="patchText">The patch text (unified diff, git or plain <c>diff -u</c> style, <c>-p1</c> paths).</param>
    /// <param name="maxChars">Size cap in characters; larger patches are rejected.</param>
    /// <returns>Ok with the normalised text and touched paths, or a rejection reason. Never throws.</returns>
    public static PatchCheck Sanitize(string patchText, int maxChars = DefaultMaxChars)
    {
        if (patchText.Length > maxChars)
        {
            return PatchCheck.Reject($"patch is {patchText.Length} characters, over the {maxChars} limit");
        }
        if (patchText.Contains('\0'))
        {
            return PatchCheck.Reject("patch contains NUL bytes (binary content)");
        }
        var text = patchText.Replace("\r\n", "\n", StringComparison.Ordinal);
        if (string.IsNullOrWhiteSpace(text))
        {
            return new PatchCheck(true, null, "", []);
        }
        if (!text.EndsWith('\n'))
        {
            text += "\n";
        }
        var lines = text.Split('\n');
        var count = lines.Length - 1; // last element is the empty string after the final newline
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        var haveFileHeader = false;
        var hunks = 0;
        for (var i = 0; i < count; i++)
        {
            var line = lines[i];
            if (line.StartsWith("diff --git ", StringComparison.Ordinal))
            {
                haveFileHeader = false;
                var m = DiffGitRegex().Match(line);
                if (!m.Success)
                {
                    return PatchCheck.Reject($"line {i + 1}: cannot parse '{Clip(line)}'");
                }
                foreach (var p in new[] { m.Groups[1].Value, m.Groups[2].Value })
                {
                    if (CheckPath(p, i) is { } why)
                    {
                        return PatchCheck.Reject(why);
                    }
                    paths.Add(p);
                }
                continue;
            }
            if (line.StartsWith("GIT binary patch", StringComparison.Ordinal) || (line.StartsWith("Binary files ", StringComparison.Ordinal) && line.EndsWith(" differ", StringComparison.Ordinal)))
            {
                return PatchCheck.Reject($"line {i + 1}: binary patches are not accepted");
            }
            if (ModeRegex().Match(line) is { Success: true } mode)
            {
                var bits = mode.Groups[2].Value;
                if (bits.StartsWith("120", StringComparison.Ordinal))
                {
                    return PatchCheck.Reject($"line {i + 1}: symlinks (mode {bits}) are not accepted");
                }
                if (bits.StartsWith("160", StringComparison.Ordinal))
                {
                    return PatchCheck.Reject($"line {i + 1}: submodules (mode {bits}) are not accepted");
                }
                if (bits is not ("100644" or "100755" or "644" or "755"))
                {
                    return PatchCheck.Reject($"line {i + 1}: unsupported file mode {bits}");
                }
                continue;
            }
            if (IndexModeRegex().Match(line) is { Success: true } im && (im.Groups[1].Value.StartsWith("120", StringComparison.Ordinal) || im.Groups[1].Value.StartsWith("160", StringComparison.Ordinal)))
            {
                return PatchCheck.Reject($"line {i + 1}: symlinks and submodules (mode {im.Groups[1].Value}) are not accepted");
            }
            if (RenameCopyRegex().Match(line) is { Success: true } rc)
            {
                var p = rc.Groups[2].Value;
                if (CheckPath(p, i, strip: false) is { } why)
                {
                    return PatchCheck.Reject(why);
                }
                paths.Add(p);
                continue;
            }
            if (line.StartsWith("--- ", StringComparison.Ordinal) && i + 1 < count && lines[i + 1].StartsWith("+++ ", StringComparison.Ordinal))
            {
                foreach (var raw in new[] { line[4..], lines[i + 1][4..] })
                {
                    var p = HeaderPath(raw);
                    if (p == "/dev/null")
                    {
                        continue;
                    }
                    if (CheckPath(p, i) is { } why)
                    {
                        return PatchCheck.Reject(why);
                    }
                    paths.Add(StripPrefix(p));
                }
                haveFileHeader = true;
                i++;
                continue;
            }
            if (line.StartsWith("@@", StringComparison.Ordinal))
            {
                var h = HunkRegex().Match(line);
                if (!h.Success)
                {
                    return PatchCheck.Reject($"line {i + 1}: malformed hunk header '{Clip(line)}'");
                }
                if (!haveFileHeader)
                {
                    return PatchCheck.Reject($"line {i + 1}: hunk without a ---/+++ file header");
                }
                if (!HunkNumber(h.Groups[1], out _) || !HunkNumber(h.Groups[2], out var oldCount)
                    || !HunkNumber(h.Groups[3], out _) || !HunkNumber(h.Groups[4], out var newCount))
                {
                    return PatchCheck.Reject($"line {i + 1}: hunk header number out of range (at most {int.MaxValue}) in '{Clip(line)}'");
                }
                var j = i + 1;
                while ((oldCount > 0 || newCount > 0) && j < count)
                {
                    var l = lines[j];
                    if (l.Length == 0 || l[0] == ' ')
                    {
                        oldCount--;
                        newCount--;
                    }
                    else if (l[0] == '-')
                    {
                        oldCount--;
                    }
                    else if (l[0] == '+')
                    {
                        newCount--;
                    }
                    else if (l[0] != '\\')
                    {
                        break;
                    }
                    j++;
                }
                if (oldCount != 0 || newCount != 0)
                {
                    return PatchCheck.Reject($"line {i + 1}: malformed hunk (line counts in '{Clip(line)}' do not match its body)");
                }
                while (j < count && lines[j].StartsWith('\\'))
                {
                    j++;
                }
                if (j < count && (lines[j].StartsWith('+') || (lines[j].StartsWith('-') && !lines[j].StartsWith("--", StringComparison.Ordinal))))
                {
                    return PatchCheck.Reject($"line {j + 1}: malformed hunk (more lines than '{Clip(line)}' declares)");
                }
                hunks++;
                i = j - 1;
                continue;
            }
        }
        if (hunks == 0 && paths.Count == 0)
        {
            return PatchCheck.Reject("no diff found in the patch text");
        }
        return new PatchCheck(true, null, text, paths.ToList());
    }

    /// <summary>
    /// Checks patch paths against a checked-out tree: no path may pass through, or be, a symbolic link
    /// (a write through it could land outside the tree), and none may start with a reserved top-level name.
    /// </summary>
    /// <param name="paths">Repository-relative paths from <see cref="PatchCheck.Paths"/>.</param>
    /// <param name="treeRoot">The work tree.</param>
    /// <param name="reservedTopLevel">Top-level names a patch must not touch (e.g. the build output folder).</param>
    /// <returns>Null when fine, else the reason.</returns>
    public static string? CheckAgainstTree(IEnumerable<string> paths, string treeRoot, IEnumerable<string>? reservedTopLevel = null)
    {
        var reserved = new HashSet<string>(reservedTopLevel ?? [], StringComparer.Ordinal);
        foreach (var p in paths)
        {
            var parts = p.Split('/');
            if (reserved.Contains(parts[0]))
            {
                return $"path {p} is inside the reserved folder {parts[0]}";
            }
            var cur = treeRoot;
            foreach (var part in parts)
            {
                cur = Path.Combine(cur, part);
                var info = new FileInfo(cur);
                if (info.LinkTarget is not null)
                {
                    return $"path {p} goes through the symbolic link {Path.GetRelativePath(treeRoot, cur)}";
                }
                if (!info.Exists && !Directory.Exists(cur))
                {
                    break;
                }
            }
        }
        return null;
    }

    private static string HeaderPath(string raw)
    {
        // "a/foo.c\t2024-01-01 ..." (diff -u) or "a/foo.c"
        var tab = raw.IndexOf('\t', StringComparison.Ordinal);
        return (tab >= 0 ? raw[..tab] : raw).TrimEnd();
    }

    private static string StripPrefix(string p)
    {
        var slash = p.IndexOf('/', StringComparison.Ordinal);
        return slash >= 0 ? p[(slash + 1)..] : p;
    }

    private static string? CheckPath(string p, int lineIndex, bool strip = true)
    {
        var where = $"line {lineIndex + 1}";
        if (p.StartsWith('"'))
        {
            return $"{where}: quoted path names are not accepted ({Clip(p)})";
        }
        if (p.StartsWith('/') || p.StartsWith('~'))
        {
            return $"{where}: absolute path {Clip(p)}";
        }
        if (p.Contains('\\') || p.Any(char.IsControl))
        {
            return $"{where}: path with backslash or control characters {Clip(p)}";
        }
        var rel = strip ? StripPrefix(p) : p;
        if (rel.Length == 0)
        {
            return $"{where}: empty path";
        }
        foreach (var seg in rel.Split('/'))
        {
            if (seg is ".." or "." or "")
            {
                return $"{where}: path {Clip(p)} leaves the tree or is not normalised";
            }
            if (seg.Equals(".git", StringComparison.OrdinalIgnoreCase))
            {
                return $"{where}: path {Clip(p)} writes into .git";
            }
        }
        return null;
    }

    /// <summary>A hunk header number: 1 when the optional group is absent; false when it does not fit an int.</summary>
    private static bool HunkNumber(Group g, out int value)
    {
        value = 1;
        return !g.Success || int.TryParse(g.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static string Clip(string s) => s.Length <= 120 ? s : s[..120] + "…";

    [GeneratedRegex(@"^diff --git (\S+) (\S+)$")]
    private static partial Regex DiffGitRegex();

    [GeneratedRegex(@"^(old mode|new mode|new file mode|deleted file mode) (\d+)$")]
    private static partial Regex ModeRegex();

    [GeneratedRegex(@"^index [0-9a-f]+\.\.[0-9a-f]+ (\d+)$")]
    private static partial Regex IndexModeRegex();

    [GeneratedRegex(@"^(rename from|rename to|copy from|copy to) (.+)$")]
    private static partial Regex RenameCopyRegex();

    [GeneratedRegex(@"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")]
    private static partial Regex HunkRegex();
}
