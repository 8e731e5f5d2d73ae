namespace LiveKBench.Kernel.CrashReports;

/// <summary>
/// One kernel crash report found in console output. Field meanings follow syzkaller's
/// <c>pkg/report</c> Report record (see shared/reference/crash-reports.md §1).
/// </summary>
public sealed record CrashReport
{
    /// <summary>The crash title as syzkaller would give it, e.g. "KASAN: use-after-free Read in hiddev_release".</summary>
    public required string Title { get; init; }

    /// <summary>Alternative titles (used to merge bugs with different titles), sorted ordinally; never null.</summary>
    public IReadOnlyList<string> AltTitles { get; init; } = [];

    /// <summary>Crash type as syzkaller names it (e.g. "KASAN-UAF", "WARNING", "UNKNOWN"); see crash-reports.md §3.12.</summary>
    public string Type { get; init; } = "UNKNOWN";

    /// <summary>The guilty stack frame that was put in the title; empty when none.</summary>
    public string Frame { get; init; } = "";

    /// <summary>True when the report looks truncated or interleaved (title is less reliable).</summary>
    public bool Corrupted { get; init; }

    /// <summary>Why <see cref="Corrupted"/> is set; empty otherwise.</summary>
    public string CorruptedReason { get; init; } = "";

    /// <summary>True when the crash is of a kind syzkaller suppresses (not reported as a bug).</summary>
    public bool Suppressed { get; init; }

    /// <summary>True when the kernel panicked (the machine stopped).</summary>
    public bool Panicked { get; init; }

    /// <summary>Executor procid/pid info when the crash names a syz-executor process; empty otherwise.</summary>
    public string Executor { get; init; } = "";

    /// <summary>Byte offset in the console output where the report starts.</summary>
    public int StartPos { get; init; }

    /// <summary>Byte offset (exclusive) where the report ends.</summary>
    public int EndPos { get; init; }

    /// <summary>Byte offset of the end of the start line; the next report is searched from here (syzkaller SkipPos).</summary>
    public int SkipPos { get; init; }

    /// <summary>The extracted report text (console prefixes stripped).</summary>
    public string Text { get; init; } = "";
}
