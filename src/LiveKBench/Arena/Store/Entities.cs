namespace LiveKBench.Arena.Store;

/// <summary>Columns shared by rows that can fail and be retried.</summary>
public interface IRetryable
{
    /// <summary>How many times the work was attempted (0 = never).</summary>
    int Attempts { get; set; }

    /// <summary>Why the last attempt failed; null when it did not.</summary>
    string? FailureReason { get; set; }
}

/// <summary>
/// A syzbot bug (kArena <c>syzbot_bugs</c>), from the crawler or from a bug bundle. Times are UTC.
/// </summary>
public sealed class Bug
{
    /// <summary>Our key: the syzbot extid when known (20 or 40 hex), else the 40-hex syzbot bug id.</summary>
    public required string Id { get; set; }

    /// <summary>Syzbot external id used in <c>/bug?extid=</c> links; null when syzbot only gave a bug id.</summary>
    public string? Extid { get; set; }

    /// <summary>Syzbot internal bug id (40 hex), when known.</summary>
    public string? SyzbotId { get; set; }

    /// <summary>Bug title as on syzbot, e.g. "KASAN: slab-out-of-bounds Read in add_del_if".</summary>
    public required string Title { get; set; }

    /// <summary>Open or fixed.</summary>
    public BugStatus Status { get; set; }

    /// <summary>Where the row came from.</summary>
    public BugSource Source { get; set; }

    /// <summary>Bundle folder name for bundles (e.g. "unix_shutdown"); null otherwise.</summary>
    public string? BundleKey { get; set; }

    /// <summary>Syzbot dashboard link.</summary>
    public string? Link { get; set; }

    /// <summary>Syzbot namespace (e.g. "upstream").</summary>
    public string? Namespace { get; set; }

    /// <summary>The crash title a syzkaller-compatible parser gives the bug's crash (usually the title).</summary>
    public string? CrashTitle { get; set; }

    /// <summary>
    /// Alternative titles of the bug's crash: syzbot's crash titles of the bug, our parser's alt titles of its report and a
    /// bundle's <c>altTitles</c>. A crash is the bug's own when its title or alt titles intersect the title plus these.
    /// </summary>
    public List<string> AltTitles { get; set; } = [];

    /// <summary>Raw syzbot crash report text.</summary>
    public string? CrashReport { get; set; }

    /// <summary>
    /// Id of the running <c>bugs import</c> that staged this new bug; null once the import has committed. Rows with an id
    /// are hidden from every query (a global query filter) until the import's final swap clears it, so a large import is
    /// all or nothing from the user's point of view; rows of an import killed midway are deleted by the next import.
    /// </summary>
    public string? ImportId { get; set; }

    /// <summary>Subsystems (syzbot labels).</summary>
    public List<string> Subsystems { get; set; } = [];

    /// <summary>Kernel tree the crash was seen on (git URL), or a description of the source for bundles.</summary>
    public string? KernelSourceGit { get; set; }

    /// <summary>Kernel commit the crash was seen on.</summary>
    public string? KernelSourceCommit { get; set; }

    /// <summary>Human description of the kernel base, e.g. "Debian linux-source-6.1 6.1.192".</summary>
    public string? KernelBase { get; set; }

    /// <summary>Full kernel .config text (syzbot config, or the resulting config of a bundle).</summary>
    public string? KernelConfig { get; set; }

    /// <summary>Base config target for fragments (e.g. "tinyconfig"); null when <see cref="KernelConfig"/> is used as is.</summary>
    public string? ConfigBase { get; set; }

    /// <summary>scripts/config arguments applied over <see cref="ConfigBase"/>; null when none.</summary>
    public string? ConfigFragment { get; set; }

    /// <summary>Architecture from the config header line ("x86_64", "arm64"), when known.</summary>
    public string? Architecture { get; set; }

    /// <summary>Syzkaller commit of the crash.</summary>
    public string? SyzkallerCommit { get; set; }

