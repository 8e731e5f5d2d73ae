// Evaluation benchmark: leaderboard query time on synthetic rows and localization throughput on real patches.
// Usage: dotnet run -c Release --project bench/LiveKBench.Eval.Bench -- [--bugs 1000] [--configs 20] [--runs 5]
//        [--keep DIR] (build the synthetic workspace there once and reuse it) [--skip-leaderboard]
//        [--cli PATH/kbench.dll] (also time whole `kbench leaderboard` processes on the synthetic workspace)
//        [--repo GIT --commit C --patch FILE]... (localization; repeat --patch; pairs of --commit/--patch are matched in order)
//        [--analyses 120] [--out bench/results/evaluation.md]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

var argsList = args.ToList();
string? Arg(string name) { var i = argsList.IndexOf(name); return i >= 0 && i + 1 < argsList.Count ? argsList[i + 1] : null; }
List<string> Args(string name) => [.. argsList.Select((a, i) => (a, i)).Where(x => x.a == name && x.i + 1 < argsList.Count).Select(x => argsList[x.i + 1])];
var bugs = int.Parse(Arg("--bugs") ?? "1000", CultureInfo.InvariantCulture);
var configs = int.Parse(Arg("--configs") ?? "20", CultureInfo.InvariantCulture);
var runsPer = int.Parse(Arg("--runs") ?? "5", CultureInfo.InvariantCulture);
var analyses = int.Parse(Arg("--analyses") ?? "120", CultureInfo.InvariantCulture);
var outPath = Arg("--out");
var report = new StringBuilder();
void Line(string s) { Console.WriteLine(s); report.AppendLine(s); }

