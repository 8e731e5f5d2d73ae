using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Web.Dashboard;

/// <summary>One metric cell of the leaderboard page: JSON path of the value in <c>kbench leaderboard --json</c> rows, label, value.</summary>
/// <param name="Key">JSON path inside a row, e.g. <c>passAtK.crr</c>.</param>
/// <param name="Label">Column header.</param>
/// <param name="Value">Mean with its 95 % bootstrap CI; null when not measured (shown —).</param>
public sealed record MetricCell(string Key, string Label, MeanCi? Value);

/// <summary>One count shown on the leaderboard page.</summary>
/// <param name="Key">JSON path inside a row, e.g. <c>outcomes.bootError</c>.</param>
/// <param name="Label">Column header.</param>
/// <param name="Value">The count.</param>
public sealed record CountCell(string Key, string Label, int Value);

/// <summary>A leaderboard row as the page shows it (the only place that reads <see cref="LeaderboardRow"/>'s shape).</summary>
/// <param name="AgentConfig">Configuration name.</param>
/// <param name="Model">Model.</param>
/// <param name="Metrics">Metric cells, in column order.</param>
/// <param name="Counts">Count cells, in column order.</param>
/// <param name="CostPerRun">Mean AgentRun.DollarCost (USD) over this configuration's runs on the bug set with a recorded cost; null when none.</param>
public sealed record LeaderboardViewRow(string AgentConfig, string Model, IReadOnlyList<MetricCell> Metrics, IReadOnlyList<CountCell> Counts, double? CostPerRun);

/// <summary>Maps <see cref="LeaderboardResult"/> rows onto the page's cells.</summary>
public static class LeaderboardView
{
    /// <summary>The page's cells of <paramref name="row"/>; <paramref name="k"/> names the pass@k columns; EPR is not measured (null, shown —) when <paramref name="judged"/> is false (no judge ran).</summary>
    public static LeaderboardViewRow Map(LeaderboardRow row, int k, double? costPerRun, bool judged = true) => new(
        row.AgentConfig,
        row.Model,
        [
            new("passAtK.crr", $"CRR pass@{k}", row.PassAtK.Crr),
            new("passAtK.epr", $"EPR pass@{k}", judged && row.EprMeasured ? row.PassAtK.Epr : null),
            new("crr", "CRR", row.Crr),
            new("epr", "EPR", judged && row.EprMeasured ? row.Epr : null),
            new("fileIou", "File IoU", row.FileIou),
            new("functionIou", "Func IoU", row.FunctionIou),
            new("definitionIou", "Def IoU", row.DefinitionIou),
            new("passAtK.fileIou", $"File IoU pass@{k}", row.PassAtK.FileIou),
            new("passAtK.functionIou", $"Func IoU pass@{k}", row.PassAtK.FunctionIou),
        ],
        [
            new("bugs", "bugs", row.Bugs),
            new("runs", "runs", row.Runs),
            new("outcomes.resolved", "resolved", row.Outcomes.Resolved),
            new("outcomes.reproduced", "reproduced", row.Outcomes.Reproduced),
            new("outcomes.pending", "pending", row.Outcomes.Pending),
            new("outcomes.compilationError", "compile err", row.Outcomes.CompilationError),
            new("outcomes.bootError", "boot err", row.Outcomes.BootError),
            new("outcomes.error", "infra err", row.Outcomes.Error),
            new("outcomes.agentError", "agent err", row.Outcomes.AgentError),
            new("incompleteBugs", $"bugs &lt; {k} runs", row.IncompleteBugs.Count),
        ],
        costPerRun);
}

/// <summary>The page's leaderboard parameters: the options of <c>kbench leaderboard</c> plus a window of fix dates.</summary>
public sealed record LeaderboardQuery
{
    /// <summary>Dataset name; null = every bug with a run.</summary>
    public string? Dataset { get; init; }

    /// <summary>k ≥ 1.</summary>
    public int K { get; init; } = 1;

    /// <summary>Judge name; null = the library's default judge.</summary>
    public string? Judge { get; init; }

    /// <summary>First fix date of the window (inclusive, UTC); null = open.</summary>
    public DateOnly? FixedFrom { get; init; }

    /// <summary>Last fix date of the window (inclusive: the whole day, UTC); null = open.</summary>
    public DateOnly? FixedTo { get; init; }

