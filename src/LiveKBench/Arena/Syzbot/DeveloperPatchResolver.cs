using System.Globalization;
using LiveKBench.Infrastructure;

namespace LiveKBench.Arena.Syzbot;

/// <summary>A fix commit read from a local kernel mirror.</summary>
/// <param name="CommitHash">The fix commit (full hash).</param>
/// <param name="ParentCommit">Its first parent (full hash).</param>
/// <param name="Diff"><c>git diff parent fix</c>.</param>
/// <param name="Message">Full commit message (title and body).</param>
/// <param name="Author"><c>Name &lt;email&gt;</c>.</param>
/// <param name="CommitterTimeUtc">Committer date in UTC: the date used for cutoff splits.</param>
/// <param name="ModifiedFiles">Paths changed (old paths for renames), relative to the tree.</param>
/// <param name="MirrorPath">The mirror it was found in.</param>
public sealed record MirrorCommit(
    string CommitHash,
    string ParentCommit,
    string Diff,
    string Message,
    string Author,
    DateTime CommitterTimeUtc,
    IReadOnlyList<string> ModifiedFiles,
    string MirrorPath);

/// <summary>
/// Finds fix commits in local kernel mirrors (settings <c>mirrors</c>: git URL → path) with git, and reads the
/// developer patch from them. The mirror mapped to the commit's repository is tried first, then every other one.
/// <c>git fetch</c> runs only when allowed.
/// </summary>
public sealed class DeveloperPatchResolver
{
    private readonly IReadOnlyDictionary<string, string> _mirrors;
    private readonly bool _allowFetch;
    private readonly TimeSpan _gitTimeout;
    private readonly TimeSpan _fetchTimeout;

    /// <summary>Creates the resolver.</summary>
    /// <param name="mirrors">Git URL → mirror folder (bare or not).</param>
    /// <param name="allowFetch">Whether a missing commit may be fetched (<c>git fetch origin &lt;hash&gt;:refs/kbench/fixes/&lt;hash&gt;</c>, kept by a ref so gc keeps it) into the mirror mapped to its repository.</param>
    /// <param name="gitTimeout">Time limit of one local git command; default 2 min.</param>
    /// <param name="fetchTimeout">Time limit of one fetch; default 30 min.</param>
    public DeveloperPatchResolver(IReadOnlyDictionary<string, string> mirrors, bool allowFetch, TimeSpan? gitTimeout = null, TimeSpan? fetchTimeout = null)
    {
        _mirrors = mirrors;
        _allowFetch = allowFetch;
        _gitTimeout = gitTimeout ?? TimeSpan.FromMinutes(2);
        _fetchTimeout = fetchTimeout ?? TimeSpan.FromMinutes(30);
    }

    /// <summary>Normalizes a git URL for comparison: lower-case host, <c>git://</c>/<c>http://</c> → <c>https://</c>, no trailing <c>/</c> or <c>.git</c>.</summary>
    public static string NormalizeUrl(string url)
    {
        var u = url.Trim().TrimEnd('/');
        if (u.EndsWith(".git", StringComparison.OrdinalIgnoreCase))
        {
            u = u[..^4];
        }
        foreach (var scheme in new[] { "git://", "http://", "https://" })
        {
            if (u.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                u = "https://" + u[scheme.Length..];
                break;
            }
        }
        return u.ToLowerInvariant();
    }

