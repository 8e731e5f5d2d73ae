using System.Globalization;
using System.Text.RegularExpressions;

namespace LiveKBench.Evaluation.Localization;

/// <summary>One line of a hunk: ' ' context, '-' removed, '+' added.</summary>
/// <param name="Kind">' ', '-' or '+'.</param>
/// <param name="Text">The line without its prefix and without the line break.</param>
public readonly record struct DiffLine(char Kind, string Text);

/// <summary>A hunk of a unified diff (header numbers are 1-based, as written after <c>@@</c>).</summary>
/// <param name="OldStart">First old line.</param>
/// <param name="OldCount">Old lines covered (context + removed).</param>
/// <param name="NewStart">First new line.</param>
/// <param name="NewCount">New lines covered (context + added).</param>
/// <param name="Lines">The lines in order.</param>
public sealed record DiffHunk(int OldStart, int OldCount, int NewStart, int NewCount, IReadOnlyList<DiffLine> Lines);

/// <summary>The changes of one file in a unified diff.</summary>
/// <param name="OldPath">Path before (without the a/ prefix); null for an added file.</param>
/// <param name="NewPath">Path after (without the b/ prefix); null for a deleted file.</param>
/// <param name="IsBinary">A binary change ("Binary files … differ" or "GIT binary patch"): it has no hunks.</param>
/// <param name="Hunks">The hunks (empty for pure renames, mode changes and binary changes).</param>
public sealed record FileDiff(string? OldPath, string? NewPath, bool IsBinary, IReadOnlyList<DiffHunk> Hunks)
{
    /// <summary>The file is created by the patch.</summary>
    public bool IsAdded => OldPath is null;

    /// <summary>The file is deleted by the patch.</summary>
    public bool IsDeleted => NewPath is null;

    /// <summary>Old and new paths differ (git rename or copy).</summary>
    public bool IsRenamed => OldPath is not null && NewPath is not null && OldPath != NewPath;

    /// <summary>The path reported for the file, as unidiff's <c>path</c>: the new path, or the old one for a deletion.</summary>
    public string Path => NewPath ?? OldPath!;
}

/// <summary>A patch text is not a well-formed unified diff.</summary>
public sealed class DiffFormatException(string message) : Exception(message);

/// <summary>
/// Parser of unified diffs as produced by <c>git diff</c>/<c>git format-patch</c> and plain <c>diff -u</c>
/// (the subset the Python <c>unidiff</c> package reads for kArena's analyzer, karena.md §4.4): file headers
/// (<c>diff --git</c>, <c>---</c>/<c>+++</c>, <c>/dev/null</c>, <c>new file mode</c>, <c>deleted file mode</c>,
/// <c>rename from/to</c>), hunks with exact line counts, <c>\ No newline at end of file</c>, binary markers.
/// Text before the first file (a commit message) is ignored.
/// </summary>
public static partial class UnifiedDiff
{
    [GeneratedRegex(@"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")]
    private static partial Regex HunkHeader();

