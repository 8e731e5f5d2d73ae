using System.Text.Json;
using System.Text.Json.Serialization;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Kernel.Vm;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Evaluation;

/// <summary>One line of <c>kbench runs list</c>: an agent run with the outcome of each evaluation.</summary>
/// <param name="Id">AgentRun.Id (what <c>kbench runs show</c> takes).</param>
/// <param name="AgentConfig">Configuration name.</param>
/// <param name="BugId">The bug.</param>
/// <param name="Batch">Batch number.</param>
/// <param name="RunIndex">Run number within (configuration, bug).</param>
/// <param name="Status">Agent run status (<c>pending</c>, <c>running</c>, <c>done</c>, <c>failed</c>).</param>
/// <param name="CrashResolution">Crash-resolution outcome as counted by the leaderboard (<see cref="RunViews.OutcomeText"/>).</param>
/// <param name="Judges">Each judge's outcome (<c>equivalent</c>, <c>discrepant</c>, or the evaluation status while it has none).</param>
/// <param name="FileIou">File IoU; null when no localization evaluation succeeded.</param>
/// <param name="FunctionIou">Function IoU; null when not measured (no successful evaluation, or the developer fix touches no function).</param>
/// <param name="DollarCost">Agent cost in USD, when recorded.</param>
/// <param name="TimeSeconds">Agent wall time in seconds, when recorded.</param>
/// <param name="ExitReason">Why the agent stopped, when recorded.</param>
public sealed record RunSummary(
    int Id,
    string AgentConfig,
    string BugId,
    int Batch,
    int RunIndex,
    string Status,
    string CrashResolution,
    IReadOnlyList<JudgeOutcomeView> Judges,
    double? FileIou,
    double? FunctionIou,
    double? DollarCost,
    double? TimeSeconds,
    string? ExitReason);

/// <summary>One judge's outcome on a run.</summary>
/// <param name="Judge">Judge configuration name.</param>
/// <param name="Outcome"><c>equivalent</c>, <c>discrepant</c>, or the evaluation status while it has no outcome.</param>
public sealed record JudgeOutcomeView(string Judge, string Outcome);

/// <summary>Everything the store holds about one agent run (<c>kbench runs show</c>).</summary>
/// <param name="Id">AgentRun.Id.</param>
/// <param name="AgentConfig">Configuration name.</param>
/// <param name="Model">Model of the configuration (empty for baselines).</param>
/// <param name="BugId">The bug.</param>
/// <param name="BugTitle">The bug's title.</param>
/// <param name="Batch">Batch number.</param>
/// <param name="RunIndex">Run number within (configuration, bug).</param>
/// <param name="Status">Agent run status.</param>
/// <param name="FailureReason">Why the agent run failed, or null.</param>
/// <param name="ExitReason">Why the agent stopped, when recorded.</param>
/// <param name="Steps">Steps taken, when recorded.</param>
/// <param name="DollarCost">Cost in USD, when recorded.</param>
/// <param name="TimeSeconds">Wall time in seconds, when recorded.</param>
/// <param name="BaseCommit">Commit the agent started from.</param>
/// <param name="TrajectoryPath">Trajectory file (absolute), or null.</param>
/// <param name="LogPath">Agent log file (absolute), or null.</param>
/// <param name="Patch">The agent's patch, or null when it produced none.</param>
/// <param name="CrashResolution">Crash-resolution verdict with every VM instance.</param>
/// <param name="Judges">Every judge's evaluation with its votes.</param>
/// <param name="Localization">Localization sets and IoU.</param>
public sealed record RunDetails(
    int Id,
    string AgentConfig,
    string Model,
    string BugId,
    string BugTitle,
    int Batch,
    int RunIndex,
    string Status,
    string? FailureReason,
    string? ExitReason,
    int? Steps,
    double? DollarCost,
    double? TimeSeconds,
    string? BaseCommit,
    string? TrajectoryPath,
    string? LogPath,
    string? Patch,
    CrashResolutionView CrashResolution,
    IReadOnlyList<JudgeView> Judges,
    LocalizationView Localization);