    /// <summary>Cause commit hash (bisection), if any.</summary>
    public string? CauseCommitHash { get; set; }

    /// <summary>Cause commit title, if any.</summary>
    public string? CauseCommitTitle { get; set; }

    /// <summary>Parent of the fix commit in our mirror (where agents start), when resolved.</summary>
    public string? ParentOfFix { get; set; }

    /// <summary>The fix commit in our mirror (for bundles: the fix applied on <see cref="ParentOfFix"/>).</summary>
    public string? MirrorFixCommit { get; set; }

    /// <summary>When the row was first stored (UTC).</summary>
    public DateTime AddedTime { get; set; }

    /// <summary>When syzbot first reported it (UTC), if known.</summary>
    public DateTime? ReportedTime { get; set; }

    /// <summary>First crash time (UTC), if known.</summary>
    public DateTime? FirstCrash { get; set; }

    /// <summary>Last crash time (UTC), if known.</summary>
    public DateTime? LastCrash { get; set; }

    /// <summary>When syzbot saw the fix (UTC), if fixed.</summary>
    public DateTime? FixTime { get; set; }

    /// <summary>When syzbot closed the bug (UTC), if fixed.</summary>
    public DateTime? CloseTime { get; set; }

    /// <summary>Extra metadata (bundle provenance, notes) as JSON text; null when none.</summary>
    public string? MetadataJson { get; set; }

    /// <summary>Crashes as listed by syzbot (first = the one with the best reproducer).</summary>
    public List<BugCrash> Crashes { get; set; } = [];

    /// <summary>Fix commits, in syzbot's order.</summary>
    public List<FixCommit> FixCommits { get; set; } = [];

    /// <summary>Reproducers of the bug (C and/or syz).</summary>
    public List<Reproducer> Reproducers { get; set; } = [];

    /// <summary>The developer patch (fix diff), when known.</summary>
    public DeveloperPatch? DeveloperPatch { get; set; }
}

/// <summary>One crash of a bug as syzbot lists it (kArena SyzbotData.crashes[]).</summary>
public sealed class BugCrash
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Owning bug.</summary>
    public required string BugId { get; set; }

    /// <summary>Position in syzbot's list (0 = first).</summary>
    public int Index { get; set; }

    /// <summary>Crash title.</summary>
    public string? Title { get; set; }

    /// <summary>Link of the syz reproducer text, if any.</summary>
    public string? SyzReproducerLink { get; set; }

    /// <summary>Link of the C reproducer text, if any.</summary>
    public string? CReproducerLink { get; set; }

    /// <summary>Repro options (syzkaller JSON), if any.</summary>
    public string? ReproOpts { get; set; }

    /// <summary>Link of the kernel config text.</summary>
    public string? KernelConfigLink { get; set; }

    /// <summary>Kernel tree URL.</summary>
    public string? KernelSourceGit { get; set; }

    /// <summary>Kernel commit.</summary>
    public string? KernelSourceCommit { get; set; }

    /// <summary>Syzkaller tree URL.</summary>
    public string? SyzkallerGit { get; set; }

    /// <summary>Syzkaller commit.</summary>
    public string? SyzkallerCommit { get; set; }

    /// <summary>Compiler description (empty in practice on syzbot).</summary>
    public string? CompilerDescription { get; set; }

    /// <summary>Architecture (from the config header when the API leaves it empty).</summary>
    public string? Architecture { get; set; }

    /// <summary>Link of the crash report text.</summary>
    public string? CrashReportLink { get; set; }
}

