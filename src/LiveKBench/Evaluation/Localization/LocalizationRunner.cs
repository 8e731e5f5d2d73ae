using System.Diagnostics;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Evaluation.Localization;

/// <summary>Options of <see cref="LocalizationRunner.RunAsync"/>.</summary>
public sealed record LocalizationRunOptions
{
    /// <summary>Maps a bug to the git repository holding its commits; null when none is known (its patches stay pending).</summary>
    public required Func<Bug, string?> RepositoryFor { get; init; }

    /// <summary>Re-analyse every patch and recompute every evaluation, not only pending/failed ones.</summary>
    public bool Force { get; init; }

    /// <summary>Failed (Error) analyses are retried until their Attempts reach this. Default 3.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Analyses run at once. Default: number of cores.</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Analyzer options (ctags/git paths, size limit, timeouts).</summary>
    public PatchAnalyzerOptions Analyzer { get; init; } = new();
}

/// <summary>Counts of one localization pass.</summary>
/// <param name="PatchesAnalyzed">Patch rows analysed with Success.</param>
/// <param name="PatchesInvalid">Patch rows found Invalid (final).</param>
/// <param name="PatchesFailed">Patch rows whose analysis failed (Error, retried next run).</param>
/// <param name="PatchesWithoutRepository">Patches left pending because no repository is known for their bug.</param>
/// <param name="Evaluations">LocalizationEvaluation rows written with Success.</param>
/// <param name="EvaluationsInvalid">LocalizationEvaluation rows written Invalid or Error.</param>
/// <param name="AnalysisSeconds">Wall time of the patch analyses, seconds.</param>
public sealed record LocalizationSummary(int PatchesAnalyzed, int PatchesInvalid, int PatchesFailed, int PatchesWithoutRepository, int Evaluations, int EvaluationsInvalid, double AnalysisSeconds);

