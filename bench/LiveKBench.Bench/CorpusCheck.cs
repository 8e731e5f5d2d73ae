using System.Text;
using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Bench;

/// <summary>Runs the corpus assertions of crash-reports.md §9 and returns the problems found (used for quick iteration).</summary>
internal static class CorpusCheck
{
    public static List<string> Verify(CorpusFile f)
    {
        var p = new List<string>();
        var log = f.Log;
        var rep = CrashReportParser.Parse(log);
        if (CrashReportParser.ContainsCrash(log) != (f.Title.Length > 0))
        {
            p.Add($"ContainsCrash={!(f.Title.Length > 0)}");
        }
        var title = rep?.Title ?? "";
        if (title != f.Title)
        {
            p.Add($"title: got '{title}' want '{f.Title}'");
        }
        if ((rep?.Corrupted ?? false) != f.Corrupted)
        {
            p.Add($"corrupted: got {rep?.Corrupted} ({rep?.CorruptedReason}) want {f.Corrupted}");
        }
        if ((rep?.Suppressed ?? false) != f.Suppressed)
        {
            p.Add($"suppressed: got {rep?.Suppressed}");
        }
        if ((rep?.Panicked ?? false) != f.Panicked)
        {
            p.Add($"panicked: got {rep?.Panicked}");
        }
        var type = rep is null ? "" : (rep.Type == "UNKNOWN" ? "" : rep.Type);
        if (type != f.Type)
        {
            p.Add($"type: got '{type}' want '{f.Type}'");
        }
        var alts = rep?.AltTitles ?? [];
        if (!alts.SequenceEqual(f.AltTitles))
        {
            p.Add($"alts: got [{string.Join(" | ", alts)}] want [{string.Join(" | ", f.AltTitles)}]");
        }
        if (f.Frame is not null && (rep?.Frame ?? "") != f.Frame)
        {
            p.Add($"frame: got '{rep?.Frame}' want '{f.Frame}'");
        }
        if (f.Report is not null && (rep?.Text ?? "") != f.Report)
        {
            p.Add("report text differs");
        }
        if ((rep?.Executor ?? "") != f.Executor)
        {
            p.Add($"executor: got '{rep?.Executor}' want '{f.Executor}'");
        }
        if (rep is not null)
        {
            if (rep.Text.Length == 0)
            {
                p.Add("empty report");
            }
            if (rep.StartPos != 0 && rep.EndPos != 0 && rep.StartPos >= rep.EndPos)
            {
                p.Add("StartPos >= EndPos");
            }
            if (rep.EndPos > log.Length || !(rep.StartPos < rep.SkipPos && rep.SkipPos <= rep.EndPos))
            {
                p.Add($"bad positions {rep.StartPos} {rep.SkipPos} {rep.EndPos} len {log.Length}");
            }
            if (f.StartLine is not null)
            {
                var s = log.AsSpan().IndexOf(Encoding.Latin1.GetBytes(f.StartLine));
                var e = log.AsSpan().IndexOf(Encoding.Latin1.GetBytes(f.EndLine!)) + f.EndLine!.Length;
                if (rep.StartPos != s || rep.EndPos != e)
                {
                    p.Add($"start/end: got {rep.StartPos}/{rep.EndPos} want {s}/{e}");
                }
            }
            if (rep.StartPos != 0)
            {
                var again = CrashReportParser.ParseFrom(log, rep.StartPos);
                if (again is null || again.Title != rep.Title || again.StartPos != rep.StartPos)
                {
                    p.Add("reparse from StartPos differs");
                }
                var after = CrashReportParser.ParseFrom(log, rep.EndPos);
                if (after is not null && after.Title == rep.Title)
                {
                    p.Add("reparse from EndPos gives same title");
                }
            }
        }
        return p;
    }
}