/// <summary>A fix commit of a bug (syzbot fix-commits[]).</summary>
public sealed class FixCommit
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Owning bug.</summary>
    public required string BugId { get; set; }

    /// <summary>Position in syzbot's list.</summary>
    public int Index { get; set; }

    /// <summary>Commit title.</summary>
    public string? Title { get; set; }

    /// <summary>Full commit hash, when syzbot has seen the commit.</summary>
    public string? Hash { get; set; }

    /// <summary>Web link of the commit.</summary>
    public string? Link { get; set; }

    /// <summary>Git repository URL.</summary>
    public string? Repo { get; set; }

    /// <summary>Branch.</summary>
    public string? Branch { get; set; }

    /// <summary>Author email.</summary>
    public string? Author { get; set; }

    /// <summary>Author name.</summary>
    public string? AuthorName { get; set; }

    /// <summary>Commit date (UTC), when syzbot gives it.</summary>
    public DateTime? Date { get; set; }
}

/// <summary>A reproducer program of a bug.</summary>
public sealed class Reproducer
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Owning bug.</summary>
    public required string BugId { get; set; }

    /// <summary>C or syz.</summary>
    public ReproducerKind Kind { get; set; }

    /// <summary>Program text.</summary>
    public required string Text { get; set; }

    /// <summary>Repro options (syz reproducers), if any.</summary>
    public string? Options { get; set; }
}