    [GeneratedRegex(@"^diff --git (?:""?a/(.+?)""?) (?:""?b/(.+?)""?)$")]
    private static partial Regex GitHeader();

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <returns>The files in order of appearance (empty for an empty patch).</returns>
    /// <exception cref="DiffFormatException">A hunk's line counts do not match its body, or a hunk appears outside a file.</exception>
    public static List<FileDiff> Parse(string text)
    {
        var lines = text.Split('\n');
        var files = new List<FileDiff>();
        string? oldPath = null, newPath = null;
        bool inFile = false, binary = false, added = false, deleted = false;
        List<DiffHunk> hunks = [];
        var fileLine = 0;

        void Flush()
        {
            if (inFile)
            {
                var op = added ? null : oldPath ?? newPath;
                var np = deleted ? null : newPath ?? oldPath;
                if (op is not null || np is not null)
                {
                    CheckPath(op, fileLine);
                    CheckPath(np, fileLine);
                    files.Add(new FileDiff(op, np, binary, hunks));
                }
            }
            inFile = false;
            binary = added = deleted = false;
            oldPath = newPath = null;
            hunks = [];
        }

        var i = 0;
        while (i < lines.Length)
        {
            var line = lines[i].TrimEnd('\r');
            if (line.StartsWith("diff --git ", StringComparison.Ordinal))
            {
                Flush();
                inFile = true;
                fileLine = i + 1;
                var m = GitHeader().Match(line);
                if (m.Success)
                {
                    oldPath = m.Groups[1].Value;
                    newPath = m.Groups[2].Value;
                }
                i++;
                continue;
            }
            if (line.StartsWith("--- ", StringComparison.Ordinal) && i + 1 < lines.Length && lines[i + 1].StartsWith("+++ ", StringComparison.Ordinal))
            {
                if (!inFile || hunks.Count > 0)
                {
                    Flush();
                    inFile = true;
                    fileLine = i + 1;
                }
                var o = StripPath(line[4..]);
                var n = StripPath(lines[i + 1].TrimEnd('\r')[4..]);
                if (o is null)
                {
                    added = true;
                }
                else
                {
                    oldPath = o;
                }
                if (n is null)
                {
                    deleted = true;
                }
                else
                {
                    newPath = n;
                }
                i += 2;
                continue;
            }
            if (inFile)
            {
                if (line.StartsWith("new file mode", StringComparison.Ordinal))
                {
                    added = true;
                }
                else if (line.StartsWith("deleted file mode", StringComparison.Ordinal))
                {
                    deleted = true;
                }
                else if (line.StartsWith("rename from ", StringComparison.Ordinal) || line.StartsWith("copy from ", StringComparison.Ordinal))
                {
                    oldPath = line[(line.IndexOf(" from ", StringComparison.Ordinal) + 6)..];
                }
                else if (line.StartsWith("rename to ", StringComparison.Ordinal) || line.StartsWith("copy to ", StringComparison.Ordinal))
                {
                    newPath = line[(line.IndexOf(" to ", StringComparison.Ordinal) + 4)..];
                }
                else if (line.StartsWith("Binary files ", StringComparison.Ordinal) || line == "GIT binary patch")
                {
                    binary = true;
                }
            }
            var h = HunkHeader().Match(line);
            if (h.Success)
            {
                if (!inFile)
                {
                    throw new DiffFormatException($"line {i + 1}: hunk header outside a file");
                }
                if (!HunkNumber(h.Groups[1], out var os) || !HunkNumber(h.Groups[2], out var oc)
                    || !HunkNumber(h.Groups[3], out var ns) || !HunkNumber(h.Groups[4], out var nc))
                {
                    throw new DiffFormatException($"line {i + 1}: hunk header number out of range (at most {int.MaxValue}): '{Truncate(line)}'");
                }
                var body = new List<DiffLine>();
                int seenOld = 0, seenNew = 0;
                var start = i + 1;
                i++;
                while (i < lines.Length && (seenOld < oc || seenNew < nc))
                {
                    var l = lines[i];
                    if (l.Length > 0 && l[^1] == '\r')
                    {
                        l = l[..^1];
                    }
                    if (l.StartsWith('\\'))
                    {
                        i++;
                        continue;
                    }
                    var kind = l.Length == 0 ? ' ' : l[0];
                    var rest = l.Length == 0 ? "" : l[1..];
                    switch (kind)
                    {
                        case ' ':
                            seenOld++;
                            seenNew++;
                            break;
                        case '-':
                            seenOld++;
                            break;
                        case '+':
                            seenNew++;
                            break;
                        default:
                            throw new DiffFormatException($"line {i + 1}: unexpected line in hunk starting at line {start}: '{Truncate(l)}'");
                    }
                    body.Add(new DiffLine(kind, rest));
                    i++;
                }
                if (seenOld != oc || seenNew != nc)
                {
                    throw new DiffFormatException($"hunk at line {start} is truncated: expected -{oc} +{nc} lines, found -{seenOld} +{seenNew}");
                }
                while (i < lines.Length && lines[i].StartsWith('\\'))
                {
                    i++;
                }
                hunks.Add(new DiffHunk(os, oc, ns, nc, body));
                continue;
            }
            i++;
        }
        Flush();
        return files;
    }

    /// <summary>A hunk header number: 1 when the optional group is absent; false when it does not fit an int.</summary>
    private static bool HunkNumber(Group g, out int value)
    {
        value = 1;
        return !g.Success || int.TryParse(g.ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>
    /// A patch path must name a file inside the tree: relative, no <c>..</c> or <c>.</c> segment, no empty
    /// segment, no backslash or control character (the rules of <c>PatchSanitizer</c>).
    /// </summary>
    /// <exception cref="DiffFormatException">The path leaves the tree; the message quotes the path only.</exception>
    private static void CheckPath(string? path, int line)
    {
        if (path is null)
        {
            return;
        }
        if (path.Length == 0)
        {
            throw new DiffFormatException($"line {line}: empty file path");
        }
        if (path.StartsWith('/') || path.StartsWith('~'))
        {
            throw new DiffFormatException($"line {line}: absolute path '{Truncate(path)}' is not allowed");
        }
        if (path.Contains('\\') || path.Any(char.IsControl))
        {
            throw new DiffFormatException($"line {line}: path '{Truncate(path)}' holds a backslash or control character");
        }
        foreach (var seg in path.Split('/'))
        {
            if (seg is ".." or "." or "")
            {
                throw new DiffFormatException($"line {line}: path '{Truncate(path)}' leaves the tree or is not normalised");
            }
        }
    }

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "…";

    private static string? StripPath(string p)
    {
        var tab = p.IndexOf('\t');
        if (tab >= 0)
        {
            p = p[..tab];
        }
        p = p.Trim().Trim('"');
        if (p == "/dev/null")
        {
            return null;
        }
        if (p.StartsWith("a/", StringComparison.Ordinal) || p.StartsWith("b/", StringComparison.Ordinal))
        {
            return p[2..];
        }
        return p;
    }
}
