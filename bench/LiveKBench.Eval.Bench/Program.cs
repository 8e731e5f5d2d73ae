// Evaluation benchmark: leaderboard query time on synthetic rows and localization throughput on real patches.
// Usage: dotnet run -c Release --project bench/LiveKBench.Eval.Bench -- [--bugs 1000] [--configs 20] [--runs 5]
//        [--repo GIT --commit C --patch FILE]... (repeat --patch; pairs of --commit/--patch are matched in order)
//        [--analyses 120] [--out bench/results/evaluation.md]
using System.Diagnostics;
using System.Globalization;
using System.Text;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Infrastructure;
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
    string Median(List<(double Wall, double Cpu)> xs)
    {
        var w = xs.Select(x => x.Wall).Order().ToList();
        var c = xs.Select(x => x.Cpu).Order().ToList();
        return $"{w[w.Count / 2]:F1} | {c[c.Count / 2]:F1} | {w[0]:F1}";
    }
    List<(double, double)> Measure(int n, Action a)
    {
        a();
        var list = new List<(double, double)>();
        var proc = Process.GetCurrentProcess();
        for (var i = 0; i < n; i++)
        {
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
        var load = Measure(10, () => Leaderboard.LoadRuns(db, null, 1));
        var runsLoaded = Leaderboard.LoadRuns(db, null, 1);
        var bugIds = runsLoaded.Select(r => r.BugId).Distinct().ToList();
        var cfgInfos = db.AgentConfigurations.AsNoTracking().Select(c => new ConfigInfo(c.Id, c.Name, c.Model)).ToList();
        var compute0 = Measure(10, () => Leaderboard.Compute(runsLoaded, bugIds, cfgInfos, 3, replicates: 0));
        var compute1000 = Measure(10, () => Leaderboard.Compute(runsLoaded, bugIds, cfgInfos, 3, replicates: 1000));
        var full = Measure(10, () => Leaderboard.Query(db, new LeaderboardOptions { K = 3 }));
        var fullNoCi = Measure(10, () => Leaderboard.Query(db, new LeaderboardOptions { K = 3, Replicates = 0 }));
        Line($"Machine load while measuring: {File.ReadAllText("/proc/loadavg").Trim()} (load average on {Environment.ProcessorCount} cores; wall times scale with it, CPU times less so).");
        Line("");
        Line("| step (10 warm runs) | wall ms (median) | CPU ms, all threads (median) | wall ms (best) |");
        Line("|---|---:|---:|---:|");
        Line($"| load: four sequential-scan SQL queries (runs, crash, judge, localization), {runsLoaded.Count:N0} runs, joined in memory | {Median(load):F1} |");
        Line($"| aggregate in memory, k=3, no bootstrap | {Median(compute0):F1} |");
        Line($"| aggregate in memory, k=3, 1,000 bootstrap replicates × 12 metrics × {configs} configs | {Median(compute1000):F1} |");
        Line($"| **`kbench leaderboard --k 3` end to end (query + aggregate + CIs)** | **{Median(full):F1}** |");
        Line($"| end to end with `--replicates 0` (no CIs) | {Median(fullNoCi):F1} |");
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
