using System.Text;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>
/// One syzkaller pkg/report test file (crash-reports.md §8): header lines, the raw console log, and an optional
/// expected REPORT section.
/// </summary>
public sealed class CorpusFile
{
    /// <summary>Expected title; empty when no crash is expected.</summary>
    public string Title { get; private set; } = "";

    /// <summary>Expected alt titles, sorted ordinally.</summary>
    public List<string> AltTitles { get; } = [];

    /// <summary>Expected crash type (empty means UNKNOWN).</summary>
    public string Type { get; private set; } = "";

    /// <summary>Expected frame, or null when the file does not check it.</summary>
    public string? Frame { get; private set; }

    /// <summary>Expected start line text, or null.</summary>
    public string? StartLine { get; private set; }

    /// <summary>Expected end line text, or null.</summary>
    public string? EndLine { get; private set; }

    /// <summary>Expected corrupted flag.</summary>
    public bool Corrupted { get; private set; }

    /// <summary>Expected suppressed flag.</summary>
    public bool Suppressed { get; private set; }

    /// <summary>Expected panicked flag.</summary>
    public bool Panicked { get; private set; }

    /// <summary>Expected executor ("" when absent).</summary>
    public string Executor { get; private set; } = "";

    /// <summary>The console log bytes (every line ends with '\n').</summary>
    public byte[] Log { get; private set; } = [];

    /// <summary>Expected report text, or null when there is no REPORT section.</summary>
    public string? Report { get; private set; }

    /// <summary>Loads and parses a corpus file; throws <see cref="FormatException"/> on an unknown header.</summary>
    public static CorpusFile Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var text = Encoding.Latin1.GetString(bytes).Replace("\r", "", StringComparison.Ordinal);
        var lines = text.Split('\n');
        var count = lines.Length;
        if (text.EndsWith('\n'))
        {
            count--;
        }
        var f = new CorpusFile();
        var i = 0;
        for (; i < count; i++)
        {
            var l = lines[i];
            if (l.Length == 0)
            {
                i++;
                break;
            }
            if (l.StartsWith('#'))
            {
                continue;
            }
            f.Header(l);
        }
        f.AltTitles.Sort(StringComparer.Ordinal);
        if (f.StartLine is not null && f.EndLine is null)
        {
            f.EndLine = f.StartLine;
        }
        var log = new StringBuilder();
        for (; i < count; i++)
        {
            if (lines[i] == "REPORT:" && i > 0 && lines[i - 1].Length == 0)
            {
                var rep = new StringBuilder();
                for (var j = i + 1; j < count; j++)
                {
                    rep.Append(lines[j]).Append('\n');
                }
                f.Report = rep.ToString();
                break;
            }
            log.Append(lines[i]).Append('\n');
        }
        f.Log = Encoding.Latin1.GetBytes(log.ToString());
        return f;
    }

    private void Header(string l)
    {
        static bool YesNo(string v) => v switch
        {
            "Y" => true,
            "N" => false,
            _ => throw new FormatException($"bad Y/N value '{v}'"),
        };
        if (l.StartsWith("TITLE: ", StringComparison.Ordinal) || l == "TITLE:")
        {
            Title = l.Length > 7 ? l[7..] : "";
        }
        else if (l.StartsWith("ALT: ", StringComparison.Ordinal))
        {
            AltTitles.Add(l[5..]);
        }
        else if (l.StartsWith("TYPE: ", StringComparison.Ordinal))
        {
            Type = l[6..];
        }
        else if (l.StartsWith("FRAME: ", StringComparison.Ordinal))
        {
            Frame = l[7..];
        }
        else if (l.StartsWith("START: ", StringComparison.Ordinal))
        {
            StartLine = l[7..];
        }
        else if (l.StartsWith("END: ", StringComparison.Ordinal))
        {
            EndLine = l[5..];
        }
        else if (l.StartsWith("CORRUPTED: ", StringComparison.Ordinal))
        {
            Corrupted = YesNo(l[11..]);
        }
        else if (l.StartsWith("SUPPRESSED: ", StringComparison.Ordinal))
        {
            Suppressed = YesNo(l[12..]);
        }
        else if (l.StartsWith("PANICKED: ", StringComparison.Ordinal))
        {
            Panicked = YesNo(l[10..]);
        }
        else if (l.StartsWith("EXECUTOR: ", StringComparison.Ordinal))
        {
            Executor = l[10..];
        }
        else
        {
            throw new FormatException($"unknown header line '{l}'");
        }
    }
}
