using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LiveKBench.Arena.Store;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Evaluation.Aggregation;

/// <summary>What became of one agent run, for the separate counts of the leaderboard.</summary>
public enum RunOutcome
{
    /// <summary>Crash evaluation verdict notReproduced: the crash is resolved (CRR = 1).</summary>
    Resolved,

    /// <summary>Verdict reproduced.</summary>
    Reproduced,

    /// <summary>Verdict compilationError (includes a patch that does not apply).</summary>
    CompilationError,

    /// <summary>Verdict bootError: the patched kernel never reached the reproducer. Never counted as resolved.</summary>
    BootError,

    /// <summary>Verdict error: an infrastructure failure. Never counted as resolved.</summary>
    Error,

    /// <summary>No crash verdict yet (no evaluation row, or not done).</summary>
    Pending,

    /// <summary>The agent run itself failed (AgentRun.Status failed): no patch.</summary>
    AgentError,

    /// <summary>Verdict inconclusive: every instance clean, but the cap came before the false-fix bound. Never counted as resolved.</summary>
    Inconclusive,
}

/// <summary>The scores of one agent run, as the leaderboard reads them.</summary>
/// <param name="RunId">AgentRun.Id.</param>
/// <param name="AgentConfigurationId">AgentRun.AgentConfigurationId.</param>
/// <param name="BugId">AgentRun.BugId.</param>
/// <param name="Batch">AgentRun.Batch (kArena unionId): first sort key of the run order.</param>
/// <param name="RunIndex">AgentRun.RunIndex: second sort key (RunId is the third).</param>
/// <param name="Outcome">Crash outcome class.</param>
/// <param name="Crr">1 when the crash verdict is notReproduced, else 0.</param>
/// <param name="Epr">1 when <paramref name="Crr"/> is 1 and the judge's evaluation is done with outcome equivalent, else 0.</param>
/// <param name="FileIou">File IoU when the localization evaluation succeeded, else 0.</param>
/// <param name="FunctionIou">Function IoU when the localization evaluation succeeded; NaN (not measured) when it succeeded but the developer fix touches no function; 0 when there is no successful evaluation (no patch, patch not analysable).</param>
/// <param name="DefinitionIou">Definition IoU when the localization evaluation succeeded and measured it; NaN (not measured) when it succeeded without measuring it; 0 when there is no successful evaluation.</param>
/// <param name="Judged">True when the judge defining EPR has a finished evaluation of the run. A configuration none of whose runs on the bug set is judged has EPR not measured (<see cref="LeaderboardRow.EprMeasured"/>).</param>
public sealed record RunScore(int RunId, int AgentConfigurationId, string BugId, int Batch, int RunIndex, RunOutcome Outcome, double Crr, double Epr, double FileIou, double FunctionIou, double DefinitionIou = double.NaN, bool Judged = true);

/// <summary>An agent configuration as shown on the leaderboard.</summary>
/// <param name="Id">AgentConfiguration.Id.</param>
/// <param name="Name">AgentConfiguration.Name.</param>
/// <param name="Model">AgentConfiguration.Model (may be empty for baselines).</param>
public sealed record ConfigInfo(int Id, string Name, string Model);

/// <summary>The metrics under one aggregation (each a mean over bugs with a 95 % bootstrap CI).</summary>
/// <param name="Crr">Crash resolution rate.</param>
/// <param name="Epr">Equivalent patch rate (judge equivalent AND crash resolved).</param>
/// <param name="FileIou">File IoU (pass: IoU &gt; 0).</param>
/// <param name="FunctionIou">Function IoU (pass: IoU &gt; 0) over the bugs where it is measured; null when it is measured on none.</param>
/// <param name="DefinitionIou">Definition IoU (pass: IoU &gt; 0) over the bugs where it is measured; null when it is measured on none.</param>
public sealed record MetricSet(MeanCi Crr, MeanCi Epr, MeanCi FileIou, MeanCi? FunctionIou, MeanCi? DefinitionIou);

/// <summary>A bug with fewer than k runs of a configuration (kept in every mean, listed here).</summary>
/// <param name="BugId">The bug.</param>
/// <param name="Runs">Its number of runs (0 ≤ runs &lt; k).</param>
public sealed record IncompleteBug(string BugId, int Runs);

/// <summary>Runs of a configuration by outcome; every run counts in exactly one field.</summary>
/// <param name="Resolved">notReproduced.</param>
/// <param name="Reproduced">reproduced.</param>
/// <param name="CompilationError">compilationError.</param>
/// <param name="BootError">bootError (scored 0, never resolved).</param>
/// <param name="Error">infrastructure error (scored 0, never resolved).</param>
/// <param name="Pending">no verdict yet (scored 0).</param>
/// <param name="AgentError">the agent run failed (scored 0).</param>
/// <param name="Inconclusive">inconclusive (scored 0, never resolved).</param>
public sealed record OutcomeCounts(int Resolved, int Reproduced, int CompilationError, int BootError, int Error, int Pending, int AgentError, int Inconclusive = 0);

/// <summary>
/// The <c>counts</c> object of <c>kbench leaderboard --json</c>: every run in exactly one field, so the fields sum to
/// <see cref="Runs"/>. <see cref="Error"/> holds infrastructure errors that stayed after the retries and failed agent runs
/// (no patch to evaluate); neither is ever a fix.
/// </summary>
/// <param name="Runs">All runs of the configuration.</param>
/// <param name="Resolved">Crash resolved (enough clean instances for the false-fix bound).</param>
/// <param name="NotResolved">A crash (any crash) or a hang after boot with the patch applied.</param>
/// <param name="Inconclusive">All instances clean but the instance cap came before the bound.</param>
/// <param name="BootError">The patched kernel never reached the reproducer.</param>
/// <param name="CompilationError">The patch did not apply or the kernel did not build.</param>
/// <param name="Error">Infrastructure error after every retry, or the agent run failed.</param>
/// <param name="Pending">No final verdict yet.</param>
public sealed record RunCounts(int Runs, int Resolved, int NotResolved, int Inconclusive, int BootError, int CompilationError, int Error, int Pending)
{
    /// <summary>The counts of one row from its outcome counts.</summary>
    /// <param name="runs">Runs.</param>
    /// <param name="o">Outcome counts.</param>
    /// <returns>The counts.</returns>
    public static RunCounts From(int runs, OutcomeCounts o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return new(runs, o.Resolved, o.Reproduced, o.Inconclusive, o.BootError, o.CompilationError, o.Error + o.AgentError, o.Pending);
    }
}

