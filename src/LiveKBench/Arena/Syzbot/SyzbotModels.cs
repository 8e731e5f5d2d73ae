using System.Text.Json.Serialization;

namespace LiveKBench.Arena.Syzbot;

/// <summary>
/// A syzbot list page (<c>/&lt;namespace&gt;?json=1</c> or <c>/&lt;namespace&gt;/fixed?json=1</c>):
/// <c>{"version":1,"Bugs":[...]}</c>. <c>"Bugs": null</c> (an empty list on the server) reads as an empty list.
/// </summary>
public sealed record SyzbotBugList
{
    /// <summary>API version; 1 is the only one known.</summary>
    [JsonPropertyName("version")]
    public int Version { get; init; }

    /// <summary>The entries, in the dashboard's order (newest report / last closed first); null when the server sent null.</summary>
    [JsonPropertyName("Bugs")]
    public List<SyzbotListEntry>? Bugs { get; init; }
}

/// <summary>One entry of a list page.</summary>
public sealed record SyzbotListEntry
{
    /// <summary>Bug title.</summary>
    [JsonPropertyName("title")]
    public string? Title { get; init; }

    /// <summary>Relative link of the bug: <c>/bug?extid=&lt;20 or 40 hex&gt;</c>, or <c>/bug?id=&lt;40 hex&gt;</c>.</summary>
    [JsonPropertyName("link")]
    public string? Link { get; init; }

    /// <summary>Never populated by the server (present in its structs only).</summary>
    [JsonPropertyName("last-updated")]
    public DateTime? LastUpdated { get; init; }

    /// <summary>Fix commits (fixed list only).</summary>
    [JsonPropertyName("fix-commits")]
    public List<SyzbotCommit>? FixCommits { get; init; }
}

/// <summary>
/// The bug detail (<c>/bug?extid=...&amp;json=1</c>). Field names are the API's; times are RFC 3339 UTC.
/// </summary>
public sealed record SyzbotBugDetail
{
    /// <summary>API version (1).</summary>
    [JsonPropertyName("version")]
    public int Version { get; init; }

    /// <summary>Bug title.</summary>
    [JsonPropertyName("title")]
    public string? Title { get; init; }

    /// <summary>Syzbot bug id (40 hex).</summary>
    [JsonPropertyName("id")]
    public string? Id { get; init; }

    /// <summary>Free-text status, e.g. <c>upstream: reported C repro on 2019/12/15 20:35</c> or <c>fixed on 2019/08/09 16:21</c>.</summary>
    [JsonPropertyName("status")]
    public string? Status { get; init; }

    /// <summary>First crash (UTC).</summary>
    [JsonPropertyName("first-crash")]
    public DateTime? FirstCrash { get; init; }

    /// <summary>Last crash (UTC).</summary>
    [JsonPropertyName("last-crash")]
    public DateTime? LastCrash { get; init; }

    /// <summary>When syzbot saw the fix commit (UTC); fixed bugs only.</summary>
    [JsonPropertyName("fix-time")]
    public DateTime? FixTime { get; init; }

    /// <summary>When the bug was closed (UTC); fixed bugs only.</summary>
    [JsonPropertyName("close-time")]
    public DateTime? CloseTime { get; init; }

    /// <summary>Fix commits, in syzbot's order.</summary>
    [JsonPropertyName("fix-commits")]
    public List<SyzbotCommit>? FixCommits { get; init; }

    /// <summary>Bisected cause commit, if any (no author fields).</summary>
    [JsonPropertyName("cause-commit")]
    public SyzbotCommit? CauseCommit { get; init; }

    /// <summary>Discussion links (Google Groups / lore).</summary>
    [JsonPropertyName("discussions")]
    public List<string>? Discussions { get; init; }

    /// <summary>Crashes, the one with the best reproducer first.</summary>
    [JsonPropertyName("crashes")]
    public List<SyzbotCrash>? Crashes { get; init; }
}

/// <summary>A commit as the API gives it (fix-commits[], cause-commit).</summary>
public sealed record SyzbotCommit
{
    /// <summary>Commit title.</summary>
    [JsonPropertyName("title")]
    public string? Title { get; init; }

    /// <summary>Web link (cgit or GitHub); absent until syzbot has seen the commit.</summary>
    [JsonPropertyName("link")]
    public string? Link { get; init; }

    /// <summary>Full hash (40 hex); absent until syzbot has seen the commit.</summary>
    [JsonPropertyName("hash")]
    public string? Hash { get; init; }

    /// <summary>Git repository URL, e.g. <c>git://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git</c>.</summary>
    [JsonPropertyName("repo")]
    public string? Repo { get; init; }

    /// <summary>Branch, e.g. <c>master</c>.</summary>
    [JsonPropertyName("branch")]
    public string? Branch { get; init; }

    /// <summary>Author email.</summary>
    [JsonPropertyName("author")]
    public string? Author { get; init; }

    /// <summary>Author name.</summary>
    [JsonPropertyName("author-name")]
    public string? AuthorName { get; init; }

    /// <summary>Author date (UTC), when given.</summary>
    [JsonPropertyName("date")]
    public DateTime? Date { get; init; }
}

/// <summary>One crash of a bug detail. Links are relative <c>/text?tag=&lt;Tag&gt;&amp;x=&lt;id&gt;</c> URLs.</summary>
public sealed record SyzbotCrash
{
    /// <summary>Crash title.</summary>
    [JsonPropertyName("title")]
    public string? Title { get; init; }

    /// <summary>Link of the syz reproducer text.</summary>
    [JsonPropertyName("syz-reproducer")]
    public string? SyzReproducer { get; init; }

    /// <summary>Link of the C reproducer text.</summary>
    [JsonPropertyName("c-reproducer")]
    public string? CReproducer { get; init; }

    /// <summary>Reproducer options (syzkaller JSON as a string).</summary>
    [JsonPropertyName("repro-opts")]
    public string? ReproOpts { get; init; }

    /// <summary>Link of the kernel config text.</summary>
    [JsonPropertyName("kernel-config")]
    public string? KernelConfig { get; init; }

    /// <summary>Kernel tree URL.</summary>
    [JsonPropertyName("kernel-source-git")]
    public string? KernelSourceGit { get; init; }

    /// <summary>Kernel commit (absent for some crashes).</summary>
    [JsonPropertyName("kernel-source-commit")]
    public string? KernelSourceCommit { get; init; }

    /// <summary>Syzkaller tree link.</summary>
    [JsonPropertyName("syzkaller-git")]
    public string? SyzkallerGit { get; init; }

    /// <summary>Syzkaller commit.</summary>
    [JsonPropertyName("syzkaller-commit")]
    public string? SyzkallerCommit { get; init; }

    /// <summary>Never populated by the server.</summary>
    [JsonPropertyName("compiler-description")]
    public string? CompilerDescription { get; init; }

    /// <summary>Never populated by the server; the architecture comes from the config header.</summary>
    [JsonPropertyName("architecture")]
    public string? Architecture { get; init; }

    /// <summary>Link of the crash report text.</summary>
    [JsonPropertyName("crash-report-link")]
    public string? CrashReportLink { get; init; }
}
