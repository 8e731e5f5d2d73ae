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
            entry.Status = WorkStatus.Running;
            entry.Attempts++;
            entry.BaseCommit = bug.ParentOfFix;
            entry.UpdatedTime = Clock.UtcNow();
            db.SaveChanges();

            var result = await RunJobAsync(ws, db, env, "kcache", bug, patch: null, instances: ws.Settings.Vm.Instances, log, ct).ConfigureAwait(false);
            using (var tx = db.Database.BeginTransaction())
            {
                Apply(entry, result);
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
            log.LogInformation("kcache: bug {Bug}: {Verdict} ({Reason})", bug.Id, result.Verdict, result.Reason);
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
            eval.Status = WorkStatus.Running;
            eval.Attempts++;
            eval.UpdatedTime = Clock.UtcNow();
            db.SaveChanges();
            var patch = string.IsNullOrWhiteSpace(run.Patch!.Content) ? null : run.Patch.Content;
            var result = await RunJobAsync(ws, db, env, "crash-eval", bug, patch, ws.Settings.Vm.Instances, log, ct).ConfigureAwait(false);
            using (var tx = db.Database.BeginTransaction())
            {
                eval.Status = result.Verdict == ReproductionVerdict.Error ? WorkStatus.Failed : WorkStatus.Done;
                eval.Verdict = Map(result.Verdict);
                eval.CrashTitle = result.CrashTitle;
                eval.SameCrash = result.CrashTitle is null ? null : result.SameCrash;
                eval.Reason = result.Reason;
                eval.FailureReason = eval.Status == WorkStatus.Failed ? result.Reason : null;
                eval.ResultJson = JsonSerializer.Serialize(result, Gym.GymJob.JsonOptions);
                eval.UpdatedTime = Clock.UtcNow();
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

    /// <summary>One evaluation by hand: builds the bug's parent of fix (with <paramref name="patch"/> when given) and reproduces. Nothing is stored but the Gym job.</summary>
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
        return await RunJobAsync(ws, db, env, "reproduce", fresh, patch, instances, log, ct).ConfigureAwait(false);
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

    private static async Task<ReproductionResult> RunJobAsync(Workspace ws, KBenchDbContext db, KernelEnvironment env, string purpose, Bug bug, string? patch, int instances, ILogger log, CancellationToken ct)
    {
        var repro = bug.Reproducers.OrderBy(r => r.Kind).First();
        var reproDir = Path.Combine(ws.WorkDir, "reproducers", MirrorStage.MirrorKey(bug));
        Directory.CreateDirectory(reproDir);
        var reproPath = Path.Combine(reproDir, repro.Kind == StoreReproducerKind.C ? "repro.c" : "repro.syz");
        await File.WriteAllTextAsync(reproPath, repro.Text, ct).ConfigureAwait(false);
        var vm = ws.Settings.Vm;
        var job = Gym.GymJob.BuildAndReproduce(
            Guid.NewGuid().ToString("N")[..8],
            new BuildRequest(bug.ParentOfFix!, ConfigOf(bug), patch),
            new ReproduceStageArgs(0, reproPath, repro.Kind == StoreReproducerKind.C ? Kernel.Vm.ReproducerKind.C : Kernel.Vm.ReproducerKind.Syz,
                bug.CrashTitle ?? bug.Title, null, instances, vm.Parallelism > 0 ? vm.Parallelism : null, vm.ReproducerTimeoutSeconds, vm.InstanceTimeoutSeconds));
        var row = new StoreGymJob { Purpose = purpose, BugId = bug.Id, Status = WorkStatus.Running, CreatedTime = Clock.UtcNow(), UpdatedTime = Clock.UtcNow(), Attempts = 1 };
        row.Stages = [.. job.Stages.Select((s, i) => new GymJobStage
        {
            Index = i,
            Kind = s.Args is BuildStageArgs ? GymStageKind.Build : GymStageKind.Reproduce,
            Status = WorkStatus.Pending,
            ArgumentsJson = JsonSerializer.Serialize(s.Args, Gym.GymJob.JsonOptions),
        })];
        db.GymJobs.Add(row);
        db.SaveChanges();
        void Persist(Gym.GymJob j)
        {
            for (var i = 0; i < j.Stages.Count; i++)
            {
                var s = j.Stages[i];
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
        var finished = await env.Gym.RunAsync(job, Persist, ct).ConfigureAwait(false);
        Persist(finished);
        var result = finished.Verdict() ?? VerdictCalculator.Without(ReproductionVerdict.Error, "the job ended without a verdict");
        row.Status = result.Verdict == ReproductionVerdict.Error ? WorkStatus.Failed : WorkStatus.Done;
        row.FailureReason = row.Status == WorkStatus.Failed ? result.Reason : null;
        db.SaveChanges();
        log.LogInformation("gym job {Job} ({Purpose}, bug {Bug}): {Verdict}", row.Id, purpose, bug.Id, result.Verdict);
        return result;
    }

    private static void Apply(KcacheEntry entry, ReproductionResult result)
    {
        entry.Status = result.Verdict == ReproductionVerdict.Error ? WorkStatus.Failed : WorkStatus.Done;
        entry.Verdict = Map(result.Verdict);
        entry.CrashTitle = result.CrashTitle;
        entry.SameCrash = result.CrashTitle is null ? null : result.SameCrash;
        entry.Reason = result.Reason;
        entry.FailureReason = entry.Status == WorkStatus.Failed ? result.Reason : null;
        entry.ResultJson = JsonSerializer.Serialize(result, Gym.GymJob.JsonOptions);
    }

    /// <summary>Maps the VM verdict onto the stored verdict (same five values).</summary>
    public static StoreVerdict Map(ReproductionVerdict v) => v switch
    {
        ReproductionVerdict.Reproduced => StoreVerdict.Reproduced,
        ReproductionVerdict.NotReproduced => StoreVerdict.NotReproduced,
        ReproductionVerdict.CompilationError => StoreVerdict.CompilationError,
        ReproductionVerdict.BootError => StoreVerdict.BootError,
        _ => StoreVerdict.Error,
    };

    /// <summary>
    /// Rows left <c>running</c> by a dead process go back to <c>pending</c> (the caller holds the stage lock, so no
    /// live process owns them); Gym jobs it left running are marked failed ("interrupted").
    /// </summary>
    private static void ResetStale(KBenchDbContext db, string table)
    {
        db.Database.ExecuteSqlRaw($"UPDATE {table} SET Status = 'pending' WHERE Status = 'running'");
        db.Database.ExecuteSqlRaw("UPDATE GymJobs SET Status = 'failed', FailureReason = 'interrupted (its process died)' WHERE Status = 'running' AND Purpose IN ('kcache', 'crash-eval', 'reproduce') AND NOT EXISTS (SELECT 1 FROM KcacheEntries WHERE Status = 'running') AND NOT EXISTS (SELECT 1 FROM CrashResolutionEvaluations WHERE Status = 'running')");
    }
}
