using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace LiveKBench.Arena.Store;

/// <summary>
/// The LiveKBench store: one SQLite file per workspace (WAL, foreign keys on, busy timeout), schema
/// managed by EF Core migrations. Enumerations are stored as camelCase text (e.g. <c>notReproduced</c>),
/// lists as JSON text, date-times as UTC.
/// </summary>
public sealed class KBenchDbContext : DbContext
{
    /// <summary>Creates a context over the given options (see <see cref="StoreFactory"/>).</summary>
    public KBenchDbContext(DbContextOptions<KBenchDbContext> options) : base(options)
    {
    }

    /// <summary>Bugs.</summary>
    public DbSet<Bug> Bugs => Set<Bug>();

    /// <summary>Crashes of bugs.</summary>
    public DbSet<BugCrash> BugCrashes => Set<BugCrash>();

    /// <summary>Fix commits of bugs.</summary>
    public DbSet<FixCommit> FixCommits => Set<FixCommit>();

    /// <summary>Reproducers.</summary>
    public DbSet<Reproducer> Reproducers => Set<Reproducer>();

    /// <summary>Patch texts and their analysis.</summary>
    public DbSet<Patch> Patches => Set<Patch>();

    /// <summary>Developer patches.</summary>
    public DbSet<DeveloperPatch> DeveloperPatches => Set<DeveloperPatch>();

    /// <summary>Baseline builds and reproductions.</summary>
    public DbSet<KcacheEntry> KcacheEntries => Set<KcacheEntry>();

    /// <summary>Agent configurations.</summary>
    public DbSet<AgentConfiguration> AgentConfigurations => Set<AgentConfiguration>();

    /// <summary>Agent runs.</summary>
    public DbSet<AgentRun> AgentRuns => Set<AgentRun>();

    /// <summary>Judge configurations.</summary>
    public DbSet<JudgeConfiguration> JudgeConfigurations => Set<JudgeConfiguration>();

    /// <summary>Crash-resolution evaluations.</summary>
    public DbSet<CrashResolutionEvaluation> CrashResolutionEvaluations => Set<CrashResolutionEvaluation>();

    /// <summary>Judge evaluations.</summary>
    public DbSet<JudgeEvaluation> JudgeEvaluations => Set<JudgeEvaluation>();

    /// <summary>Judge votes.</summary>
    public DbSet<JudgeVote> JudgeVotes => Set<JudgeVote>();

    /// <summary>Localization evaluations.</summary>
    public DbSet<LocalizationEvaluation> LocalizationEvaluations => Set<LocalizationEvaluation>();

    /// <summary>Datasets.</summary>
    public DbSet<Dataset> Datasets => Set<Dataset>();

    /// <summary>Dataset members.</summary>
    public DbSet<DatasetMember> DatasetMembers => Set<DatasetMember>();

    /// <summary>Crawl outcomes per syzbot list entry.</summary>
    public DbSet<CrawlRecord> CrawlRecords => Set<CrawlRecord>();

    /// <summary>Gym jobs.</summary>
    public DbSet<GymJob> GymJobs => Set<GymJob>();

    /// <summary>Gym job stages.</summary>
    public DbSet<GymJobStage> GymJobStages => Set<GymJobStage>();

    /// <summary>Leaderboard cells: per (configuration, bug) run scores, derived from runs and evaluations.</summary>
    public DbSet<LeaderboardCell> LeaderboardCells => Set<LeaderboardCell>();

    /// <summary>Leaderboard cells to recompute (filled by triggers).</summary>
    public DbSet<LeaderboardDirtyCell> LeaderboardDirtyCells => Set<LeaderboardDirtyCell>();

