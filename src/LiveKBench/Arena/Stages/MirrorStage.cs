using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Git;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Arena.Stages;

/// <summary>
/// Kernel mirrors of a workspace: registering mirrors, creating the offline Debian mirror from its tarball, and giving
/// every bundle bug on that source its two commits (parent of fix = fix reverse-applied, and the fix on top).
/// </summary>
public static class MirrorStage
{
    /// <summary>Registers a mirror path for a git URL in settings.json (key = URL).</summary>
    /// <exception cref="DirectoryNotFoundException">No bare repository at <paramref name="path"/>.</exception>
    public static void Register(Workspace ws, string url, string path)
    {
        KernelMirror.Open(path);
        ws.UpdateSettingsFile(root =>
        {
            if (root["mirrors"] is not System.Text.Json.Nodes.JsonObject mirrors)
            {
                mirrors = [];
                root["mirrors"] = mirrors;
            }
            mirrors[url] = Path.GetFullPath(path);
        });
    }

    /// <summary>Creates (or reuses) the deterministic mirror of a kernel source tarball and registers it; then attaches bundle bugs.</summary>
    /// <returns>The mirror path, its source commit, and how many bugs got commits.</returns>
    public static async Task<(string Path, string SourceCommit, int BugsAttached)> FromTarballAsync(Workspace ws, string tarball, ILogger log, CancellationToken cancellationToken)
    {
        var path = KernelEnvironment.DebianMirrorPath(ws);
        var mirror = await KernelMirror.FromTarballAsync(tarball, path, cancellationToken).ConfigureAwait(false);
        var commit = await mirror.SourceCommitAsync(cancellationToken).ConfigureAwait(false);
        Register(ws, KernelEnvironment.DebianMirrorKey, path);
        log.LogInformation("mirror {Path} holds {Tarball} as {Commit}", path, tarball, commit);
        using var db = ws.OpenStore();
        var attached = await AttachBundlesAsync(db, mirror, log, cancellationToken).ConfigureAwait(false);
        return (path, commit, attached);
    }

    /// <summary>
    /// Gives each bundle bug built on Debian's linux-source-6.1 (and not yet attached) its parent-of-fix and fix commits
    /// in <paramref name="mirror"/>, recorded on the bug and its developer patch. Bugs whose fix does not reverse-apply
    /// are logged and left without commits. Returns how many bugs were attached.
    /// </summary>
    public static async Task<int> AttachBundlesAsync(KBenchDbContext db, KernelMirror mirror, ILogger log, CancellationToken cancellationToken)
    {
        var source = await mirror.SourceCommitAsync(cancellationToken).ConfigureAwait(false);
        var bugs = db.Bugs.Include(b => b.DeveloperPatch).ThenInclude(d => d!.Patch)
            .Where(b => b.Source != BugSource.Syzbot && b.ParentOfFix == null && b.KernelBase != null && b.KernelBase.Contains("linux-source-6.1"))
            .ToList();
        var n = 0;
        foreach (var bug in bugs)
        {
            if (bug.DeveloperPatch?.Patch?.Content is not { } fix)
            {
                continue;
            }
            try
            {
                var commits = await mirror.CreateBugCommitsAsync(source, fix, MirrorKey(bug), cancellationToken).ConfigureAwait(false);
                bug.ParentOfFix = commits.ParentOfFix;
                bug.MirrorFixCommit = commits.FixCommit;
                bug.DeveloperPatch.ParentCommit = commits.ParentOfFix;
                db.SaveChanges();
                n++;
                log.LogInformation("bug {Bug}: parent of fix {Parent}, fix {Fix}", bug.Id, commits.ParentOfFix, commits.FixCommit);
            }
            catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or ExternalProcessException)
            {
                log.LogWarning("bug {Bug}: cannot make its commits in the mirror: {Reason}", bug.Id, ex.Message);
            }
        }
        return n;
    }

    /// <summary>
    /// When the workspace already has its Debian mirror (<c>kbench mirror from-tarball</c>), attaches the bundle bugs
    /// not yet attached (<see cref="AttachBundlesAsync"/>); used right after <c>bugs import</c>, so a bundle imported
    /// after its mirror exists has its parent of fix for every stage. Returns how many bugs were attached (0 without a mirror).
    /// </summary>
    public static async Task<int> AttachIfMirrorAsync(Workspace ws, KBenchDbContext db, ILogger log, CancellationToken cancellationToken)
    {
        var path = ws.Settings.Mirrors.TryGetValue(KernelEnvironment.DebianMirrorKey, out var p) ? p : KernelEnvironment.DebianMirrorPath(ws);
        if (!Directory.Exists(path))
        {
            return 0;
        }
        KernelMirror mirror;
        try
        {
            mirror = KernelMirror.Open(path);
        }
        catch (DirectoryNotFoundException)
        {
            return 0;
        }
        return await AttachBundlesAsync(db, mirror, log, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Key of a bug's refs in the mirror (bundle key, else id), restricted to [A-Za-z0-9._-].</summary>
    public static string MirrorKey(Bug bug)
    {
        var raw = bug.BundleKey ?? bug.Id;
        var chars = raw.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray();
        var s = new string(chars);
        return char.IsAsciiLetterOrDigit(s[0]) ? s : "b" + s;
    }
}
