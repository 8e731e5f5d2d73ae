using System.Text.Json;
using System.Text.Json.Serialization;
using LiveKBench.Arena.Store;

namespace LiveKBench.Arena.Bugs;

/// <summary>
/// A bug with everything the store knows about it, as one JSON document: the line format of
/// <c>kbench bugs export</c> (schema <c>livekbench-bug/1</c>) and the output of <c>kbench bugs show --json</c>.
/// Times are ISO-8601 UTC.
/// </summary>
public sealed record BugDocument
{
    /// <summary>Schema tag written in every exported line.</summary>
    public const string SchemaName = "livekbench-bug/1";

    /// <summary>JSON options used for documents (camelCase, enums as camelCase text, nulls omitted).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Always <see cref="SchemaName"/>.</summary>
    public string Schema { get; init; } = SchemaName;

    /// <summary>Bug key (extid, else syzbot id).</summary>
    public required string Id { get; init; }

    /// <summary>Syzbot extid.</summary>
    public string? Extid { get; init; }

    /// <summary>Syzbot bug id (40 hex).</summary>
    public string? SyzbotId { get; init; }

    /// <summary>Title.</summary>
    public required string Title { get; init; }

    /// <summary>open or fixed.</summary>
    public BugStatus Status { get; init; }

    /// <summary>syzbot, bundle or export.</summary>
    public BugSource Source { get; init; }

    /// <summary>Bundle folder name.</summary>
    public string? BundleKey { get; init; }

    /// <summary>Syzbot link.</summary>
    public string? Link { get; init; }

    /// <summary>Syzbot namespace.</summary>
    public string? Namespace { get; init; }

    /// <summary>Expected crash title.</summary>
    public string? CrashTitle { get; init; }

    /// <summary>Crash report text.</summary>
    public string? CrashReport { get; init; }

    /// <summary>Alternative crash titles (syzbot crash titles, parser alt titles of the report, a bundle's <c>altTitles</c>); used for same-crash matching.</summary>
    public List<string> AltTitles { get; init; } = [];

    /// <summary>Subsystems.</summary>
    public List<string> Subsystems { get; init; } = [];

    /// <summary>Kernel tree / source.</summary>
    public string? KernelSourceGit { get; init; }

    /// <summary>Kernel commit.</summary>
    public string? KernelSourceCommit { get; init; }

    /// <summary>Kernel base description.</summary>
    public string? KernelBase { get; init; }

    /// <summary>Full .config text.</summary>
    public string? KernelConfig { get; init; }

    /// <summary>Base config target for the fragment.</summary>
    public string? ConfigBase { get; init; }

    /// <summary>scripts/config fragment.</summary>
    public string? ConfigFragment { get; init; }

    /// <summary>Architecture.</summary>
    public string? Architecture { get; init; }

    /// <summary>Syzkaller commit.</summary>
    public string? SyzkallerCommit { get; init; }

    /// <summary>Cause commit hash.</summary>
    public string? CauseCommitHash { get; init; }

    /// <summary>Cause commit title.</summary>
    public string? CauseCommitTitle { get; init; }

    /// <summary>Parent of fix in the mirror.</summary>
    public string? ParentOfFix { get; init; }

    /// <summary>Fix commit in the mirror.</summary>
    public string? MirrorFixCommit { get; init; }

    /// <summary>Stored at (UTC).</summary>
    public DateTime AddedTime { get; init; }

    /// <summary>Reported at (UTC).</summary>
    public DateTime? ReportedTime { get; init; }

    /// <summary>First crash (UTC).</summary>
    public DateTime? FirstCrash { get; init; }

    /// <summary>Last crash (UTC).</summary>
    public DateTime? LastCrash { get; init; }

    /// <summary>Fix seen (UTC).</summary>
    public DateTime? FixTime { get; init; }

    /// <summary>Closed (UTC).</summary>
    public DateTime? CloseTime { get; init; }

    /// <summary>Extra metadata (JSON text).</summary>
    public string? MetadataJson { get; init; }

    /// <summary>Crashes.</summary>
    public List<CrashDocument> Crashes { get; init; } = [];

    /// <summary>Fix commits.</summary>
    public List<FixCommitDocument> FixCommits { get; init; } = [];

    /// <summary>Reproducers.</summary>
    public List<ReproducerDocument> Reproducers { get; init; } = [];

