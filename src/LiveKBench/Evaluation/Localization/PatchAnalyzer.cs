using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;

namespace LiveKBench.Evaluation.Localization;

/// <summary>
/// What a patch touches (kArena <c>analyze_patch</c> output, karena.md §4.4 / kenv-web.md A.9).
/// </summary>
/// <param name="Files">Touched files with a source extension (<see cref="PatchAnalyzer.SourceExtensions"/>), ordinal order: the new path, or the old path of a deleted file.</param>
/// <param name="Functions">Bare names of touched functions (ctags kind <c>function</c>), de-duplicated across files, ordinal order.</param>
/// <param name="ModifiedLines">Added plus removed lines in modified (not added, not deleted) source files.</param>
/// <param name="Definitions">
/// The enclosing top-level definitions of the changed lines (universal-ctags tags without a scope), ordinal order:
/// every function of <paramref name="Functions"/> under its bare name, and global variables (arrays included),
/// structs, unions, enums, typedefs and macros as <c>kind:name</c> (<c>variable:ifla_policy</c>, <c>struct:sk_buff</c>,
/// <c>macro:FOO</c>, <c>union:…</c>, <c>enum:…</c>, <c>typedef:…</c>; C++ classes <c>class:…</c>). A fix that edits
/// only a netlink policy array has no function but one definition.
/// </param>
public sealed record PatchAnalysis(IReadOnlyList<string> Files, IReadOnlyList<string> Functions, int ModifiedLines, IReadOnlyList<string> Definitions)
{
    /// <summary>The analysis of an empty patch.</summary>
    public static PatchAnalysis Empty { get; } = new([], [], 0, []);
}

/// <summary>Result of <see cref="PatchAnalyzer.AnalyzeAsync"/>.</summary>
/// <param name="Status">Success; Invalid (the patch cannot be analysed: does not apply, binary, malformed, too large — final); Error (infrastructure: missing commit, ctags failure — retryable).</param>
/// <param name="Analysis">The analysis when <paramref name="Status"/> is Success.</param>
/// <param name="Reason">Why it is Invalid or Error.</param>
public sealed record PatchAnalysisOutcome(AnalysisStatus Status, PatchAnalysis? Analysis, string? Reason)
{
    internal static PatchAnalysisOutcome Invalid(string reason) => new(AnalysisStatus.Invalid, null, reason);

    internal static PatchAnalysisOutcome Failed(string reason) => new(AnalysisStatus.Error, null, reason);
}

/// <summary>Options of <see cref="PatchAnalyzer"/>.</summary>
public sealed record PatchAnalyzerOptions
{
    /// <summary>Path of universal-ctags. Default <c>/usr/bin/ctags</c> when present, else <c>ctags</c> on PATH.</summary>
    public string Ctags { get; init; } = File.Exists("/usr/bin/ctags") ? "/usr/bin/ctags" : "ctags";

    /// <summary>Path of git. Default <c>git</c> on PATH.</summary>
    public string Git { get; init; } = "git";

    /// <summary>Patches larger than this (UTF-16 characters ≈ bytes) are Invalid. Default 16 Mi.</summary>
    public int MaxPatchChars { get; init; } = 16 * 1024 * 1024;

    /// <summary>Time limit of each git/ctags process. Default 120 s.</summary>
    public TimeSpan ProcessTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Scratch folder for the touched files (a subfolder per analysis, deleted afterwards). Default the system temp folder.</summary>
    public string? ScratchDir { get; init; }
}

