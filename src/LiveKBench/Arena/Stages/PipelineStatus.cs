using LiveKBench.Arena.Store;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Arena.Stages;

/// <summary>Counts of one stage for <c>kbench status</c>.</summary>
/// <param name="Stage">Stage name.</param>
/// <param name="Pending">Items waiting (including never started).</param>
/// <param name="Running">Items claimed by a running process (or left by a killed one).</param>
/// <param name="Done">Items with a result.</param>
/// <param name="Failed">Items failed (retried by the next run until the attempt limit).</param>
/// <param name="TopReasons">The most frequent failure reasons with counts (at most 3).</param>
public sealed record StageCounts(string Stage, int Pending, int Running, int Done, int Failed, IReadOnlyList<ReasonCount> TopReasons);

/// <summary>A failure reason and how many items it applies to.</summary>
/// <param name="Reason">Reason text (first line, at most 160 characters).</param>
/// <param name="Count">Items.</param>
public sealed record ReasonCount(string Reason, int Count);

/// <summary>Per-stage progress of the whole pipeline, read from the store.</summary>
public static class PipelineStatus
{
    /// <summary>
    /// Computes the status of every stage: crawl, kcache, agent runs, crash resolution, judge, localization. The kcache reasons
    /// include why a done baseline is not given to agents (another crash, too unreliable for <paramref name="maxInstances"/>);
    /// the crash-resolution reasons include final <c>error</c> and <c>inconclusive</c> verdicts.
    /// </summary>
    /// <param name="db">The store.</param>
    /// <param name="maxInstances"><c>Reproduction:MaxInstances</c>.</param>
    public static List<StageCounts> Compute(KBenchDbContext db, int maxInstances = 20)
    {
        var result = new List<StageCounts>();
        var crawl = db.CrawlRecords.AsNoTracking().ToList();
        result.Add(new StageCounts("crawl", 0, 0, crawl.Count(c => c.Outcome == CrawlOutcome.Stored),
            crawl.Count(c => c.Outcome != CrawlOutcome.Stored), Top(crawl.Where(c => c.Outcome != CrawlOutcome.Stored).Select(c => c.Reason))));

        var bugs = db.Bugs.AsNoTracking().Include(b => b.Reproducers).ToList();
        var kc = db.KcacheEntries.AsNoTracking().ToList();
        var withEntry = kc.Select(k => k.BugId).ToHashSet();
        result.Add(new StageCounts("kcache",
            bugs.Count(b => !withEntry.Contains(b.Id)) + kc.Count(k => k.Status == WorkStatus.Pending),
            kc.Count(k => k.Status == WorkStatus.Running), kc.Count(k => k.Status == WorkStatus.Done), kc.Count(k => k.Status == WorkStatus.Failed),
            Top(kc.Where(k => k.Status == WorkStatus.Failed).Select(k => k.FailureReason)
                .Concat(bugs.Where(b => !withEntry.Contains(b.Id)).Select(ReproductionStages.Ineligible).Where(r => r != null))
                .Concat(kc.Where(k => k.Status == WorkStatus.Done).Select(k => BaselineView.Of(k, maxInstances)?.Why is { } w ? "not given to agents: " + System.Text.RegularExpressions.Regex.Replace(w, @"\(.*", "").Trim() : null).Where(r => r != null)))));

        var runs = db.AgentRuns.AsNoTracking().ToList();
        result.Add(Of("agent runs", runs.Select(r => (r.Status, r.FailureReason)), 0));

        var done = runs.Where(r => r.Status == WorkStatus.Done && r.PatchId != null).Select(r => r.Id).ToHashSet();
        var crash = db.CrashResolutionEvaluations.AsNoTracking().ToList();
        var crashStage = Of("crash resolution", crash.Select(c => (c.Status, c.FailureReason)), done.Count(id => crash.All(c => c.AgentRunId != id)));
        crashStage = crashStage with
        {
            TopReasons = Top(crash.Where(c => c.Status == WorkStatus.Failed).Select(c => c.FailureReason)
                .Concat(crash.Where(c => c.Status == WorkStatus.Done && c.Verdict is Store.Verdict.Error or Store.Verdict.Inconclusive)
                    .Select(c => $"verdict {EnumText.ToText(c.Verdict!.Value)}" + (c.Verdict == Store.Verdict.Error ? ": " + c.Reason : "")))),
        };
        result.Add(crashStage);

        var judge = db.JudgeEvaluations.AsNoTracking().ToList();
        var judges = db.JudgeConfigurations.Count();
        result.Add(Of("judge", judge.Select(j => (j.Status, j.FailureReason)), judges == 0 ? 0 : Math.Max(0, done.Count * judges - judge.Count)));

        var loc = db.LocalizationEvaluations.AsNoTracking().ToList();
        result.Add(new StageCounts("localization", done.Count(id => loc.All(l => l.AgentRunId != id)), 0,
            loc.Count(l => l.Status == AnalysisStatus.Success), loc.Count(l => l.Status is AnalysisStatus.Error or AnalysisStatus.Invalid),
            Top(loc.Where(l => l.Status != AnalysisStatus.Success).Select(l => l.Reason))));
        return result;
    }

    private static StageCounts Of(string stage, IEnumerable<(WorkStatus Status, string? Reason)> rows, int neverStarted)
    {
        var list = rows.ToList();
        return new StageCounts(stage,
            neverStarted + list.Count(r => r.Status == WorkStatus.Pending),
            list.Count(r => r.Status == WorkStatus.Running),
            list.Count(r => r.Status == WorkStatus.Done),
            list.Count(r => r.Status == WorkStatus.Failed),
            Top(list.Where(r => r.Status == WorkStatus.Failed).Select(r => r.Reason)));
    }

    private static List<ReasonCount> Top(IEnumerable<string?> reasons) => [.. CountReasons(reasons).Take(3)];

    /// <summary>
    /// Groups failure reasons by their first line (cut at 160 characters), most frequent first, then in ordinal order;
    /// null and blank reasons are left out.
    /// </summary>
    /// <param name="reasons">Reason texts, one per item.</param>
    internal static List<ReasonCount> CountReasons(IEnumerable<string?> reasons)
        => [.. reasons.Where(r => !string.IsNullOrWhiteSpace(r))
            .Select(r => r!.Split('\n')[0].TrimEnd('\r') is { Length: > 160 } l ? l[..160] + "…" : r!.Split('\n')[0].TrimEnd('\r'))
            .GroupBy(r => r, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ReasonCount(g.Key, g.Count()))];
}
