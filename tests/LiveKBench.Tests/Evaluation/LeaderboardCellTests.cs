using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace LiveKBench.Tests.Evaluation;

/// <summary>
/// The maintained leaderboard cells must give exactly what the computation from the run and evaluation tables
/// gives, after every kind of write.
/// </summary>
public sealed class LeaderboardCellTests
{
    private static readonly LeaderboardOptions[] OptionSets =
    [
        new() { K = 1, Replicates = 20 },
        new() { K = 3, Replicates = 20 },
        new() { K = 2, Judge = "j2", Replicates = 0 },
        new() { K = 2, Dataset = "ds", Replicates = 20 },
    ];

    private static string Reference(KBenchDbContext db) => string.Join("\n", OptionSets.Select(o => Leaderboard.QueryFromRuns(db, o).ToJson()));

    /// <summary>Refreshes the cells (by <paramref name="mode"/>) and asserts every option set gives the reference result from the cells.</summary>
    private static void AssertCellsMatch(EvalStore store, string mode, string step)
    {
        var db = store.Db;
        db.ChangeTracker.Clear();
        if (mode != "query")
        {
            // Refresh with a forced strategy, so both the index and the scan path meet every mutation.
            db.Database.OpenConnection();
            var conn = (SqliteConnection)db.Database.GetDbConnection();
            Exec(conn, "BEGIN IMMEDIATE");
            LeaderboardCells.Refresh(db, conn, scan: mode == "scan");
            Exec(conn, "COMMIT");
            Assert.Equal(0, db.LeaderboardDirtyCells.Count());
        }
        foreach (var o in OptionSets)
        {
            var fromCells = Leaderboard.Query(db, o, out var refreshed);
            Assert.True(refreshed >= 0, $"{step}: computed from the run tables, not the cells");
            Assert.True(mode == "query" || refreshed == 0, $"{step}: cells still dirty after the refresh");
            Assert.Equal(Leaderboard.QueryFromRuns(db, o).ToJson(), fromCells.ToJson());
        }
        Assert.Equal(0, db.LeaderboardDirtyCells.Count());
    }