    /// <summary>Developer patch.</summary>
    public DeveloperPatchDocument? DeveloperPatch { get; init; }

    /// <summary>Builds the document of a stored bug (children must be loaded).</summary>
    public static BugDocument From(Bug b) => new()
    {
        Id = b.Id,
        Extid = b.Extid,
        SyzbotId = b.SyzbotId,
        Title = b.Title,
        Status = b.Status,
        Source = b.Source,
        BundleKey = b.BundleKey,
        Link = b.Link,
        Namespace = b.Namespace,
        CrashTitle = b.CrashTitle,
        CrashReport = b.CrashReport,
        AltTitles = [.. b.AltTitles],
        Subsystems = [.. b.Subsystems],
        KernelSourceGit = b.KernelSourceGit,
        KernelSourceCommit = b.KernelSourceCommit,
        KernelBase = b.KernelBase,
        KernelConfig = b.KernelConfig,
        ConfigBase = b.ConfigBase,
        ConfigFragment = b.ConfigFragment,
        Architecture = b.Architecture,
        SyzkallerCommit = b.SyzkallerCommit,
        CauseCommitHash = b.CauseCommitHash,
        CauseCommitTitle = b.CauseCommitTitle,
        ParentOfFix = b.ParentOfFix,
        MirrorFixCommit = b.MirrorFixCommit,
        AddedTime = b.AddedTime,
        ReportedTime = b.ReportedTime,
        FirstCrash = b.FirstCrash,
        LastCrash = b.LastCrash,
        FixTime = b.FixTime,
        CloseTime = b.CloseTime,
        MetadataJson = b.MetadataJson,
        Crashes = [.. b.Crashes.OrderBy(c => c.Index).Select(c => new CrashDocument
        {
            Title = c.Title,
            SyzReproducerLink = c.SyzReproducerLink,
            CReproducerLink = c.CReproducerLink,
            ReproOpts = c.ReproOpts,
            KernelConfigLink = c.KernelConfigLink,
            KernelSourceGit = c.KernelSourceGit,
            KernelSourceCommit = c.KernelSourceCommit,
            SyzkallerGit = c.SyzkallerGit,
            SyzkallerCommit = c.SyzkallerCommit,
            CompilerDescription = c.CompilerDescription,
            Architecture = c.Architecture,
            CrashReportLink = c.CrashReportLink,
        })],
        FixCommits = [.. b.FixCommits.OrderBy(f => f.Index).Select(f => new FixCommitDocument
        {
            Title = f.Title,
            Hash = f.Hash,
            Link = f.Link,
            Repo = f.Repo,
            Branch = f.Branch,
            Author = f.Author,
            AuthorName = f.AuthorName,
            Date = f.Date,
        })],
        Reproducers = [.. b.Reproducers.OrderBy(r => r.Kind).Select(r => new ReproducerDocument { Kind = r.Kind, Text = r.Text, Options = r.Options })],
        DeveloperPatch = b.DeveloperPatch is not { } d ? null : new DeveloperPatchDocument
        {
            Status = d.Status,
            CommitHash = d.CommitHash,
            ParentCommit = d.ParentCommit,
            Message = d.Message,
            Author = d.Author,
            FixedTime = d.FixedTime,
            AddedTime = d.AddedTime,
            Patch = d.Patch?.Content,
            FailureReason = d.FailureReason,
        },
    };

    /// <summary>Creates a new (untracked) store entity from this document.</summary>
    public Bug ToEntity()
    {
        var bug = new Bug { Id = Id, Title = Title };
        Apply(bug);
        return bug;
    }