/// <summary>A patch text and its static analysis (kArena <c>patches</c>): modified files and functions.</summary>
public sealed class Patch : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Unified diff text.</summary>
    public required string Content { get; set; }

    /// <summary>SHA-256 (hex) of <see cref="Content"/>.</summary>
    public required string ContentHash { get; set; }

    /// <summary>Status of the analysis.</summary>
    public AnalysisStatus AnalysisStatus { get; set; }

    /// <summary>Modified source files (paths relative to the tree).</summary>
    public List<string> ModifiedFiles { get; set; } = [];

    /// <summary>Modified functions (bare names; <c>SYSCALL_DEFINEn(name)</c> gives <c>sys_name</c>).</summary>
    public List<string> ModifiedFunctions { get; set; } = [];

    /// <summary>
    /// Enclosing top-level definitions of the changed lines (functions by bare name; other definitions as
    /// <c>kind:name</c>, e.g. <c>variable:ifla_policy</c>; see <c>PatchAnalysis.Definitions</c>); null when the patch
    /// was analysed before definitions were recorded (the next <c>kbench eval localization</c> re-analyses it).
    /// </summary>
    public List<string>? ModifiedDefinitions { get; set; }

    /// <summary>Added plus removed lines.</summary>
    public int ModifiedLines { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>The developer fix of a bug (kArena <c>developer_patches</c>); at most one per bug.</summary>
public sealed class DeveloperPatch : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The bug.</summary>
    public required string BugId { get; set; }

    /// <summary>Available or missing.</summary>
    public DeveloperPatchStatus Status { get; set; }

    /// <summary>The diff (null when missing).</summary>
    public int? PatchId { get; set; }

    /// <summary>The diff row.</summary>
    public Patch? Patch { get; set; }

    /// <summary>Fix commit hash (upstream or in our mirror).</summary>
    public string? CommitHash { get; set; }

    /// <summary>Parent of the fix commit.</summary>
    public string? ParentCommit { get; set; }

    /// <summary>Fix commit message (title + body).</summary>
    public string? Message { get; set; }

    /// <summary>Fix commit author.</summary>
    public string? Author { get; set; }

    /// <summary>Committer date of the fix in UTC: the date used for training-cutoff splits. Null when unknown.</summary>
    public DateTime? FixedTime { get; set; }

    /// <summary>When the row was stored (UTC).</summary>
    public DateTime AddedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>
/// A baseline build and reproduction of a bug at its base commit (kArena <c>kcache</c>), at most one per
/// (bug, base kind). Only bugs whose baseline is reproduced with their own crash go on to agents.
/// </summary>
public sealed class KcacheEntry : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The bug.</summary>
    public required string BugId { get; set; }

    /// <summary>Parent of fix or crash commit.</summary>
    public BaseCommitKind BaseKind { get; set; }

    /// <summary>The commit hash built.</summary>
    public string? BaseCommit { get; set; }

    /// <summary>SHA-256 of the kernel config used (hex).</summary>
    public string? ConfigHash { get; set; }

    /// <summary>Work state.</summary>
    public WorkStatus Status { get; set; }

    /// <summary>Verdict of the baseline reproduction, when done.</summary>
    public Verdict? Verdict { get; set; }

    /// <summary>Crash title seen, when reproduced.</summary>
    public string? CrashTitle { get; set; }

    /// <summary>Whether the crash seen is the bug's own crash (same-crash test).</summary>
    public bool? SameCrash { get; set; }

    /// <summary>Human-readable reason of the verdict.</summary>
    public string? Reason { get; set; }

    /// <summary>Kept build directory (O=) for incremental patched builds.</summary>
    public string? BuildDirectory { get; set; }

    /// <summary>The Gym job that computed it.</summary>
    public int? GymJobId { get; set; }

    /// <summary>Full result (per-instance consoles, timings) as JSON.</summary>
    public string? ResultJson { get; set; }

    /// <summary>Baseline instances that ran the reproducer (all rounds; boot and infrastructure errors excluded), or null before kcache.</summary>
    public int? BaselineInstances { get; set; }

    /// <summary>Of <see cref="BaselineInstances"/>, those that showed the bug's own crash.</summary>
    public int? BaselineCrashes { get; set; }

    /// <summary>Lower bound of the 95 % Clopper–Pearson interval of the reproduction rate.</summary>
    public double? ReproductionRateLow { get; set; }

    /// <summary>Upper bound of the 95 % Clopper–Pearson interval of the reproduction rate.</summary>
    public double? ReproductionRateHigh { get; set; }

    /// <summary>Clean patched runs needed for a resolved verdict at the α in force when kcache ran; null = none suffices.</summary>
    public int? RequiredCleanRuns { get; set; }

    /// <summary>When stored (UTC).</summary>
    public DateTime AddedTime { get; set; }

    /// <summary>When last changed (UTC).</summary>
    public DateTime UpdatedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>An agent configuration (kArena <c>agent_configurations</c>), loaded from configs/agents/NAME.yaml.</summary>
public sealed class AgentConfiguration
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Unique name (the YAML file name without extension).</summary>
    public required string Name { get; set; }

    /// <summary>Agent implementation: developer-oracle, empty, kbench-agent, or an external kEnv agent.</summary>
    public required string Agent { get; set; }

    /// <summary>Model display name (empty for baselines).</summary>
    public string Model { get; set; } = "";

    /// <summary>Model configuration name (configs/models/NAME.yaml), if any.</summary>
    public string? ModelConfigName { get; set; }

    /// <summary>Stateful mode: the agent may call run_kernel.</summary>
    public bool Stateful { get; set; }

    /// <summary>Oracle mode: the agent is told which files the fix touches.</summary>
    public bool OracleMode { get; set; }

    /// <summary>Description.</summary>
    public string Description { get; set; } = "";

    /// <summary>The configuration file's text as loaded (YAML).</summary>
    public string? ConfigText { get; set; }

    /// <summary>Batch counter (kArena unionCounter), incremented per batch of runs.</summary>
    public int BatchCounter { get; set; }
}

