using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace LiveKBench.Arena.Store;

/// <summary>
/// Opens the workspace database. The first open of a process applies pending migrations (so a database
/// from an older migration is upgraded in place) and switches the file to WAL. Several processes may use
/// one file at once: writers wait up to <see cref="BusyTimeoutSeconds"/> for each other.
/// </summary>
public static class StoreFactory
{
    /// <summary>How long a writer waits for another process's write transaction, in seconds.</summary>
    public const int BusyTimeoutSeconds = 120;

    /// <summary>
    /// Rows that an INSERT OR REPLACE deletes fire the DELETE triggers only with this setting (per connection); the
    /// leaderboard's staleness triggers (<see cref="LeaderboardDirtyCell"/>) need them.
    /// </summary>
    private const string RecursiveTriggers = "PRAGMA recursive_triggers = ON;";

    private static readonly HashSet<string> Migrated = new(StringComparer.Ordinal);

    /// <summary>Connection string for the SQLite file at <paramref name="databasePath"/>.</summary>
    public static string ConnectionString(string databasePath) => new SqliteConnectionStringBuilder
    {
        DataSource = databasePath,
        ForeignKeys = true,
        DefaultTimeout = BusyTimeoutSeconds,
        Pooling = false,
        Mode = SqliteOpenMode.ReadWriteCreate,
    }.ToString();

    /// <summary>Creates a context; on the first call per file and process, migrates the schema.</summary>
    /// <exception cref="InvalidOperationException">The file is not a LiveKBench database or is corrupt.</exception>
    public static KBenchDbContext Open(string databasePath)
    {
        var options = new DbContextOptionsBuilder<KBenchDbContext>()
            .UseSqlite(ConnectionString(databasePath), o => o.CommandTimeout(BusyTimeoutSeconds))
            .Options;
        var db = new KBenchDbContext(options);
        bool first;
        lock (Migrated)
        {
            first = Migrated.Add(Path.GetFullPath(databasePath));
        }
        if (first)
        {
            try
            {
                // Two processes opening one new workspace at once (two `kbench init`, or any first commands) would both
                // create the tables; a lock file next to the database lets one migrate while the other waits.
                using var migrationLock = AcquireMigrationLock(databasePath);
                db.Database.OpenConnection();
                db.Database.ExecuteSqlRaw($"PRAGMA busy_timeout={BusyTimeoutSeconds * 1000};");
                db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
                db.Database.ExecuteSqlRaw($"PRAGMA busy_timeout={BusyTimeoutSeconds * 1000};");
                db.Database.ExecuteSqlRaw(RecursiveTriggers);
                db.Database.Migrate();
            }
            catch (Exception ex) when (ex is SqliteException or InvalidOperationException or IOException or TimeoutException)
            {
                lock (Migrated)
                {
                    Migrated.Remove(Path.GetFullPath(databasePath));
                }
                db.Dispose();
                throw new InvalidOperationException($"cannot open the database {databasePath}: {ex.Message}", ex);
            }
        }
        else
        {
            db.Database.OpenConnection();
            db.Database.ExecuteSqlRaw($"PRAGMA busy_timeout={BusyTimeoutSeconds * 1000};");
            db.Database.ExecuteSqlRaw(RecursiveTriggers);
        }
        return db;
    }

    /// <summary>
    /// Takes the exclusive lock file <c>&lt;database&gt;.migrate.lock</c> (an advisory lock held by the open handle, so a
    /// killed process releases it), waiting up to <see cref="BusyTimeoutSeconds"/> for another process to finish migrating.
    /// </summary>
    /// <exception cref="TimeoutException">Another process held the lock all that time.</exception>
    private static FileStream AcquireMigrationLock(string databasePath)
    {
        var lockPath = Path.GetFullPath(databasePath) + ".migrate.lock";
        var deadline = DateTime.UtcNow.AddSeconds(BusyTimeoutSeconds);
        while (true)
        {
            try
            {
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(lockPath))
            {
                Thread.Sleep(50);
            }
            catch (IOException ex) when (File.Exists(lockPath))
            {
                throw new TimeoutException($"another process is migrating {databasePath} (lock {lockPath} held for {BusyTimeoutSeconds} s)", ex);
            }
        }
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> create a context at design time.</summary>
public sealed class DesignTimeFactory : IDesignTimeDbContextFactory<KBenchDbContext>
{
    /// <inheritdoc/>
    public KBenchDbContext CreateDbContext(string[] args)
        => new(new DbContextOptionsBuilder<KBenchDbContext>().UseSqlite("Data Source=design.db").Options);
}