/// <summary>The crash-resolution evaluation of a run.</summary>
/// <param name="Outcome">As counted by the leaderboard (<see cref="RunViews.OutcomeText"/>); only <c>resolved</c> is a fix.</param>
/// <param name="Verdict">Stored verdict (<c>notReproduced</c>, <c>reproduced</c>, ...), or null without one.</param>
/// <param name="Status">Evaluation status, or null when there is no evaluation.</param>
/// <param name="CrashTitle">Crash title, when a crash was seen.</param>
/// <param name="SameCrash">Whether the crash is the bug's own.</param>
/// <param name="Reason">Reason of the verdict, or the failure reason.</param>
/// <param name="InstancesRun">VM instances run over all rounds.</param>
/// <param name="FalseFixBound">(1 − p_low)^clean when every instance ran clean, else null.</param>
/// <param name="Instances">Every VM instance with its console file.</param>
public sealed record CrashResolutionView(
    string Outcome,
    string? Verdict,
    string? Status,
    string? CrashTitle,
    bool? SameCrash,
    string? Reason,
    int? InstancesRun,
    double? FalseFixBound,
    IReadOnlyList<InstanceView> Instances);

/// <summary>One VM instance of a crash-resolution evaluation.</summary>
/// <param name="Index">Instance number.</param>
/// <param name="Verdict">Instance verdict.</param>
/// <param name="Reason">Explanation.</param>
/// <param name="CrashTitle">Crash title, when there was one.</param>
/// <param name="SameCrash">True when the crash is the bug's own.</param>
/// <param name="Hang">True when the kernel stopped responding after reaching user space.</param>
/// <param name="Seconds">Wall-clock seconds of the instance.</param>
/// <param name="Console">Serial console file.</param>
public sealed record InstanceView(int Index, string Verdict, string Reason, string? CrashTitle, bool SameCrash, bool Hang, double Seconds, string Console);

/// <summary>One judge's evaluation of a run.</summary>
/// <param name="Judge">Judge configuration name.</param>
/// <param name="Status">Evaluation status.</param>
/// <param name="Outcome"><c>equivalent</c>, <c>discrepant</c>, or null.</param>
/// <param name="Yes">Equivalent votes.</param>
/// <param name="No">Discrepant votes.</param>
/// <param name="Errors">Errored votes.</param>
/// <param name="DollarCost">USD of all votes.</param>
/// <param name="Votes">The votes in order.</param>
public sealed record JudgeView(string Judge, string Status, string? Outcome, int Yes, int No, int Errors, double DollarCost, IReadOnlyList<VoteView> Votes);

/// <summary>One vote of a judge.</summary>
/// <param name="Index">Vote number.</param>
/// <param name="Outcome"><c>yes</c>, <c>no</c> or <c>error</c>.</param>
/// <param name="Error">Error text of an errored vote.</param>
/// <param name="InputTokens">Prompt tokens.</param>
/// <param name="OutputTokens">Completion tokens.</param>
/// <param name="DollarCost">USD.</param>
public sealed record VoteView(int Index, string Outcome, string? Error, long InputTokens, long OutputTokens, double DollarCost);

/// <summary>Localization of a run: the sets compared and their IoU.</summary>
/// <param name="Status"><c>success</c>, <c>error</c>, <c>invalid</c>, <c>pending</c>, or <c>notEvaluated</c> when there is no evaluation.</param>
/// <param name="Reason">Reason for error/invalid.</param>
/// <param name="FileIou">File IoU; null unless the evaluation succeeded.</param>
/// <param name="FileIntersection">|A∩D| over files.</param>
/// <param name="FileUnion">|A∪D| over files.</param>
/// <param name="FunctionIou">Function IoU; null unless the evaluation succeeded and measured it.</param>
/// <param name="FunctionIntersection">|A∩D| over functions.</param>
/// <param name="FunctionUnion">|A∪D| over functions.</param>
/// <param name="DefinitionIou">Definition IoU; null when not measured.</param>
/// <param name="Agent">Sets of the agent's patch (empty without a patch).</param>
/// <param name="Developer">Sets of the developer patch (empty without one).</param>
public sealed record LocalizationView(
    string Status,
    string? Reason,
    double? FileIou,
    int FileIntersection,
    int FileUnion,
    double? FunctionIou,
    int FunctionIntersection,
    int FunctionUnion,
    double? DefinitionIou,
    LocalizationSets Agent,
    LocalizationSets Developer);

