using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using LiveKBench.Infrastructure;

namespace LiveKBench.Kernel.Git;

/// <summary>The two commits a bug bundle adds to a mirror.</summary>
/// <param name="ParentOfFix">The buggy tree (fix reverse-applied on the base commit): where agents start (40-hex).</param>
/// <param name="FixCommit">The developer fix on top of <paramref name="ParentOfFix"/> (40-hex).</param>
public sealed record BugCommits(string ParentOfFix, string FixCommit);

/// <summary>
/// A bare git repository holding kernel source. Jobs never check out in it directly: they get a
/// detached <see cref="KernelWorktree"/> (<c>git worktree add --detach</c>) that is removed afterwards.
/// </summary>
public sealed partial class KernelMirror
{
    /// <summary>Ref that holds the imported tarball commit.</summary>
    public const string SourceRef = "refs/kbench/source";

    /// <summary>Author/committer date of the imported tarball commit (2024-01-01T00:00:00Z), fixed so the hash is machine-independent.</summary>
    public static readonly DateTimeOffset SourceCommitTime = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private KernelMirror(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        Git = new GitClient(Path);
    }

    /// <summary>The bare repository's path.</summary>
    public string Path { get; }

    /// <summary>Git wrapper bound to this repository.</summary>
    public GitClient Git { get; }

    /// <summary>Opens an existing bare repository.</summary>
    /// <param name="mirrorPath">Path of the bare repository.</param>
    /// <returns>The mirror.</returns>
    /// <exception cref="DirectoryNotFoundException">No repository at that path.</exception>
    public static KernelMirror Open(string mirrorPath)
    {
        if (!File.Exists(System.IO.Path.Combine(mirrorPath, "HEAD")))
        {
            throw new DirectoryNotFoundException($"no bare git repository at {mirrorPath}");
        }
        return new KernelMirror(mirrorPath);
    }

