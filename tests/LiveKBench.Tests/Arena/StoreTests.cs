using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace LiveKBench.Tests.Arena;

public sealed class StoreTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public void New_database_uses_wal_foreign_keys_and_all_migrations()
    {
        var ws = Workspace.Init(_tmp["ws"]);
        foreach (var sub in new[] { "logs", "artifacts", "mirrors", "configs/agents", "configs/models", "configs/judges" })
        {
            Assert.True(Directory.Exists(Path.Combine(ws.Root, sub)), sub);
        }
        using var db = ws.OpenStore();
        Assert.Equal("wal", Scalar(db, "PRAGMA journal_mode"));
        Assert.Equal(1L, Scalar(db, "PRAGMA foreign_keys"));
        Assert.Empty(db.Database.GetPendingMigrations());
        // A foreign key really is enforced.
        db.DatasetMembers.Add(new DatasetMember { DatasetId = 999, BugId = "missing" });
        Assert.Throws<DbUpdateException>(() => db.SaveChanges());
    }

    [Fact]
    public void Database_from_an_older_migration_is_upgraded_in_place()
    {
        var path = _tmp["old.db"];
        var options = new DbContextOptionsBuilder<KBenchDbContext>().UseSqlite($"Data Source={path}").Options;
        string first;
        using (var db = new KBenchDbContext(options))
        {
            var all = db.Database.GetMigrations().ToList();
            first = all[0];
            // Bring the file to the oldest schema only, then mark nothing beyond it as applied.
            db.GetService<IMigrator>().Migrate(first);
            Assert.Equal([first], db.Database.GetAppliedMigrations());
        }
        SqliteConnection.ClearAllPools();
        using (var db = StoreFactory.Open(path))
        {
            Assert.Empty(db.Database.GetPendingMigrations());
            Assert.Equal(db.Database.GetMigrations(), db.Database.GetAppliedMigrations());
            Assert.Equal(0, db.Bugs.Count());
        }
    }

    [Fact]
    public void A_file_that_is_not_a_database_gives_a_clear_error()
    {
        var path = _tmp["garbage.db"];
        File.WriteAllText(path, "this is not sqlite");
        var ex = Assert.Throws<InvalidOperationException>(() => StoreFactory.Open(path));
        Assert.Contains("cannot open the database", ex.Message);
    }

    [Fact]
    public void Workspace_settings_come_from_settings_json_and_kbench_environment()
    {
        var ws = Workspace.Init(_tmp["ws"]);
        Assert.Equal(5, ws.Settings.Vm.Instances);
        ws.UpdateSettingsFile(n => n["vm"] = new System.Text.Json.Nodes.JsonObject { ["instances"] = 3 });
        Assert.Equal(3, Workspace.Open(ws.Root).Settings.Vm.Instances);
        Assert.Throws<WorkspaceNotFoundException>(() => Workspace.Open(_tmp["nothing-here"]));
        // A list in settings.json replaces the default rather than being appended to it.
        Assert.Equal(["upstream"], Workspace.Open(ws.Root).Settings.Syzbot.Namespaces);
        ws.UpdateSettingsFile(n => n["syzbot"]!["namespaces"] = new System.Text.Json.Nodes.JsonArray("linux-6.1", "upstream"));
        Assert.Equal(["linux-6.1", "upstream"], Workspace.Open(ws.Root).Settings.Syzbot.Namespaces);
        // Mirror keys are git URLs with ':' in them; they survive as keys.
        ws.UpdateSettingsFile(n => n["mirrors"] = new System.Text.Json.Nodes.JsonObject { ["git://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git"] = "/srv/linux.git", ["debian:linux-source-6.1"] = "mirrors/x" });
        var mirrors = Workspace.Open(ws.Root).Settings.Mirrors;
        Assert.Equal("/srv/linux.git", mirrors["git://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git"]);
        Assert.Equal(Path.Combine(ws.Root, "mirrors", "x"), mirrors["debian:linux-source-6.1"]);
    }

    [Fact]
    public void Build_ccache_dir_comes_from_settings_and_is_not_written_by_init()
    {
        var ws = Workspace.Init(_tmp["ws-ccache"]);
        Assert.DoesNotContain("ccacheDir", File.ReadAllText(ws.SettingsPath), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(Environment.GetEnvironmentVariable("KBENCH_CCACHE_DIR") is { Length: > 0 } env ? env : null, ws.Settings.Build.CcacheDir);
        ws.UpdateSettingsFile(n => n["build"] = new System.Text.Json.Nodes.JsonObject { ["ccacheDir"] = "/srv/ccache" });
        Assert.Equal("/srv/ccache", Workspace.Open(ws.Root).Settings.Build.CcacheDir);
    }

    private static object? Scalar(KBenchDbContext db, string sql)
    {
        using var cmd = db.Database.GetDbConnection().CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }
}