/// <summary>One agent run on one bug (kArena <c>agent_patches</c>), with its patch and cost.</summary>
public sealed class AgentRun : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The configuration.</summary>
    public int AgentConfigurationId { get; set; }

    /// <summary>The configuration row.</summary>
    public AgentConfiguration? AgentConfiguration { get; set; }

    /// <summary>The bug.</summary>
    public required string BugId { get; set; }

    /// <summary>Run number for (configuration, bug), 0-based; unique together with them.</summary>
    public int RunIndex { get; set; }

    /// <summary>Batch number (kArena unionId).</summary>
    public int Batch { get; set; }

    /// <summary>Commit the agent started from.</summary>
    public string? BaseCommit { get; set; }

    /// <summary>Work state.</summary>
    public WorkStatus Status { get; set; }

    /// <summary>The patch produced (null until done, or when the run failed).</summary>
    public int? PatchId { get; set; }

    /// <summary>The patch row.</summary>
    public Patch? Patch { get; set; }

    /// <summary>Cost in USD.</summary>
    public double? DollarCost { get; set; }

    /// <summary>Wall time in seconds.</summary>
    public double? TimeSeconds { get; set; }

    /// <summary>Steps taken.</summary>
    public int? Steps { get; set; }

    /// <summary>Why the agent stopped.</summary>
    public ExitReason? ExitReason { get; set; }

    /// <summary>Trajectory file path (relative to the workspace).</summary>
    public string? TrajectoryPath { get; set; }

    /// <summary>Log file path (relative to the workspace).</summary>
    public string? LogPath { get; set; }

    /// <summary>When stored (UTC).</summary>
    public DateTime AddedTime { get; set; }

    /// <summary>When last changed (UTC).</summary>
    public DateTime UpdatedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>An LLM judge configuration (kArena <c>llm_judge_configurations</c>).</summary>
public sealed class JudgeConfiguration
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Unique name.</summary>
    public required string Name { get; set; }

    /// <summary>Prompt template with {devPatch}, {devPatchMessage}, {agentPatch}.</summary>
    public required string Prompt { get; set; }

    /// <summary>Model configuration name (configs/models/NAME.yaml).</summary>
    public required string ModelConfigName { get; set; }

    /// <summary>Number of votes per pair (default 5).</summary>
    public int Votes { get; set; } = 5;

    /// <summary>The configuration file's text as loaded.</summary>
    public string? ConfigText { get; set; }
}

/// <summary>Crash-resolution evaluation of one agent run: rebuild with the patch and rerun the reproducer.</summary>
public sealed class CrashResolutionEvaluation : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The agent run (unique).</summary>
    public int AgentRunId { get; set; }

    /// <summary>The baseline used.</summary>
    public int KcacheEntryId { get; set; }

    /// <summary>Work state.</summary>
    public WorkStatus Status { get; set; }

    /// <summary>Verdict, when done.</summary>
    public Verdict? Verdict { get; set; }

    /// <summary>Crash title, when reproduced.</summary>
    public string? CrashTitle { get; set; }

    /// <summary>Whether the crash is the bug's own.</summary>
    public bool? SameCrash { get; set; }

    /// <summary>Reason of the verdict.</summary>
    public string? Reason { get; set; }

    /// <summary>The Gym job.</summary>
    public int? GymJobId { get; set; }

    /// <summary>Full result JSON.</summary>
    public string? ResultJson { get; set; }

    /// <summary>VM instances run over all rounds, or null for evaluations stored before rounds existed.</summary>
    public int? InstancesRun { get; set; }

    /// <summary>(1 − p_low)^clean when every instance ran clean (resolved or inconclusive), else null.</summary>
    public double? FalseFixBound { get; set; }

    /// <summary>When last changed (UTC).</summary>
    public DateTime UpdatedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>LLM-judge evaluation of an agent run against the developer patch; unique per (judge, agent run).</summary>
public sealed class JudgeEvaluation : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The judge.</summary>
    public int JudgeConfigurationId { get; set; }

    /// <summary>The agent run.</summary>
    public int AgentRunId { get; set; }

    /// <summary>The developer patch compared against.</summary>
    public int DeveloperPatchId { get; set; }

    /// <summary>Work state (Failed when every vote errored).</summary>
    public WorkStatus Status { get; set; }

    /// <summary>Equivalent when yes &gt; no.</summary>
    public JudgeOutcome? Outcome { get; set; }

    /// <summary>Equivalent votes.</summary>
    public int YesCount { get; set; }

    /// <summary>Discrepant votes.</summary>
    public int NoCount { get; set; }

    /// <summary>Errored votes.</summary>
    public int ErrorCount { get; set; }

    /// <summary>Total USD of all votes.</summary>
    public double DollarCost { get; set; }

    /// <summary>The votes.</summary>
    public List<JudgeVote> Votes { get; set; } = [];

    /// <summary>When last changed (UTC).</summary>
    public DateTime UpdatedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>One vote of a judge evaluation.</summary>
