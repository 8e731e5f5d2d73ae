using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Web.Gym;

/// <summary>A job row of the Gym's own store (<c>gym.db</c>).</summary>
public sealed class GymJobRow
{
    /// <summary>Key (AUTOINCREMENT); shown as 8 lowercase hex digits.</summary>
    public long Id { get; set; }

    /// <summary>queued | running | finished | failed | aborted.</summary>
    public string Status { get; set; } = "queued";

    /// <summary>Creation time (UTC).</summary>
    public DateTime CreatedAt { get; set; }

    /// <summary>Last change (UTC).</summary>
    public DateTime UpdatedAt { get; set; }

    /// <summary>Why it failed or was aborted, or null.</summary>
    public string? FailureReason { get; set; }

    /// <summary>Tags as a JSON object.</summary>
    public string TagsJson { get; set; } = "{}";

    /// <summary>Stages in order.</summary>
    public List<GymStageRow> Stages { get; set; } = [];
}

/// <summary>A stage row; (JobId, Index) is the key.</summary>
public sealed class GymStageRow
{
    /// <summary>Owning job.</summary>
    public long JobId { get; set; }

    /// <summary>Position in the job, from 0.</summary>
    public int Index { get; set; }

    /// <summary>build | reproduce | noop.</summary>
    public string Kind { get; set; } = "";

    /// <summary>The <see cref="LiveKBench.Gym.StageArgs"/> JSON.</summary>
    public string ArgsJson { get; set; } = "";

    /// <summary>pending | queued | running | succeeded | failed | skipped | aborted.</summary>
    public string Status { get; set; } = "pending";

    /// <summary>Worker of the latest attempt, or null.</summary>
    public string? Worker { get; set; }

    /// <summary>Attempts started.</summary>
    public int Attempts { get; set; }

    /// <summary>Start of the latest attempt (UTC).</summary>
    public DateTime? StartedAt { get; set; }

    /// <summary>End (UTC).</summary>
    public DateTime? FinishedAt { get; set; }

    /// <summary>Finished <see cref="LiveKBench.Gym.GymStage"/> JSON, written once.</summary>
    public string? ResultJson { get; set; }

    /// <summary>Id of the broker message of the current queued attempt (outbox: set before publishing).</summary>
    public string? MessageId { get; set; }

    /// <summary>When the broker confirmed the current message (null = still to publish: the outbox).</summary>
    public DateTime? PublishedAt { get; set; }
}

/// <summary>A worker row, upserted by heartbeats.</summary>
public sealed class GymWorkerRow
{
    /// <summary>Worker name (key).</summary>
    public string Name { get; set; } = "";

    /// <summary>Stage kinds, comma-separated.</summary>
    public string Kinds { get; set; } = "";

    /// <summary>Last heartbeat (UTC).</summary>
    public DateTime LastSeen { get; set; }

    /// <summary>Job id it works on, or null.</summary>
    public string? CurrentJob { get; set; }
}

/// <summary>The Gym scheduler's store: SQLite file <c>gym.db</c> in its data folder, created on first start.</summary>
/// <param name="options">EF options.</param>
public sealed class GymDbContext(DbContextOptions<GymDbContext> options) : DbContext(options)
{
    /// <summary>Jobs.</summary>
    public DbSet<GymJobRow> Jobs => Set<GymJobRow>();

    /// <summary>Stages.</summary>
    public DbSet<GymStageRow> Stages => Set<GymStageRow>();

    /// <summary>Workers.</summary>
    public DbSet<GymWorkerRow> Workers => Set<GymWorkerRow>();

    /// <inheritdoc/>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<GymJobRow>(e =>
        {
            e.ToTable("GymJobs");
            e.HasIndex(j => j.Status);
            e.HasMany(j => j.Stages).WithOne().HasForeignKey(s => s.JobId);
        });
        modelBuilder.Entity<GymStageRow>(e =>
        {
            e.ToTable("GymStages");
            e.HasKey(s => new { s.JobId, s.Index });
        });
        modelBuilder.Entity<GymWorkerRow>(e =>
        {
            e.ToTable("GymWorkers");
            e.HasKey(w => w.Name);
        });
    }

    /// <summary>Opens (creating when missing) the store at <paramref name="path"/>.</summary>
    public static GymDbContext Open(string path)
    {
        var db = new GymDbContext(new DbContextOptionsBuilder<GymDbContext>().UseSqlite($"Data Source={path}").Options);
        db.Database.EnsureCreated();
        db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
        return db;
    }
}