    /// <summary>Copies every scalar field of this document onto <paramref name="b"/> and replaces its children.</summary>
    public void Apply(Bug b)
    {
        b.Extid = Extid;
        b.SyzbotId = SyzbotId;
        b.Title = Title;
        b.Status = Status;
        b.Source = Source;
        b.BundleKey = BundleKey;
        b.Link = Link;
        b.Namespace = Namespace;
        b.CrashTitle = CrashTitle;
        b.CrashReport = CrashReport;
        b.AltTitles = [.. AltTitles];
        b.Subsystems = [.. Subsystems];
        b.KernelSourceGit = KernelSourceGit;
        b.KernelSourceCommit = KernelSourceCommit;
        b.KernelBase = KernelBase;
        b.KernelConfig = KernelConfig;
        b.ConfigBase = ConfigBase;
        b.ConfigFragment = ConfigFragment;
        b.Architecture = Architecture;
        b.SyzkallerCommit = SyzkallerCommit;
        b.CauseCommitHash = CauseCommitHash;
        b.CauseCommitTitle = CauseCommitTitle;
        b.ParentOfFix = ParentOfFix;
        b.MirrorFixCommit = MirrorFixCommit;
        b.AddedTime = AddedTime;
        b.ReportedTime = ReportedTime;
        b.FirstCrash = FirstCrash;
        b.LastCrash = LastCrash;
        b.FixTime = FixTime;
        b.CloseTime = CloseTime;
        b.MetadataJson = MetadataJson;
        b.Crashes = [.. Crashes.Select((c, i) => new BugCrash
        {
            BugId = Id,
            Index = i,
            Title = c.Title,
            SyzReproducerLink = c.SyzReproducerLink,
            CReproducerLink = c.CReproducerLink,
            ReproOpts = c.ReproOpts,
            KernelConfigLink = c.KernelConfigLink,
            KernelSourceGit = c.KernelSourceGit,
            KernelSourceCommit = c.KernelSourceCommit,
            SyzkallerGit = c.SyzkallerGit,
            SyzkallerCommit = c.SyzkallerCommit,
            CompilerDescription = c.CompilerDescription,
            Architecture = c.Architecture,
            CrashReportLink = c.CrashReportLink,
        })];
        b.FixCommits = [.. FixCommits.Select((f, i) => new FixCommit
        {
            BugId = Id,
            Index = i,
            Title = f.Title,
            Hash = f.Hash,
            Link = f.Link,
            Repo = f.Repo,
            Branch = f.Branch,
            Author = f.Author,
            AuthorName = f.AuthorName,
            Date = f.Date,
        })];
        b.Reproducers = [.. Reproducers.Select(r => new Reproducer { BugId = Id, Kind = r.Kind, Text = r.Text, Options = r.Options })];
    }

    /// <summary>
    /// Checks what JSON deserialisation cannot: required fields present, no null entries in lists, and every text
    /// within its size limit (UTF-8 bytes, <see cref="Infrastructure.InputLimits"/>).
    /// </summary>
    /// <returns>Null when valid, else the reason naming the field (e.g. <c>"reproducers[0]" is null</c>).</returns>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return "\"id\" is missing or empty";
        }
        if (string.IsNullOrWhiteSpace(Title))
        {
            return "\"title\" is missing or empty";
        }
        if (Subsystems is null || Crashes is null || FixCommits is null || Reproducers is null)
        {
            var which = Subsystems is null ? "subsystems" : Crashes is null ? "crashes" : FixCommits is null ? "fixCommits" : "reproducers";
            return $"\"{which}\" is null (must be a list)";
        }
        for (var i = 0; i < Subsystems.Count; i++)
        {
            if (Subsystems[i] is null)
            {
                return $"\"subsystems[{i}]\" is null";
            }
        }
        for (var i = 0; i < Crashes.Count; i++)
        {
            if (Crashes[i] is null)
            {
                return $"\"crashes[{i}]\" is null";
            }
        }
        for (var i = 0; i < FixCommits.Count; i++)
        {
            if (FixCommits[i] is null)
            {
                return $"\"fixCommits[{i}]\" is null";
            }
        }
        for (var i = 0; i < Reproducers.Count; i++)
        {
            if (Reproducers[i] is null)
            {
                return $"\"reproducers[{i}]\" is null";
            }
            if (Reproducers[i].Text is null)
            {
                return $"\"reproducers[{i}].text\" is missing";
            }
            if (TooLong(Reproducers[i].Text, Infrastructure.InputLimits.ReproducerBytes) is { } why)
            {
                return $"\"reproducers[{i}].text\" {why}";
            }
        }
        var checks = new (string Name, string? Text, long Limit)[]
        {
            ("id", Id, Infrastructure.InputLimits.ShortFieldBytes),
            ("title", Title, Infrastructure.InputLimits.ShortFieldBytes),
            ("crashTitle", CrashTitle, Infrastructure.InputLimits.ShortFieldBytes),
            ("crashReport", CrashReport, Infrastructure.InputLimits.CrashReportBytes),
            ("kernelConfig", KernelConfig, Infrastructure.InputLimits.KernelConfigBytes),
            ("configFragment", ConfigFragment, Infrastructure.InputLimits.ConfigFragmentBytes),
            ("metadataJson", MetadataJson, Infrastructure.InputLimits.MetadataBytes),
            ("developerPatch.patch", DeveloperPatch?.Patch, Infrastructure.InputLimits.PatchBytes),
            ("developerPatch.message", DeveloperPatch?.Message, Infrastructure.InputLimits.MetadataBytes),
        };
        foreach (var (name, text, limit) in checks)
        {
            if (TooLong(text, limit) is { } why)
            {
                return $"\"{name}\" {why}";
            }
        }
        return null;

        static string? TooLong(string? text, long limit)
        {
            // Cheap bound first: a UTF-8 byte count is at most 3 per UTF-16 char and at least 1.
            if (text is null || text.Length * 3L <= limit)
            {
                return null;
            }
            var bytes = System.Text.Encoding.UTF8.GetByteCount(text);
            return bytes > limit ? $"is {bytes} bytes, larger than the limit of {Infrastructure.InputLimits.Describe(limit)}" : null;
        }
    }

    /// <summary>The document as one JSON line (no indentation).</summary>
    public string ToJsonLine() => JsonSerializer.Serialize(this, JsonOptions);
}