public sealed class JudgeVote
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The evaluation.</summary>
    public int JudgeEvaluationId { get; set; }

    /// <summary>Vote number (0-based).</summary>
    public int Index { get; set; }

    /// <summary>Outcome.</summary>
    public VoteOutcome Outcome { get; set; }

    /// <summary>Messages exchanged (JSON list of {role, content}).</summary>
    public string MessagesJson { get; set; } = "[]";

    /// <summary>Error text for errored votes.</summary>
    public string? Error { get; set; }

    /// <summary>Prompt tokens.</summary>
    public long InputTokens { get; set; }

    /// <summary>Completion tokens.</summary>
    public long OutputTokens { get; set; }

    /// <summary>USD.</summary>
    public double DollarCost { get; set; }

    /// <summary>Latency in seconds.</summary>
    public double LatencySeconds { get; set; }
}

/// <summary>Localization evaluation of an agent run: file and function IoU against the developer patch.</summary>
public sealed class LocalizationEvaluation : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The agent run (unique).</summary>
    public int AgentRunId { get; set; }

    /// <summary>The developer patch.</summary>
    public int DeveloperPatchId { get; set; }

    /// <summary>Success, error (retryable) or invalid (a patch could not be analysed).</summary>
    public AnalysisStatus Status { get; set; }

    /// <summary>Reason for error/invalid.</summary>
    public string? Reason { get; set; }

    /// <summary>|A∩D| over files.</summary>
    public int FileIntersection { get; set; }

    /// <summary>|A∪D| over files.</summary>
    public int FileUnion { get; set; }

    /// <summary>File IoU in [0,1] (0 when both empty).</summary>
    public double FileIou { get; set; }

    /// <summary>|A∩D| over functions.</summary>
    public int FunctionIntersection { get; set; }

    /// <summary>|A∪D| over functions.</summary>
    public int FunctionUnion { get; set; }

    /// <summary>Function IoU in [0,1].</summary>
    public double FunctionIou { get; set; }

    /// <summary>False when the developer fix touches no function: function IoU is then not measured (shown null, left out of means).</summary>
    public bool FunctionIouMeasured { get; set; } = true;

    /// <summary>
    /// IoU in [0,1] over the enclosing top-level definitions (functions, global variables and arrays, structs, unions,
    /// enums, typedefs, macros from universal-ctags); null when not measured: the developer fix touches no definition,
    /// or the evaluation failed, or it was computed before definitions were recorded.
    /// </summary>
    public double? DefinitionIou { get; set; }

    /// <summary>When last changed (UTC).</summary>
    public DateTime UpdatedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>A named set of bugs (kArena <c>bug_datasets</c>).</summary>
public sealed class Dataset
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Unique name.</summary>
    public required string Name { get; set; }

    /// <summary>Description.</summary>
    public string Description { get; set; } = "";

    /// <summary>When created (UTC).</summary>
    public DateTime AddedTime { get; set; }

    /// <summary>Members.</summary>
    public List<DatasetMember> Members { get; set; } = [];
}

/// <summary>Membership of a bug in a dataset.</summary>
public sealed class DatasetMember
{
    /// <summary>The dataset.</summary>
    public int DatasetId { get; set; }

    /// <summary>The bug.</summary>
    public required string BugId { get; set; }
}