    /// <summary>True when a fix-date window is set.</summary>
    public bool HasWindow => FixedFrom is not null || FixedTo is not null;
}

/// <summary>Runs the library's leaderboard computation for the page (read-only: never refreshes the cell table).</summary>
public static class DashboardLeaderboard
{
    /// <summary>
    /// Without a window: <see cref="Leaderboard.QueryFromRuns"/> (the same numbers as <c>kbench leaderboard --json</c>,
    /// which reads the equivalent cell table). With a window: the same dataset and judge resolution, then
    /// <see cref="Leaderboard.Compute"/> over the bugs of the set whose developer fix (DeveloperPatch.FixedTime, UTC)
    /// falls in the window, both ends inclusive (the whole last day counts, unlike kenv-web.md B.5's string compare).
    /// </summary>
    /// <param name="db">Store.</param>
    /// <param name="q">Parameters.</param>
    /// <param name="bugSet">The bug set scored (null = every bug with a run), for the cost column.</param>
    /// <exception cref="LeaderboardException">Unknown dataset or judge.</exception>
    public static LeaderboardResult Query(KBenchDbContext db, LeaderboardQuery q, out IReadOnlyCollection<string>? bugSet)
    {
        var options = new LeaderboardOptions { Dataset = q.Dataset, K = q.K, Judge = q.Judge };
        var all = Leaderboard.QueryFromRuns(db, options);
        if (!q.HasWindow)
        {
            var dsId = all.Dataset is null ? null : db.Datasets.AsNoTracking().Where(d => d.Name == all.Dataset).Select(d => (int?)d.Id).FirstOrDefault();
            bugSet = dsId is null ? null : db.DatasetMembers.AsNoTracking().Where(m => m.DatasetId == dsId).Select(m => m.BugId).ToList();
            return all;
        }
        int? datasetId = all.Dataset is null ? null : db.Datasets.AsNoTracking().Where(d => d.Name == all.Dataset).Select(d => (int?)d.Id).FirstOrDefault();
        int? judgeId = all.Judge is null ? null : db.JudgeConfigurations.AsNoTracking().Where(j => j.Name == all.Judge).Select(j => (int?)j.Id).FirstOrDefault();
        var runs = Leaderboard.LoadRuns(db, datasetId, judgeId);
        IEnumerable<string> candidates = datasetId is { } ds
            ? db.DatasetMembers.AsNoTracking().Where(m => m.DatasetId == ds).Select(m => m.BugId).ToList()
            : runs.Select(r => r.BugId);
        var from = q.FixedFrom?.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) ?? DateTime.MinValue;
        var to = q.FixedTo?.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc) ?? DateTime.MaxValue;
        var inWindow = db.DeveloperPatches.AsNoTracking().Where(p => p.FixedTime != null).Select(p => new { p.BugId, p.FixedTime })
            .AsEnumerable().Where(p => p.FixedTime >= from && p.FixedTime < to).Select(p => p.BugId).ToHashSet(StringComparer.Ordinal);
        var bugs = candidates.Where(inWindow.Contains).Distinct().ToList();
        bugSet = bugs;
        var configIds = runs.Select(r => r.AgentConfigurationId).ToHashSet();
        var configs = db.AgentConfigurations.AsNoTracking().Select(c => new ConfigInfo(c.Id, c.Name, c.Model)).AsEnumerable().Where(c => configIds.Contains(c.Id)).ToList();
        return Leaderboard.Compute(runs, bugs, configs, q.K, options.Replicates, options.Seed, all.Dataset, all.Judge);
    }

    /// <summary>Mean recorded AgentRun.DollarCost per configuration name over runs on <paramref name="bugIds"/> (null = all bugs).</summary>
    public static Dictionary<string, double?> CostPerRun(KBenchDbContext db, IReadOnlyCollection<string>? bugIds)
    {
        var rows = db.AgentRuns.AsNoTracking().Select(r => new { r.BugId, Config = r.AgentConfiguration!.Name, r.DollarCost }).ToList();
        var set = bugIds?.ToHashSet(StringComparer.Ordinal);
        return rows.Where(r => set is null || set.Contains(r.BugId)).GroupBy(r => r.Config, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Any(r => r.DollarCost is not null) ? (double?)g.Where(r => r.DollarCost is not null).Average(r => r.DollarCost!.Value) : null, StringComparer.Ordinal);
    }
}
