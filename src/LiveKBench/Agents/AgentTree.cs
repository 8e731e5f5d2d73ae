using System.Text;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;

namespace LiveKBench.Agents;

/// <summary>
/// Prepares the agent's working tree: the kernel at the bug's base commit (parent of fix) with NO remotes and NO
/// history, so the fix commit is unreachable from inside. Wired to the kernel worktree code later; see
/// <see cref="SnapshotTree"/> for the contract every implementation must meet.
/// </summary>
public interface IAgentTreeProvider
{
    /// <summary>Creates the tree for <paramref name="bug"/> at <paramref name="baseCommit"/> in the empty or absent folder <paramref name="destination"/>.</summary>
    /// <param name="bug">The bug.</param>
    /// <param name="baseCommit">Commit to snapshot.</param>
    /// <param name="destination">Folder to create.</param>
    /// <param name="paths">Only these files (a sparse tree, for baseline agents whose output does not depend on
    /// the rest of the kernel); null = the whole tree.</param>
    /// <param name="cancellationToken">Cancels the copy.</param>
    /// <returns>A description of the base (the commit hash) recorded as AgentRun.BaseCommit.</returns>
    Task<string> PrepareAsync(Bug bug, string baseCommit, string destination, IReadOnlyList<string>? paths, CancellationToken cancellationToken);
}

/// <summary>
/// Runs the patched kernel for the stateful <c>run_kernel</c> tool (build, boot, run the reproducer) and returns the
/// verdict text shown to the agent. Implemented by the kernel/VM code (another branch); absent = stateless only.
/// </summary>
public interface IKernelFeedback
{
    /// <summary>Builds the tree's base plus <paramref name="diff"/> and runs the bug's reproducer.</summary>
    /// <param name="bugId">Bug id.</param>
    /// <param name="worktree">The agent's tree (read it, do not modify it).</param>
    /// <param name="diff">Unified diff of the tree against its base commit.</param>
    /// <param name="cancellationToken">Cancels the build/VMs.</param>
    /// <returns>One or a few lines, e.g. "No crash reproduced." or "Crash reproduced: TITLE" plus the report.</returns>
    Task<string> RunKernelAsync(string bugId, string worktree, string diff, CancellationToken cancellationToken);
}

/// <summary>Git helpers for agent trees: squashed snapshots and the final diff.</summary>
public static class SnapshotTree
{
    private static readonly string[] GitIdentity = ["-c", "user.name=kbench", "-c", "user.email=kbench@localhost", "-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"];