/// <summary>What the crawler did with one syzbot list entry; shown by <c>kbench bugs list --rejected</c>.</summary>
public sealed class CrawlRecord : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>Syzbot namespace.</summary>
    public required string Namespace { get; set; }

    /// <summary>The list link (e.g. /bug?extid=...), unique per namespace.</summary>
    public required string Link { get; set; }

    /// <summary>Title from the list.</summary>
    public string Title { get; set; } = "";

    /// <summary>Stored, rejected or failed.</summary>
    public CrawlOutcome Outcome { get; set; }

    /// <summary>Reason of rejection or failure.</summary>
    public string? Reason { get; set; }

    /// <summary>The stored bug, if any.</summary>
    public string? BugId { get; set; }

    /// <summary>First seen (UTC).</summary>
    public DateTime FirstSeen { get; set; }

    /// <summary>Last crawled (UTC).</summary>
    public DateTime LastSeen { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>A Gym job: an ordered list of stages (build, reproduce) run by a worker.</summary>
public sealed class GymJob : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>What the job is for, e.g. "kcache" or "crash-eval".</summary>
    public required string Purpose { get; set; }

    /// <summary>The bug.</summary>
    public string? BugId { get; set; }

    /// <summary>Work state.</summary>
    public WorkStatus Status { get; set; }

    /// <summary>Stages in order.</summary>
    public List<GymJobStage> Stages { get; set; } = [];

    /// <summary>Created (UTC).</summary>
    public DateTime CreatedTime { get; set; }

    /// <summary>Last changed (UTC).</summary>
    public DateTime UpdatedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>One stage of a Gym job, with serialized arguments and result.</summary>
public sealed class GymJobStage : IRetryable
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The job.</summary>
    public int GymJobId { get; set; }

    /// <summary>Order within the job (0-based).</summary>
    public int Index { get; set; }

    /// <summary>Build or reproduce.</summary>
    public GymStageKind Kind { get; set; }

    /// <summary>Work state.</summary>
    public WorkStatus Status { get; set; }

    /// <summary>Arguments (JSON).</summary>
    public string ArgumentsJson { get; set; } = "{}";

    /// <summary>Result (JSON), when done.</summary>
    public string? ResultJson { get; set; }

    /// <summary>Started (UTC).</summary>
    public DateTime? StartedTime { get; set; }

    /// <summary>Finished (UTC).</summary>
    public DateTime? FinishedTime { get; set; }

    /// <inheritdoc/>
    public int Attempts { get; set; }

    /// <inheritdoc/>
    public string? FailureReason { get; set; }
}

/// <summary>
/// Derived data of the leaderboard: the scores of every run of one (agent configuration, bug), so the
/// leaderboard reads one row per cell instead of every run and evaluation. Maintained by
/// <c>LiveKBench.Evaluation.Aggregation.LeaderboardCells</c>; never edit by hand. A cell exists only while
/// its configuration has at least one run on the bug.
/// </summary>
public sealed class LeaderboardCell
{
    /// <summary>The configuration (no foreign key: cells are derived and refreshed through <see cref="LeaderboardDirtyCell"/>).</summary>
    public int AgentConfigurationId { get; set; }

    /// <summary>The bug.</summary>
    public required string BugId { get; set; }

    /// <summary>Number of runs (≥ 1).</summary>
    public int Runs { get; set; }

    /// <summary>
    /// Per-run scores in run order (batch, run index, id), in the binary layout documented on
    /// <c>LeaderboardCells</c>: outcome, file and function IoU per run, and per judge configuration its
    /// number of finished evaluations and which runs it found equivalent.
    /// </summary>
    public required byte[] Data { get; set; }
}

/// <summary>
/// A (configuration, bug) whose <see cref="LeaderboardCell"/> may be stale. Rows are added by SQLite triggers
/// on every insert, delete and relevant update of agent runs and of crash, judge and localization evaluations
/// (migration LeaderboardCells), and removed when the leaderboard recomputes the cell. No unique constraint
/// (the triggers skip keys already present), so no conflict clause of the statement that fired a trigger can
/// make the trigger fail.
/// </summary>
public sealed class LeaderboardDirtyCell
{
    /// <summary>Row id.</summary>
    public int Id { get; set; }

    /// <summary>The configuration.</summary>
    public int AgentConfigurationId { get; set; }

    /// <summary>The bug.</summary>
    public required string BugId { get; set; }
}
