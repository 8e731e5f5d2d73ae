namespace LiveKBench.Arena.Store;

/// <summary>Syzbot bug status (syzbot dashboard: open or fixed).</summary>
public enum BugStatus
{
    /// <summary>Still open on syzbot (no fix commit seen).</summary>
    Open,

    /// <summary>Fixed: syzbot saw the fix commit land.</summary>
    Fixed,
}

/// <summary>Which commit a build starts from. Fixed bugs use the parent of the fix commit; open bugs the commit the crash was seen on.</summary>
public enum BaseCommitKind
{
    /// <summary>The parent of the (first) fix commit: the tree the developer fixed.</summary>
    ParentOfFix,

    /// <summary>The kernel commit syzbot crashed on (open bugs).</summary>
    CrashCommit,
}

/// <summary>Where a bug came from.</summary>
public enum BugSource
{
    /// <summary>Crawled from the syzbot JSON API.</summary>
    Syzbot,

    /// <summary>Imported from a bug bundle folder (shared/data/realbugs layout, or samples/).</summary>
    Bundle,

    /// <summary>Imported from a LiveKBench JSON Lines export or a dataset export.</summary>
    Export,
}

/// <summary>Kind of reproducer program.</summary>
public enum ReproducerKind
{
    /// <summary>A C program (syzbot's C reproducer).</summary>
    C,

    /// <summary>A syzkaller program (needs syz-execprog/syz-executor).</summary>
    Syz,
}

/// <summary>
/// State of a unit of work in the store (a stage result row). Failed rows keep an attempt count and a
/// reason and are picked up again by the next run until their attempts reach the configured maximum.
/// </summary>
public enum WorkStatus
{
    /// <summary>Waiting to be done (or to be retried).</summary>
    Pending,

    /// <summary>Claimed by a running process.</summary>
    Running,

    /// <summary>Finished with a result.</summary>
    Done,

    /// <summary>Failed; see the row's reason and attempt count.</summary>
    Failed,
}

/// <summary>
/// Verdict of a reproduction (ARCHITECTURE.md): reproduced, notReproduced, compilationError (includes a
/// patch that does not apply), bootError (the kernel never reached the reproducer; never a fix), error (infrastructure).
/// </summary>
public enum Verdict
{
    /// <summary>A kernel crash report appeared in at least one instance's console.</summary>
    Reproduced,

    /// <summary>Every instance ran the reproducer to its end marker or time limit alive with no crash.</summary>
    NotReproduced,

    /// <summary>The patch did not apply or the kernel did not compile.</summary>
    CompilationError,

    /// <summary>The kernel never reached the reproducer's start marker.</summary>
    BootError,

    /// <summary>An infrastructure failure (not the kernel's fault) that stayed after <c>MaxAttempts</c> attempts; never a fix.</summary>
    Error,

    /// <summary>
    /// Patched evaluation: every instance ran clean but the cap (<c>Reproduction:MaxInstances</c>) came before the clean runs
    /// made a surviving bug unlikely ((1 − p_low)^clean ≤ <c>Reproduction:FalseFixAlpha</c>). Never a fix.
    /// </summary>
    Inconclusive,
}

/// <summary>Why an agent run ended (kEnv metadata.json exitReason).</summary>
public enum ExitReason
{
    /// <summary>The agent submitted or stopped by itself.</summary>
    Normal,

    /// <summary>The USD budget ran out.</summary>
    CostLimitExceeded,

    /// <summary>The time budget ran out.</summary>
    TimeLimitExceeded,

    /// <summary>The step budget ran out.</summary>
    StepLimitExceeded,

    /// <summary>The agent failed.</summary>
    Error,
}

/// <summary>Status of the static analysis of a patch (modified files/functions) or of a localization evaluation.</summary>
public enum AnalysisStatus
{
    /// <summary>Not analysed yet.</summary>
    Pending,

    /// <summary>Analysed.</summary>
    Success,

    /// <summary>The analysis failed (infrastructure); retryable.</summary>
    Error,

    /// <summary>The patch cannot be analysed (does not apply, binary, ...); final, with a reason.</summary>
    Invalid,
}

/// <summary>LLM judge outcome for a patch pair.</summary>
public enum JudgeOutcome
{
    /// <summary>The agent patch is equivalent to the developer patch (yes votes &gt; no votes).</summary>
    Equivalent,

    /// <summary>The agent patch is not equivalent.</summary>
    Discrepant,
}

/// <summary>One vote of the LLM judge.</summary>
public enum VoteOutcome
{
    /// <summary>The reply said equivalent.</summary>
    Yes,

    /// <summary>The reply said discrepant.</summary>
    No,

    /// <summary>No usable verdict (transport failure, malformed reply).</summary>
    Error,
}

/// <summary>Availability of a developer patch.</summary>
public enum DeveloperPatchStatus
{
    /// <summary>The fix diff is stored.</summary>
    Available,

    /// <summary>The fix commit is in no local mirror (reason stored); the bug waits until a mirror has it.</summary>
    Missing,
}

/// <summary>Outcome of the crawl of one syzbot list entry.</summary>
public enum CrawlOutcome
{
    /// <summary>Stored as a bug.</summary>
    Stored,

    /// <summary>Rejected by a filter (reason: no reproducer, not x86_64, ...).</summary>
    Rejected,

    /// <summary>Could not be crawled this time (HTTP error, malformed JSON, ...); retried by the next crawl.</summary>
    Failed,
}

/// <summary>Kind of a Gym job stage.</summary>
public enum GymStageKind
{
    /// <summary>Build a kernel (checkout, patch, config, make).</summary>
    Build,

    /// <summary>Boot the built kernel and run the reproducer in N instances.</summary>
    Reproduce,
}