    /// <summary>
    /// Looks the commit up and reads its patch.
    /// </summary>
    /// <param name="hash">Fix commit hash (full or abbreviated).</param>
    /// <param name="repo">Repository URL the commit is in (may be null).</param>
    /// <param name="cancellationToken">Cancels git (its process group is killed).</param>
    /// <returns>The commit, or the reason it is missing.</returns>
    public async Task<(MirrorCommit? Commit, string? Reason)> ResolveAsync(string hash, string? repo, CancellationToken cancellationToken = default)
    {
        if (!hash.All(char.IsAsciiHexDigit) || hash.Length is < 7 or > 64)
        {
            return (null, $"fix commit hash '{hash}' is not a hex commit id");
        }
        var ordered = OrderedMirrors(repo);
        if (ordered.Count == 0)
        {
            return (null, $"fix commit {hash} not found: no kernel mirror is registered (settings.json \"mirrors\")");
        }
        var errors = new List<string>();
        foreach (var path in ordered)
        {
            var found = await TryReadAsync(path, hash, errors, cancellationToken).ConfigureAwait(false);
            if (found is not null)
            {
                return (found, null);
            }
        }
        if (_allowFetch && repo is not null && MappedMirror(repo) is { } mapped)
        {
            var fetch = await ProcessRunner.RunAsync("git", ["-C", mapped, "fetch", "--quiet", "origin", $"{hash}:refs/kbench/fixes/{hash}"], new ProcessOptions { Timeout = _fetchTimeout }, cancellationToken).ConfigureAwait(false);
            if (fetch.Succeeded)
            {
                var found = await TryReadAsync(mapped, hash, errors, cancellationToken).ConfigureAwait(false);
                if (found is not null)
                {
                    return (found, null);
                }
            }
            else
            {
                errors.Add($"git fetch in {mapped} failed: {fetch.Tail(300).Trim()}");
            }
        }
        var tried = string.Join(", ", ordered);
        var fetchNote = _allowFetch ? "" : " (rerun with --allow-fetch to fetch it)";
        var detail = errors.Count > 0 ? "; " + string.Join("; ", errors) : "";
        return (null, $"fix commit {hash} is in no local mirror (tried {tried}){fetchNote}{detail}");
    }

    private string? MappedMirror(string repo)
    {
        var n = NormalizeUrl(repo);
        return _mirrors.FirstOrDefault(kv => NormalizeUrl(kv.Key) == n).Value;
    }

    private List<string> OrderedMirrors(string? repo)
    {
        var list = new List<string>();
        if (repo is not null && MappedMirror(repo) is { } m)
        {
            list.Add(m);
        }
        foreach (var p in _mirrors.Values)
        {
            if (!list.Contains(p, StringComparer.Ordinal))
            {
                list.Add(p);
            }
        }
        return list;
    }

    private async Task<MirrorCommit?> TryReadAsync(string mirror, string hash, List<string> errors, CancellationToken ct)
    {
        if (!Directory.Exists(mirror))
        {
            errors.Add($"mirror {mirror} does not exist");
            return null;
        }
        var exists = await Git(mirror, ["cat-file", "-e", hash + "^{commit}"], ct).ConfigureAwait(false);
        if (!exists.Succeeded)
        {
            return null;
        }
        var full = (await Git(mirror, ["rev-parse", hash + "^{commit}"], ct).ConfigureAwait(false)).EnsureSuccess().StandardOutput.Trim();
        var parent = await Git(mirror, ["rev-parse", full + "^"], ct).ConfigureAwait(false);
        if (!parent.Succeeded)
        {
            errors.Add($"fix commit {full} has no parent in {mirror}");
            return null;
        }
        var parentHash = parent.StandardOutput.Trim();
        var diff = (await Git(mirror, ["diff", parentHash, full], ct).ConfigureAwait(false)).EnsureSuccess().StandardOutput;
        var message = (await Git(mirror, ["log", "-1", "--format=%B", full], ct).ConfigureAwait(false)).EnsureSuccess().StandardOutput.TrimEnd() + "\n";
        var meta = (await Git(mirror, ["log", "-1", "--format=%an <%ae>%n%cI", full], ct).ConfigureAwait(false)).EnsureSuccess().StandardOutput.Split('\n');
        var files = (await Git(mirror, ["diff", "--name-status", "-M", parentHash, full], ct).ConfigureAwait(false)).EnsureSuccess().StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t'))
            .Where(p => p.Length >= 2)
            .Select(p => p[1]) // the old path for renames and copies
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var committed = DateTimeOffset.Parse(meta[1].Trim(), CultureInfo.InvariantCulture).UtcDateTime;
        return new MirrorCommit(full, parentHash, diff, message, meta[0].Trim(), committed, files, mirror);
    }

    private Task<ProcessResult> Git(string mirror, string[] args, CancellationToken ct)
        => ProcessRunner.RunAsync("git", ["-C", mirror, .. args], new ProcessOptions { Timeout = _gitTimeout }, ct);
}