/// <summary>One leaderboard row (one agent configuration).</summary>
/// <param name="AgentConfig">Configuration name.</param>
/// <param name="Model">Model display name.</param>
/// <param name="Bugs">Bugs in the bug set (every configuration is scored over all of them).</param>
/// <param name="Runs">Runs of this configuration on those bugs.</param>
/// <param name="Crr">Per bug: resolved runs / runs (0 for a bug without runs); mean over bugs.</param>
/// <param name="Epr">Per bug: equivalent-and-resolved runs / runs; mean over bugs.</param>
/// <param name="FileIou">Per bug: mean file IoU over runs; mean over bugs.</param>
/// <param name="FunctionIou">Per bug: mean function IoU over the runs where it is measured; mean over the <paramref name="FunctionIouBugs"/> bugs with such a run (CI by resampling those bugs); null when there is none.</param>
/// <param name="DefinitionIou">Per bug: mean definition IoU over the runs where it is measured; mean over the <paramref name="DefinitionIouBugs"/> bugs with such a run; null when there is none.</param>
/// <param name="PassAtK">Unbiased pass@k per bug (<see cref="Estimators.PassAtK"/>; success = score &gt; 0); mean over bugs.</param>
/// <param name="MeanAtK">kArena mean@k per bug (<see cref="Estimators.MeanAtK"/>, first k runs); mean over bugs.</param>
/// <param name="IncompleteBugs">Bugs with fewer than k runs, with their run counts (ordered by bug id).</param>
/// <param name="Outcomes">Runs by outcome (bootError and error separately).</param>
/// <param name="FunctionIouBugs">Bugs in the function IoU mean: those with a run where it is measured (the developer fix touches a function), plus bugs without runs (scored 0).</param>
/// <param name="DefinitionIouBugs">Bugs in the definition IoU mean, likewise.</param>
/// <param name="EprMeasured">False when the judge defining EPR finished no evaluation of this configuration's runs on the bug set: its EPR values are then 0 by construction and shown as not measured (null in JSON, empty in CSV, – in the table).</param>
public sealed record LeaderboardRow(
    string AgentConfig,
    string Model,
    int Bugs,
    int Runs,
    MeanCi Crr,
    MeanCi Epr,
    MeanCi FileIou,
    MeanCi? FunctionIou,
    MeanCi? DefinitionIou,
    MetricSet PassAtK,
    MetricSet MeanAtK,
    IReadOnlyList<IncompleteBug> IncompleteBugs,
    OutcomeCounts Outcomes,
    int FunctionIouBugs,
    int DefinitionIouBugs,
    [property: JsonIgnore] bool EprMeasured = true)
{
    /// <summary>Runs by final outcome; the fields sum to <see cref="Runs"/> (JSON <c>counts</c>).</summary>
    public RunCounts Counts => RunCounts.From(Runs, Outcomes);

    /// <summary>Mean cost in USD of this configuration's done runs on the bug set that recorded a cost (metadata.json's
    /// <c>dollarCost</c>; for npm-cli and cli agents measured by the model proxy); null when no run recorded one (JSON
    /// <c>costPerRunUsd</c>). Set by the store queries; <see cref="Leaderboard.Compute"/> leaves it null.</summary>
    public double? CostPerRunUsd { get; init; }

    /// <summary>How many runs <see cref="CostPerRunUsd"/> averages (JSON <c>costRuns</c>).</summary>
    public int CostRuns { get; init; }
}

/// <summary>The leaderboard: one row per agent configuration, ordered by EPR pass@k, then CRR pass@k, then name.</summary>
/// <param name="Dataset">Dataset name, or null for "every bug with at least one run".</param>
/// <param name="K">k of pass@k and mean@k.</param>
/// <param name="Judge">Judge configuration whose verdicts define EPR; null when no judge has evaluations (EPR is then not measured: null in JSON, empty in CSV, – in the table).</param>
/// <param name="Bugs">Size of the bug set.</param>
/// <param name="Replicates">Bootstrap replicates used for the CIs.</param>
/// <param name="Seed">Bootstrap seed.</param>
/// <param name="Rows">The rows.</param>
public sealed record LeaderboardResult(string? Dataset, int K, string? Judge, int Bugs, int Replicates, ulong Seed, IReadOnlyList<LeaderboardRow> Rows)
{
    /// <summary>JSON options of the leaderboard output: camelCase, nulls kept, enums as camelCase text.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// The result as indented JSON (<c>{"dataset","k","judge","bugs","replicates","seed","rows":[...]}</c>). When no judge
    /// ran (<see cref="Judge"/> null) every <c>epr</c> (row, <c>passAtK</c>, <c>meanAtK</c>) is null: not measured, not 0;
    /// likewise in a row whose configuration the judge evaluated on no run (<see cref="LeaderboardRow.EprMeasured"/>).
    /// </summary>
    public string ToJson()
    {
        var node = JsonSerializer.SerializeToNode(this, JsonOptions)!;
        var rows = node["rows"]!.AsArray();
        for (var i = 0; i < rows.Count; i++)
        {
            if (Judge is null || !Rows[i].EprMeasured)
            {
                var row = rows[i]!;
                row["epr"] = null;
                row["passAtK"]!["epr"] = null;
                row["meanAtK"]!["epr"] = null;
            }
        }
        return node.ToJsonString(JsonOptions);
    }

