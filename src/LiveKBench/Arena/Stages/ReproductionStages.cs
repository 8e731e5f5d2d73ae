using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Gym;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Vm;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using StoreGymJob = LiveKBench.Arena.Store.GymJob;
using StoreReproducerKind = LiveKBench.Arena.Store.ReproducerKind;
using StoreVerdict = LiveKBench.Arena.Store.Verdict;

namespace LiveKBench.Arena.Stages;

/// <summary>Progress of a stage: (item done, items in all, label of the item being worked on).</summary>
public delegate void StageProgress(int done, int total, string item);

/// <summary>Counts of a stage run.</summary>
/// <param name="Done">Items finished with a result.</param>
/// <param name="Failed">Items that failed (retryable up to the attempt limit).</param>
/// <param name="Skipped">Items not eligible (reason logged).</param>
public sealed record StageSummary(int Done, int Failed, int Skipped);

/// <summary>
/// The build-and-reproduce stages: <b>kcache</b> (baseline build at the parent of fix + reproduction; only bugs whose
/// baseline reproduces their own crash go on to agents), <b>crash-resolution evaluation</b> of agent patches, and a
/// one-off <b>reproduce</b>. Every result is written in one transaction; a killed run leaves rows <c>running</c>,
/// which the next holder of the stage lock resets.
/// </summary>
public static class ReproductionStages
{
    /// <summary>Runs the kcache stage for every eligible bug (or just <paramref name="bugIds"/>).</summary>
    public static async Task<StageSummary> KcacheAsync(Workspace ws, IReadOnlyCollection<string>? bugIds, ILogger log, StageProgress? progress, CancellationToken ct)
    {
        using var stageLock = await StageLock.AcquireAsync(ws.WorkDir, "kcache", () => log.LogWarning("waiting for another kcache run"), ct).ConfigureAwait(false);
        OrphanProcesses.KillOrphans(ws.WorkDir, log);
        using var db = ws.OpenStore();
        var env = KernelEnvironment.Open(ws);
        await MirrorStage.AttachBundlesAsync(db, env.Mirror, log, ct).ConfigureAwait(false);
        await env.Mirror.PruneStaleWorktreesAsync(env.Builder.WorktreesRoot, ct).ConfigureAwait(false);
        ResetStale(db, "KcacheEntries");

        var q = db.Bugs.Include(b => b.Reproducers).AsQueryable();
        if (bugIds is not null)
        {
            q = q.Where(b => bugIds.Contains(b.Id));
        }
        var bugs = q.OrderBy(b => b.Id).ToList();
        var entries = db.KcacheEntries.ToList().ToDictionary(e => e.BugId);
        var todo = bugs.Where(b => !entries.TryGetValue(b.Id, out var e) || e.Status == WorkStatus.Pending
            || (e.Status == WorkStatus.Failed && e.Attempts < ws.Settings.MaxAttempts)).ToList();
        int done = 0, failed = 0, skipped = 0;
        foreach (var bug in todo)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Invoke(done + failed + skipped, todo.Count, bug.Id);
            if (Ineligible(bug) is { } why)
            {
                log.LogInformation("kcache: bug {Bug} skipped: {Why}", bug.Id, why);
                skipped++;
                continue;
            }
            if (!entries.TryGetValue(bug.Id, out var entry))
            {
                entry = new KcacheEntry { BugId = bug.Id, BaseKind = BaseCommitKind.ParentOfFix, AddedTime = Clock.UtcNow() };
                db.KcacheEntries.Add(entry);
            }
            ReproductionResult result;
            do
            {
                entry.Status = WorkStatus.Running;
                entry.Attempts++;
                entry.BaseCommit = bug.ParentOfFix;
                entry.UpdatedTime = Clock.UtcNow();
                db.SaveChanges();
                result = await RunBaselineAsync(ws, db, env, "kcache", bug, log, ct).ConfigureAwait(false);
                if (result.Verdict == ReproductionVerdict.Error && entry.Attempts < ws.Settings.MaxAttempts)
                {
                    log.LogWarning("kcache: bug {Bug}: infrastructure error (attempt {Attempt}/{Max}), retrying: {Reason}", bug.Id, entry.Attempts, ws.Settings.MaxAttempts, result.Reason);
                }
            }
            while (result.Verdict == ReproductionVerdict.Error && entry.Attempts < ws.Settings.MaxAttempts);
            using (var tx = db.Database.BeginTransaction())
            {
                Apply(entry, result, ws.Settings.MaxAttempts);
                entry.ConfigHash = ConfigOf(bug).Hash;
                entry.BuildDirectory = env.Builder.KcacheEntryPath(bug.ParentOfFix!, entry.ConfigHash);
                entry.UpdatedTime = Clock.UtcNow();
                db.SaveChanges();
                tx.Commit();
            }
            if (entry.Status == WorkStatus.Failed)
            {
                failed++;
            }
            else
            {
                done++;
            }
            log.LogInformation("kcache: bug {Bug}: {Verdict} ({Reason}); reproduction rate {Crashes}/{Instances}", bug.Id, result.Verdict, result.Reason, result.Baseline?.Crashes, result.Baseline?.Instances);
        }
        progress?.Invoke(todo.Count, todo.Count, "");
        return new StageSummary(done, failed, skipped);
    }

    /// <summary>
    /// Evaluates every agent run that has a patch and no crash-resolution verdict yet (optionally of one configuration):
    /// builds the parent of fix with the patch (incrementally, from the kept build directory) and reruns the reproducer.
    /// </summary>
    public static async Task<StageSummary> EvaluateCrashResolutionAsync(Workspace ws, string? agentConfig, ILogger log, StageProgress? progress, CancellationToken ct)
    {
        using var stageLock = await StageLock.AcquireAsync(ws.WorkDir, "eval-crash", () => log.LogWarning("waiting for another crash evaluation"), ct).ConfigureAwait(false);
        OrphanProcesses.KillOrphans(ws.WorkDir, log);
        using var db = ws.OpenStore();
        ResetStale(db, "CrashResolutionEvaluations");
        var env = KernelEnvironment.Open(ws);
        await env.Mirror.PruneStaleWorktreesAsync(env.Builder.WorktreesRoot, ct).ConfigureAwait(false);
        var evals = db.CrashResolutionEvaluations.ToList().ToDictionary(e => e.AgentRunId);
        var runs = db.AgentRuns.Include(r => r.AgentConfiguration).Include(r => r.Patch)
            .Where(r => r.Status == WorkStatus.Done && r.PatchId != null)
            .Where(r => agentConfig == null || r.AgentConfiguration!.Name == agentConfig)
            .OrderBy(r => r.Id).ToList()
            .Where(r => !evals.TryGetValue(r.Id, out var e) || e.Status == WorkStatus.Pending
                || (e.Status == WorkStatus.Failed && e.Attempts < ws.Settings.MaxAttempts))
            .ToList();
        var kcache = db.KcacheEntries.ToList().ToDictionary(k => k.BugId);
        int done = 0, failed = 0, skipped = 0;
        foreach (var run in runs)
        {
            ct.ThrowIfCancellationRequested();
            progress?.Invoke(done + failed + skipped, runs.Count, $"run {run.Id} ({run.AgentConfiguration!.Name}, {run.BugId})");
            if (!kcache.TryGetValue(run.BugId, out var baseline) || baseline.Verdict != StoreVerdict.Reproduced)
            {
                log.LogInformation("eval crash: run {Run} skipped: its bug has no reproduced baseline", run.Id);
                skipped++;
                continue;
            }
            var bug = db.Bugs.Include(b => b.Reproducers).Single(b => b.Id == run.BugId);
            if (!evals.TryGetValue(run.Id, out var eval))
            {
                eval = new CrashResolutionEvaluation { AgentRunId = run.Id, KcacheEntryId = baseline.Id };
                db.CrashResolutionEvaluations.Add(eval);
                evals[run.Id] = eval;
            }
            var reliability = BaselineOf(baseline) ?? EstimateFromResult(baseline, ws.Settings.Reproduction.FalseFixAlpha);
            var patch = string.IsNullOrWhiteSpace(run.Patch!.Content) ? null : run.Patch.Content;
            ReproductionResult result;
            do
            {
                eval.Status = WorkStatus.Running;
                eval.Attempts++;
                eval.UpdatedTime = Clock.UtcNow();
                db.SaveChanges();
                result = await RunJobAsync(ws, db, env, "crash-eval", bug, patch,
                    round => RoundedReproduction.PatchedAsync(round, reliability, RoundOptionsOf(ws), ct), log, ct).ConfigureAwait(false);
                if (result.Verdict == ReproductionVerdict.Error && eval.Attempts < ws.Settings.MaxAttempts)
                {
                    log.LogWarning("eval crash: run {Run}: infrastructure error (attempt {Attempt}/{Max}), retrying: {Reason}", run.Id, eval.Attempts, ws.Settings.MaxAttempts, result.Reason);
                }
            }
            while (result.Verdict == ReproductionVerdict.Error && eval.Attempts < ws.Settings.MaxAttempts);
            using (var tx = db.Database.BeginTransaction())
            {
                ApplyEvaluation(eval, result, ws.Settings.MaxAttempts);
                db.SaveChanges();
                tx.Commit();
            }
            if (eval.Status == WorkStatus.Failed)
            {
                failed++;
            }
            else
            {
                done++;
            }
            log.LogInformation("eval crash: run {Run} ({Config}, bug {Bug}): {Verdict}", run.Id, run.AgentConfiguration!.Name, run.BugId, result.Verdict);
        }
        progress?.Invoke(runs.Count, runs.Count, "");
        return new StageSummary(done, failed, skipped);
    }

    /// <summary>
    /// One evaluation by hand: builds the bug's parent of fix (with <paramref name="patch"/> when given) and reproduces. With a
    /// patch and a kcache baseline that reproduced, the statistical rounds of a crash evaluation run (<paramref name="instances"/>
    /// is then ignored); otherwise one round of <paramref name="instances"/>. Nothing is stored but the Gym job.
    /// </summary>
    /// <exception cref="InvalidOperationException">The bug has no parent of fix in a mirror or no reproducer.</exception>
    public static async Task<ReproductionResult> ReproduceAsync(Workspace ws, Bug bug, string? patch, int instances, ILogger log, CancellationToken ct)
    {
        using var db = ws.OpenStore();
        var env = KernelEnvironment.Open(ws);
        await MirrorStage.AttachBundlesAsync(db, env.Mirror, log, ct).ConfigureAwait(false);
        var fresh = db.Bugs.Include(b => b.Reproducers).Single(b => b.Id == bug.Id);
        if (Ineligible(fresh) is { } why)
        {
            throw new InvalidOperationException($"bug {bug.Id}: {why}");
        }
        var kcache = db.KcacheEntries.AsNoTracking().FirstOrDefault(k => k.BugId == fresh.Id);
        var baseline = kcache is { Verdict: StoreVerdict.Reproduced } ? BaselineOf(kcache) : null;
        Func<ReproductionRound, Task<ReproductionResult>> plan = patch is not null && baseline is not null
            ? round => RoundedReproduction.PatchedAsync(round, baseline, RoundOptionsOf(ws), ct)
            : round => round(Math.Max(1, instances), ct);
        return await RunJobAsync(ws, db, env, "reproduce", fresh, patch, plan, log, ct).ConfigureAwait(false);
    }

    /// <summary>Why a bug cannot be built and reproduced yet; null when it can.</summary>
    public static string? Ineligible(Bug bug)
    {
        if (bug.ParentOfFix is null)
        {
            return "no parent of fix in any kernel mirror yet";
        }
        if (bug.Reproducers.Count == 0)
        {
            return "no reproducer";
        }
        if (bug.KernelConfig is null && bug.ConfigFragment is null)
        {
            return "no kernel config";
        }
        return null;
    }

    /// <summary>The config spec of a bug: its fragment over tinyconfig when it has one, else its full config.</summary>
    public static KernelConfigSpec ConfigOf(Bug bug)
        => bug.ConfigFragment is { } f ? KernelConfigSpec.FromFragment(f) : KernelConfigSpec.FromFull(bug.KernelConfig!);

    /// <summary>Runs a baseline (no patch) in rounds: <see cref="RoundedReproduction.BaselineAsync"/>.</summary>
    private static Task<ReproductionResult> RunBaselineAsync(Workspace ws, KBenchDbContext db, KernelEnvironment env, string purpose, Bug bug, ILogger log, CancellationToken ct)
        => RunJobAsync(ws, db, env, purpose, bug, null, round => RoundedReproduction.BaselineAsync(round, RoundOptionsOf(ws), ct), log, ct);

    /// <summary>The round settings of the workspace.</summary>
    public static RoundOptions RoundOptionsOf(Workspace ws) => ws.Settings.Reproduction.ToOptions(ws.Settings.Vm.Instances);

    /// <summary>The stored baseline reliability of a kcache entry, or null when kcache has not estimated it.</summary>
    public static BaselineReliability? BaselineOf(KcacheEntry entry)
        => entry.BaselineInstances is { } n && entry.BaselineCrashes is { } k && entry.ReproductionRateLow is { } lo && entry.ReproductionRateHigh is { } hi
            ? new BaselineReliability(n, k, new RateEstimate(n == 0 ? 0 : (double)k / n, lo, hi), entry.RequiredCleanRuns)
            : null;

    /// <summary>
    /// Builds the bug's parent of fix (with <paramref name="patch"/>) once and lets <paramref name="plan"/> run reproduction
    /// rounds on it; every round is a reproduce stage of one stored Gym job.
    /// </summary>
    private static async Task<ReproductionResult> RunJobAsync(Workspace ws, KBenchDbContext db, KernelEnvironment env, string purpose, Bug bug, string? patch,
        Func<ReproductionRound, Task<ReproductionResult>> plan, ILogger log, CancellationToken ct)
    {
        var repro = bug.Reproducers.OrderBy(r => r.Kind).First();
        var reproDir = Path.Combine(ws.WorkDir, "reproducers", MirrorStage.MirrorKey(bug));
        Directory.CreateDirectory(reproDir);
        var reproPath = Path.Combine(reproDir, repro.Kind == StoreReproducerKind.C ? "repro.c" : "repro.syz");
        await File.WriteAllTextAsync(reproPath, repro.Text, ct).ConfigureAwait(false);
        var vm = ws.Settings.Vm;
        var reproArgs = new ReproduceStageArgs(0, reproPath, repro.Kind == StoreReproducerKind.C ? Kernel.Vm.ReproducerKind.C : Kernel.Vm.ReproducerKind.Syz,
            bug.CrashTitle ?? bug.Title, TitlesOf(bug), vm.Instances, vm.Parallelism > 0 ? vm.Parallelism : null, vm.ReproducerTimeoutSeconds, vm.InstanceTimeoutSeconds);
        var job = Gym.GymJob.BuildAndReproduce(Guid.NewGuid().ToString("N")[..8], new BuildRequest(bug.ParentOfFix!, ConfigOf(bug), patch), reproArgs);
        var row = new StoreGymJob { Purpose = purpose, BugId = bug.Id, Status = WorkStatus.Running, CreatedTime = Clock.UtcNow(), UpdatedTime = Clock.UtcNow(), Attempts = 1 };
        row.Stages = [];
        db.GymJobs.Add(row);
        void Persist(Gym.GymJob j)
        {
            for (var i = 0; i < j.Stages.Count; i++)
            {
                var s = j.Stages[i];
                if (i >= row.Stages.Count)
                {
                    row.Stages.Add(new GymJobStage
                    {
                        Index = i,
                        Kind = s.Args is BuildStageArgs ? GymStageKind.Build : GymStageKind.Reproduce,
                        ArgumentsJson = JsonSerializer.Serialize(s.Args, Gym.GymJob.JsonOptions),
                    });
                }
                var st = row.Stages[i];
                st.Status = s.Status switch
                {
                    StageStatus.Running => WorkStatus.Running,
                    StageStatus.Succeeded => WorkStatus.Done,
                    StageStatus.Failed => WorkStatus.Failed,
                    _ => WorkStatus.Pending,
                };
                st.ResultJson = s.Status is StageStatus.Pending ? null : JsonSerializer.Serialize(s, Gym.GymJob.JsonOptions);
                st.StartedTime = s.StartedAt?.UtcDateTime;
                st.FinishedTime = s.FinishedAt?.UtcDateTime;
                st.FailureReason = s.Error;
            }
            row.UpdatedTime = Clock.UtcNow();
            db.SaveChanges();
        }
        var first = true;
        async Task<ReproductionResult> Round(int instances, CancellationToken token)
        {
            int from;
            if (first)
            {
                first = false;
                job = job with { Stages = [job.Stages[0], job.Stages[1] with { Args = reproArgs with { Instances = instances } }] };
                from = 0;
            }
            else
            {
                job = job with { Stages = [.. job.Stages, new Gym.GymStage(reproArgs with { Instances = instances })] };
                from = job.Stages.Count - 1;
            }
            Persist(job);
            job = await env.Gym.RunAsync(job, from, Persist, token).ConfigureAwait(false);
            Persist(job);
            var last = job.Stages[^1];
            return job.Verdict() is { Instances.Count: 0 } failed ? failed
                : last.Reproduction is { } r ? r with { BuildSeconds = job.Stages[0].Build?.Seconds ?? 0 }
                : job.Verdict() ?? VerdictCalculator.Without(ReproductionVerdict.Error, last.Error ?? "the job ended without a verdict");
        }
        var result = await plan(Round).ConfigureAwait(false);
        row.Status = result.Verdict == ReproductionVerdict.Error ? WorkStatus.Failed : WorkStatus.Done;
        row.FailureReason = row.Status == WorkStatus.Failed ? result.Reason : null;
        db.SaveChanges();
        log.LogInformation("gym job {Job} ({Purpose}, bug {Bug}): {Verdict} after {Instances} instances", row.Id, purpose, bug.Id, result.Verdict, result.InstancesRun);
        return result;
    }

    /// <summary>The bug's alternative titles for same-crash matching (its stored alt titles plus its syzbot title when the local title differs).</summary>
    public static IReadOnlyList<string> TitlesOf(Bug bug)
    {
        var list = new List<string>(bug.AltTitles);
        if (bug.CrashTitle is not null && !string.Equals(bug.CrashTitle, bug.Title, StringComparison.Ordinal))
        {
            list.Add(bug.Title);
        }
        return [.. list.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Stores a patched evaluation's result. An infrastructure error is kept <c>failed</c> (retried by the next run) while
    /// attempts remain, and becomes the final verdict <c>error</c> (status done, read by the leaderboard) once they are spent.
    /// </summary>
    /// <param name="eval">The row (its <see cref="CrashResolutionEvaluation.Attempts"/> already counts this attempt).</param>
    /// <param name="result">The result.</param>
    /// <param name="maxAttempts">Attempt limit (<c>MaxAttempts</c>).</param>
    public static void ApplyEvaluation(CrashResolutionEvaluation eval, ReproductionResult result, int maxAttempts)
    {
        ArgumentNullException.ThrowIfNull(eval);
        ArgumentNullException.ThrowIfNull(result);
        eval.Status = result.Verdict == ReproductionVerdict.Error && eval.Attempts < maxAttempts ? WorkStatus.Failed : WorkStatus.Done;
        eval.Verdict = Map(result.Verdict);
        eval.CrashTitle = result.CrashTitle;
        eval.SameCrash = result.CrashTitle is null ? null : result.SameCrash;
        eval.Reason = result.Reason;
        eval.FailureReason = result.Verdict == ReproductionVerdict.Error ? result.Reason : null;
        eval.InstancesRun = result.InstancesRun;
        eval.FalseFixBound = result.FalseFixBound;
        eval.ResultJson = JsonSerializer.Serialize(result, Gym.GymJob.JsonOptions);
        eval.UpdatedTime = Clock.UtcNow();
    }

    // A kcache entry stored before baseline statistics existed: estimate from its stored instances.
    private static BaselineReliability EstimateFromResult(KcacheEntry entry, double alpha)
    {
        var result = entry.ResultJson is { } json ? JsonSerializer.Deserialize<ReproductionResult>(json, Gym.GymJob.JsonOptions) : null;
        var (ran, crashes) = result is null ? (0, 0) : RoundedReproduction.Count(result.Instances);
        return ReproductionStatistics.Baseline(ran, crashes, alpha);
    }

    private static void Apply(KcacheEntry entry, ReproductionResult result, int maxAttempts)
    {
        entry.Status = result.Verdict == ReproductionVerdict.Error && entry.Attempts < maxAttempts ? WorkStatus.Failed : WorkStatus.Done;
        entry.BaselineInstances = result.Baseline?.Instances;
        entry.BaselineCrashes = result.Baseline?.Crashes;
        entry.ReproductionRateLow = result.Baseline?.Rate.CiLow;
        entry.ReproductionRateHigh = result.Baseline?.Rate.CiHigh;
        entry.RequiredCleanRuns = result.Baseline?.RequiredCleanRuns;
        entry.Verdict = Map(result.Verdict);
        entry.CrashTitle = result.CrashTitle;
        entry.SameCrash = result.CrashTitle is null ? null : result.SameCrash;
        entry.Reason = result.Reason;
        entry.FailureReason = result.Verdict == ReproductionVerdict.Error ? result.Reason : null;
        entry.ResultJson = JsonSerializer.Serialize(result, Gym.GymJob.JsonOptions);
    }

    /// <summary>Maps the VM verdict onto the stored verdict (same five values).</summary>
    public static StoreVerdict Map(ReproductionVerdict v) => v switch
    {
        ReproductionVerdict.Reproduced => StoreVerdict.Reproduced,
        ReproductionVerdict.NotReproduced => StoreVerdict.NotReproduced,
        ReproductionVerdict.CompilationError => StoreVerdict.CompilationError,
        ReproductionVerdict.BootError => StoreVerdict.BootError,
        ReproductionVerdict.Inconclusive => StoreVerdict.Inconclusive,
        _ => StoreVerdict.Error,
    };

    /// <summary>
    /// Rows left <c>running</c> by a dead process go back to <c>pending</c> (the caller holds the stage lock, so no
    /// live process owns them); Gym jobs it left running are marked failed ("interrupted").
    /// </summary>
    private static void ResetStale(KBenchDbContext db, string table)
    {
        // The table name is one of our own constants (never input), so it is spliced into the SQL text.
        var resetRunning = $"UPDATE {table} SET Status = 'pending' WHERE Status = 'running'";
        db.Database.ExecuteSqlRaw(resetRunning);
        db.Database.ExecuteSqlRaw("UPDATE GymJobs SET Status = 'failed', FailureReason = 'interrupted (its process died)' WHERE Status = 'running' AND Purpose IN ('kcache', 'crash-eval', 'reproduce') AND NOT EXISTS (SELECT 1 FROM KcacheEntries WHERE Status = 'running') AND NOT EXISTS (SELECT 1 FROM CrashResolutionEvaluations WHERE Status = 'running')");
    }
}