/// <summary>
/// Computes the files and functions a patch modifies, like kArena's analyzer (karena.md §4.4) but without a
/// worktree: the old content of only the touched files is read from the object database at the base commit
/// (one <c>git grep -n ''</c> process), the hunks are applied in memory (exact context match, searching for an
/// offset as <c>git apply</c> does, no fuzz), and universal-ctags runs once over the before and after copies of
/// just those files. A function counts when a removed line (old numbering, before-tags) or an added line (new
/// numbering, after-tags) falls in its [line, end] range; added/deleted files contribute all their functions.
/// Kernel definer macros are named as the kernel names them: <c>SYSCALL_DEFINEn(name, …)</c> → <c>sys_name</c>,
/// <c>COMPAT_SYSCALL_DEFINEn(name, …)</c> → <c>compat_sys_name</c>, <c>BPF_CALL_n(name, …)</c> → <c>name</c>.
/// The same line ranges give the enclosing top-level definitions (<see cref="PatchAnalysis.Definitions"/>): functions,
/// global variables and arrays, structs, unions, enums, typedefs and macros.
/// </summary>
/// <remarks>
/// Differences from kArena, on purpose: files are listed for every source extension (kArena lists only .c/.h);
/// removed lines of a renamed file are matched against the old file's tags (kArena loses them); hunks applied at
/// an offset use their real line numbers. Like kArena: function names are bare (same-named static functions in
/// different files collide), macros/struct fields/globals add files but no functions.
/// </remarks>
public sealed partial class PatchAnalyzer(string repository, PatchAnalyzerOptions? options = null)
{
    /// <summary>kArena SOURCE_EXTENSIONS (case-sensitive suffixes) used for the file sets and IoU.</summary>
    public static readonly IReadOnlyList<string> SourceExtensions = [".c", ".h", ".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx", ".S", ".s", ".asm"];

    /// <summary>Extensions ctags parses for functions (C/C++; .h is treated as C as in the kernel).</summary>
    public static readonly IReadOnlyList<string> FunctionExtensions = [".c", ".h", ".cpp", ".cc", ".cxx", ".hpp", ".hh", ".hxx"];

    /// <summary>
    /// Kernel annotations ctags must skip (<c>-I</c>; a trailing + means "with an argument list"), so that
    /// declarations such as <c>static int __init foo(void) __acquires(x)</c> still parse as functions.
    /// </summary>
    public static readonly IReadOnlyList<string> KernelIgnoreTokens =
    [
        "__init", "__exit", "__initdata", "__initconst", "__exitdata", "__ref", "__cold", "__hot", "__user", "__iomem",
        "__rcu", "__percpu", "__force", "__bitwise", "__read_mostly", "__ro_after_init", "__always_inline", "noinline",
        "__noinline", "inline", "__inline", "__must_check", "notrace", "asmlinkage", "__visible", "__weak", "__maybe_unused",
        "__used", "__sched", "__noreturn", "__pure", "__latent_entropy", "__randomize_layout", "__packed", "__nocfi",
        "__no_kcsan", "noinstr", "__cpuidle", "__kprobes", "____cacheline_aligned", "____cacheline_aligned_in_smp",
        "__cacheline_aligned", "__cacheline_aligned_in_smp", "__acquires+", "__releases+", "__must_hold+", "__attribute__+",
        "__printf+", "__scanf+", "__aligned+", "__section+", "__malloc", "__alloc_size+", "__counted_by+", "__diag_ignore+",
        "EXPORT_SYMBOL+", "EXPORT_SYMBOL_GPL+", "EXPORT_SYMBOL_NS+", "EXPORT_SYMBOL_NS_GPL+", "__releases_shared+",
        "__acquires_shared+", "__no_sanitize_address", "__no_stack_protector",
    ];

    private readonly PatchAnalyzerOptions _options = options ?? new PatchAnalyzerOptions();

    /// <summary>The git repository (bare or not) holding the base commits.</summary>
    public string Repository { get; } = repository;

    /// <summary>True when <paramref name="path"/> ends with a <see cref="SourceExtensions"/> suffix.</summary>
    public static bool IsSource(string path) => SourceExtensions.Any(e => path.EndsWith(e, StringComparison.Ordinal));

    private static bool HasFunctions(string path) => FunctionExtensions.Any(e => path.EndsWith(e, StringComparison.Ordinal));