    /// <summary>
    /// Turns the files already in <paramref name="tree"/> into a fresh repository with ONE commit (message
    /// "base &lt;label&gt;"), no remotes and no other refs: nothing after (or before) the base is reachable.
    /// </summary>
    /// <exception cref="ExternalProcessException">git failed.</exception>
    public static async Task InitSquashedAsync(string tree, string label, CancellationToken cancellationToken)
    {
        var gitDir = Path.Combine(tree, ".git");
        if (Directory.Exists(gitDir))
        {
            Directory.Delete(gitDir, recursive: true);
        }
        await GitAsync(tree, ["init", "-q", "-b", "base"], cancellationToken).ConfigureAwait(false);
        await GitAsync(tree, ["add", "-A", "-f"], cancellationToken).ConfigureAwait(false);
        await GitAsync(tree, [.. GitIdentity, "commit", "-q", "--allow-empty", "--no-verify", "-m", "base " + label], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies <paramref name="commit"/> of the repository <paramref name="mirror"/> into <paramref name="destination"/>
    /// with <c>git archive</c> (only that tree's blobs leave the mirror) and makes it a squashed repository.
    /// </summary>
    /// <exception cref="ExternalProcessException">git or tar failed (unknown commit, disk full).</exception>
    /// <param name="mirror">Repository path.</param>
    /// <param name="commit">Commit to copy.</param>
    /// <param name="destination">Folder to create.</param>
    /// <param name="paths">Only these paths (missing ones are skipped); null = the whole tree.</param>
    /// <param name="cancellationToken">Cancels git and tar.</param>
    public static async Task FromMirrorAsync(string mirror, string commit, string destination, IReadOnlyList<string>? paths, CancellationToken cancellationToken)
    {
        if (paths is not null)
        {
            // Keep only paths that exist at the commit (a patch may add files).
            var existing = new List<string>();
            foreach (var p in paths)
            {
                var probe = await ProcessRunner.RunAsync("git", ["-C", mirror, "cat-file", "-e", $"{commit}:{p}"], new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken).ConfigureAwait(false);
                if (probe.Succeeded)
                {
                    existing.Add(p);
                }
            }
            paths = existing;
            if (paths.Count == 0)
            {
                Directory.CreateDirectory(destination);
                await InitSquashedAsync(destination, commit, cancellationToken).ConfigureAwait(false);
                return;
            }
        }
        Directory.CreateDirectory(destination);
        var tar = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(destination))!, Path.GetFileName(destination) + ".tar");
        try
        {
            await ProcessRunner.RunCheckedAsync("git", ["-C", mirror, "archive", "--format=tar", "-o", tar, commit, .. (paths is null ? [] : (IEnumerable<string>)["--", .. paths])], new ProcessOptions { Timeout = TimeSpan.FromMinutes(20) }, cancellationToken).ConfigureAwait(false);
            await ProcessRunner.RunCheckedAsync("tar", ["-xf", tar, "-C", destination], new ProcessOptions { Timeout = TimeSpan.FromMinutes(20) }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(tar);
        }
        await InitSquashedAsync(destination, commit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Keeps a harness-owned copy of the tree's freshly made repository at <paramref name="baseGitDir"/> (outside the
    /// tree, never visible to the agent) BEFORE any agent runs. <see cref="DiffAsync"/> and <see cref="ApplyAsync"/> use
    /// it, so nothing the agent writes into <c>tree/.git</c> (config, hooks, fsmonitor, filters, alternates, replace
    /// refs, a moved HEAD) is ever read by the host.
    /// </summary>
    /// <exception cref="ExternalProcessException">cp failed (disk full).</exception>
    public static async Task SealBaseAsync(string tree, string baseGitDir, CancellationToken cancellationToken)
    {
        if (Directory.Exists(baseGitDir))
        {
            Directory.Delete(baseGitDir, recursive: true);
        }
        await ProcessRunner.RunCheckedAsync("cp", ["-a", "--reflink=auto", Path.Combine(tree, ".git"), baseGitDir], new ProcessOptions { Timeout = TimeSpan.FromMinutes(30) }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The tree's diff against its base commit, untracked files included (<c>git add -A</c> then
    /// <c>git diff --cached</c>), with binary-file sections dropped. Empty string when nothing changed. Git runs with the
    /// harness-owned <paramref name="baseGitDir"/> (see <see cref="SealBaseAsync"/>) and the tree as work tree only:
    /// no system, global or tree configuration, no hooks, no fsmonitor, no attributes file, no replace objects;
    /// nested repositories the agent created are left out of the diff (git would otherwise look into them).
    /// Symbolic links are recorded as links, never followed.
    /// </summary>
    /// <exception cref="ExternalProcessException">git failed.</exception>
    /// <exception cref="DirectoryNotFoundException">No harness git directory.</exception>
    public static async Task<string> DiffAsync(string tree, string baseGitDir, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(baseGitDir))
        {
            throw new DirectoryNotFoundException($"harness git directory {baseGitDir} is missing (SealBaseAsync was not called)");
        }
        var excludes = NestedRepositories(tree).Select(p => ":(exclude,top,literal)" + p).ToList();
        string[] pathspec = excludes.Count == 0 ? [] : ["--", ":(top)", .. excludes];
        await HarnessGitAsync(tree, baseGitDir, ["add", "-A", .. pathspec], null, cancellationToken).ConfigureAwait(false);
        var r = await HarnessGitAsync(tree, baseGitDir, ["-c", "core.quotepath=off", "diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "--ignore-submodules=none", "HEAD"], null, cancellationToken).ConfigureAwait(false);
        return DropBinarySections(r.StandardOutput);
    }

    /// <summary>
    /// Tree-relative folders (other than the root) that hold a <c>.git</c> entry: repositories the agent nested in its
    /// tree. Links are not followed.
    /// </summary>
    public static List<string> NestedRepositories(string tree)
    {
        var found = new List<string>();
        var stack = new Stack<string>();
        stack.Push(tree);
        var options = new EnumerationOptions { RecurseSubdirectories = false, AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true, ReturnSpecialDirectories = false };
        while (stack.Count > 0)
        {
            var dir = stack.Pop();
            foreach (var sub in Directory.EnumerateDirectories(dir, "*", options))
            {
                if (Path.GetFileName(sub) == ".git")
                {
                    continue;
                }
                if (Path.Exists(Path.Combine(sub, ".git")) || new FileInfo(Path.Combine(sub, ".git")).LinkTarget is not null)
                {
                    found.Add(Path.GetRelativePath(tree, sub));
                    continue;
                }
                stack.Push(sub);
            }
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>Removes the <c>diff --git</c> sections that are binary ("Binary files ... differ" or "GIT binary patch").</summary>
    public static string DropBinarySections(string diff)
    {
        if (diff.Length == 0)
        {
            return diff;
        }
        var sections = new List<string>();
        var current = new StringBuilder();
        foreach (var line in diff.Split('\n'))
        {
            if (line.StartsWith("diff --git ", StringComparison.Ordinal) && current.Length > 0)
            {
                sections.Add(current.ToString());
                current.Clear();
            }
            current.Append(line).Append('\n');
        }
        sections.Add(current.ToString());
        var kept = sections.Where(s => !s.Split('\n').Any(l => (l.StartsWith("Binary files ", StringComparison.Ordinal) && l.EndsWith(" differ", StringComparison.Ordinal)) || l == "GIT binary patch"));
        var text = string.Concat(kept);
        // Split added one '\n' after the final (already newline-terminated) line.
        return text.EndsWith("\n\n", StringComparison.Ordinal) && diff.EndsWith('\n') ? text[..^1] : text;
    }

    /// <summary>
    /// Applies <paramref name="patch"/> to the tree with <c>git apply</c>, git running with the harness-owned
    /// <paramref name="baseGitDir"/> as for <see cref="DiffAsync"/>; returns the result (not thrown on failure).
    /// </summary>
    public static Task<ProcessResult> ApplyAsync(string tree, string baseGitDir, string patch, CancellationToken cancellationToken)
        => ProcessRunner.RunAsync("git", [.. HarnessGitPrefix(tree, baseGitDir), "apply", "--whitespace=nowarn", "-"], new ProcessOptions { StandardInput = Encoding.UTF8.GetBytes(patch), Timeout = TimeSpan.FromMinutes(5), Environment = HarnessGitEnvironment(), WorkingDirectory = tree }, cancellationToken);

    /// <summary>
    /// Git options that make git ignore everything an agent could have planted: explicit git dir and work tree (no
    /// discovery of <c>tree/.git</c>), fsmonitor off, hooks from /dev/null, no attributes file, no untracked cache.
    /// </summary>
    public static string[] HarnessGitPrefix(string tree, string baseGitDir) =>
    [
        "--git-dir=" + baseGitDir, "--work-tree=" + tree,
        "-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "-c", "core.attributesFile=/dev/null",
        "-c", "core.untrackedCache=false", "-c", "safe.directory=*", "-c", "core.pager=cat",
    ];

    /// <summary>The environment of harness git runs: no system or global configuration, no replace refs, no prompts.</summary>
    public static Dictionary<string, string?> HarnessGitEnvironment() => new()
    {
        ["GIT_CONFIG_NOSYSTEM"] = "1",
        ["GIT_CONFIG_GLOBAL"] = "/dev/null",
        ["GIT_NO_REPLACE_OBJECTS"] = "1",
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["GIT_DIR"] = null,
        ["GIT_WORK_TREE"] = null,
        ["GIT_INDEX_FILE"] = null,
        ["GIT_OBJECT_DIRECTORY"] = null,
        ["GIT_ALTERNATE_OBJECT_DIRECTORIES"] = null,
    };

    private static Task<ProcessResult> HarnessGitAsync(string tree, string baseGitDir, IEnumerable<string> args, byte[]? stdin, CancellationToken ct)
        => ProcessRunner.RunCheckedAsync("git", [.. HarnessGitPrefix(tree, baseGitDir), .. args], new ProcessOptions { Timeout = TimeSpan.FromMinutes(30), Environment = HarnessGitEnvironment(), StandardInput = stdin, WorkingDirectory = tree }, ct);

    private static Task<ProcessResult> GitAsync(string tree, IEnumerable<string> args, CancellationToken ct)
        => ProcessRunner.RunCheckedAsync("git", ["-C", tree, .. args], new ProcessOptions { Timeout = TimeSpan.FromMinutes(30), Environment = new Dictionary<string, string?> { ["GIT_CONFIG_NOSYSTEM"] = "1" } }, ct);
}

/// <summary>
/// Tree provider over local git mirrors (settings.json <c>mirrors</c>: URL → path): snapshot of the base commit via
/// <see cref="SnapshotTree.FromMirrorAsync"/>. Falls back to every mirror when the bug's tree URL is not mapped.
/// </summary>
/// <param name="mirrors">Git URL → bare or non-bare repository path.</param>
public sealed class MirrorTreeProvider(IReadOnlyDictionary<string, string> mirrors) : IAgentTreeProvider
{
    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">No mirror holds the commit.</exception>
    public async Task<string> PrepareAsync(Bug bug, string baseCommit, string destination, IReadOnlyList<string>? paths, CancellationToken cancellationToken)
    {
        var candidates = bug.KernelSourceGit is { } url && mirrors.TryGetValue(url, out var m) ? [m, .. mirrors.Values.Where(v => v != m)] : mirrors.Values.ToList();
        foreach (var mirror in candidates.Where(Directory.Exists))
        {
            var probe = await ProcessRunner.RunAsync("git", ["-C", mirror, "cat-file", "-e", baseCommit + "^{commit}"], new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) }, cancellationToken).ConfigureAwait(false);
            if (probe.Succeeded)
            {
                await SnapshotTree.FromMirrorAsync(mirror, baseCommit, destination, paths, cancellationToken).ConfigureAwait(false);
                return baseCommit;
            }
        }
        throw new InvalidOperationException($"no mirror holds base commit {baseCommit} of bug {bug.Id}");
    }
}

/// <summary>Tree provider that copies a prepared local source folder (e.g. an unpacked linux-source) and squashes it.</summary>
/// <param name="sourceDir">Folder holding the kernel sources at the base (its .git, if any, is not copied).</param>
public sealed class DirectoryTreeProvider(string sourceDir) : IAgentTreeProvider
{
    /// <inheritdoc/>
    public async Task<string> PrepareAsync(Bug bug, string baseCommit, string destination, IReadOnlyList<string>? paths, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destination);
        await ProcessRunner.RunCheckedAsync("cp", ["-a", "--reflink=auto", Path.Combine(sourceDir, "."), destination], new ProcessOptions { Timeout = TimeSpan.FromMinutes(30) }, cancellationToken).ConfigureAwait(false);
        await SnapshotTree.InitSquashedAsync(destination, baseCommit, cancellationToken).ConfigureAwait(false);
        return baseCommit;
    }
}