// ---------------------------------------------------------------- leaderboard
Line($"# Evaluation benchmark ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version})");
Line("");
if (!argsList.Contains("--skip-leaderboard"))
{
    var keep = Arg("--keep");
    var root = keep ?? Path.Combine(Path.GetTempPath(), "kbench-eval-bench-" + Guid.NewGuid().ToString("N")[..8]);
    var reuse = keep is not null && File.Exists(Path.Combine(keep, "kbench.db"));
    var ws = Workspace.Init(root);
    var sw = Stopwatch.StartNew();
    if (!reuse)
    {
        using var db = ws.OpenStore();
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        var rng = new Random(1);
        var now = DateTime.UtcNow;
        var judge = new JudgeConfiguration { Name = "judge", Prompt = "p", ModelConfigName = "m" };
        db.JudgeConfigurations.Add(judge);
        var cfgs = Enumerable.Range(0, configs).Select(c => new AgentConfiguration { Name = $"config-{c:D2}", Agent = "kbench-agent", Model = $"model-{c % 5}" }).ToList();
        db.AgentConfigurations.AddRange(cfgs);
        var devPatch = BugRepository.GetOrAddPatch(db, "dev");
        var agentPatch = BugRepository.GetOrAddPatch(db, "agent");
        var dps = new List<DeveloperPatch>();
        var kcs = new List<KcacheEntry>();
        for (var b = 0; b < bugs; b++)
        {
            var id = $"bug{b:D5}";
            var dp = new DeveloperPatch { BugId = id, Status = DeveloperPatchStatus.Available, Patch = devPatch, FixedTime = new DateTime(2023, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddDays(b % 900), AddedTime = now };
            db.Bugs.Add(new Bug { Id = id, Title = id, Status = BugStatus.Fixed, AddedTime = now, DeveloperPatch = dp });
            var kc = new KcacheEntry { BugId = id, Status = WorkStatus.Done, Verdict = Verdict.Reproduced, AddedTime = now, UpdatedTime = now };
            db.KcacheEntries.Add(kc);
            dps.Add(dp);
            kcs.Add(kc);
        }
        db.SaveChanges();
        var verdicts = new[] { Verdict.NotReproduced, Verdict.Reproduced, Verdict.CompilationError, Verdict.BootError, Verdict.Error };
        for (var c = 0; c < configs; c++)
        {
            var runs = new List<AgentRun>();
            for (var b = 0; b < bugs; b++)
            {
                for (var r = 0; r < runsPer; r++)
                {
                    runs.Add(new AgentRun { AgentConfigurationId = cfgs[c].Id, BugId = dps[b].BugId, RunIndex = r, Batch = r / 3, Status = WorkStatus.Done, PatchId = agentPatch.Id, AddedTime = now, UpdatedTime = now });
                }
            }
            db.AgentRuns.AddRange(runs);
            db.SaveChanges();
            for (var i = 0; i < runs.Count; i++)
            {
                var b = i / runsPer;
                var v = rng.NextDouble() < 0.3 + (0.02 * c) ? Verdict.NotReproduced : verdicts[rng.Next(1, verdicts.Length)];
                db.CrashResolutionEvaluations.Add(new CrashResolutionEvaluation { AgentRunId = runs[i].Id, KcacheEntryId = kcs[b].Id, Status = WorkStatus.Done, Verdict = v, UpdatedTime = now });
                var yes = rng.Next(0, 6);
                db.JudgeEvaluations.Add(new JudgeEvaluation { JudgeConfigurationId = judge.Id, AgentRunId = runs[i].Id, DeveloperPatchId = dps[b].Id, Status = WorkStatus.Done, YesCount = yes, NoCount = 5 - yes, Outcome = yes > 2 ? JudgeOutcome.Equivalent : JudgeOutcome.Discrepant, UpdatedTime = now });
                var fi = rng.NextDouble() < 0.5 ? 1.0 : rng.NextDouble() < 0.5 ? 0.5 : 0.0;
                db.LocalizationEvaluations.Add(new LocalizationEvaluation { AgentRunId = runs[i].Id, DeveloperPatchId = dps[b].Id, Status = AnalysisStatus.Success, FileIou = fi, FunctionIou = fi * rng.NextDouble(), UpdatedTime = now });
            }
            db.SaveChanges();
            db.ChangeTracker.Clear();
        }
    }
    var setup = sw.Elapsed;
    Line($"## Leaderboard query: {bugs:N0} bugs × {configs} configurations × {runsPer} runs = {bugs * configs * runsPer:N0} runs (+ one crash, judge and localization row each)");
    Line("");
    Line(reuse ? $"Synthetic SQLite workspace reused from {root}." : $"Synthetic SQLite workspace built in {setup.TotalSeconds:F1} s (EF Core inserts; not part of the measurement).");
    Line("");
    static double Med(IEnumerable<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[(s.Count / 2) - 1] + s[s.Count / 2]) / 2;
    }
    string Median(List<(double Wall, double Cpu)> xs) => $"{Med(xs.Select(x => x.Wall)):F1} | {Med(xs.Select(x => x.Cpu)):F1} | {xs.Min(x => x.Wall):F1}";
    // n timed runs of `a` after one untimed warm-up; `before` runs untimed ahead of each.
    List<(double Wall, double Cpu)> Measure(int n, Action? before, Action a)
    {
        before?.Invoke();
        a();
        var list = new List<(double, double)>();
        var proc = Process.GetCurrentProcess();
        for (var i = 0; i < n; i++)
        {
            before?.Invoke();
            proc.Refresh();
            var cpu0 = proc.TotalProcessorTime;
            var t = Stopwatch.StartNew();
            a();
            var wall = t.Elapsed.TotalMilliseconds;
            proc.Refresh();
            list.Add((wall, (proc.TotalProcessorTime - cpu0).TotalMilliseconds));
        }
        return list;
    }
    using (var db = ws.OpenStore())
    {
        var loadStart = File.ReadAllText("/proc/loadavg").Trim();
        var conn = (SqliteConnection)db.Database.GetDbConnection();
        void Sql(string sql)
        {
            using var cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }
        long Scalar(string sql)
        {
            using var cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }
        var k3 = new LeaderboardOptions { K = 3 };
        var rngOrder = new Random(2);
        // What the migration does to an existing workspace: every (configuration, bug) dirty.
        void MarkAllDirty()
        {
            Sql("DELETE FROM LeaderboardDirtyCells");
            Sql("INSERT INTO LeaderboardDirtyCells (AgentConfigurationId, BugId) SELECT DISTINCT AgentConfigurationId, BugId FROM AgentRuns");
        }
        var dirtyAtOpen = Scalar("SELECT count(*) FROM LeaderboardDirtyCells");
        var firstQuery = Stopwatch.StartNew();
        Leaderboard.Query(db, k3, out var firstRefreshed);
        var firstMs = firstQuery.Elapsed.TotalMilliseconds;

        // Correctness first: the cell path must give exactly what the run tables give.
        var fromCells = Leaderboard.Query(db, k3, out var warmRefreshed).ToJson();
        var fromRuns = Leaderboard.QueryFromRuns(db, k3).ToJson();
        var identical = fromCells == fromRuns && warmRefreshed == 0;

        var cold = Measure(10, () => { MarkAllDirty(); }, () => Leaderboard.Query(db, k3, out _));
        var warm = Measure(20, null, () =>
        {
            Leaderboard.Query(db, k3, out var r);
            if (r != 0)
            {
                throw new InvalidOperationException($"warm query refreshed {r} cells");
            }
        });
        var warmNoCi = Measure(20, null, () => Leaderboard.Query(db, new LeaderboardOptions { K = 3, Replicates = 0 }));

        // Incremental: 100 new judge evaluations (a second judge) on runs of 100 different cells, then the query.
        Sql("INSERT OR IGNORE INTO JudgeConfigurations (Name, Prompt, ModelConfigName, Votes) VALUES ('judge-b', 'p', 'm', 5)");
        var judgeB = Scalar("SELECT Id FROM JudgeConfigurations WHERE Name = 'judge-b'");
        Sql($"DELETE FROM JudgeEvaluations WHERE JudgeConfigurationId = {judgeB}"); // from an earlier run of this benchmark
        Leaderboard.Query(db, k3);
        var runsByCell = new List<List<int>>();
        using (var cmd = conn.CreateCommand())
        {
            cmd.CommandText = "SELECT Id, AgentConfigurationId, BugId FROM AgentRuns ORDER BY AgentConfigurationId, BugId, Batch, RunIndex, Id";
            using var reader = cmd.ExecuteReader();
            (int, string)? last = null;
            while (reader.Read())
            {
                var key = (reader.GetInt32(1), reader.GetString(2));
                if (key != last)
                {
                    runsByCell.Add([]);
                    last = key;
                }
                runsByCell[^1].Add(reader.GetInt32(0));
            }
        }
        var cellOrder = Enumerable.Range(0, runsByCell.Count).OrderBy(_ => rngOrder.Next()).ToArray();
        var round = 0;
        var refreshedCells = new List<int>();
        void Add100()
        {
            var ids = Enumerable.Range(round * 100, 100).Select(i => runsByCell[cellOrder[i % cellOrder.Length]][i / cellOrder.Length % runsPer]);
            Sql($"""
                INSERT INTO JudgeEvaluations (JudgeConfigurationId, AgentRunId, DeveloperPatchId, Status, Outcome, YesCount, NoCount, ErrorCount, DollarCost, UpdatedTime, Attempts)
                SELECT {judgeB}, r.Id, d.Id, 'done', 'equivalent', 5, 0, 0, 0, '2026-01-01', 0
                FROM AgentRuns r JOIN DeveloperPatches d ON d.BugId = r.BugId
                WHERE r.Id IN ({string.Join(",", ids)})
                """);
            round++;
        }
        var incremental = Measure(15, Add100, () =>
        {
            Leaderboard.Query(db, k3, out var r);
            refreshedCells.Add(r);
        });
        var incrementalRefreshed = refreshedCells.Skip(1).Order().ToList();

        // Reference and breakdown.
        var fromRunsTimes = Measure(5, null, () => Leaderboard.QueryFromRuns(db, k3));
        var runsLoaded = Leaderboard.LoadRuns(db, null, 1);
        var bugIds = runsLoaded.Select(r => r.BugId).Distinct().ToList();
        var cfgInfos = db.AgentConfigurations.AsNoTracking().Select(c => new ConfigInfo(c.Id, c.Name, c.Model)).ToList();
        var compute0 = Measure(10, null, () => Leaderboard.Compute(runsLoaded, bugIds, cfgInfos, 3, replicates: 0));
        var compute1000 = Measure(10, null, () => Leaderboard.Compute(runsLoaded, bugIds, cfgInfos, 3, replicates: 1000));
        var cellCount = Scalar("SELECT count(*) FROM LeaderboardCells");
        var cellBytes = Scalar("SELECT sum(length(Data)) FROM LeaderboardCells");
        var loadEnd = File.ReadAllText("/proc/loadavg").Trim();

        Line($"Machine load (1/5/15-minute load average on {Environment.ProcessorCount} cores, then running/total tasks) at the start: {loadStart}; at the end: {loadEnd}. Wall times scale with it; CPU times (all threads of this process) much less.");
        Line("");
        Line($"Store: {runsLoaded.Count:N0} agent runs, {cellCount:N0} leaderboard cells ({cellBytes / 1024.0 / 1024.0:F1} MiB of cell data). "
            + $"First query after the migration (all {dirtyAtOpen:N0} cells dirty): {firstMs:F0} ms wall, {firstRefreshed:N0} cells computed. "
            + $"Cell path and run-table path give identical JSON: **{(identical ? "yes" : "NO")}**.");
        Line("");
        Line("| `Leaderboard.Query`, k = 3, 1,000 bootstrap replicates unless noted | runs | wall ms (median) | CPU ms (median) | wall ms (best) |");
        Line("|---|---:|---:|---:|---:|");
        Line($"| **(a) warm: no dirty cell (every query after the first, until the next write)** | {warm.Count} | **{Median(warm)}** |");
        Line($"| (a') warm, `--replicates 0` (no CIs) | {warmNoCi.Count} | {Median(warmNoCi)} |");
        var refreshedText = incrementalRefreshed.Min() == incrementalRefreshed.Max() ? $"{incrementalRefreshed.Min()}" : $"{incrementalRefreshed.Min()}–{incrementalRefreshed.Max()}";
        Line($"| (b) after 100 new judge-evaluation rows: refresh {refreshedText} cells through the indexes, then the query | {incremental.Count} | {Median(incremental)} |");
        Line($"| (c) cold: every cell dirty (first query after the migration): scan the run and evaluation tables, rewrite {cellCount:N0} cells, then the query | {cold.Count} | {Median(cold)} |");
        Line($"| run-table path `Leaderboard.QueryFromRuns` (loads {runsLoaded.Count:N0} runs + their evaluations as the query did before the cells; new bootstrap) | {fromRunsTimes.Count} | {Median(fromRunsTimes)} |");
        if (Arg("--cli") is { } cli)
        {
            // Whole processes: .NET start-up, EF model building and JIT included (what a user waits for).
            // CPU: the children's user + system time (getrusage RUSAGE_CHILDREN).
            var procs = new List<(double Wall, double Cpu)>();
            for (var i = 0; i < 11; i++)
            {
                var cpu0 = ChildCpuMs();
                var t = Stopwatch.StartNew();
                using var p = Process.Start(new ProcessStartInfo("dotnet", ["exec", cli, "--workspace", root, "leaderboard", "--k", "3", "--json"]) { RedirectStandardOutput = true })!;
                p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                var wall = t.Elapsed.TotalMilliseconds;
                if (p.ExitCode != 0)
                {
                    throw new InvalidOperationException($"kbench leaderboard exited with {p.ExitCode}");
                }
                if (i > 0)
                {
                    procs.Add((wall, ChildCpuMs() - cpu0));
                }
            }
            Line($"| whole `kbench leaderboard --k 3 --json` process (warm cells; .NET start-up, EF model building and JIT included) | {procs.Count} | {Median(procs)} |");
        }
        Line($"| in memory only: aggregate loaded runs, no bootstrap | {compute0.Count} | {Median(compute0)} |");
        Line($"| in memory only: aggregate loaded runs, 1,000 replicates × 12 metrics × {configs} configurations | {compute1000.Count} | {Median(compute1000)} |");
        Line("");
    }
    if (keep is null)
    {
        Directory.Delete(root, true);
    }

}

