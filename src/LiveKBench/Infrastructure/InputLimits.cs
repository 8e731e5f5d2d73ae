namespace LiveKBench.Infrastructure;

/// <summary>
/// The size limits of every input LiveKBench reads (README "Input size limits"). Each is enforced while
/// reading — a reader never holds more than the limit plus one buffer — and an input above its limit is
/// refused with its name and the limit. Sizes are bytes of the encoded input (UTF-8 for text).
/// </summary>
public static class InputLimits
{
    /// <summary>One MiB, in bytes.</summary>
    public const long MiB = 1024 * 1024;

    /// <summary>A bundle's <c>bug.json</c>: 1 MiB.</summary>
    public const long BugJsonBytes = 1 * MiB;

    /// <summary>A reproducer (C or syz program), from a bundle file or an exported document: 1 MiB.</summary>
    public const long ReproducerBytes = 1 * MiB;

    /// <summary>A crash report stored with a bug: 1 MiB.</summary>
    public const long CrashReportBytes = 1 * MiB;

    /// <summary>A full kernel <c>.config</c>: 4 MiB.</summary>
    public const long KernelConfigBytes = 4 * MiB;

    /// <summary>A config fragment (scripts/config lines): 1 MiB.</summary>
    public const long ConfigFragmentBytes = 1 * MiB;

    /// <summary>A bug's extra metadata (bug.json text kept with the bug): 1 MiB.</summary>
    public const long MetadataBytes = 1 * MiB;

    /// <summary>A developer patch (fix.patch, or the patch of an exported document): 10 MiB, as <c>PatchSanitizer.DefaultMaxChars</c>.</summary>
    public const long PatchBytes = 10 * MiB;

    /// <summary>Any other short text field of a bug (title, ids, links, commits): 64 KiB.</summary>
    public const long ShortFieldBytes = 64 * 1024;

    /// <summary>One line of a JSON Lines export (one bug with all its texts): 32 MiB.</summary>
    public const long JsonLineBytes = 32 * MiB;

    /// <summary>A console log or crash report given to <c>kbench report parse</c>: 64 MiB.</summary>
    public const long ConsoleLogBytes = 64 * MiB;

    /// <summary>One HTTP response body from syzbot (a bug list, a bug page, a text): 64 MiB.</summary>
    public const long HttpResponseBytes = 64 * MiB;

    /// <summary>A size for messages: "1 MiB", "64 KiB", "12 bytes".</summary>
    public static string Describe(long bytes) => bytes >= MiB && bytes % MiB == 0 ? $"{bytes / MiB} MiB"
        : bytes >= 1024 && bytes % 1024 == 0 ? $"{bytes / 1024} KiB"
        : $"{bytes} bytes";
}