    /// <summary>Analyses <paramref name="patch"/> against <paramref name="baseCommit"/> of <see cref="Repository"/>.</summary>
    /// <param name="baseCommit">Commit (or any tree-ish) the patch applies to.</param>
    /// <param name="patch">Unified diff text (-p1 paths, as git produces).</param>
    /// <param name="cancellationToken">Cancels the analysis (its processes are killed).</param>
    /// <returns>Never throws for a bad patch or a failing tool: see <see cref="PatchAnalysisOutcome.Status"/>.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<PatchAnalysisOutcome> AnalyzeAsync(string baseCommit, string patch, CancellationToken cancellationToken = default)
    {
        if (patch.Length > _options.MaxPatchChars)
        {
            return PatchAnalysisOutcome.Invalid($"the patch is {patch.Length / (1024.0 * 1024):F1} MiB, larger than the limit of {_options.MaxPatchChars / (1024.0 * 1024):F1} MiB");
        }
        if (string.IsNullOrWhiteSpace(patch))
        {
            return new PatchAnalysisOutcome(AnalysisStatus.Success, PatchAnalysis.Empty, null);
        }
        List<FileDiff> files;
        try
        {
            files = UnifiedDiff.Parse(patch);
        }
        catch (DiffFormatException ex)
        {
            return PatchAnalysisOutcome.Invalid("malformed diff: " + ex.Message);
        }
        if (files.Count == 0)
        {
            return PatchAnalysisOutcome.Invalid("the text holds no file changes (not a unified diff)");
        }
        if (files.FirstOrDefault(f => f.IsBinary) is { } bin)
        {
            return PatchAnalysisOutcome.Invalid($"binary change to {bin.Path} cannot be analysed");
        }
        var dup = files.GroupBy(f => f.Path, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
        {
            return PatchAnalysisOutcome.Invalid($"the patch changes {dup.Key} more than once");
        }

        // Old content of every file the patch reads, plus the paths of added files (which must not exist).
        var wanted = files.Select(f => f.OldPath ?? f.NewPath!).Distinct(StringComparer.Ordinal).ToList();
        Dictionary<string, List<string>> old;
        try
        {
            old = await ReadFilesAsync(baseCommit, wanted, cancellationToken).ConfigureAwait(false);
        }
        catch (ExternalProcessException ex)
        {
            return PatchAnalysisOutcome.Failed(ex.Message);
        }
        var missing = files.Where(f => !f.IsAdded && !old.ContainsKey(f.OldPath!)).Select(f => f.OldPath!).ToList();
        if (missing.Count > 0)
        {
            HashSet<string> existing;
            try
            {
                existing = await ListExistingAsync(baseCommit, missing, cancellationToken).ConfigureAwait(false);
            }
            catch (ExternalProcessException ex)
            {
                return PatchAnalysisOutcome.Failed(ex.Message);
            }
            foreach (var m in missing)
            {
                if (!existing.Contains(m))
                {
                    return PatchAnalysisOutcome.Invalid($"does not apply: {m} does not exist at {baseCommit}");
                }
                old[m] = [];
            }
        }

        // Apply in memory.
        var changes = new List<(FileDiff File, List<string>? Before, List<string>? After, List<int> Removed, List<int> Added)>();
        foreach (var f in files)
        {
            if (f.IsAdded && old.TryGetValue(f.NewPath!, out var present) && present.Count > 0)
            {
                return PatchAnalysisOutcome.Invalid($"does not apply: {f.NewPath} already exists at {baseCommit}");
            }
            var before = f.IsAdded ? [] : old[f.OldPath!];
            var applied = Apply(before, f.Hunks, out var removed, out var added, out var error);
            if (applied is null)
            {
                return PatchAnalysisOutcome.Invalid($"does not apply: {f.Path}: {error}");
            }
            if (f.IsDeleted && applied.Count > 0)
            {
                return PatchAnalysisOutcome.Invalid($"does not apply: deleting {f.OldPath} leaves {applied.Count} lines");
            }
            changes.Add((f, f.IsAdded ? null : before, f.IsDeleted ? null : applied, removed, added));
        }

        var sourceChanges = changes.Where(c => IsSource(c.File.Path) || (c.File.OldPath is not null && IsSource(c.File.OldPath))).ToList();
        var reported = sourceChanges.Select(c => c.File.Path).Where(IsSource).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var modifiedLines = sourceChanges.Where(c => !c.File.IsAdded && !c.File.IsDeleted).Sum(c => c.Removed.Count + c.Added.Count);
        var tagged = sourceChanges.Where(c => HasFunctions(c.File.Path)).ToList();
        if (tagged.Count == 0)
        {
            return new PatchAnalysisOutcome(AnalysisStatus.Success, new PatchAnalysis(reported, [], modifiedLines, []), null);
        }

        // ctags over before/after copies of just the touched files.
        var scratch = Path.Combine(_options.ScratchDir ?? Path.GetTempPath(), "kbench-loc-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            Directory.CreateDirectory(scratch);
            var list = new StringBuilder();
            for (var i = 0; i < tagged.Count; i++)
            {
                var c = tagged[i];
                var ext = Path.GetExtension(c.File.Path);
                if (c.Before is not null)
                {
                    var rel = $"b{i}{ext}";
                    await File.WriteAllTextAsync(Path.Combine(scratch, rel), Join(c.Before), cancellationToken).ConfigureAwait(false);
                    list.Append(rel).Append('\n');
                }
                if (c.After is not null)
                {
                    var rel = $"a{i}{ext}";
                    await File.WriteAllTextAsync(Path.Combine(scratch, rel), Join(c.After), cancellationToken).ConfigureAwait(false);
                    list.Append(rel).Append('\n');
                }
            }
            var tags = await RunCtagsAsync(scratch, list.ToString(), cancellationToken).ConfigureAwait(false);
            var touched = new List<FunctionTag>();
            for (var i = 0; i < tagged.Count; i++)
            {
                var c = tagged[i];
                var beforeTags = tags.GetValueOrDefault($"b{i}{Path.GetExtension(c.File.Path)}") ?? [];
                var afterTags = tags.GetValueOrDefault($"a{i}{Path.GetExtension(c.File.Path)}") ?? [];
                if (c.File.IsAdded)
                {
                    touched.AddRange(afterTags);
                }
                else if (c.File.IsDeleted)
                {
                    touched.AddRange(beforeTags);
                }
                else
                {
                    foreach (var line in c.Removed)
                    {
                        touched.AddRange(beforeTags.Where(t => t.Line <= line && line <= t.End));
                    }
                    foreach (var line in c.Added)
                    {
                        touched.AddRange(afterTags.Where(t => t.Line <= line && line <= t.End));
                    }
                }
            }
            var functions = new SortedSet<string>(touched.Where(t => t.Kind == "function").Select(t => t.Name), StringComparer.Ordinal);
            var definitions = new SortedSet<string>(touched.Where(t => t.TopLevel).Select(t => t.DefinitionName), StringComparer.Ordinal);
            return new PatchAnalysisOutcome(AnalysisStatus.Success, new PatchAnalysis(reported, [.. functions], modifiedLines, [.. definitions]), null);
        }
        catch (ExternalProcessException ex)
        {
            return PatchAnalysisOutcome.Failed(ex.Message);
        }
        catch (IOException ex)
        {
            return PatchAnalysisOutcome.Failed("scratch files: " + ex.Message);
        }
        finally
        {
            try
            {
                if (Directory.Exists(scratch))
                {
                    Directory.Delete(scratch, recursive: true);
                }
            }
            catch (IOException)
            {
                // best effort
            }
        }

        static string Join(List<string> lines) => lines.Count == 0 ? "" : string.Join('\n', lines) + "\n";
    }

    /// <summary>A definition tag: name (functions after macro renaming), ctags kind, its 1-based inclusive line range, and whether it has no enclosing scope.</summary>
    internal readonly record struct FunctionTag(string Name, int Line, int End, string Kind = "function", bool TopLevel = true)
    {
        /// <summary>The name in <see cref="PatchAnalysis.Definitions"/>: bare for a function, else <c>kind:name</c>.</summary>
        public string DefinitionName => Kind == "function" ? Name : Kind + ":" + Name;
    }

    /// <summary>ctags kinds (C and C++) that count as definitions for <see cref="PatchAnalysis.Definitions"/>.</summary>
    private static readonly HashSet<string> DefinitionKinds = new(StringComparer.Ordinal) { "function", "variable", "struct", "union", "enum", "typedef", "macro", "class" };

    [GeneratedRegex(@"^(COMPAT_)?SYSCALL_DEFINE\d$")]
    private static partial Regex SyscallDefine();

    [GeneratedRegex(@"^BPF_CALL_\d$")]
    private static partial Regex BpfCall();

    /// <summary>Kernel definer macros: the name the kernel gives the defined function, or the tag name unchanged.</summary>
    internal static string KernelName(string name, string? signature)
    {
        var m = SyscallDefine().Match(name);
        var isBpf = !m.Success && BpfCall().IsMatch(name);
        if ((!m.Success && !isBpf) || string.IsNullOrEmpty(signature))
        {
            return name;
        }
        var inner = signature.Trim().TrimStart('(');
        var comma = inner.IndexOfAny([',', ')']);
        var first = (comma < 0 ? inner : inner[..comma]).Trim();
        if (first.Length == 0)
        {
            return name;
        }
        return isBpf ? first : (m.Groups[1].Success ? "compat_sys_" : "sys_") + first;
    }

    private async Task<Dictionary<string, List<FunctionTag>>> RunCtagsAsync(string dir, string fileList, CancellationToken ct)
    {
        var args = new List<string>
        {
            "--sort=no", "--output-format=json", "--fields=+neSZ", "--kinds-C=fvsugtd", "--kinds-C++=fvsugtdc",
            "--langmap=C:+.h", "--languages=C,C++", "-f", "-",
        };
        foreach (var t in KernelIgnoreTokens)
        {
            args.Add("-I");
            args.Add(t);
        }
        args.Add("-L");
        args.Add("-");
        var result = await ProcessRunner.RunCheckedAsync(
            _options.Ctags,
            args,
            new ProcessOptions { WorkingDirectory = dir, Timeout = _options.ProcessTimeout, StandardInput = Encoding.UTF8.GetBytes(fileList) },
            ct).ConfigureAwait(false);
        var tags = new Dictionary<string, List<FunctionTag>>(StringComparer.Ordinal);
        foreach (var line in result.StandardOutput.Split('\n'))
        {
            if (line.Length == 0 || line[0] != '{')
            {
                continue;
            }
            using var doc = JsonDocument.Parse(line);
            var r = doc.RootElement;
            if (!r.TryGetProperty("kind", out var kindProp) || kindProp.GetString() is not { } kind || !DefinitionKinds.Contains(kind)
                || !r.TryGetProperty("path", out var path) || !r.TryGetProperty("line", out var ln))
            {
                continue;
            }
            var name = r.GetProperty("name").GetString() ?? "";
            var sig = r.TryGetProperty("signature", out var s) ? s.GetString() : null;
            var start = ln.GetInt32();
            var end = r.TryGetProperty("end", out var e) ? e.GetInt32() : start;
            var key = path.GetString()!;
            if (!tags.TryGetValue(key, out var listForFile))
            {
                tags[key] = listForFile = [];
            }
            var topLevel = !r.TryGetProperty("scope", out _);
            listForFile.Add(new FunctionTag(kind == "function" ? KernelName(name, sig) : name, start, end, kind, topLevel));
        }
        return tags;
    }

    /// <summary>
    /// Reads the files at <paramref name="commit"/> with one <c>git grep -n ''</c> (line-oriented, so it goes
    /// through <see cref="ProcessRunner"/>'s text capture). Files that are absent or empty are missing from the result.
    /// </summary>
    private async Task<Dictionary<string, List<string>>> ReadFilesAsync(string commit, List<string> paths, CancellationToken ct)
    {
        var args = new List<string> { "-C", Repository, "--literal-pathspecs", "grep", "--no-color", "-n", "-a", "--full-name", "-e", "", commit, "--" };
        args.AddRange(paths);
        var r = await ProcessRunner.RunAsync(_options.Git, args, new ProcessOptions { Timeout = _options.ProcessTimeout }, ct).ConfigureAwait(false);
        // git grep exits 1 when nothing matched (every file missing or empty); anything else is a failure.
        if (r.TimedOut || (r.ExitCode != 0 && r.ExitCode != 1) || (r.ExitCode == 1 && r.StandardError.Trim().Length > 0))
        {
            r.EnsureSuccess();
            throw new ExternalProcessException($"{r.CommandLine} exited with code {r.ExitCode}: {r.Tail().Trim()}", r);
        }
        var prefixes = paths.OrderByDescending(p => p.Length).Select(p => (Path: p, Prefix: commit + ":" + p + ":")).ToList();
        var files = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string? lastPath = null;
        string lastPrefix = "";
        foreach (var line in r.StandardOutput.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }
            string path;
            string prefix;
            if (lastPath is not null && line.StartsWith(lastPrefix, StringComparison.Ordinal))
            {
                path = lastPath;
                prefix = lastPrefix;
            }
            else
            {
                var hit = prefixes.FirstOrDefault(p => line.StartsWith(p.Prefix, StringComparison.Ordinal));
                if (hit.Path is null)
                {
                    continue; // e.g. "[kbench] output truncated"
                }
                (path, prefix) = (hit.Path, hit.Prefix);
                (lastPath, lastPrefix) = (path, prefix);
            }
            var colon = line.IndexOf(':', prefix.Length);
            if (colon < 0)
            {
                continue;
            }
            if (!files.TryGetValue(path, out var content))
            {
                files[path] = content = [];
            }
            content.Add(line[(colon + 1)..]);
        }
        return files;
    }