// ---------------------------------------------------------------- localization
var repo = Arg("--repo");
var commits = Args("--commit");
var patches = Args("--patch");
if (repo is not null && patches.Count > 0 && commits.Count == patches.Count)
{
    var items = patches.Select((p, i) => (Commit: commits[i], Text: File.ReadAllText(p), Name: Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(p))) ?? p)).ToList();
    var analyzer = new PatchAnalyzer(repo);
    foreach (var it in items)
    {
        var o = await analyzer.AnalyzeAsync(it.Commit, it.Text);
        Line($"- `{it.Name}` at `{it.Commit}`: {o.Status} files=[{string.Join(", ", o.Analysis?.Files ?? [])}] functions=[{string.Join(", ", o.Analysis?.Functions ?? [])}] lines={o.Analysis?.ModifiedLines} {o.Reason}");
    }
    Line("");
    Line($"Machine load: {File.ReadAllText("/proc/loadavg").Trim()}");
    Line("");
    Line("| repository | run | throughput | wall per analysis | not success |");
    Line("|---|---|---:|---:|---:|");
    foreach (var par in new[] { 1, Environment.ProcessorCount, 2 * Environment.ProcessorCount }.Distinct())
    {
        var t = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(par);
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, analyses).Select(async i =>
        {
            await gate.WaitAsync();
            try
            {
                var it = items[i % items.Count];
                var o = await analyzer.AnalyzeAsync(it.Commit, it.Text);
                if (o.Status != AnalysisStatus.Success)
                {
                    Interlocked.Increment(ref failures);
                }
            }
            finally
            {
                gate.Release();
            }
        }));
        Line($"| {repo} | {analyses} analyses, {par} at once | {analyses / t.Elapsed.TotalSeconds:F1} patches/s | {t.Elapsed.TotalMilliseconds / analyses * par:F0} ms per analysis | {failures} not success |");
    }
    Line("");
}
if (outPath is not null)
{
    File.AppendAllText(outPath, report.ToString());
    Console.WriteLine($"appended to {outPath}");
}

