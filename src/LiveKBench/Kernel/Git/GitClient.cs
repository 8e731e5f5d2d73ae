using LiveKBench.Infrastructure;

namespace LiveKBench.Kernel.Git;

/// <summary>
/// A thin wrapper over the <c>git</c> command line for one repository, run through <see cref="ProcessRunner"/>.
/// Every call runs with system and global configuration ignored (<c>GIT_CONFIG_NOSYSTEM</c>,
/// <c>GIT_CONFIG_GLOBAL=/dev/null</c>) so results do not depend on the machine's git settings.
/// </summary>
/// <param name="gitDir">The repository's git directory (a bare repository path, or a work tree's <c>.git</c>).</param>
public sealed class GitClient(string gitDir)
{
    /// <summary>Default time limit for one git command: 30 minutes (a full <c>add</c> of a kernel tree takes minutes).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The git directory every command runs against (absolute path).</summary>
    public string GitDir { get; } = Path.GetFullPath(gitDir);

    /// <summary>
    /// Environment for a commit whose hash must be the same on every machine: fixed author and committer
    /// name, e-mail and date.
    /// </summary>
    /// <param name="when">Author and committer date.</param>
    /// <param name="name">Author and committer name.</param>
    /// <param name="email">Author and committer e-mail.</param>
    /// <returns>Variables to add to a git process environment.</returns>
    public static Dictionary<string, string?> IdentityEnvironment(DateTimeOffset when, string name = "LiveKBench", string email = "kbench@livekbench.local")
    {
        var date = $"{when.ToUnixTimeSeconds()} +0000";
        return new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_NAME"] = name,
            ["GIT_AUTHOR_EMAIL"] = email,
            ["GIT_AUTHOR_DATE"] = date,
            ["GIT_COMMITTER_NAME"] = name,
            ["GIT_COMMITTER_EMAIL"] = email,
            ["GIT_COMMITTER_DATE"] = date,
        };
    }

    /// <summary>Runs <c>git --git-dir=GitDir args</c> and returns the result without checking the exit code.</summary>
    /// <param name="args">Git arguments (no shell quoting).</param>
    /// <param name="workTree">Optional <c>--work-tree</c>; also the working directory of the process.</param>
    /// <param name="environment">Extra environment variables.</param>
    /// <param name="stdin">Bytes for stdin (e.g. a patch), or null.</param>
    /// <param name="timeout">Time limit; null = <see cref="DefaultTimeout"/>.</param>
    /// <param name="cancellationToken">Cancels (and kills) the command.</param>
    /// <returns>The process result.</returns>
    /// <exception cref="ExternalProcessException">git is not installed.</exception>
    public Task<ProcessResult> RunAsync(
        IEnumerable<string> args,
        string? workTree = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        byte[]? stdin = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var env = BaseEnvironment();
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                env[k] = v;
            }
        }
        var all = new List<string> { "--git-dir=" + GitDir };
        if (workTree is not null)
        {
            all.Add("--work-tree=" + workTree);
        }
        all.AddRange(["-c", "core.autocrlf=false", "-c", "commit.gpgsign=false", "-c", "gc.auto=0"]);
        all.AddRange(args);
        return ProcessRunner.RunAsync("git", all, new ProcessOptions
        {
            WorkingDirectory = workTree ?? GitDir,
            Environment = env,
            StandardInput = stdin,
            Timeout = timeout ?? DefaultTimeout,
        }, cancellationToken);
    }

    /// <summary>Like <see cref="RunAsync"/> but throws on failure and returns stdout with surrounding whitespace trimmed.</summary>
    /// <returns>Trimmed stdout.</returns>
    /// <exception cref="ExternalProcessException">git exited non-zero, timed out, or is missing.</exception>
    public async Task<string> RunCheckedAsync(
        IEnumerable<string> args,
        string? workTree = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        byte[]? stdin = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var r = await RunAsync(args, workTree, environment, stdin, timeout, cancellationToken).ConfigureAwait(false);
        return r.EnsureSuccess().StandardOutput.Trim();
    }

    /// <summary>Resolves a revision (<c>rev-parse --verify --quiet rev^{commit}</c>).</summary>
    /// <param name="revision">A ref name or hash.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The 40-hex commit id, or null when it does not exist.</returns>
    public async Task<string?> TryResolveCommitAsync(string revision, CancellationToken cancellationToken = default)
    {
        var r = await RunAsync(["rev-parse", "--verify", "--quiet", revision + "^{commit}"], cancellationToken: cancellationToken).ConfigureAwait(false);
        return r.Succeeded ? r.StandardOutput.Trim() : null;
    }

    /// <summary>Points <paramref name="refName"/> at <paramref name="commit"/> (<c>update-ref</c>).</summary>
    /// <exception cref="ExternalProcessException">git failed.</exception>
    public Task UpdateRefAsync(string refName, string commit, CancellationToken cancellationToken = default)
        => RunCheckedAsync(["update-ref", refName, commit], cancellationToken: cancellationToken);

    /// <summary>Commit time of <paramref name="commit"/>.</summary>
    /// <returns>The committer date.</returns>
    /// <exception cref="ExternalProcessException">git failed (unknown commit).</exception>
    public async Task<DateTimeOffset> CommitTimeAsync(string commit, CancellationToken cancellationToken = default)
    {
        var s = await RunCheckedAsync(["show", "-s", "--format=%ct", commit], cancellationToken: cancellationToken).ConfigureAwait(false);
        return DateTimeOffset.FromUnixTimeSeconds(long.Parse(s, System.Globalization.CultureInfo.InvariantCulture));
    }

    private static Dictionary<string, string?> BaseEnvironment() => new()
    {
        ["GIT_CONFIG_NOSYSTEM"] = "1",
        ["GIT_CONFIG_GLOBAL"] = "/dev/null",
        ["GIT_TERMINAL_PROMPT"] = "0",
        ["LC_ALL"] = "C",
        ["GIT_DIR"] = null,
        ["GIT_WORK_TREE"] = null,
        ["GIT_INDEX_FILE"] = null,
    };
}