    /// <summary>
    /// Creates (or reopens) a bare repository whose one commit (<see cref="SourceRef"/>) holds the content of a
    /// kernel source tarball (e.g. Debian's <c>/usr/src/linux-source-6.1.tar.xz</c>; its top folder is stripped).
    /// Author, committer, dates and message are fixed, so the commit hash is the same on every machine
    /// for the same tarball. Takes about 1–3 minutes for Linux 6.1 (extract + add of ~75 000 files).
    /// </summary>
    /// <param name="tarball">Path of the source tarball (any compression tar understands).</param>
    /// <param name="mirrorPath">Where the bare repository goes; reused when it already holds <see cref="SourceRef"/>.</param>
    /// <param name="cancellationToken">Cancels the import (the half-made repository is deleted).</param>
    /// <returns>The mirror; <see cref="SourceCommitAsync"/> gives the commit.</returns>
    /// <exception cref="FileNotFoundException">The tarball does not exist.</exception>
    /// <exception cref="ExternalProcessException">tar or git failed.</exception>
    public static async Task<KernelMirror> FromTarballAsync(string tarball, string mirrorPath, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(tarball))
        {
            throw new FileNotFoundException("kernel source tarball not found", tarball);
        }
        if (File.Exists(System.IO.Path.Combine(mirrorPath, "HEAD")))
        {
            var existing = new KernelMirror(mirrorPath);
            if (await existing.Git.TryResolveCommitAsync(SourceRef, cancellationToken).ConfigureAwait(false) is not null)
            {
                return existing;
            }
        }
        var full = System.IO.Path.GetFullPath(mirrorPath);
        var tmpRepo = full + ".tmp-" + Environment.ProcessId;
        var extract = full + ".extract-" + Environment.ProcessId;
        try
        {
            DeleteDirectory(tmpRepo);
            DeleteDirectory(extract);
            Directory.CreateDirectory(extract);
            await ProcessRunner.RunCheckedAsync("git", ["init", "--bare", "--quiet", tmpRepo],
                new ProcessOptions { Environment = new Dictionary<string, string?> { ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["GIT_CONFIG_NOSYSTEM"] = "1" } },
                cancellationToken).ConfigureAwait(false);
            await ProcessRunner.RunCheckedAsync("tar", ["-xf", System.IO.Path.GetFullPath(tarball), "-C", extract, "--strip-components=1", "--no-same-owner", "--no-same-permissions"],
                new ProcessOptions { Timeout = TimeSpan.FromMinutes(20) }, cancellationToken).ConfigureAwait(false);
            var m = new KernelMirror(tmpRepo);
            var index = new Dictionary<string, string?> { ["GIT_INDEX_FILE"] = System.IO.Path.Combine(tmpRepo, "kbench-import.index") };
            await m.Git.RunCheckedAsync(["-c", "core.fileMode=true", "add", "--all", "--force", "."], workTree: extract, environment: index, cancellationToken: cancellationToken).ConfigureAwait(false);
            var tree = await m.Git.RunCheckedAsync(["write-tree"], workTree: extract, environment: index, cancellationToken: cancellationToken).ConfigureAwait(false);
            var message = $"Import {System.IO.Path.GetFileName(tarball)}\n";
            var commit = await m.Git.RunCheckedAsync(["commit-tree", tree], environment: GitClient.IdentityEnvironment(SourceCommitTime),
                stdin: Encoding.UTF8.GetBytes(message), cancellationToken: cancellationToken).ConfigureAwait(false);
            await m.Git.UpdateRefAsync(SourceRef, commit, cancellationToken).ConfigureAwait(false);
            File.Delete(System.IO.Path.Combine(tmpRepo, "kbench-import.index"));
            DeleteDirectory(full);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
            Directory.Move(tmpRepo, full);
            return new KernelMirror(full);
        }
        finally
        {
            DeleteDirectory(extract);
            DeleteDirectory(tmpRepo);
        }
    }

    /// <summary>The commit of the imported tarball (<see cref="SourceRef"/>).</summary>
    /// <returns>40-hex commit id.</returns>
    /// <exception cref="InvalidOperationException">The mirror has no imported source.</exception>
    public async Task<string> SourceCommitAsync(CancellationToken cancellationToken = default)
        => await Git.TryResolveCommitAsync(SourceRef, cancellationToken).ConfigureAwait(false)
           ?? throw new InvalidOperationException($"{Path} has no {SourceRef}");

    /// <summary>
    /// For a bug whose fixed kernel is <paramref name="baseCommit"/>: makes the commit "fix reverse-applied"
    /// (parent of fix, child of <paramref name="baseCommit"/>) and the fix commit on top, with fixed identity and
    /// dates so the hashes are stable. Works on a temporary index only (no checkout). Idempotent: the commits are
    /// kept under <c>refs/kbench/bugs/&lt;key&gt;/parent</c> and <c>.../fix</c> and returned by a rerun.
    /// </summary>
    /// <param name="baseCommit">Commit whose tree is the fixed kernel (usually <see cref="SourceCommitAsync"/>).</param>
    /// <param name="fixPatchText">The developer fix as a forward <c>-p1</c> unified diff.</param>
    /// <param name="bugKey">Stable bug key, letters/digits/<c>._-</c> only (e.g. an extid or case name).</param>
    /// <param name="cancellationToken">Cancels the git commands.</param>
    /// <returns>The two commit ids.</returns>
    /// <exception cref="ArgumentException">Bad key, or the patch fails <see cref="Build.PatchSanitizer"/>.</exception>
    /// <exception cref="InvalidOperationException">The patch does not reverse-apply to <paramref name="baseCommit"/>, or existing refs point elsewhere.</exception>
    /// <exception cref="ExternalProcessException">git failed.</exception>
    public async Task<BugCommits> CreateBugCommitsAsync(string baseCommit, string fixPatchText, string bugKey, CancellationToken cancellationToken = default)
    {
        if (!BugKeyRegex().IsMatch(bugKey))
        {
            throw new ArgumentException($"bug key '{bugKey}' must match [A-Za-z0-9][A-Za-z0-9._-]*", nameof(bugKey));
        }
        var sanitized = Build.PatchSanitizer.Sanitize(fixPatchText);
        if (!sanitized.Ok)
        {
            throw new ArgumentException($"fix patch rejected: {sanitized.Reason}", nameof(fixPatchText));
        }
        var baseId = await Git.TryResolveCommitAsync(baseCommit, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"unknown base commit {baseCommit}");
        var parentRef = $"refs/kbench/bugs/{bugKey}/parent";
        var fixRef = $"refs/kbench/bugs/{bugKey}/fix";
        var oldParent = await Git.TryResolveCommitAsync(parentRef, cancellationToken).ConfigureAwait(false);
        var oldFix = await Git.TryResolveCommitAsync(fixRef, cancellationToken).ConfigureAwait(false);
        if (oldParent is not null && oldFix is not null)
        {
            var grand = await Git.TryResolveCommitAsync(oldParent + "^", cancellationToken).ConfigureAwait(false);
            if (grand != baseId)
            {
                throw new InvalidOperationException($"{parentRef} exists but is not a child of {baseId}");
            }
            return new BugCommits(oldParent, oldFix);
        }

        var patch = Encoding.UTF8.GetBytes(sanitized.NormalizedPatch!);
        var baseTime = await Git.CommitTimeAsync(baseId, cancellationToken).ConfigureAwait(false);
        var indexFile = System.IO.Path.Combine(Path, $"kbench-bug-{bugKey}-{Environment.ProcessId}.index");
        var env = new Dictionary<string, string?> { ["GIT_INDEX_FILE"] = indexFile };
        try
        {
            await Git.RunCheckedAsync(["read-tree", baseId], environment: env, cancellationToken: cancellationToken).ConfigureAwait(false);
            var rev = await Git.RunAsync(["apply", "--cached", "-R", "-p1", "-"], environment: env, stdin: patch, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!rev.Succeeded)
            {
                throw new InvalidOperationException($"fix patch does not reverse-apply to {baseId}: {rev.Tail().Trim()}");
            }
            var buggyTree = await Git.RunCheckedAsync(["write-tree"], environment: env, cancellationToken: cancellationToken).ConfigureAwait(false);
            var parent = await Git.RunCheckedAsync(["commit-tree", buggyTree, "-p", baseId],
                environment: GitClient.IdentityEnvironment(baseTime.AddMinutes(1)),
                stdin: Encoding.UTF8.GetBytes($"kbench: {bugKey}: parent of fix (developer fix reverted)\n"), cancellationToken: cancellationToken).ConfigureAwait(false);
            var fwd = await Git.RunAsync(["apply", "--cached", "-p1", "-"], environment: env, stdin: patch, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (!fwd.Succeeded)
            {
                throw new InvalidOperationException($"fix patch does not apply to the reverted tree: {fwd.Tail().Trim()}");
            }
            var fixedTree = await Git.RunCheckedAsync(["write-tree"], environment: env, cancellationToken: cancellationToken).ConfigureAwait(false);
            var fix = await Git.RunCheckedAsync(["commit-tree", fixedTree, "-p", parent],
                environment: GitClient.IdentityEnvironment(baseTime.AddMinutes(2)),
                stdin: Encoding.UTF8.GetBytes($"kbench: {bugKey}: developer fix\n"), cancellationToken: cancellationToken).ConfigureAwait(false);
            await Git.UpdateRefAsync(parentRef, parent, cancellationToken).ConfigureAwait(false);
            await Git.UpdateRefAsync(fixRef, fix, cancellationToken).ConfigureAwait(false);
            return new BugCommits(parent, fix);
        }
        finally
        {
            File.Delete(indexFile);
        }
    }

    /// <summary>
    /// Adds a detached work tree at <paramref name="path"/> for <paramref name="commit"/> and records this process as
    /// its owner (<c>&lt;path&gt;.owner</c>), so <see cref="PruneStaleWorktreesAsync"/> can clean up after a killed process.
    /// Dispose the result to remove it (also on failure or cancellation).
    /// </summary>
    /// <param name="path">Work tree path (must not exist).</param>
    /// <param name="commit">Commit to check out.</param>
    /// <param name="cancellationToken">Cancels the checkout (the partial work tree is removed).</param>
    /// <returns>The work tree.</returns>
    /// <exception cref="ExternalProcessException">git failed.</exception>
    public async Task<KernelWorktree> AddWorktreeAsync(string path, string commit, CancellationToken cancellationToken = default)
    {
        var full = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        await File.WriteAllTextAsync(full + ".owner", $"{Environment.ProcessId} {ProcessStartStamp(Environment.ProcessId)}\n", cancellationToken).ConfigureAwait(false);
        var wt = new KernelWorktree(this, full, commit);
        UnlockInitializingWorktree(full); // left by an earlier add at this path that was killed
        try
        {
            await Git.RunCheckedAsync(["worktree", "add", "--detach", "--force", full, commit], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await wt.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return wt;
    }

    /// <summary>
    /// Removes work trees under <paramref name="worktreesRoot"/> whose owning process is gone (killed jobs), and
    /// runs <c>git worktree prune</c>.
    /// </summary>
    /// <param name="worktreesRoot">Folder that holds job work trees.</param>
    /// <param name="cancellationToken">Cancels the clean-up.</param>
    /// <returns>Paths removed.</returns>
    public async Task<IReadOnlyList<string>> PruneStaleWorktreesAsync(string worktreesRoot, CancellationToken cancellationToken = default)
    {
        var removed = new List<string>();
        if (Directory.Exists(worktreesRoot))
        {
            foreach (var owner in Directory.EnumerateFiles(worktreesRoot, "*.owner"))
            {
                if (IsOwnerAlive(owner))
                {
                    continue;
                }
                var dir = owner[..^".owner".Length];
                await RemoveWorktreeAsync(dir, cancellationToken).ConfigureAwait(false);
                File.Delete(owner);
                removed.Add(dir);
            }
        }
        await Git.RunAsync(["worktree", "prune"], cancellationToken: cancellationToken).ConfigureAwait(false);
        return removed;
    }

    /// <summary>
    /// A <c>git worktree add</c> killed part-way (cancelled job) leaves its metadata locked ("initializing"), which
    /// <c>git worktree prune</c> never removes and which makes a later add at the same path fail: drop that lock for
    /// the (already deleted) <paramref name="path"/>.
    /// </summary>
    private void UnlockInitializingWorktree(string path)
    {
        var metaRoot = System.IO.Path.Combine(Git.GitDir, "worktrees");
        if (!Directory.Exists(metaRoot) || Directory.Exists(path))
        {
            return;
        }
        var dotGit = System.IO.Path.Combine(System.IO.Path.GetFullPath(path), ".git");
        foreach (var meta in Directory.EnumerateDirectories(metaRoot))
        {
            var gitdir = System.IO.Path.Combine(meta, "gitdir");
            var locked = System.IO.Path.Combine(meta, "locked");
            try
            {
                if (File.Exists(locked) && File.Exists(gitdir) && File.ReadAllText(gitdir).Trim() == dotGit
                    && File.ReadAllText(locked).Trim() == "initializing")
                {
                    File.Delete(locked);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // metadata changing under a concurrent git command: prune decides
            }
        }
    }

    internal async Task RemoveWorktreeAsync(string path, CancellationToken cancellationToken)
    {
        // rm -rf then prune: much faster than "git worktree remove" on a kernel tree with a build folder inside
        DeleteDirectory(path);
        UnlockInitializingWorktree(path);
        await Git.RunAsync(["worktree", "prune"], cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static bool IsOwnerAlive(string ownerFile)
    {
        try
        {
            var parts = File.ReadAllText(ownerFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var pid = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
            var stamp = ProcessStartStamp(pid);
            return stamp is not null && (parts.Length < 2 || parts[1] == stamp);
        }
        catch (Exception ex) when (ex is FormatException or IndexOutOfRangeException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Start time of a process in clock ticks since boot (field 22 of <c>/proc/&lt;pid&gt;/stat</c>): exact and the same
    /// whichever process reads it, so a recycled pid is not mistaken for the owner. Null when the process does not exist.
    /// </summary>
    private static string? ProcessStartStamp(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // the command name (field 2) is in parentheses and may contain spaces: split after the last ')'
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19 ? fields[19] : "0";
    }

    internal static void DeleteDirectory(string path)
    {
        if (!Directory.Exists(path))
        {
            return;
        }
        // rm -rf is much faster than Directory.Delete on 75 000 files and copes with read-only folders
        using var p = Process.Start(new ProcessStartInfo("rm", ["-rf", "--", path]) { UseShellExecute = false });
        p?.WaitForExit();
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex BugKeyRegex();
}

/// <summary>
/// A detached work tree of a <see cref="KernelMirror"/> checked out for one job. <see cref="DisposeAsync"/> removes it
/// (work tree, its registration and its owner file).
/// </summary>
public sealed class KernelWorktree : IAsyncDisposable
{
    private readonly KernelMirror _mirror;
    private bool _disposed;

    internal KernelWorktree(KernelMirror mirror, string path, string commit)
    {
        _mirror = mirror;
        Path = path;
        Commit = commit;
    }

    /// <summary>Absolute path of the work tree.</summary>
    public string Path { get; }

    /// <summary>The commit that was checked out.</summary>
    public string Commit { get; }

    /// <summary>
    /// Sets the modification time of every file in the work tree (not following symlinks into nowhere) to
    /// <paramref name="when"/>, so a kept build directory sees the sources as older than its objects and make
    /// rebuilds only what a patch touches afterwards.
    /// </summary>
    /// <param name="when">The time to set (e.g. the commit time).</param>
    /// <returns>Number of files touched.</returns>
    public int SetAllModificationTimes(DateTimeOffset when)
    {
        var t = when.UtcDateTime;
        var n = 0;
        var opts = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (var f in Directory.EnumerateFiles(Path, "*", opts))
        {
            try
            {
                File.SetLastWriteTimeUtc(f, t);
                n++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // dangling symlink or vanished file: nothing to build from it
            }
        }
        return n;
    }

    /// <summary>Removes the work tree; safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await _mirror.RemoveWorktreeAsync(Path, CancellationToken.None).ConfigureAwait(false);
        File.Delete(Path + ".owner");
    }
}