if (argsList.Contains("--probe"))
{
    var ws2 = Workspace.Open(Arg("--keep")!);
    using var db = ws2.OpenStore();
    var conn = db.Database.GetDbConnection();
    foreach (var sql in new[]
    {
        "SELECT Id, AgentConfigurationId, BugId, Batch, RunIndex, Status = 'failed' FROM AgentRuns",
        "SELECT Id, AgentConfigurationId, Batch, RunIndex FROM AgentRuns",
        "SELECT AgentRunId, Verdict FROM CrashResolutionEvaluations",
        "SELECT AgentRunId, FileIou, FunctionIou FROM LocalizationEvaluations WHERE Status = 'success'",
        "SELECT count(*) FROM LocalizationEvaluations WHERE Status = 'success'",
    })
    {
        for (var rep = 0; rep < 3; rep++)
        {
            var t = Stopwatch.StartNew();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = sql;
            using var reader = cmd.ExecuteReader();
            var n = 0;
            while (reader.Read())
            {
                n++;
                _ = reader.GetInt32(0);
            }
            Console.WriteLine($"{t.Elapsed.TotalMilliseconds,8:F1} ms  {n,7} rows  {sql}");
            var t2 = Stopwatch.StartNew();
            var handle = ((Microsoft.Data.Sqlite.SqliteConnection)conn).Handle!;
            SQLitePCL.raw.sqlite3_prepare_v2(handle, sql, out var stmt);
            var m = 0;
            long sum = 0;
            while (SQLitePCL.raw.sqlite3_step(stmt) == SQLitePCL.raw.SQLITE_ROW)
            {
                m++;
                sum += SQLitePCL.raw.sqlite3_column_int(stmt, 0);
            }
            stmt.Dispose();
            Console.WriteLine($"{t2.Elapsed.TotalMilliseconds,8:F1} ms  {m,7} rows  raw sqlite3_step  {sum}");
        }
    }
}

static double ChildCpuMs()
{
    if (Native.getrusage(-1 /* RUSAGE_CHILDREN */, out var u) != 0)
    {
        return double.NaN;
    }
    return ((u.UserSec + u.SystemSec) * 1000.0) + ((u.UserUsec + u.SystemUsec) / 1000.0);
}

[System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
internal struct RUsage
{
    public long UserSec;
    public long UserUsec;
    public long SystemSec;
    public long SystemUsec;
    public long Rest0, Rest1, Rest2, Rest3, Rest4, Rest5, Rest6, Rest7, Rest8, Rest9, Rest10, Rest11, Rest12, Rest13;
}

internal static partial class Native
{
    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    internal static partial int getrusage(int who, out RUsage usage);
}