    /// <summary>CSV with a header line; one line per configuration; CIs as separate columns; incomplete bugs as a count; a metric that is not measured (EPR without a judge, an IoU measured on no bug) is empty.</summary>
    public string ToCsv()
    {
        var sb = new StringBuilder();
        var metricCols = new[] { "crr", "epr", "fileIou", "functionIou", "definitionIou" };
        sb.Append("agentConfig,model,bugs,runs");
        foreach (var prefix in new[] { "", "passAtK.", "meanAtK." })
        {
            foreach (var m in metricCols)
            {
                sb.Append($",{prefix}{m},{prefix}{m}.ciLow,{prefix}{m}.ciHigh");
            }
        }
        sb.Append(",incompleteBugs,resolved,reproduced,compilationError,bootError,error,pending,agentError,inconclusive,functionIouBugs,definitionIouBugs,costPerRunUsd,costRuns\n");
        foreach (var r in Rows)
        {
            sb.Append(Csv(r.AgentConfig)).Append(',').Append(Csv(r.Model)).Append(',').Append(r.Bugs).Append(',').Append(r.Runs);
            foreach (var set in new[] { new MetricSet(r.Crr, r.Epr, r.FileIou, r.FunctionIou, r.DefinitionIou), r.PassAtK, r.MeanAtK })
            {
                foreach (var ci in new[] { set.Crr, Judge is null || !r.EprMeasured ? null : set.Epr, set.FileIou, set.FunctionIou, set.DefinitionIou })
                {
                    sb.Append(ci is null ? ",,," : $",{ci.Mean:R},{ci.CiLow:R},{ci.CiHigh:R}");
                }
            }
            var o = r.Outcomes;
            sb.Append($",{r.IncompleteBugs.Count},{o.Resolved},{o.Reproduced},{o.CompilationError},{o.BootError},{o.Error},{o.Pending},{o.AgentError},{o.Inconclusive},{r.FunctionIouBugs},{r.DefinitionIouBugs}");
            sb.Append(r.CostPerRunUsd is { } cost ? $",{cost:R},{r.CostRuns}\n" : $",,{r.CostRuns}\n");
        }
        return sb.ToString();
    }

    private static string Csv(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}

/// <summary>Options of <see cref="Leaderboard"/>.</summary>
public sealed record LeaderboardOptions
{
    /// <summary>Dataset name or numeric id; null = every bug with at least one agent run.</summary>
    public string? Dataset { get; init; }

    /// <summary>k of pass@k/mean@k (≥ 1). Default 1.</summary>
    public int K { get; init; } = 1;

    /// <summary>Judge configuration name defining EPR; null = the judge with the most finished evaluations (ties: by name).</summary>
    public string? Judge { get; init; }

    /// <summary>Bootstrap replicates. Default <see cref="Bootstrap.DefaultReplicates"/>.</summary>
    public int Replicates { get; init; } = Bootstrap.DefaultReplicates;

    /// <summary>Bootstrap seed. Default <see cref="Bootstrap.DefaultSeed"/>.</summary>
    public ulong Seed { get; init; } = Bootstrap.DefaultSeed;
}

/// <summary>Unknown dataset or judge name given to the leaderboard.</summary>
public sealed class LeaderboardException(string message) : Exception(message);

/// <summary>
/// Computes the leaderboard (kenv-web.md B.5, with the defects listed there fixed): every configuration is
/// scored over the same bug set; per (configuration, bug) the runs are ordered by (batch, run index, id);
/// per-run scores follow karena.md §4.2–4.4; each configuration's value is the mean over bugs with a 95 %
/// percentile-bootstrap CI. Bugs with fewer than k runs are kept (pass@k falls back to pass@n, mean@k counts
/// missing runs as 0) and listed in <see cref="LeaderboardRow.IncompleteBugs"/>; failed agent runs, pending
/// evaluations, bootError and error verdicts score 0 and are counted separately in <see cref="LeaderboardRow.Outcomes"/>.
/// </summary>
public static class Leaderboard
{
    /// <summary>
    /// Number of per-bug columns: crr, epr, fileIou, functionIou × (mean, pass@k, mean@k) in 0–11, then definitionIou
    /// (mean, pass@k, mean@k) in 12–14. The IoU columns 3, 7, 11 and 12–14 are NaN for a bug where the metric is not measured.
    /// </summary>
    internal const int Columns = 15;

    /// <summary>(mean, pass@k, mean@k) column of each metric m (crr, epr, file, function, definition).</summary>
    internal static ReadOnlySpan<int> MeanColumn => [0, 1, 2, 3, 12];

    /// <inheritdoc cref="MeanColumn"/>
    internal static ReadOnlySpan<int> PassColumn => [4, 5, 6, 7, 13];

    /// <inheritdoc cref="MeanColumn"/>
    internal static ReadOnlySpan<int> MeanAtKColumn => [8, 9, 10, 11, 14];

    /// <summary>
    /// Computes the leaderboard from the store's <see cref="LeaderboardCell"/> table (one row per configuration
    /// and bug): first recomputes the cells that writes since the last query made stale (see
    /// <see cref="LeaderboardCells"/>; this writes to the store), then reads every cell in one transaction.
    /// When the write lock is not free within <see cref="LeaderboardCells.RefreshLockWaitSeconds"/> s, or the
    /// context already has a transaction, it computes from the run and evaluation tables instead
    /// (<see cref="QueryFromRuns"/>: same result, slower).
    /// </summary>
    /// <exception cref="LeaderboardException">Unknown dataset or judge.</exception>
    /// <exception cref="ArgumentOutOfRangeException">K &lt; 1 or negative replicates.</exception>
    public static LeaderboardResult Query(KBenchDbContext db, LeaderboardOptions options) => Query(db, options, out _);

