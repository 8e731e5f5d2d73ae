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
        // Evaluations reference their run by a foreign key, so every evaluation's run is in this map.
        var runBug = db.AgentRuns.AsNoTracking().Select(r => new { r.Id, r.BugId }).ToDictionary(r => r.Id, r => r.BugId);
        var result = new List<RetryCount>();
        using var tx = db.Database.BeginTransaction();
        foreach (var stage in wanted)
        {
            List<IRetryable> rows = stage switch
            {
                RetryStage.Kcache => [.. db.KcacheEntries.Where(k => (k.Status == WorkStatus.Done && k.Verdict == Verdict.Error) || (k.Status == WorkStatus.Failed && k.Attempts >= maxAttempts)).ToList().Where(k => OfBug(k.BugId))],
                RetryStage.Agents => [.. db.AgentRuns.Where(r => r.Status == WorkStatus.Failed && r.Attempts >= maxAttempts).ToList().Where(r => OfBug(r.BugId))],
                RetryStage.Crash => [.. db.CrashResolutionEvaluations.Where(e => (e.Status == WorkStatus.Done && e.Verdict == Verdict.Error) || (e.Status == WorkStatus.Failed && e.Attempts >= maxAttempts)).ToList().Where(e => OfBug(runBug[e.AgentRunId]))],
                RetryStage.Judge => [.. db.JudgeEvaluations.Where(e => e.Status == WorkStatus.Failed && e.Attempts >= maxAttempts).ToList().Where(e => OfBug(runBug[e.AgentRunId]))],
                _ => [.. SpentAnalyses(db, maxAttempts, bugIds)],
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
            var reasons = PipelineStatus.CountReasons(rows.Select(r => r.FailureReason ?? (r as KcacheEntry)?.Reason ?? (r as CrashResolutionEvaluation)?.Reason)
                .Select(r => string.IsNullOrWhiteSpace(r) ? "(no reason stored)" : r.Trim()));
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

    // Patches whose analysis failed at the limit; with bug ids, only those an agent run or the developer fix of the bugs has.
    private static List<Patch> SpentAnalyses(KBenchDbContext db, int maxAttempts, IReadOnlyCollection<string>? bugIds)
    {
        var spent = db.Patches.Where(p => p.AnalysisStatus == AnalysisStatus.Error && p.Attempts >= maxAttempts).ToList();
        if (bugIds is null)
        {
            return spent;
        }
        var ids = db.AgentRuns.AsNoTracking().Where(r => bugIds.Contains(r.BugId) && r.PatchId != null).Select(r => r.PatchId!.Value).ToList()
            .Concat(db.DeveloperPatches.AsNoTracking().Where(d => bugIds.Contains(d.BugId) && d.PatchId != null).Select(d => d.PatchId!.Value).ToList())
            .ToHashSet();
        return [.. spent.Where(p => ids.Contains(p.Id))];
    }
}