    private async Task<HashSet<string>> ListExistingAsync(string commit, List<string> paths, CancellationToken ct)
    {
        var args = new List<string> { "-C", Repository, "--literal-pathspecs", "ls-tree", "--name-only", "--full-name", commit, "--" };
        args.AddRange(paths);
        var r = await ProcessRunner.RunCheckedAsync(_options.Git, args, new ProcessOptions { Timeout = _options.ProcessTimeout }, ct).ConfigureAwait(false);
        return r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// Applies hunks to <paramref name="before"/> like <c>git apply</c> without fuzz: each hunk's preimage (context and
    /// removed lines) must match exactly, at its stated position or the nearest offset after the previous hunk.
    /// </summary>
    /// <returns>The new lines, or null with <paramref name="error"/> when a hunk does not match.</returns>
    internal static List<string>? Apply(List<string> before, IReadOnlyList<DiffHunk> hunks, out List<int> removed, out List<int> added, out string? error)
    {
        removed = [];
        added = [];
        error = null;
        var after = new List<string>(before.Count + 16);
        var cursor = 0; // next old line (0-based) not yet copied
        var offset = 0;
        for (var h = 0; h < hunks.Count; h++)
        {
            var hunk = hunks[h];
            var pre = hunk.Lines.Where(l => l.Kind != '+').Select(l => l.Text).ToList();
            var expected = (hunk.OldCount == 0 ? hunk.OldStart : hunk.OldStart - 1) + offset;
            var pos = FindPreimage(before, pre, expected, cursor);
            if (pos < 0)
            {
                error = $"hunk #{h + 1} (@@ -{hunk.OldStart},{hunk.OldCount} +{hunk.NewStart},{hunk.NewCount} @@) does not match the base";
                return null;
            }
            offset = pos - (hunk.OldCount == 0 ? hunk.OldStart : hunk.OldStart - 1);
            for (; cursor < pos; cursor++)
            {
                after.Add(before[cursor]);
            }
            foreach (var l in hunk.Lines)
            {
                switch (l.Kind)
                {
                    case ' ':
                        after.Add(before[cursor]);
                        cursor++;
                        break;
                    case '-':
                        removed.Add(cursor + 1);
                        cursor++;
                        break;
                    default:
                        after.Add(l.Text);
                        added.Add(after.Count);
                        break;
                }
            }
        }
        for (; cursor < before.Count; cursor++)
        {
            after.Add(before[cursor]);
        }
        return after;
    }

    private static int FindPreimage(List<string> lines, List<string> pre, int expected, int min)
    {
        var maxStart = lines.Count - pre.Count;
        if (maxStart < min)
        {
            return -1;
        }
        expected = Math.Clamp(expected, min, maxStart);
        for (var d = 0; ; d++)
        {
            var up = expected - d;
            var down = expected + d;
            var anyInRange = false;
            if (down <= maxStart)
            {
                anyInRange = true;
                if (Matches(lines, pre, down))
                {
                    return down;
                }
            }
            if (d > 0 && up >= min)
            {
                anyInRange = true;
                if (Matches(lines, pre, up))
                {
                    return up;
                }
            }
            if (!anyInRange)
            {
                return -1;
            }
        }
    }

    private static bool Matches(List<string> lines, List<string> pre, int at)
    {
        for (var i = 0; i < pre.Count; i++)
        {
            if (!string.Equals(lines[at + i], pre[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }
}