    /// <summary>As <see cref="Query(KBenchDbContext, LeaderboardOptions)"/>; <paramref name="refreshedCells"/> is the number of cells recomputed first, or −1 when the result was computed from the run tables.</summary>
    /// <exception cref="LeaderboardException">Unknown dataset or judge.</exception>
    /// <exception cref="ArgumentOutOfRangeException">K &lt; 1 or negative replicates.</exception>
    public static LeaderboardResult Query(KBenchDbContext db, LeaderboardOptions options, out int refreshedCells)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.K, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Replicates);
        refreshedCells = -1;
        if (db.Database.CurrentTransaction is not null)
        {
            return QueryFromRuns(db, options);
        }
        var snapshot = LeaderboardCells.ReadFresh(db, conn => ReadCellSnapshot(db, conn, options), out var refreshed);
        if (snapshot is null)
        {
            return QueryFromRuns(db, options);
        }
        refreshedCells = refreshed;
        return WithCosts(db, ComputeFromCells(snapshot, options), options);
    }

    /// <summary>Sets each row's <see cref="LeaderboardRow.CostPerRunUsd"/>: the mean recorded cost of the configuration's
    /// done runs, on the dataset's bugs when a dataset is selected.</summary>
    private static LeaderboardResult WithCosts(KBenchDbContext db, LeaderboardResult result, LeaderboardOptions options)
    {
        if (result.Rows.Count == 0)
        {
            return result;
        }
        var (datasetId, _) = ResolveDataset(db, options.Dataset);
        var runs = db.AgentRuns.AsNoTracking().Where(r => r.Status == WorkStatus.Done && r.DollarCost != null);
        if (datasetId is { } dsId)
        {
            runs = runs.Where(r => db.DatasetMembers.Any(m => m.DatasetId == dsId && m.BugId == r.BugId));
        }
        var costs = runs.Select(r => new { r.AgentConfigurationId, Cost = r.DollarCost!.Value }).AsEnumerable()
            .GroupBy(r => r.AgentConfigurationId)
            .ToDictionary(g => g.Key, g => (Mean: g.Average(r => r.Cost), Count: g.Count()));
        var names = db.AgentConfigurations.AsNoTracking().Select(c => new { c.Id, c.Name }).ToDictionary(c => c.Name, c => c.Id, StringComparer.Ordinal);
        return result with
        {
            Rows = [.. result.Rows.Select(r => names.TryGetValue(r.AgentConfig, out var id) && costs.TryGetValue(id, out var c)
                ? r with { CostPerRunUsd = c.Mean, CostRuns = c.Count }
                : r)],
        };
    }

    /// <summary>
    /// The reference computation: loads every run and evaluation (<see cref="LoadRuns"/>, in one read
    /// transaction) and aggregates them with <see cref="Compute"/>. Gives the same result as
    /// <see cref="Query(KBenchDbContext, LeaderboardOptions)"/> without using or refreshing the cell table.
    /// </summary>
    /// <exception cref="LeaderboardException">Unknown dataset or judge.</exception>
    /// <exception cref="ArgumentOutOfRangeException">K &lt; 1 or negative replicates.</exception>
    public static LeaderboardResult QueryFromRuns(KBenchDbContext db, LeaderboardOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.K, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Replicates);
        var (runs, bugs, configs, datasetName, judgeName) = LeaderboardCells.InReadTransaction(db, () =>
        {
            var (datasetId, datasetName) = ResolveDataset(db, options.Dataset);
            var (judgeId, judgeName) = ResolveJudge(db, options.Judge);
            var runs = LoadRuns(db, datasetId, judgeId);
            List<string> bugs;
            if (datasetId is { } dsId)
            {
                bugs = [.. db.DatasetMembers.AsNoTracking().Where(m => m.DatasetId == dsId).Select(m => m.BugId).Distinct()];
            }
            else
            {
                bugs = [.. runs.Select(r => r.BugId).Distinct()];
            }
            var configIds = runs.Select(r => r.AgentConfigurationId).Distinct().ToHashSet();
            var configs = db.AgentConfigurations.AsNoTracking()
                .Select(c => new ConfigInfo(c.Id, c.Name, c.Model))
                .AsEnumerable()
                .Where(c => configIds.Contains(c.Id))
                .ToList();
            return (runs, bugs, configs, datasetName, judgeName);
        });
        return WithCosts(db, Compute(runs, bugs, configs, options.K, options.Replicates, options.Seed, datasetName, judgeName), options);
    }

    /// <summary>What a cell-based query reads inside its transaction.</summary>
    private sealed record CellSnapshot(string? DatasetName, int? JudgeId, string? JudgeName, List<ConfigInfo> Configs, LeaderboardCells.ScanResult Scan);

    private static CellSnapshot ReadCellSnapshot(KBenchDbContext db, Microsoft.Data.Sqlite.SqliteConnection conn, LeaderboardOptions options)
    {
        var (datasetId, datasetName) = ResolveDataset(db, options.Dataset);
        int? judgeId = null;
        string? judgeName = null;
        var judgeGiven = !string.IsNullOrWhiteSpace(options.Judge);
        if (judgeGiven)
        {
            (judgeId, judgeName) = ResolveJudge(db, options.Judge);
        }
        List<string>? members = datasetId is { } dsId
            ? [.. db.DatasetMembers.AsNoTracking().Where(m => m.DatasetId == dsId).Select(m => m.BugId).Distinct().AsEnumerable().Order(StringComparer.Ordinal)]
            : null;
        var configs = db.AgentConfigurations.AsNoTracking().Select(c => new ConfigInfo(c.Id, c.Name, c.Model)).ToList();
        var scan = LeaderboardCells.Scan(conn, configs, members, options.K, judgeGiven ? judgeId : null);
        if (!judgeGiven)
        {
            // Default judge as ResolveJudge picks it: most finished evaluations over the whole store (every
            // judge evaluation belongs to a run, hence to a cell), ties by name.
            if (scan.JudgeDone.Count > 0)
            {
                var names = db.JudgeConfigurations.AsNoTracking().Select(x => new { x.Id, x.Name }).ToDictionary(x => x.Id, x => x.Name);
                var pick = scan.JudgeDone.OrderByDescending(d => d.Value).ThenBy(d => names.GetValueOrDefault(d.Key) ?? "", StringComparer.Ordinal).ThenBy(d => d.Key).First();
                (judgeId, judgeName) = (pick.Key, names.GetValueOrDefault(pick.Key));
            }
            scan.UseJudge(judgeId);
        }
        return new CellSnapshot(datasetName, judgeId, judgeName, configs, scan);
    }

    private static LeaderboardResult ComputeFromCells(CellSnapshot snap, LeaderboardOptions options)
    {
        using var scan = snap.Scan;
        var k = options.K;
        var bugs = scan.Bugs;
        var ranked = Enumerable.Range(0, snap.Configs.Count).Where(ci => scan.Configs[ci] is not null).ToArray();
        var rows = new LeaderboardRow[ranked.Length];
        // Pooled (4 MB for 1,000 bugs × 1,000 replicates): a fresh array per query would cost a full GC each time.
        var count = checked(bugs.Length * options.Replicates);
        var indices = System.Buffers.ArrayPool<int>.Shared.Rent(count);
        Bootstrap.FillResampleIndices(indices, count, bugs.Length, options.Seed);
        Parallel.For(0, ranked.Length, r =>
        {
            var cv = scan.Configs[ranked[r]]!;
            var incomplete = new List<IncompleteBug>();
            for (var b = 0; b < bugs.Length; b++)
            {
                if (cv.Runs[b] < k)
                {
                    incomplete.Add(new IncompleteBug(bugs[b], cv.Runs[b]));
                }
            }
            var judged = snap.JudgeId is { } j && cv.JudgeDone.GetValueOrDefault(j) > 0;
            rows[r] = BuildRow(snap.Configs[ranked[r]], cv.Values, bugs.Length, incomplete, cv.Counts, cv.TotalRuns, options.Replicates, indices, options.Seed, judged);
        });
        System.Buffers.ArrayPool<int>.Shared.Return(indices);
        return new LeaderboardResult(snap.DatasetName, k, snap.JudgeName, bugs.Length, options.Replicates, options.Seed, Rank(rows));
    }

    private static List<LeaderboardRow> Rank(IEnumerable<LeaderboardRow> rows) => rows
        .OrderByDescending(r => r.PassAtK.Epr.Mean)
        .ThenByDescending(r => r.PassAtK.Crr.Mean)
        .ThenBy(r => r.AgentConfig, StringComparer.Ordinal)
        .ToList();

    /// <summary>
    /// Computes the leaderboard from run scores (no store access; used by <see cref="QueryFromRuns"/> and by tests).
    /// </summary>
    /// <param name="runs">Run scores; runs of bugs outside <paramref name="bugs"/> or of configurations outside <paramref name="configs"/> are ignored.</param>
    /// <param name="bugs">The bug set; every configuration is scored over all of it.</param>
    /// <param name="configs">The configurations to rank.</param>
    /// <param name="k">k ≥ 1.</param>
    /// <param name="replicates">Bootstrap replicates.</param>
    /// <param name="seed">Bootstrap seed.</param>
    /// <param name="datasetName">Shown in the result.</param>
    /// <param name="judgeName">Shown in the result.</param>
    /// <returns>The leaderboard.</returns>
    public static LeaderboardResult Compute(
        IReadOnlyList<RunScore> runs,
        IReadOnlyList<string> bugs,
        IReadOnlyList<ConfigInfo> configs,
        int k,
        int replicates = Bootstrap.DefaultReplicates,
        ulong seed = Bootstrap.DefaultSeed,
        string? datasetName = null,
        string? judgeName = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var orderedBugs = bugs.Distinct().Order(StringComparer.Ordinal).ToArray();
        var bugIndex = new Dictionary<string, int>(orderedBugs.Length, StringComparer.Ordinal);
        for (var i = 0; i < orderedBugs.Length; i++)
        {
            bugIndex[orderedBugs[i]] = i;
        }
        var configIndex = new Dictionary<int, int>();
        for (var i = 0; i < configs.Count; i++)
        {
            configIndex[configs[i].Id] = i;
        }
        // runsBy[config][bug] = runs
        var runsBy = new List<RunScore>?[configs.Count][];
        for (var i = 0; i < configs.Count; i++)
        {
            runsBy[i] = new List<RunScore>?[orderedBugs.Length];
        }
        foreach (var r in runs)
        {
            if (configIndex.TryGetValue(r.AgentConfigurationId, out var ci) && bugIndex.TryGetValue(r.BugId, out var bi))
            {
                (runsBy[ci][bi] ??= []).Add(r);
            }
        }
        var rows = new LeaderboardRow[configs.Count];
        var indices = Bootstrap.ResampleIndices(orderedBugs.Length, replicates, seed); // shared: paired across configurations
        Parallel.For(0, configs.Count, ci =>
        {
            var values = PerBugValues(runsBy[ci], orderedBugs, k, out var incomplete, out var counts, out var totalRuns);
            var judged = runsBy[ci].Any(list => list?.Exists(r => r.Judged) == true);
            rows[ci] = BuildRow(configs[ci], values, orderedBugs.Length, incomplete, counts, totalRuns, replicates, indices, seed, judged);
        });
        return new LeaderboardResult(datasetName, k, judgeName, orderedBugs.Length, replicates, seed, Rank(rows));
    }

    private static readonly Comparison<RunScore> RunOrder = (a, b) =>
    {
        var c = a.Batch.CompareTo(b.Batch);
        if (c != 0)
        {
            return c;
        }
        c = a.RunIndex.CompareTo(b.RunIndex);
        return c != 0 ? c : a.RunId.CompareTo(b.RunId);
    };

    private static LeaderboardRow BuildRow(ConfigInfo config, double[] values, int bugs, List<IncompleteBug> incomplete, int[] counts, int totalRuns, int replicates, int[] indices, ulong seed, bool eprMeasured)
    {
        // Nullable IoU metrics: mean and CI over the bugs where they are measured (their own resample of those bugs).
        var function = MeasuredMeans(values, bugs, [3, 7, 11], replicates, seed, out var functionBugs);
        var definition = MeasuredMeans(values, bugs, [12, 13, 14], replicates, seed, out var definitionBugs);
        for (var i = 0; i < bugs * Columns; i++)
        {
            if (double.IsNaN(values[i]))
            {
                values[i] = 0; // the measured means above are final; keep NaN out of the shared bootstrap
            }
        }
        // indices come from Bootstrap.ResampleIndices(bugs, replicates, …): in range by construction.
        var ci = Bootstrap.MeansWithCi(values, bugs, Columns, indices, replicates, 0.95, System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated, indicesChecked: true);
        return new LeaderboardRow(
            config.Name,
            config.Model,
            bugs,
            totalRuns,
            ci[0],
            ci[1],
            ci[2],
            function?[0],
            definition?[0],
            new MetricSet(ci[4], ci[5], ci[6], function?[1], definition?[1]),
            new MetricSet(ci[8], ci[9], ci[10], function?[2], definition?[2]),
            incomplete,
            new OutcomeCounts(
                counts[(int)RunOutcome.Resolved],
                counts[(int)RunOutcome.Reproduced],
                counts[(int)RunOutcome.CompilationError],
                counts[(int)RunOutcome.BootError],
                counts[(int)RunOutcome.Error],
                counts[(int)RunOutcome.Pending],
                counts[(int)RunOutcome.AgentError],
                counts[(int)RunOutcome.Inconclusive]),
            functionBugs,
            definitionBugs,
            eprMeasured);
    }

    /// <summary>
    /// Means with bootstrap CIs of <paramref name="columns"/> over the bugs whose first column is not NaN (measured),
    /// resampling only those bugs; null when no bug is measured.
    /// </summary>
    private static MeanCi[]? MeasuredMeans(double[] values, int bugs, int[] columns, int replicates, ulong seed, out int measured)
    {
        var compact = new List<double>();
        measured = 0;
        for (var b = 0; b < bugs; b++)
        {
            if (double.IsNaN(values[(b * Columns) + columns[0]]))
            {
                continue;
            }
            measured++;
            foreach (var c in columns)
            {
                compact.Add(values[(b * Columns) + c]);
            }
        }
        return measured == 0 ? null : Bootstrap.MeansWithCi(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(compact), measured, columns.Length, replicates, seed);
    }

    /// <summary>
    /// Per-bug metric matrix of one configuration: row b (bug <paramref name="bugs"/>[b]) holds <see cref="Columns"/>
    /// values: mean crr, epr, fileIou, functionIou over the runs; pass@k of the same four; mean@k of the same four;
    /// then mean, pass@k and mean@k of definitionIou. Function and definition IoU are taken over the runs where they
    /// are measured (not NaN) only, and are NaN for a bug whose runs measure none (a bug without runs scores 0).
    /// </summary>
    /// <param name="byBug">Runs per bug (null = none), same order as <paramref name="bugs"/>; sorted in place into run order.</param>
    /// <param name="bugs">Bug ids.</param>
    /// <param name="k">k ≥ 1.</param>
    /// <param name="incomplete">Bugs with fewer than k runs.</param>
    /// <param name="counts">Runs per <see cref="RunOutcome"/> (indexed by the enum value).</param>
    /// <param name="totalRuns">All runs.</param>
    internal static double[] PerBugValues(List<RunScore>?[] byBug, string[] bugs, int k, out List<IncompleteBug> incomplete, out int[] counts, out int totalRuns)
    {
        var values = new double[bugs.Length * Columns];
        incomplete = [];
        counts = new int[Enum.GetValues<RunOutcome>().Length];
        totalRuns = 0;
        var perRun = new double[5][];
        for (var b = 0; b < bugs.Length; b++)
        {
            var list = byBug[b];
            var n = list?.Count ?? 0;
            totalRuns += n;
            if (n < k)
            {
                incomplete.Add(new IncompleteBug(bugs[b], n));
            }
            var row = values.AsSpan(b * Columns, Columns);
            if (list is null)
            {
                continue; // all zeros: a bug without runs scores 0 in every metric, as in CRR
            }
            list.Sort(RunOrder);
            for (var m = 0; m < 5; m++)
            {
                if (perRun[m] is null || perRun[m].Length < n)
                {
                    perRun[m] = new double[Math.Max(n, 8)];
                }
            }
            for (var i = 0; i < n; i++)
            {
                var r = list[i];
                counts[(int)r.Outcome]++;
                perRun[0][i] = r.Crr;
                perRun[1][i] = r.Epr;
                perRun[2][i] = r.FileIou;
                perRun[3][i] = r.FunctionIou;
                perRun[4][i] = r.DefinitionIou;
            }
            for (var m = 0; m < 5; m++)
            {
                BugStats(perRun[m].AsSpan(0, n), k, out row[MeanColumn[m]], out row[PassColumn[m]], out row[MeanAtKColumn[m]]);
            }
        }
        return values;
    }

    /// <summary>
    /// One metric of one bug from its per-run scores in run order: the mean, unbiased pass@k (success = score &gt; 0)
    /// and mean@k over the runs whose score is not NaN (measured); all three NaN when no run is measured. The
    /// cell path (<see cref="LeaderboardCells"/>) and the run path share this, so both give identical values.
    /// </summary>
    /// <param name="runs">Scores in run order (NaN = not measured); NaN entries are removed in place (the span is reordered).</param>
    /// <param name="k">k ≥ 1.</param>
    /// <param name="mean">Mean over measured runs.</param>
    /// <param name="pass">pass@k over measured runs.</param>
    /// <param name="meanAtK">mean@k over measured runs.</param>
    internal static void BugStats(Span<double> runs, int k, out double mean, out double pass, out double meanAtK)
    {
        var m = 0;
        double sum = 0;
        var hits = 0;
        for (var i = 0; i < runs.Length; i++)
        {
            var v = runs[i];
            if (double.IsNaN(v))
            {
                continue;
            }
            runs[m++] = v;
            sum += v;
            hits += v > 0 ? 1 : 0;
        }
        if (m == 0)
        {
            mean = pass = meanAtK = double.NaN;
            return;
        }
        mean = sum / m;
        pass = Estimators.PassAtK(m, hits, k);
        meanAtK = Estimators.MeanAtK(runs[..m], k);
    }

    internal static (int? Id, string? Name) ResolveDataset(KBenchDbContext db, string? dataset)
    {
        if (string.IsNullOrWhiteSpace(dataset))
        {
            return (null, null);
        }
        var byName = db.Datasets.AsNoTracking().Where(d => d.Name == dataset).Select(d => new { d.Id, d.Name }).FirstOrDefault();
        if (byName is null && int.TryParse(dataset, out var id))
        {
            byName = db.Datasets.AsNoTracking().Where(d => d.Id == id).Select(d => new { d.Id, d.Name }).FirstOrDefault();
        }
        return byName is null
            ? throw new LeaderboardException($"no dataset named or numbered '{dataset}'")
            : (byName.Id, byName.Name);
    }

    internal static (int? Id, string? Name) ResolveJudge(KBenchDbContext db, string? judge)
    {
        if (!string.IsNullOrWhiteSpace(judge))
        {
            var j = db.JudgeConfigurations.AsNoTracking().Where(x => x.Name == judge).Select(x => new { x.Id, x.Name }).FirstOrDefault();
            return j is null ? throw new LeaderboardException($"no judge configuration named '{judge}'") : (j.Id, j.Name);
        }
        var best = db.JudgeEvaluations.AsNoTracking()
            .Where(e => e.Status == WorkStatus.Done)
            .GroupBy(e => e.JudgeConfigurationId)
            .Select(g => new { Id = g.Key, N = g.Count() })
            .ToList();
        if (best.Count == 0)
        {
            return (null, null);
        }
        var names = db.JudgeConfigurations.AsNoTracking().Select(x => new { x.Id, x.Name }).ToDictionary(x => x.Id, x => x.Name);
        var pick = best.OrderByDescending(b => b.N).ThenBy(b => names.GetValueOrDefault(b.Id) ?? "", StringComparer.Ordinal).First();
        return (pick.Id, names.GetValueOrDefault(pick.Id));
    }

    /// <summary>
    /// Four sequential-scan SQL queries (runs; done crash verdicts; equivalent verdicts of one judge; successful
    /// localization rows), joined in memory through arrays indexed by run id — cheaper than SQL LEFT JOINs, which
    /// cost one index probe per run and table. Only the needed columns, plain data readers, no change tracking,
    /// enum texts compared inside SQLite.
    /// Table and column names come from the EF model, so the query follows the schema.
    /// </summary>
    /// <param name="db">Store.</param>
    /// <param name="datasetId">Only runs on members of this dataset; null = all runs.</param>
    /// <param name="judgeId">Judge configuration whose evaluations define EPR; null = none (EPR 0).</param>
    /// <returns>One score per agent run, unordered.</returns>
    public static List<RunScore> LoadRuns(KBenchDbContext db, int? datasetId, int? judgeId)
    {
        var run = Table<AgentRun>(db);
        var crash = Table<CrashResolutionEvaluation>(db);
        var judge = Table<JudgeEvaluation>(db);
        var loc = Table<LocalizationEvaluation>(db);
        var member = Table<DatasetMember>(db);
        var conn = db.Database.GetDbConnection();
        if (conn.State != System.Data.ConnectionState.Open)
        {
            conn.Open();
        }
        var inDataset = datasetId is null ? "" : $"WHERE {{0}} IN (SELECT {member.Col(nameof(DatasetMember.BugId))} FROM \"{member.Name}\" WHERE {member.Col(nameof(DatasetMember.DatasetId))} = $ds)";
        var runIdsInDataset = datasetId is null ? "" : $"AND {{0}} IN (SELECT {run.Col(nameof(AgentRun.Id))} FROM \"{run.Name}\" " + string.Format(CultureInfo.InvariantCulture, inDataset, run.Col(nameof(AgentRun.BugId))) + ")";

        // 1. Runs (one sequential scan).
        var runs = new List<(int Id, int Config, string Bug, int Batch, int Index, bool Failed)>();
        var bugIds = new Dictionary<string, string>(StringComparer.Ordinal); // intern bug ids
        var maxId = 0;
        using (var cmd = Command(conn, $"SELECT {run.Col(nameof(AgentRun.Id))}, {run.Col(nameof(AgentRun.AgentConfigurationId))}, {run.Col(nameof(AgentRun.BugId))}, {run.Col(nameof(AgentRun.Batch))}, {run.Col(nameof(AgentRun.RunIndex))}, {run.Col(nameof(AgentRun.Status))} = $failed FROM \"{run.Name}\" " + string.Format(CultureInfo.InvariantCulture, inDataset, run.Col(nameof(AgentRun.BugId))), datasetId))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                var bug = reader.GetString(2);
                if (!bugIds.TryGetValue(bug, out var interned))
                {
                    bugIds[bug] = interned = bug;
                }
                var id = reader.GetInt32(0);
                maxId = Math.Max(maxId, id);
                runs.Add((id, reader.GetInt32(1), interned, reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5) == 1));
            }
        }

        // 2. Crash verdicts as outcome codes (RunOutcome values); absent = pending.
        var outcome = new byte[maxId + 1];
        Array.Fill(outcome, (byte)RunOutcome.Pending);
        var cid = crash.Col(nameof(CrashResolutionEvaluation.AgentRunId));
        var verdict = crash.Col(nameof(CrashResolutionEvaluation.Verdict));
        using (var cmd = Command(conn, $"""
            SELECT {cid}, {OutcomeCase(crash)}
            FROM "{crash.Name}" WHERE {crash.Col(nameof(CrashResolutionEvaluation.Status))} = $done AND {verdict} IS NOT NULL {string.Format(CultureInfo.InvariantCulture, runIdsInDataset, cid)}
            """, datasetId))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                var id = reader.GetInt32(0);
                if (id <= maxId)
                {
                    outcome[id] = (byte)reader.GetInt32(1);
                }
            }
        }

        // 3. Finished evaluations of the chosen judge, and which found the run equivalent.
        var judged = new bool[maxId + 1];
        var equivalent = new bool[maxId + 1];
        if (judgeId is not null)
        {
            var jid = judge.Col(nameof(JudgeEvaluation.AgentRunId));
            using var cmd = Command(conn, $"SELECT {jid}, CASE WHEN {judge.Col(nameof(JudgeEvaluation.Outcome))} = $equivalent THEN 1 ELSE 0 END FROM \"{judge.Name}\" WHERE {judge.Col(nameof(JudgeEvaluation.JudgeConfigurationId))} = $judge AND {judge.Col(nameof(JudgeEvaluation.Status))} = $done " + string.Format(CultureInfo.InvariantCulture, runIdsInDataset, jid), datasetId, judgeId);
            using var reader = cmd.ExecuteReader();
            while (reader.Read())
            {
                var id = reader.GetInt32(0);
                if (id <= maxId)
                {
                    judged[id] = true;
                    equivalent[id] = reader.GetInt32(1) == 1;
                }
            }
        }

        // 4. Successful localization evaluations (NaN = not measured).
        var fileIou = new double[maxId + 1];
        var functionIou = new double[maxId + 1];
        var definitionIou = new double[maxId + 1];
        var lid = loc.Col(nameof(LocalizationEvaluation.AgentRunId));
        using (var cmd = Command(conn, $"SELECT {LocalizationColumns(loc)} FROM \"{loc.Name}\" WHERE {loc.Col(nameof(LocalizationEvaluation.Status))} = $success " + string.Format(CultureInfo.InvariantCulture, runIdsInDataset, lid), datasetId))
        using (var reader = cmd.ExecuteReader())
        {
            while (reader.Read())
            {
                var id = reader.GetInt32(0);
                if (id <= maxId)
                {
                    (fileIou[id], functionIou[id], definitionIou[id]) = ReadLocalization(reader);
                }
            }
        }

        var result = new List<RunScore>(runs.Count);
        foreach (var r in runs)
        {
            var o = r.Failed ? RunOutcome.AgentError : (RunOutcome)outcome[r.Id];
            var crr = o == RunOutcome.Resolved ? 1.0 : 0.0;
            result.Add(new RunScore(r.Id, r.Config, r.Bug, r.Batch, r.Index, o, crr, crr > 0 && equivalent[r.Id] ? 1.0 : 0.0, fileIou[r.Id], functionIou[r.Id], definitionIou[r.Id], judged[r.Id]));
        }
        return result;
    }

    /// <summary>Select list of a successful localization row for <see cref="ReadLocalization"/>: run id, file IoU, function IoU, measured flag, definition IoU.</summary>
    internal static string LocalizationColumns(TableInfo loc) =>
        $"{loc.Col(nameof(LocalizationEvaluation.AgentRunId))}, {loc.Col(nameof(LocalizationEvaluation.FileIou))}, {loc.Col(nameof(LocalizationEvaluation.FunctionIou))}, "
        + $"{loc.Col(nameof(LocalizationEvaluation.FunctionIouMeasured))}, {loc.Col(nameof(LocalizationEvaluation.DefinitionIou))}";

    /// <summary>File, function and definition IoU of a row selected with <see cref="LocalizationColumns"/>; NaN for a metric not measured.</summary>
    internal static (double File, double Function, double Definition) ReadLocalization(DbDataReader reader) =>
        (reader.GetDouble(1),
         reader.GetInt32(3) != 0 ? reader.GetDouble(2) : double.NaN,
         reader.IsDBNull(4) ? double.NaN : reader.GetDouble(4));

    /// <summary>SQL expression mapping a crash verdict column to its <see cref="RunOutcome"/> value (any other verdict: error).</summary>
    internal static string OutcomeCase(TableInfo crash)
    {
        var verdict = crash.Col(nameof(CrashResolutionEvaluation.Verdict));
        return $"""
            CASE WHEN {verdict} = $notReproduced THEN {(int)RunOutcome.Resolved}
                 WHEN {verdict} = $reproduced THEN {(int)RunOutcome.Reproduced}
                 WHEN {verdict} = $compilationError THEN {(int)RunOutcome.CompilationError}
                 WHEN {verdict} = $bootError THEN {(int)RunOutcome.BootError}
                 WHEN {verdict} = $inconclusive THEN {(int)RunOutcome.Inconclusive}
                 ELSE {(int)RunOutcome.Error} END
            """;
    }

    /// <summary>A command over <paramref name="conn"/> with every <c>$name</c> parameter the text uses bound (enum texts as stored).</summary>
    internal static DbCommand Command(DbConnection conn, string sql, int? datasetId, int? judgeId = null)
    {
        var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        if (sql.Contains("$ds", StringComparison.Ordinal))
        {
            AddParam(cmd, "$ds", datasetId!.Value);
        }
        if (sql.Contains("$judge", StringComparison.Ordinal))
        {
            AddParam(cmd, "$judge", judgeId!.Value);
        }
        foreach (var (name, text) in new[]
        {
            ("$failed", EnumText.ToText(WorkStatus.Failed)),
            ("$done", EnumText.ToText(WorkStatus.Done)),
            ("$success", EnumText.ToText(AnalysisStatus.Success)),
            ("$equivalent", EnumText.ToText(JudgeOutcome.Equivalent)),
            ("$notReproduced", EnumText.ToText(Verdict.NotReproduced)),
            ("$reproduced", EnumText.ToText(Verdict.Reproduced)),
            ("$compilationError", EnumText.ToText(Verdict.CompilationError)),
            ("$bootError", EnumText.ToText(Verdict.BootError)),
            ("$inconclusive", EnumText.ToText(Verdict.Inconclusive)),
        })
        {
            if (sql.Contains(name, StringComparison.Ordinal))
            {
                AddParam(cmd, name, text);
            }
        }
        return cmd;
    }

    private static void AddParam(DbCommand cmd, string name, object value)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        cmd.Parameters.Add(p);
    }

    /// <summary>An entity's table name and column lookup from the EF model.</summary>
    /// <param name="Name">Table name.</param>
    /// <param name="Entity">Entity type.</param>
    internal sealed record TableInfo(string Name, Microsoft.EntityFrameworkCore.Metadata.IEntityType Entity)
    {
        /// <summary>Quoted column name of <paramref name="property"/>.</summary>
        /// <exception cref="InvalidOperationException">Not mapped.</exception>
        public string Col(string property)
        {
            var store = Microsoft.EntityFrameworkCore.Metadata.StoreObjectIdentifier.Table(Name, null);
            var p = Entity.FindProperty(property) ?? throw new InvalidOperationException($"{Entity.ClrType.Name}.{property} is not mapped");
            return "\"" + (p.GetColumnName(store) ?? property) + "\"";
        }
    }

    /// <summary>Table of entity <typeparamref name="T"/>.</summary>
    /// <exception cref="InvalidOperationException">Not mapped.</exception>
    internal static TableInfo Table<T>(KBenchDbContext db)
    {
        var e = db.Model.FindEntityType(typeof(T)) ?? throw new InvalidOperationException($"{typeof(T).Name} is not mapped");
        return new TableInfo(e.GetTableName() ?? typeof(T).Name, e);
    }
}