/// <summary>Modified files, functions and definitions of a patch as its analysis recorded them.</summary>
/// <param name="Analysis">Patch analysis status (<c>pending</c> until <c>kbench eval localization</c> analysed it), or null without a patch.</param>
/// <param name="Files">Modified source files.</param>
/// <param name="Functions">Modified functions.</param>
/// <param name="Definitions">Enclosing top-level definitions, or null when not recorded.</param>
public sealed record LocalizationSets(string? Analysis, IReadOnlyList<string> Files, IReadOnlyList<string> Functions, IReadOnlyList<string>? Definitions);

/// <summary>Reads agent runs and their evaluations from the store for <c>kbench runs list|show</c>.</summary>
public static class RunViews
{
    /// <summary>JSON options of the views: camelCase, enums as camelCase text, nulls written (a metric not measured is null).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        WriteIndented = true,
    };

    /// <summary>
    /// The leaderboard's name of an outcome: <c>resolved</c>, <c>notResolved</c>, <c>inconclusive</c>, <c>bootError</c>,
    /// <c>compilationError</c>, <c>error</c>, <c>pending</c>, or <c>agentError</c> (the agent run failed).
    /// </summary>
    /// <param name="outcome">The outcome.</param>
    /// <returns>Its text.</returns>
    public static string OutcomeText(RunOutcome outcome) => outcome == RunOutcome.Reproduced ? "notResolved" : EnumText.ToText(outcome);

    /// <summary>The outcome of a run as the leaderboard counts it (see <see cref="RunOutcome"/>).</summary>
    /// <param name="status">The agent run's status.</param>
    /// <param name="crashStatus">Its crash evaluation's status, or null without one.</param>
    /// <param name="verdict">Its crash evaluation's verdict, or null.</param>
    /// <returns>The outcome.</returns>
    public static RunOutcome Outcome(WorkStatus status, WorkStatus? crashStatus, Verdict? verdict) =>
        status == WorkStatus.Failed ? RunOutcome.AgentError
        : crashStatus != WorkStatus.Done || verdict is null ? RunOutcome.Pending
        : verdict switch
        {
            Verdict.NotReproduced => RunOutcome.Resolved,
            Verdict.Reproduced => RunOutcome.Reproduced,
            Verdict.CompilationError => RunOutcome.CompilationError,
            Verdict.BootError => RunOutcome.BootError,
            Verdict.Inconclusive => RunOutcome.Inconclusive,
            _ => RunOutcome.Error,
        };

    /// <summary>Runs in id order, optionally of one configuration and/or one bug.</summary>
    /// <param name="db">Store.</param>
    /// <param name="agentConfigurationId">Only this configuration, or null.</param>
    /// <param name="bugId">Only this bug, or null.</param>
    /// <returns>The runs.</returns>
    public static List<RunSummary> List(KBenchDbContext db, int? agentConfigurationId, string? bugId)
    {
        var runs = db.AgentRuns.AsNoTracking();
        if (agentConfigurationId is { } c)
        {
            runs = runs.Where(r => r.AgentConfigurationId == c);
        }
        if (bugId is not null)
        {
            runs = runs.Where(r => r.BugId == bugId);
        }
        var ids = runs.Select(r => r.Id);
        var configs = db.AgentConfigurations.AsNoTracking().ToDictionary(x => x.Id, x => x.Name);
        var judgeNames = db.JudgeConfigurations.AsNoTracking().ToDictionary(x => x.Id, x => x.Name);
        var crash = db.CrashResolutionEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId))
            .Select(e => new { e.Id, e.AgentRunId, e.Status, e.Verdict }).AsEnumerable()
            .GroupBy(e => e.AgentRunId).ToDictionary(g => g.Key, g => g.MaxBy(e => e.Id)!);
        var judges = db.JudgeEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId))
            .Select(e => new { e.AgentRunId, e.JudgeConfigurationId, e.Status, e.Outcome }).AsEnumerable()
            .ToLookup(e => e.AgentRunId);
        var loc = db.LocalizationEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId) && e.Status == AnalysisStatus.Success)
            .Select(e => new { e.Id, e.AgentRunId, e.FileIou, e.FunctionIou, e.FunctionIouMeasured }).AsEnumerable()
            .GroupBy(e => e.AgentRunId).ToDictionary(g => g.Key, g => g.MaxBy(e => e.Id)!);
        return [.. runs.OrderBy(r => r.Id)
            .Select(r => new { r.Id, r.AgentConfigurationId, r.BugId, r.Batch, r.RunIndex, r.Status, r.DollarCost, r.TimeSeconds, r.ExitReason })
            .AsEnumerable()
            .Select(r =>
            {
                var ce = crash.GetValueOrDefault(r.Id);
                var le = loc.GetValueOrDefault(r.Id);
                return new RunSummary(
                    r.Id,
                    configs.GetValueOrDefault(r.AgentConfigurationId) ?? r.AgentConfigurationId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    r.BugId,
                    r.Batch,
                    r.RunIndex,
                    EnumText.ToText(r.Status),
                    OutcomeText(Outcome(r.Status, ce?.Status, ce?.Verdict)),
                    [.. judges[r.Id].OrderBy(j => judgeNames.GetValueOrDefault(j.JudgeConfigurationId), StringComparer.Ordinal)
                        .Select(j => new JudgeOutcomeView(judgeNames.GetValueOrDefault(j.JudgeConfigurationId) ?? "?", j.Outcome is { } o ? EnumText.ToText(o) : EnumText.ToText(j.Status)))],
                    le?.FileIou,
                    le is { FunctionIouMeasured: true } ? le.FunctionIou : null,
                    r.DollarCost,
                    r.TimeSeconds,
                    r.ExitReason is { } x ? EnumText.ToText(x) : null);
            })];
    }

    /// <summary>Everything about one run, or null when there is no run with that id.</summary>
    /// <param name="db">Store.</param>
    /// <param name="runId">AgentRun.Id.</param>
    /// <param name="workspaceRoot">Workspace root: stored relative paths (trajectory, log, consoles) are made absolute against it.</param>
    /// <returns>The details, or null.</returns>
    public static RunDetails? Show(KBenchDbContext db, int runId, string workspaceRoot)
    {
        var run = db.AgentRuns.AsNoTracking().Include(r => r.AgentConfiguration).Include(r => r.Patch).FirstOrDefault(r => r.Id == runId);
        if (run is null)
        {
            return null;
        }
        var bug = db.Bugs.AsNoTracking().Where(b => b.Id == run.BugId).Select(b => new { b.Title }).FirstOrDefault();
        var devPatch = db.DeveloperPatches.AsNoTracking().Where(d => d.BugId == run.BugId).Select(d => d.Patch).FirstOrDefault();
        var ce = db.CrashResolutionEvaluations.AsNoTracking().Where(e => e.AgentRunId == runId).OrderByDescending(e => e.Id).FirstOrDefault();
        var judgeNames = db.JudgeConfigurations.AsNoTracking().ToDictionary(x => x.Id, x => x.Name);
        var judges = db.JudgeEvaluations.AsNoTracking().Include(e => e.Votes).Where(e => e.AgentRunId == runId).AsEnumerable()
            .Select(e => new JudgeView(
                judgeNames.GetValueOrDefault(e.JudgeConfigurationId) ?? "?",
                EnumText.ToText(e.Status),
                e.Outcome is { } o ? EnumText.ToText(o) : null,
                e.YesCount,
                e.NoCount,
                e.ErrorCount,
                e.DollarCost,
                [.. e.Votes.OrderBy(v => v.Index).Select(v => new VoteView(v.Index, EnumText.ToText(v.Outcome), v.Error, v.InputTokens, v.OutputTokens, v.DollarCost))]))
            .OrderBy(j => j.Judge, StringComparer.Ordinal).ToList();
        var le = db.LocalizationEvaluations.AsNoTracking().Where(e => e.AgentRunId == runId).OrderByDescending(e => e.Id).FirstOrDefault();
        var ok = le?.Status == AnalysisStatus.Success;
        var localization = new LocalizationView(
            le is null ? "notEvaluated" : EnumText.ToText(le.Status),
            le?.Reason,
            ok ? le!.FileIou : null,
            le?.FileIntersection ?? 0,
            le?.FileUnion ?? 0,
            ok && le!.FunctionIouMeasured ? le.FunctionIou : null,
            le?.FunctionIntersection ?? 0,
            le?.FunctionUnion ?? 0,
            ok ? le!.DefinitionIou : null,
            Sets(run.Patch),
            Sets(devPatch));
        return new RunDetails(
            run.Id,
            run.AgentConfiguration?.Name ?? run.AgentConfigurationId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            run.AgentConfiguration?.Model ?? "",
            run.BugId,
            bug?.Title ?? "",
            run.Batch,
            run.RunIndex,
            EnumText.ToText(run.Status),
            run.FailureReason,
            run.ExitReason is { } x ? EnumText.ToText(x) : null,
            run.Steps,
            run.DollarCost,
            run.TimeSeconds,
            run.BaseCommit,
            Absolute(run.TrajectoryPath, workspaceRoot),
            Absolute(run.LogPath, workspaceRoot),
            run.Patch?.Content,
            Crash(run, ce, workspaceRoot),
            judges,
            localization);
    }

    private static CrashResolutionView Crash(AgentRun run, CrashResolutionEvaluation? ce, string root)
    {
        var outcome = OutcomeText(Outcome(run.Status, ce?.Status, ce?.Verdict));
        if (ce is null)
        {
            return new CrashResolutionView(outcome, null, null, null, null, run.Status == WorkStatus.Failed ? run.FailureReason : null, null, null, []);
        }
        IReadOnlyList<InstanceView> instances = [];
        if (ce.ResultJson is { Length: > 0 } json)
        {
            try
            {
                var result = JsonSerializer.Deserialize<ReproductionResult>(json, Gym.GymJob.JsonOptions);
                instances = result is null ? [] : [.. result.Instances.Select(i => new InstanceView(i.Index, EnumText.ToText(i.Verdict), i.Reason, i.CrashTitle, i.SameCrash, i.Hang, i.Seconds, Absolute(i.ConsolePath, root) ?? ""))];
            }
            catch (JsonException)
            {
                // An unreadable result keeps the stored verdict; the instances are then unknown.
            }
        }
        return new CrashResolutionView(
            outcome,
            ce.Verdict is { } v ? EnumText.ToText(v) : null,
            EnumText.ToText(ce.Status),
            ce.CrashTitle,
            ce.SameCrash,
            ce.Reason ?? ce.FailureReason,
            ce.InstancesRun ?? (instances.Count > 0 ? instances.Count : null),
            ce.FalseFixBound,
            instances);
    }

    private static LocalizationSets Sets(Patch? p) =>
        p is null ? new LocalizationSets(null, [], [], null) : new LocalizationSets(EnumText.ToText(p.AnalysisStatus), p.ModifiedFiles, p.ModifiedFunctions, p.ModifiedDefinitions);

    private static string? Absolute(string? path, string root) =>
        string.IsNullOrEmpty(path) ? null : Path.IsPathRooted(path) ? path : Path.Combine(root, path);
}