/// <summary>A crash in a <see cref="BugDocument"/>.</summary>
public sealed record CrashDocument
{
    /// <summary>Title.</summary>
    public string? Title { get; init; }

    /// <summary>Syz reproducer link.</summary>
    public string? SyzReproducerLink { get; init; }

    /// <summary>C reproducer link.</summary>
    public string? CReproducerLink { get; init; }

    /// <summary>Repro options.</summary>
    public string? ReproOpts { get; init; }

    /// <summary>Kernel config link.</summary>
    public string? KernelConfigLink { get; init; }

    /// <summary>Kernel tree.</summary>
    public string? KernelSourceGit { get; init; }

    /// <summary>Kernel commit.</summary>
    public string? KernelSourceCommit { get; init; }

    /// <summary>Syzkaller tree.</summary>
    public string? SyzkallerGit { get; init; }

    /// <summary>Syzkaller commit.</summary>
    public string? SyzkallerCommit { get; init; }

    /// <summary>Compiler.</summary>
    public string? CompilerDescription { get; init; }

    /// <summary>Architecture.</summary>
    public string? Architecture { get; init; }

    /// <summary>Crash report link.</summary>
    public string? CrashReportLink { get; init; }
}

/// <summary>A fix commit in a <see cref="BugDocument"/>.</summary>
public sealed record FixCommitDocument
{
    /// <summary>Title.</summary>
    public string? Title { get; init; }

    /// <summary>Hash.</summary>
    public string? Hash { get; init; }

    /// <summary>Link.</summary>
    public string? Link { get; init; }

    /// <summary>Repository.</summary>
    public string? Repo { get; init; }

    /// <summary>Branch.</summary>
    public string? Branch { get; init; }

    /// <summary>Author email.</summary>
    public string? Author { get; init; }

    /// <summary>Author name.</summary>
    public string? AuthorName { get; init; }

    /// <summary>Date (UTC).</summary>
    public DateTime? Date { get; init; }
}

/// <summary>A reproducer in a <see cref="BugDocument"/>.</summary>
public sealed record ReproducerDocument
{
    /// <summary>c or syz.</summary>
    public ReproducerKind Kind { get; init; }

    /// <summary>Program text.</summary>
    public required string Text { get; init; }

    /// <summary>Options.</summary>
    public string? Options { get; init; }
}

/// <summary>The developer patch in a <see cref="BugDocument"/>.</summary>
public sealed record DeveloperPatchDocument
{
    /// <summary>available or missing.</summary>
    public DeveloperPatchStatus Status { get; init; }

    /// <summary>Fix commit hash.</summary>
    public string? CommitHash { get; init; }

    /// <summary>Parent commit.</summary>
    public string? ParentCommit { get; init; }

    /// <summary>Commit message.</summary>
    public string? Message { get; init; }

    /// <summary>Author.</summary>
    public string? Author { get; init; }

    /// <summary>Committer date (UTC).</summary>
    public DateTime? FixedTime { get; init; }

    /// <summary>Stored at (UTC).</summary>
    public DateTime AddedTime { get; init; }

    /// <summary>The diff text.</summary>
    public string? Patch { get; init; }

    /// <summary>Why the patch is missing.</summary>
    public string? FailureReason { get; init; }
}
