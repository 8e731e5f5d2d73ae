using LiveKBench.Arena.Store;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Arena.Stages;

/// <summary>The pipeline stages whose spent retries <see cref="PipelineRetry.ResetSpent"/> can give back.</summary>
public enum RetryStage
{
    /// <summary>Baseline build and reproduction (<c>KcacheEntries</c>).</summary>
    Kcache,

    /// <summary>Agent runs (<c>AgentRuns</c>).</summary>
    Agents,

    /// <summary>Crash resolution of agent patches (<c>CrashResolutionEvaluations</c>).</summary>
    Crash,

    /// <summary>LLM judge evaluations (<c>JudgeEvaluations</c>).</summary>
    Judge,

    /// <summary>Patch analyses for localization (<c>Patches.AnalysisStatus</c>).</summary>
    Localization,
}

/// <summary>How many rows of one stage <see cref="PipelineRetry.ResetSpent"/> gave back their attempts.</summary>
/// <param name="Stage">Stage name as <c>kbench status</c> prints it.</param>
/// <param name="Reset">Rows reset.</param>
/// <param name="Reasons">The failure reason of each reset row (first line), most frequent first, with counts.</param>
public sealed record RetryCount(string Stage, int Reset, IReadOnlyList<ReasonCount> Reasons);

/// <summary>
/// Gives back the attempts of work whose infrastructure failures spent every retry (<c>MaxAttempts</c>), so that the next
/// <c>kbench run</c> (or the stage's own command) does it again. Such a row is either <c>failed</c> with
/// <c>Attempts ≥ MaxAttempts</c>, or — for baselines and crash-resolution evaluations — <c>done</c> with the final verdict
/// <c>error</c>. It becomes <c>failed</c> with 0 attempts and keeps its failure reason until the retry overwrites it.
/// Kernel verdicts (reproduced, not reproduced, compilation error, boot error, inconclusive), judge outcomes and
/// <c>invalid</c> patch analyses are results, not infrastructure failures, and are never touched.
/// </summary>
public static class PipelineRetry
{
    /// <summary>Resets the spent rows of <paramref name="stages"/> (every stage when null), only of <paramref name="bugIds"/> when given.</summary>
    /// <param name="db">The store; changes are saved in one transaction.</param>
    /// <param name="maxAttempts">The workspace's <c>MaxAttempts</c> (≥ 1).</param>
    /// <param name="stages">Stages to reset; null for all.</param>
    /// <param name="bugIds">Bug ids; null for every bug. A patch analysis belongs to a bug when an agent run of the bug or its developer fix has that patch.</param>
    /// <returns>One count per stage asked, in <see cref="RetryStage"/> order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxAttempts"/> is below 1.</exception>
    public static IReadOnlyList<RetryCount> ResetSpent(KBenchDbContext db, int maxAttempts, IReadOnlyCollection<RetryStage>? stages = null, IReadOnlyCollection<string>? bugIds = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        var wanted = stages is null || stages.Count == 0 ? Enum.GetValues<RetryStage>() : [.. stages.Distinct().Order()];
        bool OfBug(string bugId) => bugIds is null || bugIds.Contains(bugId);
        var runBug = db.AgentRuns.AsNoTracking().Select(r => new { r.Id, r.BugId }).ToDictionary(r => r.Id, r => r.BugId);
        var result = new List<RetryCount>();
        using var tx = db.Database.BeginTransaction();
        foreach (var stage in wanted)
        {
            List<IRetryable> rows = stage switch
            {
                RetryStage.Kcache => [.. db.KcacheEntries.ToList().Where(k => OfBug(k.BugId) && Spent(k.Status, k.Verdict, k.Attempts, maxAttempts))],
                RetryStage.Agents => [.. db.AgentRuns.ToList().Where(r => OfBug(r.BugId) && r.Status == WorkStatus.Failed && r.Attempts >= maxAttempts)],
                RetryStage.Crash => [.. db.CrashResolutionEvaluations.ToList().Where(e => runBug.TryGetValue(e.AgentRunId, out var b) && OfBug(b) && Spent(e.Status, e.Verdict, e.Attempts, maxAttempts))],
                RetryStage.Judge => [.. db.JudgeEvaluations.ToList().Where(e => runBug.TryGetValue(e.AgentRunId, out var b) && OfBug(b) && e.Status == WorkStatus.Failed && e.Attempts >= maxAttempts)],
                _ => [.. PatchesOf(db, bugIds).Where(p => p.AnalysisStatus == AnalysisStatus.Error && p.Attempts >= maxAttempts)],
            };
            foreach (var row in rows)
            {
                row.Attempts = 0;
                switch (row)
                {
                    case KcacheEntry k:
                        k.Status = WorkStatus.Failed;
                        k.Verdict = null;
                        break;
                    case CrashResolutionEvaluation e:
                        e.Status = WorkStatus.Failed;
                        e.Verdict = null;
                        break;
                    case JudgeEvaluation j:
                        j.Status = WorkStatus.Failed;
                        break;
                }
            }
            var reasons = rows.Select(r => FirstLine(r.FailureReason ?? (r as KcacheEntry)?.Reason ?? (r as CrashResolutionEvaluation)?.Reason))
                .GroupBy(r => r, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new ReasonCount(g.Key, g.Count())).ToList();
            result.Add(new RetryCount(Name(stage), rows.Count, reasons));
        }
        db.SaveChanges();
        tx.Commit();
        return result;
    }

    /// <summary>The stage's name as <c>kbench status</c> prints it.</summary>
    /// <param name="stage">The stage.</param>
    public static string Name(RetryStage stage) => stage switch
    {
        RetryStage.Kcache => "kcache",
        RetryStage.Agents => "agent runs",
        RetryStage.Crash => "crash resolution",
        RetryStage.Judge => "judge",
        _ => "localization",
    };

    // A baseline or crash evaluation whose retries are spent: failed at the limit, or done with the final verdict error.
    private static bool Spent(WorkStatus status, Verdict? verdict, int attempts, int maxAttempts)
        => (status == WorkStatus.Done && verdict == Verdict.Error) || (status == WorkStatus.Failed && attempts >= maxAttempts);

    private static List<Patch> PatchesOf(KBenchDbContext db, IReadOnlyCollection<string>? bugIds)
    {
        if (bugIds is null)
        {
            return db.Patches.ToList();
        }
        var ids = db.AgentRuns.AsNoTracking().Where(r => bugIds.Contains(r.BugId) && r.PatchId != null).Select(r => r.PatchId!.Value)
            .Concat(db.DeveloperPatches.AsNoTracking().Where(d => bugIds.Contains(d.BugId) && d.PatchId != null).Select(d => d.PatchId!.Value))
            .ToHashSet();
        return db.Patches.Where(p => ids.Contains(p.Id)).ToList();
    }

    private static string FirstLine(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return "(no reason stored)";
        }
        var line = text.Trim().Split('\n', 2)[0].TrimEnd('\r');
        return line.Length > 160 ? line[..160] + "…" : line;
    }
}