/// <summary>
/// <c>kbench eval localization</c>: analyses every pending patch of agent runs and developer patches (storing
/// files, functions, modified lines and status on the Patch row), then writes one LocalizationEvaluation per agent
/// run with a patch against its bug's developer patch: file IoU over source-extension files, function IoU over names
/// (karena.md §4.4; not measured when the developer fix touches no function), and definition IoU over the enclosing
/// top-level definitions (not measured when the developer fix touches none). Unlike kArena, Invalid/Error evaluations are recomputed on the next run (so a fixed analysis
/// or mirror un-blocks them) and failed analyses are retried up to <see cref="LocalizationRunOptions.MaxAttempts"/>.
/// </summary>
public static class LocalizationRunner
{
    /// <summary>Runs one pass over the store.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (rows already written stay).</exception>
    public static async Task<LocalizationSummary> RunAsync(KBenchDbContext db, LocalizationRunOptions options, ILogger logger, CancellationToken cancellationToken = default)
    {
        // Base commit of each patch: the agent run's base, else the bug's parent of fix / the dev patch parent.
        var bugs = db.Bugs.AsNoTracking().Include(b => b.DeveloperPatch).ToDictionary(b => b.Id);
        var runs = db.AgentRuns.AsNoTracking().Where(r => r.PatchId != null)
            .Select(r => new { r.Id, r.BugId, r.BaseCommit, PatchId = r.PatchId!.Value }).ToList();
        var work = new Dictionary<int, (Bug Bug, string Commit)>();
        foreach (var b in bugs.Values)
        {
            if (b.DeveloperPatch?.PatchId is { } pid && (b.DeveloperPatch.ParentCommit ?? b.ParentOfFix) is { } c)
            {
                work.TryAdd(pid, (b, c));
            }
        }
        foreach (var r in runs)
        {
            if (bugs.TryGetValue(r.BugId, out var b) && (r.BaseCommit ?? b.ParentOfFix ?? b.DeveloperPatch?.ParentCommit) is { } c)
            {
                work.TryAdd(r.PatchId, (b, c));
            }
        }
        var ids = work.Keys.ToList();
        var patches = db.Patches.Where(p => ids.Contains(p.Id)).ToList()
            .Where(p => options.Force || p.AnalysisStatus == AnalysisStatus.Pending || (p.AnalysisStatus == AnalysisStatus.Error && p.Attempts < options.MaxAttempts)
                || (p.AnalysisStatus == AnalysisStatus.Success && p.ModifiedDefinitions is null)) // analysed before definitions were recorded
            .ToList();
        int ok = 0, invalid = 0, failed = 0, noRepo = 0;
        var sw = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(Math.Max(1, options.Parallelism));
        var tasks = new List<Task<(Patch Patch, PatchAnalysisOutcome? Outcome)>>();
        foreach (var p in patches)
        {
            var (bug, commit) = work[p.Id];
            var repo = options.RepositoryFor(bug);
            if (repo is null)
            {
                noRepo++;
                logger.LogWarning("patch {Patch} of bug {Bug}: no repository known for {Git}; left pending", p.Id, bug.Id, bug.KernelSourceGit);
                continue;
            }
            var content = p.Content;
            tasks.Add(Task.Run(async () =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    return (p, (PatchAnalysisOutcome?)await new PatchAnalyzer(repo, options.Analyzer).AnalyzeAsync(commit, content, cancellationToken).ConfigureAwait(false));
                }
                finally
                {
                    gate.Release();
                }
            }, cancellationToken));
        }
        foreach (var (p, outcome) in await Task.WhenAll(tasks).ConfigureAwait(false))
        {
            p.Attempts++;
            p.AnalysisStatus = outcome!.Status;
            p.FailureReason = outcome.Reason;
            p.ModifiedFiles = [.. outcome.Analysis?.Files ?? []];
            p.ModifiedFunctions = [.. outcome.Analysis?.Functions ?? []];
            p.ModifiedDefinitions = outcome.Analysis is { } an ? [.. an.Definitions] : null;
            p.ModifiedLines = outcome.Analysis?.ModifiedLines ?? 0;
            switch (outcome.Status)
            {
                case AnalysisStatus.Success:
                    ok++;
                    break;
                case AnalysisStatus.Invalid:
                    invalid++;
                    logger.LogInformation("patch {Patch}: invalid: {Reason}", p.Id, outcome.Reason);
                    break;
                default:
                    failed++;
                    logger.LogWarning("patch {Patch}: analysis failed (attempt {Attempt}): {Reason}", p.Id, p.Attempts, outcome.Reason);
                    break;
            }
        }
        var analysisSeconds = sw.Elapsed.TotalSeconds;
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);

        // Evaluations.
        var analysed = db.Patches.AsNoTracking().Where(p => ids.Contains(p.Id))
            .Select(p => new { p.Id, p.AnalysisStatus, p.FailureReason, p.ModifiedFiles, p.ModifiedFunctions, p.ModifiedDefinitions })
            .ToDictionary(p => p.Id);
        var existing = db.LocalizationEvaluations.ToDictionary(e => e.AgentRunId);
        int evals = 0, evalsBad = 0;
        foreach (var r in runs)
        {
            if (!bugs.TryGetValue(r.BugId, out var bug) || bug.DeveloperPatch is not { PatchId: { } devPatchId } dp)
            {
                continue;
            }
            if (!analysed.TryGetValue(r.PatchId, out var agent) || !analysed.TryGetValue(devPatchId, out var dev)
                || agent.AnalysisStatus == AnalysisStatus.Pending || dev.AnalysisStatus == AnalysisStatus.Pending)
            {
                continue; // not analysed yet: no row, nothing to retry
            }
            if (existing.TryGetValue(r.Id, out var row) && row.Status == AnalysisStatus.Success && !options.Force
                && !(row.DefinitionIou is null && dev.ModifiedDefinitions is { Count: > 0 } && agent.ModifiedDefinitions is not null))
            {
                continue; // done (a row from before definitions were recorded is completed below)
            }
            if (row is null)
            {
                row = new LocalizationEvaluation { AgentRunId = r.Id, DeveloperPatchId = dp.Id };
                db.LocalizationEvaluations.Add(row);
            }
            row.DeveloperPatchId = dp.Id;
            row.Attempts++;
            row.UpdatedTime = DateTime.UtcNow;
            if (agent.AnalysisStatus != AnalysisStatus.Success || dev.AnalysisStatus != AnalysisStatus.Success)
            {
                var which = agent.AnalysisStatus != AnalysisStatus.Success ? $"agent patch {r.PatchId}" : $"developer patch {devPatchId}";
                var st = agent.AnalysisStatus != AnalysisStatus.Success ? agent : dev;
                row.Status = st.AnalysisStatus == AnalysisStatus.Invalid ? AnalysisStatus.Invalid : AnalysisStatus.Error;
                row.Reason = $"{which} analysis is {EnumText.ToText(st.AnalysisStatus)}: {st.FailureReason}";
                row.FailureReason = row.Reason;
                row.FileIntersection = row.FileUnion = row.FunctionIntersection = row.FunctionUnion = 0;
                row.FileIou = row.FunctionIou = 0;
                row.DefinitionIou = null;
                evalsBad++;
                continue;
            }
            var result = Compute(agent.ModifiedFiles, agent.ModifiedFunctions, dev.ModifiedFiles, dev.ModifiedFunctions);
            row.Status = AnalysisStatus.Success;
            row.Reason = null;
            row.FailureReason = null;
            (row.FileIntersection, row.FileUnion, row.FileIou) = result.Files;
            (row.FunctionIntersection, row.FunctionUnion, row.FunctionIou) = result.Functions;
            // A developer fix that touches no function (a policy array, a macro): function IoU is not measured for this run.
            row.FunctionIouMeasured = dev.ModifiedFunctions.Count > 0;
            // Definition IoU: the same over enclosing top-level definitions; not measured when the developer fix touches none.
            row.DefinitionIou = dev.ModifiedDefinitions is { Count: > 0 } devDefs && agent.ModifiedDefinitions is { } agentDefs
                ? Estimators.Iou(agentDefs.ToHashSet(StringComparer.Ordinal), devDefs.ToHashSet(StringComparer.Ordinal)).Iou
                : null;
            evals++;
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        return new LocalizationSummary(ok, invalid, failed, noRepo, evals, evalsBad, analysisSeconds);
    }

    /// <summary>
    /// File IoU over the files of both patches that end with a source extension, function IoU over the raw name
    /// sets (karena.md §4.4); each 0 when the union is empty.
    /// </summary>
    /// <returns>(intersection, union, IoU) for files and for functions.</returns>
    public static ((int, int, double) Files, (int, int, double) Functions) Compute(
        IEnumerable<string> agentFiles, IEnumerable<string> agentFunctions, IEnumerable<string> devFiles, IEnumerable<string> devFunctions)
    {
        var af = agentFiles.Where(PatchAnalyzer.IsSource).ToHashSet(StringComparer.Ordinal);
        var df = devFiles.Where(PatchAnalyzer.IsSource).ToHashSet(StringComparer.Ordinal);
        var files = Estimators.Iou(af, df);
        var fn = Estimators.Iou(agentFunctions.ToHashSet(StringComparer.Ordinal), devFunctions.ToHashSet(StringComparer.Ordinal));
        return ((files.Intersection, files.Union, files.Iou), (fn.Intersection, fn.Union, fn.Iou));
    }
}