    /// <inheritdoc/>
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<NullableUtcDateTimeConverter>();
        configurationBuilder.Properties<List<string>>().HaveConversion<StringListConverter, StringListComparer>();
        configurationBuilder.Properties<BugStatus>().HaveConversion<CamelCaseEnumConverter<BugStatus>>();
        configurationBuilder.Properties<BaseCommitKind>().HaveConversion<CamelCaseEnumConverter<BaseCommitKind>>();
        configurationBuilder.Properties<BugSource>().HaveConversion<CamelCaseEnumConverter<BugSource>>();
        configurationBuilder.Properties<ReproducerKind>().HaveConversion<CamelCaseEnumConverter<ReproducerKind>>();
        configurationBuilder.Properties<WorkStatus>().HaveConversion<CamelCaseEnumConverter<WorkStatus>>();
        configurationBuilder.Properties<Verdict>().HaveConversion<CamelCaseEnumConverter<Verdict>>();
        configurationBuilder.Properties<ExitReason>().HaveConversion<CamelCaseEnumConverter<ExitReason>>();
        configurationBuilder.Properties<AnalysisStatus>().HaveConversion<CamelCaseEnumConverter<AnalysisStatus>>();
        configurationBuilder.Properties<JudgeOutcome>().HaveConversion<CamelCaseEnumConverter<JudgeOutcome>>();
        configurationBuilder.Properties<VoteOutcome>().HaveConversion<CamelCaseEnumConverter<VoteOutcome>>();
        configurationBuilder.Properties<DeveloperPatchStatus>().HaveConversion<CamelCaseEnumConverter<DeveloperPatchStatus>>();
        configurationBuilder.Properties<CrawlOutcome>().HaveConversion<CamelCaseEnumConverter<CrawlOutcome>>();
        configurationBuilder.Properties<GymStageKind>().HaveConversion<CamelCaseEnumConverter<GymStageKind>>();
    }

    /// <inheritdoc/>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Bug>(b =>
        {
            b.HasKey(x => x.Id);
            b.HasIndex(x => x.Status);
            b.HasIndex(x => x.Extid);
            b.HasIndex(x => x.BundleKey);
            b.HasIndex(x => x.ImportId);
            // New bugs of a running staged import stay invisible until its final swap (BugRepository.Upsert).
            b.HasQueryFilter(x => x.ImportId == null);
            b.HasMany(x => x.Crashes).WithOne().HasForeignKey(x => x.BugId).OnDelete(DeleteBehavior.Cascade);
            b.HasMany(x => x.FixCommits).WithOne().HasForeignKey(x => x.BugId).OnDelete(DeleteBehavior.Cascade);
            b.HasMany(x => x.Reproducers).WithOne().HasForeignKey(x => x.BugId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne(x => x.DeveloperPatch).WithOne().HasForeignKey<DeveloperPatch>(x => x.BugId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<BugCrash>().HasIndex(x => new { x.BugId, x.Index }).IsUnique();
        modelBuilder.Entity<FixCommit>().HasIndex(x => new { x.BugId, x.Index }).IsUnique();
        modelBuilder.Entity<Reproducer>().HasIndex(x => new { x.BugId, x.Kind }).IsUnique();
        modelBuilder.Entity<Patch>().HasIndex(x => x.ContentHash);
        modelBuilder.Entity<DeveloperPatch>(b =>
        {
            b.HasIndex(x => x.BugId).IsUnique();
            b.HasOne(x => x.Patch).WithMany().HasForeignKey(x => x.PatchId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<KcacheEntry>(b =>
        {
            b.HasIndex(x => new { x.BugId, x.BaseKind }).IsUnique();
            b.HasOne<Bug>().WithMany().HasForeignKey(x => x.BugId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne<GymJob>().WithMany().HasForeignKey(x => x.GymJobId).OnDelete(DeleteBehavior.SetNull);
        });
        modelBuilder.Entity<AgentConfiguration>().HasIndex(x => x.Name).IsUnique();
        modelBuilder.Entity<AgentRun>(b =>
        {
            b.HasIndex(x => new { x.AgentConfigurationId, x.BugId, x.RunIndex }).IsUnique();
            b.HasIndex(x => x.BugId);
            b.HasOne(x => x.AgentConfiguration).WithMany().HasForeignKey(x => x.AgentConfigurationId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne<Bug>().WithMany().HasForeignKey(x => x.BugId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne(x => x.Patch).WithMany().HasForeignKey(x => x.PatchId).OnDelete(DeleteBehavior.Restrict);
        });
        modelBuilder.Entity<JudgeConfiguration>().HasIndex(x => x.Name).IsUnique();
        modelBuilder.Entity<CrashResolutionEvaluation>(b =>
        {
            b.HasIndex(x => x.AgentRunId).IsUnique();
            b.HasOne<AgentRun>().WithMany().HasForeignKey(x => x.AgentRunId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne<KcacheEntry>().WithMany().HasForeignKey(x => x.KcacheEntryId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne<GymJob>().WithMany().HasForeignKey(x => x.GymJobId).OnDelete(DeleteBehavior.SetNull);
        });
        modelBuilder.Entity<JudgeEvaluation>(b =>
        {
            b.HasIndex(x => new { x.JudgeConfigurationId, x.AgentRunId }).IsUnique();
            b.HasIndex(x => x.AgentRunId);
            b.HasOne<JudgeConfiguration>().WithMany().HasForeignKey(x => x.JudgeConfigurationId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne<AgentRun>().WithMany().HasForeignKey(x => x.AgentRunId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne<DeveloperPatch>().WithMany().HasForeignKey(x => x.DeveloperPatchId).OnDelete(DeleteBehavior.Cascade);
            b.HasMany(x => x.Votes).WithOne().HasForeignKey(x => x.JudgeEvaluationId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<JudgeVote>().HasIndex(x => new { x.JudgeEvaluationId, x.Index }).IsUnique();
        modelBuilder.Entity<LocalizationEvaluation>(b =>
        {
            b.HasIndex(x => x.AgentRunId).IsUnique();
            b.HasOne<AgentRun>().WithMany().HasForeignKey(x => x.AgentRunId).OnDelete(DeleteBehavior.Cascade);
            b.HasOne<DeveloperPatch>().WithMany().HasForeignKey(x => x.DeveloperPatchId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<Dataset>(b =>
        {
            b.HasIndex(x => x.Name).IsUnique();
            b.HasMany(x => x.Members).WithOne().HasForeignKey(x => x.DatasetId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<DatasetMember>(b =>
        {
            b.HasKey(x => new { x.DatasetId, x.BugId });
            b.HasIndex(x => x.BugId);
            b.HasOne<Bug>().WithMany().HasForeignKey(x => x.BugId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<CrawlRecord>(b =>
        {
            b.HasIndex(x => new { x.Namespace, x.Link }).IsUnique();
            b.HasIndex(x => x.Outcome);
        });
        modelBuilder.Entity<GymJob>(b =>
        {
            b.HasMany(x => x.Stages).WithOne().HasForeignKey(x => x.GymJobId).OnDelete(DeleteBehavior.Cascade);
            b.HasIndex(x => x.Status);
        });
        modelBuilder.Entity<GymJobStage>().HasIndex(x => new { x.GymJobId, x.Index }).IsUnique();
        modelBuilder.Entity<LeaderboardCell>().HasKey(x => new { x.AgentConfigurationId, x.BugId });
        modelBuilder.Entity<LeaderboardDirtyCell>().HasIndex(x => new { x.AgentConfigurationId, x.BugId });
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    private sealed class NullableUtcDateTimeConverter() : ValueConverter<DateTime?, DateTime?>(
        v => v == null ? null : (v.Value.Kind == DateTimeKind.Utc ? v : v.Value.ToUniversalTime()),
        v => v == null ? null : DateTime.SpecifyKind(v.Value, DateTimeKind.Utc));

    private sealed class StringListConverter() : ValueConverter<List<string>, string>(
        v => JsonSerializer.Serialize(v, (JsonSerializerOptions?)null),
        v => JsonSerializer.Deserialize<List<string>>(v, (JsonSerializerOptions?)null) ?? new List<string>());

    private sealed class StringListComparer() : ValueComparer<List<string>>(
        (a, b) => (a == null && b == null) || (a != null && b != null && a.SequenceEqual(b)),
        v => v.Aggregate(0, (h, s) => HashCode.Combine(h, s.GetHashCode(StringComparison.Ordinal))),
        v => v.ToList());
}

/// <summary>Stores an enum as camelCase text (e.g. <c>NotReproduced</c> → <c>notReproduced</c>).</summary>
/// <typeparam name="T">The enum type.</typeparam>
public sealed class CamelCaseEnumConverter<T>() : ValueConverter<T, string>(
    v => EnumText.ToText(v),
    v => EnumText.Parse<T>(v))
    where T : struct, Enum;

/// <summary>camelCase text of enum values, as stored and as printed in JSON.</summary>
public static class EnumText
{
    /// <summary>camelCase name of <paramref name="value"/>.</summary>
    public static string ToText<T>(T value) where T : struct, Enum
    {
        var s = value.ToString();
        return char.ToLowerInvariant(s[0]) + s[1..];
    }

    /// <summary>Parses camelCase or PascalCase text.</summary>
    /// <exception cref="FormatException">Not a value of <typeparamref name="T"/>.</exception>
    public static T Parse<T>(string text) where T : struct, Enum
        => Enum.TryParse<T>(text, ignoreCase: true, out var v) && Enum.IsDefined(v)
            ? v
            : throw new FormatException($"'{text}' is not a {typeof(T).Name} (expected one of: {string.Join(", ", Enum.GetValues<T>().Select(x => ToText(x)))})");
}