    private static void Exec(SqliteConnection conn, string sql)
    {
        using var cmd = conn.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static int DevPatch(EvalStore store, string bug) => store.Db.DeveloperPatches.AsNoTracking().Single(d => d.BugId == bug).Id;

    private static AgentRun RunOf(EvalStore store, string config, string bug, int index)
        => store.Db.AgentRuns.Single(r => r.AgentConfiguration!.Name == config && r.BugId == bug && r.RunIndex == index);

    [Theory]
    [InlineData("query")]
    [InlineData("index")]
    [InlineData("scan")]
    public void CellsMatchTheRunTablesAfterEveryKindOfWrite(string mode)
    {
        using var store = new EvalStore();
        var db = store.Db;
        foreach (var b in new[] { "b1", "b2", "b3", "b4", "b5", "b6" })
        {
            store.AddBug(b, "dev-" + b);
        }
        var a = store.AddConfig("A", "model-a");
        var bCfg = store.AddConfig("B", "model-b");
        var c = store.AddConfig("C", "model-c");
        var verdicts = new Verdict?[] { Verdict.NotReproduced, Verdict.Reproduced, null, Verdict.CompilationError, Verdict.NotReproduced, Verdict.BootError, Verdict.Error, Verdict.NotReproduced };
        var v = 0;
        foreach (var (cfg, bugs) in new[] { (a, new[] { "b1", "b2", "b3", "b4" }), (bCfg, new[] { "b1", "b3", "b5" }), (c, new[] { "b2", "b4", "b6" }) })
        {
            foreach (var bug in bugs)
            {
                for (var i = 0; i < 2 + (v % 2); i++)
                {
                    store.AddRun(cfg, bug, i, $"p-{cfg.Name}-{bug}-{i}", verdicts[v++ % verdicts.Length]);
                }
            }
        }
        db.Datasets.Add(new Dataset { Name = "ds", Members = [new DatasetMember { BugId = "b1" }, new DatasetMember { BugId = "b3" }, new DatasetMember { BugId = "b6" }] });
        var j1 = new JudgeConfiguration { Name = "j1", Prompt = "x", ModelConfigName = "m" };
        var j2 = new JudgeConfiguration { Name = "j2", Prompt = "x", ModelConfigName = "m" };
        db.JudgeConfigurations.AddRange(j1, j2);
        db.SaveChanges();

        var previous = "";
        void Step(string name, Action mutate, bool changes = true)
        {
            mutate();
            db.SaveChanges();
            db.ChangeTracker.Clear();
            var now = Reference(db);
            if (changes)
            {
                // Otherwise a stale cell could not be told from a fresh one and the step would prove nothing.
                Assert.True(now != previous, $"{name}: the mutation does not change the leaderboard");
            }
            AssertCellsMatch(store, mode, name);
            previous = now;
        }

        Step("initial runs and crash verdicts", () => { });
        Step("insert a run without a verdict (pending)", () => store.AddRun(a, "b1", 2, "p-new"));
        Step("insert its crash verdict", () =>
        {
            var run = RunOf(store, "A", "b1", 2);
            db.CrashResolutionEvaluations.Add(new CrashResolutionEvaluation { AgentRunId = run.Id, KcacheEntryId = db.KcacheEntries.First(k => k.BugId == "b1").Id, Status = WorkStatus.Done, Verdict = Verdict.NotReproduced });
        });
        Step("update a verdict", () => db.CrashResolutionEvaluations.Single(e => e.AgentRunId == RunOf(store, "A", "b1", 2).Id).Verdict = Verdict.Reproduced);
        Step("crash evaluation back to running (not done)", () => db.CrashResolutionEvaluations.Single(e => e.AgentRunId == RunOf(store, "A", "b1", 0).Id).Status = WorkStatus.Running);
        Step("raw SQL resets running evaluations to pending", () => db.Database.ExecuteSqlRaw("UPDATE CrashResolutionEvaluations SET Status = 'done' WHERE Status = 'running'"));
        Step("agent run marked failed", () => RunOf(store, "A", "b2", 0).Status = WorkStatus.Failed);
        Step("batch change reorders the runs (mean@1 takes another run)", () => RunOf(store, "A", "b1", 0).Batch = 5);
        Step("judge j1 finds resolved runs equivalent", () =>
        {
            foreach (var run in db.AgentRuns.AsNoTracking().Where(r => r.Status == WorkStatus.Done).ToList())
            {
                db.JudgeEvaluations.Add(new JudgeEvaluation { JudgeConfigurationId = j1.Id, AgentRunId = run.Id, DeveloperPatchId = DevPatch(store, run.BugId), Status = WorkStatus.Done, Outcome = run.Id % 3 != 1 ? JudgeOutcome.Equivalent : JudgeOutcome.Discrepant });
            }
        });
        Step("judge j2 on half the runs (j1 stays the default)", () =>
        {
            foreach (var run in db.AgentRuns.AsNoTracking().Where(r => r.Id % 2 == 1).ToList())
            {
                db.JudgeEvaluations.Add(new JudgeEvaluation { JudgeConfigurationId = j2.Id, AgentRunId = run.Id, DeveloperPatchId = DevPatch(store, run.BugId), Status = WorkStatus.Done, Outcome = JudgeOutcome.Equivalent });
            }
        });
        Step("judge outcome flipped", () =>
        {
            var e = db.JudgeEvaluations.Where(e => e.JudgeConfigurationId == j1.Id && e.Outcome == JudgeOutcome.Discrepant).OrderBy(e => e.Id).First();
            e.Outcome = JudgeOutcome.Equivalent;
        });
        Step("j1 evaluations fail until j2 has more finished ones (default judge switches)", () =>
        {
            foreach (var e in db.JudgeEvaluations.Where(e => e.JudgeConfigurationId == j1.Id).OrderBy(e => e.Id).Skip(3))
            {
                e.Status = WorkStatus.Failed;
            }
        });
        Step("localization evaluations inserted", () =>
        {
            var i = 0;
            foreach (var run in db.AgentRuns.AsNoTracking().OrderBy(r => r.Id).ToList())
            {
                db.LocalizationEvaluations.Add(new LocalizationEvaluation { AgentRunId = run.Id, DeveloperPatchId = DevPatch(store, run.BugId), Status = AnalysisStatus.Success, FileIou = (i % 3) / 2.0, FunctionIou = (i % 4) / 3.0 });
                i++;
            }
        });
        Step("localization IoU updated", () => db.LocalizationEvaluations.OrderBy(e => e.Id).Skip(1).First().FileIou = 0.125);
        Step("definition IoU measured on most runs", () =>
        {
            var i = 0;
            foreach (var e in db.LocalizationEvaluations.OrderBy(e => e.Id))
            {
                e.DefinitionIou = i % 5 == 0 ? null : (i % 3) / 3.0;
                i++;
            }
        });
        Step("function IoU not measured on one bug (the developer fix touches no function)", () =>
        {
            var bug = db.AgentRuns.AsNoTracking().OrderBy(r => r.Id).First().BugId;
            var runs = db.AgentRuns.AsNoTracking().Where(r => r.BugId == bug).Select(r => r.Id).ToList();
            foreach (var e in db.LocalizationEvaluations.Where(e => runs.Contains(e.AgentRunId)))
            {
                e.FunctionIouMeasured = false;
            }
        });
        Step("localization status error (IoU no longer counted)", () => db.LocalizationEvaluations.OrderBy(e => e.Id).Skip(2).First().Status = AnalysisStatus.Error);
        Step("crash evaluation deleted", () => db.CrashResolutionEvaluations.Remove(db.CrashResolutionEvaluations.OrderBy(e => e.Id).First()));
        Step("localization evaluation deleted", () => db.LocalizationEvaluations.Remove(db.LocalizationEvaluations.OrderBy(e => e.Id).Skip(4).First()));
        Step("judge evaluation of a resolved run deleted", () =>
        {
            var resolved = db.CrashResolutionEvaluations.Where(e => e.Status == WorkStatus.Done && e.Verdict == Verdict.NotReproduced).Select(e => e.AgentRunId).ToList();
            var done = db.AgentRuns.Where(r => r.Status == WorkStatus.Done).Select(r => r.Id).ToList();
            db.JudgeEvaluations.Remove(db.JudgeEvaluations.Where(e => e.JudgeConfigurationId == j2.Id && resolved.Contains(e.AgentRunId) && done.Contains(e.AgentRunId)).OrderBy(e => e.Id).First());
        });
        Step("agent run deleted in SQL (evaluations cascade in SQLite)", () => db.Database.ExecuteSql($"DELETE FROM AgentRuns WHERE Id = {RunOf(store, "C", "b2", 0).Id}"));
        Step("INSERT OR REPLACE moves a crash evaluation to another run (the replaced row's delete trigger fires)", () =>
        {
            var from = db.CrashResolutionEvaluations.AsNoTracking().Where(e => e.Verdict == Verdict.NotReproduced && e.Status == WorkStatus.Done).OrderBy(e => e.Id).First();
            var withEval = db.CrashResolutionEvaluations.AsNoTracking().Select(e => e.AgentRunId).ToList();
            var to = db.AgentRuns.AsNoTracking().Where(r => !withEval.Contains(r.Id) && r.AgentConfigurationId != db.AgentRuns.Single(x => x.Id == from.AgentRunId).AgentConfigurationId).OrderBy(r => r.Id).First();
            db.Database.ExecuteSql($"INSERT OR REPLACE INTO CrashResolutionEvaluations (Id, AgentRunId, KcacheEntryId, Status, Verdict, UpdatedTime, Attempts) VALUES ({from.Id}, {to.Id}, {from.KcacheEntryId}, 'done', 'reproduced', 'x', 0)");
        });
        Step("reruns in a later batch", () =>
        {
            store.AddRun(bCfg, "b3", 5, "p-rerun-1", Verdict.NotReproduced, batch: 1);
            store.AddRun(bCfg, "b3", 6, "p-rerun-2", Verdict.NotReproduced, batch: 1);
            store.AddRun(bCfg, "b6", 0, "p-rerun-3", Verdict.NotReproduced, batch: 1);
        });
        Step("run moved to another configuration and bug", () =>
        {
            var run = RunOf(store, "C", "b4", 1);
            run.AgentConfigurationId = a.Id;
            run.BugId = "b5";
            run.RunIndex = 9;
        });
        Step("dataset member added and removed", () =>
        {
            db.DatasetMembers.Add(new DatasetMember { DatasetId = db.Datasets.Single().Id, BugId = "b2" });
            db.DatasetMembers.Remove(db.DatasetMembers.Single(m => m.BugId == "b6"));
        });
        Step("run cost updated (not a leaderboard column: nothing becomes dirty)", () =>
        {
            foreach (var run in db.AgentRuns)
            {
                run.DollarCost = 1.5;
            }
            db.SaveChanges();
            Assert.Equal(0, db.LeaderboardDirtyCells.Count());
        }, changes: false);
        Step("configuration deleted (runs cascade)", () => db.AgentConfigurations.Remove(db.AgentConfigurations.Single(x => x.Name == "C")));
        Step("bug deleted in SQL (runs cascade)", () => db.Database.ExecuteSqlRaw("DELETE FROM Bugs WHERE Id = 'b3'"));
        Step("j1 evaluations done again in SQL (j1 is the default judge again)", () => db.Database.ExecuteSql($"UPDATE JudgeEvaluations SET Status = 'done' WHERE JudgeConfigurationId = {j1.Id}"));
        Step("judge configuration deleted (its evaluations cascade; j2 becomes the default)", () => db.JudgeConfigurations.Remove(db.JudgeConfigurations.Single(x => x.Name == "j1")));
        Assert.True(db.LeaderboardCells.Any());
    }

    [Fact]
    public void StaleCellsAreVisibleToTheComparison()
    {
        // Guards the test above: with the dirty marks removed by hand the cell path must disagree, so a missing
        // trigger could not go unnoticed.
        using var store = new EvalStore();
        store.AddBug("b1", "d");
        var a = store.AddConfig("A");
        store.AddRun(a, "b1", 0, "p", Verdict.Reproduced);
        var options = new LeaderboardOptions { Replicates = 0 };
        Assert.Equal(Leaderboard.QueryFromRuns(store.Db, options).ToJson(), Leaderboard.Query(store.Db, options).ToJson());
        store.Db.Database.ExecuteSqlRaw("UPDATE CrashResolutionEvaluations SET Verdict = 'notReproduced'");
        store.Db.Database.ExecuteSqlRaw("DELETE FROM LeaderboardDirtyCells");
        Assert.Equal(0.0, Leaderboard.Query(store.Db, options).Rows[0].Crr.Mean);
        Assert.Equal(1.0, Leaderboard.QueryFromRuns(store.Db, options).Rows[0].Crr.Mean);
    }

    [Fact]
    public void MigrationMarksExistingRunsDirty()
    {
        var root = Path.Combine(Path.GetTempPath(), "kbench-cells-migration-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        try
        {
            var path = Path.Combine(root, "kbench.db");
            var options = new DbContextOptionsBuilder<KBenchDbContext>().UseSqlite(StoreFactory.ConnectionString(path)).Options;
            using (var old = new KBenchDbContext(options))
            {
                old.GetService<IMigrator>().Migrate("20261121005239_Initial");
                old.Database.ExecuteSqlRaw("""
                    INSERT INTO Bugs (Id, Title, Status, Source, Subsystems, AddedTime) VALUES ('b1', 't', 'fixed', 'bundle', '[]', '2024-01-01'), ('b2', 't', 'fixed', 'bundle', '[]', '2024-01-01');
                    INSERT INTO KcacheEntries (BugId, BaseKind, Status, AddedTime, UpdatedTime, Attempts) VALUES ('b1', 'parentOfFix', 'done', '2024-01-01', '2024-01-01', 0);
                    INSERT INTO AgentConfigurations (Id, Name, Agent, Model, Stateful, OracleMode, Description, BatchCounter) VALUES (1, 'A', 'a', 'm', 0, 0, '', 0), (2, 'B', 'a', 'm', 0, 0, '', 0);
                    INSERT INTO AgentRuns (Id, AgentConfigurationId, BugId, RunIndex, Batch, Status, AddedTime, UpdatedTime, Attempts) VALUES
                        (1, 1, 'b1', 0, 0, 'done', 'x', 'x', 0), (2, 1, 'b1', 1, 0, 'done', 'x', 'x', 0), (3, 1, 'b2', 0, 0, 'failed', 'x', 'x', 0), (4, 2, 'b2', 0, 0, 'done', 'x', 'x', 0);
                    INSERT INTO CrashResolutionEvaluations (AgentRunId, KcacheEntryId, Status, Verdict, UpdatedTime, Attempts) VALUES (1, 1, 'done', 'notReproduced', 'x', 0), (4, 1, 'done', 'bootError', 'x', 0);
                    """);
            }
            using var db = StoreFactory.Open(path);
            Assert.Equal(3, db.LeaderboardDirtyCells.Count());
            Assert.Empty(db.LeaderboardCells);
            var lb = Leaderboard.Query(db, new LeaderboardOptions { Replicates = 10 }, out var refreshed);
            Assert.Equal(3, refreshed);
            Assert.Equal(Leaderboard.QueryFromRuns(db, new LeaderboardOptions { Replicates = 10 }).ToJson(), lb.ToJson());
            Assert.Equal(0.25, lb.Rows.Single(r => r.AgentConfig == "A").Crr.Mean, 12);
            Assert.Equal(3, db.LeaderboardCells.Count());
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public void QueryComputesFromTheRunsWhileAnotherWriterHoldsTheLock()
    {
        using var store = new EvalStore();
        store.AddBug("b1", "d");
        var a = store.AddConfig("A");
        store.AddRun(a, "b1", 0, "p", Verdict.NotReproduced);
        var options = new LeaderboardOptions { Replicates = 10 };
        Leaderboard.Query(store.Db, options);
        store.AddRun(a, "b1", 1, "p2", Verdict.Reproduced); // one dirty cell
        using (var other = new SqliteConnection(StoreFactory.ConnectionString(Path.Combine(store.Root, "kbench.db"))))
        {
            other.Open();
            using var tx = other.BeginTransaction(); // BEGIN IMMEDIATE: holds the write lock
            var started = DateTime.UtcNow;
            var lb = Leaderboard.Query(store.Db, options, out var refreshed);
            Assert.Equal(-1, refreshed);
            Assert.InRange(DateTime.UtcNow - started, TimeSpan.Zero, TimeSpan.FromSeconds(30));
            Assert.Equal(0.5, lb.Rows[0].Crr.Mean, 12);
            tx.Rollback();
        }
        Assert.Equal(1, store.Db.LeaderboardDirtyCells.Count());
        var fresh = Leaderboard.Query(store.Db, options, out var after);
        Assert.Equal(1, after);
        Assert.Equal(Leaderboard.QueryFromRuns(store.Db, options).ToJson(), fresh.ToJson());
    }
}
