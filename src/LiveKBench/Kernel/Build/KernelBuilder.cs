using System.Diagnostics;
using System.Globalization;
using System.Text;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Git;

namespace LiveKBench.Kernel.Build;

/// <summary>
/// Builds kernels from a <see cref="KernelMirror"/>: detached work tree at the commit, sanitised patch applied with
/// <c>git apply</c>, <c>.config</c> written, <c>make bzImage</c> through ccache with pinned build metadata.
/// <para>
/// kcache: the build output directory (<c>O=</c>, placed at <c>&lt;worktree&gt;/kbench-build</c> so kbuild uses the
/// relative <c>srctree=..</c> and paths stay identical across work trees) is kept per (commit, config hash) under
/// <c>WorkRoot/kcache</c>. Every checked-out file gets the commit time as mtime, so against a kept directory make only
/// rebuilds what the patch touches. A first build at a commit takes the kept directory of another commit with the same
/// config (moved, not copied: the directory belongs to one commit at a time), so it recompiles only the files that
/// differ between the two commits. Concurrent builds of one base either copy the kept directory
/// (<see cref="KeptDirMode.Copy"/>) or take it under a lock (<see cref="KeptDirMode.Lock"/>).
/// </para>
/// </summary>
public sealed class KernelBuilder
{
    /// <summary>Name of the build output folder inside a work tree (reserved: patches may not touch it).</summary>
    public const string BuildDirName = "kbench-build";

    private const string DirtyListName = "kbench-dirty.txt";
    private readonly KernelMirror _mirror;

    /// <summary>Creates a builder.</summary>
    /// <param name="mirror">Source of commits.</param>
    /// <param name="options">Workspace and limits.</param>
    public KernelBuilder(KernelMirror mirror, KernelBuilderOptions options)
    {
        _mirror = mirror;
        Options = options;
        Artifacts = new ArtifactStore(Path.Combine(options.WorkRoot, "artifacts"));
    }

    /// <summary>The settings in use.</summary>
    public KernelBuilderOptions Options { get; }

    /// <summary>Where artifacts (bzImage, vmlinux, .config, logs) are stored.</summary>
    public ArtifactStore Artifacts { get; }

    /// <summary>Folder for job work trees (<c>WorkRoot/worktrees</c>); see <see cref="KernelMirror.PruneStaleWorktreesAsync"/>.</summary>
    public string WorktreesRoot => Path.Combine(Options.WorkRoot, "worktrees");

    /// <summary>Folder of the kept build directory for (commit, config hash).</summary>
    /// <param name="commit">40-hex commit.</param>
    /// <param name="configHash">Hex SHA-256 of the config spec.</param>
    /// <returns>Absolute folder path (may not exist yet).</returns>
    public string KcacheEntryPath(string commit, string configHash) => Path.Combine(Options.WorkRoot, "kcache", $"{commit}-{configHash[..16]}");

    /// <summary>True when a kept build directory exists for (commit, config).</summary>
    public bool HasKcache(string commit, KernelConfigSpec config) => File.Exists(Path.Combine(KcacheEntryPath(commit, config.Hash), "ready"));

    /// <summary>
    /// Builds <paramref name="request"/>. When no kept build directory exists for (commit, config) yet, the unpatched
    /// commit is built first and kept (the kcache seed), then the patch is applied and built incrementally.
    /// </summary>
    /// <param name="request">Commit, config, optional patch.</param>
    /// <param name="cancellationToken">Cancels the build (processes are killed, the work tree removed).</param>
    /// <returns>The result; failures are reported in it, not thrown.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<BuildResult> BuildAsync(BuildRequest request, CancellationToken cancellationToken = default)
    {
        var total = Stopwatch.StartNew();
        var timings = new Dictionary<string, double>();
        var jobId = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        var logPath = Path.Combine(Options.WorkRoot, "logs", jobId + ".build.log");
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        string configHash;
        try
        {
            configHash = request.Config.Hash;
        }
        catch (InvalidOperationException ex)
        {
            return await FailAsync(BuildStatus.Error, ex.Message, null, "", logPath, total, timings, cancellationToken).ConfigureAwait(false);
        }

        PatchCheck? patch = null;
        if (!string.IsNullOrWhiteSpace(request.Patch))
        {
            patch = PatchSanitizer.Sanitize(request.Patch, Options.MaxPatchChars);
            if (!patch.Ok)
            {
                await File.AppendAllTextAsync(logPath, $"[kbench] patch rejected: {patch.Reason}\n", cancellationToken).ConfigureAwait(false);
                return await FailAsync(BuildStatus.CompilationError, "patch rejected: " + patch.Reason, null, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
            }
            if (patch.Paths.Count == 0)
            {
                patch = null;
            }
        }

        var commit = await _mirror.Git.TryResolveCommitAsync(request.Commit, cancellationToken).ConfigureAwait(false);
        if (commit is null)
        {
            return await FailAsync(BuildStatus.Error, $"unknown commit {request.Commit}", null, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
        }

        var sw = Stopwatch.StartNew();
        var entry = KcacheEntryPath(commit, configHash);
        if (patch is not null && (Options.KeptDirMode == KeptDirMode.Copy || !File.Exists(Path.Combine(entry, "ready"))))
        {
            // a patch that does not apply must cost neither a checkout nor a seed build: check it against the commit's tree
            if (await CheckPatchAtCommitAsync(commit, patch, jobId, logPath, cancellationToken).ConfigureAwait(false) is { } early)
            {
                timings["patchCheck"] = Lap(sw);
                return await FailAsync(BuildStatus.CompilationError, early, commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
            }
            timings["patchCheck"] = Lap(sw);
        }
        var kept = Path.Combine(entry, BuildDirName);
        var ready = Path.Combine(entry, "ready");
        var locked = Options.KeptDirMode == KeptDirMode.Lock;
        FileStream? keptLock = null;
        KernelWorktree? jobTree = null;
        string src;
        try
        {
            var commitTime = await _mirror.Git.CommitTimeAsync(commit, cancellationToken).ConfigureAwait(false);
            Directory.CreateDirectory(Path.GetDirectoryName(entry)!);
            if (locked)
            {
                // one persistent work tree per kcache entry, used under an exclusive lock: no checkout per build
                keptLock = await AcquireLockAsync(entry + ".lock", cancellationToken).ConfigureAwait(false);
                timings["lockWait"] = Lap(sw);
                src = entry + ".src";
                // A build killed while the kept directory was moved into the tree left it there: move it back (the
                // files its patch changed are reverted by the restore below, with new mtimes, so they rebuild). A
                // commit's first build killed before it stored its kept directory (no ready file, and the entry folder
                // may not exist) left an unfinished seed, possibly another commit's kept directory whose differing
                // files were not yet marked for recompiling: it is discarded and the seed starts again.
                var stranded = Path.Combine(src, BuildDirName);
                if (!File.Exists(ready))
                {
                    KernelMirror.DeleteDirectory(stranded);
                }
                else if (!Directory.Exists(kept) && Directory.Exists(stranded))
                {
                    Directory.Move(stranded, kept);
                }
                if (File.Exists(ready) && !Directory.Exists(kept))
                {
                    File.Delete(ready); // the kept directory is gone: seed it again
                }
                // The tree is reused only when its creation finished (a process killed during "git worktree add" or
                // the mtime pass leaves a tree whose .git points at missing metadata, or whose files are half there).
                var srcReady = src + ".ready";
                if (!File.Exists(Path.Combine(src, ".git")) || !File.Exists(srcReady))
                {
                    File.Delete(srcReady);
                    await _mirror.Git.RunAsync(["worktree", "remove", "--force", src], cancellationToken: cancellationToken).ConfigureAwait(false);
                    KernelMirror.DeleteDirectory(src);
                    await _mirror.Git.RunAsync(["worktree", "prune"], cancellationToken: cancellationToken).ConfigureAwait(false);
                    var persistent = await _mirror.AddWorktreeAsync(src, commit, cancellationToken).ConfigureAwait(false);
                    File.Delete(src + ".owner"); // not a job tree: never pruned as stale
                    timings["checkout"] = Lap(sw);
                    persistent.SetAllModificationTimes(commitTime);
                    // record the new mtimes in the index, or "git reset --hard" would rewrite (and so re-timestamp) every file
                    await RefreshIndexAsync(src, cancellationToken).ConfigureAwait(false);
                    await File.WriteAllTextAsync(srcReady, commit + "\n", cancellationToken).ConfigureAwait(false);
                    timings["mtimes"] = Lap(sw);
                }
                else
                {
                    await RestoreTreeAsync(src, cancellationToken).ConfigureAwait(false);
                    timings["restore"] = Lap(sw);
                }
            }
            else
            {
                jobTree = await _mirror.AddWorktreeAsync(Path.Combine(WorktreesRoot, jobId), commit, cancellationToken).ConfigureAwait(false);
                src = jobTree.Path;
                timings["checkout"] = Lap(sw);
                jobTree.SetAllModificationTimes(commitTime);
                timings["mtimes"] = Lap(sw);
            }
        }
        catch (ExternalProcessException ex)
        {
            keptLock?.Dispose();
            if (jobTree is not null)
            {
                await jobTree.DisposeAsync().ConfigureAwait(false);
            }
            return await FailAsync(BuildStatus.Error, "checkout failed: " + ex.Message, commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
        }

        var outDir = Path.Combine(src, BuildDirName);
        var seeded = false;
        var patchApplied = false;
        var buildOk = false;
        var movedIn = false;
        ProcessResult? make = null;
        try
        {
            if (patch is not null && !File.Exists(ready))
            {
                // a patch that does not apply must not cost a full seed build first
                if (await ApplyPatchAsync(src, patch, logPath, cancellationToken, checkOnly: true).ConfigureAwait(false) is { } early)
                {
                    return await FailAsync(BuildStatus.CompilationError, early, commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
                }
            }
            if (!File.Exists(ready))
            {
                using var seedLock = await AcquireLockAsync(entry + ".seed.lock", cancellationToken).ConfigureAwait(false);
                if (!File.Exists(ready))
                {
                    KernelMirror.DeleteDirectory(outDir);
                    if (await TakeKeptDirOfAnotherCommitAsync(commit, configHash, outDir, cancellationToken).ConfigureAwait(false) is { } moved)
                    {
                        // the kept directory of another commit of this tree and config moved here: only the files that
                        // differ between the two commits (and the files its last patched build compiled) must recompile
                        TouchNow(src, moved.ChangedFiles);
                        File.Delete(Path.Combine(outDir, DirtyListName));
                        await File.AppendAllTextAsync(logPath, $"[kbench] kept build directory moved from {moved.FromCommit} ({moved.ChangedFiles.Count} files differ)\n", cancellationToken).ConfigureAwait(false);
                        timings["kcacheMove"] = Lap(sw);
                    }
                    else
                    {
                        Directory.CreateDirectory(outDir);
                        if (await ConfigureAsync(src, outDir, request.Config, logPath, cancellationToken).ConfigureAwait(false) is { } cfgError)
                        {
                            return await FailAsync(BuildStatus.Error, cfgError, commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
                        }
                        timings["config"] = Lap(sw);
                    }
                    make = await MakeAsync(src, outDir, logPath, cancellationToken).ConfigureAwait(false);
                    timings["seedMake"] = Lap(sw);
                    if (!make.Succeeded)
                    {
                        var why = make.TimedOut ? $"base build timed out after {Options.BuildTimeout.TotalMinutes:F0} min" : "base commit does not build with this config: " + ErrorLines(make);
                        return await FailAsync(BuildStatus.Error, why, commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
                    }
                    var tmp = entry + ".tmp-" + jobId;
                    KernelMirror.DeleteDirectory(tmp);
                    Directory.CreateDirectory(tmp);
                    if (locked)
                    {
                        Directory.Move(outDir, Path.Combine(tmp, BuildDirName));
                    }
                    else
                    {
                        await CopyTreeAsync(outDir, Path.Combine(tmp, BuildDirName), cancellationToken).ConfigureAwait(false);
                    }
                    KernelMirror.DeleteDirectory(entry);
                    Directory.Move(tmp, entry);
                    await File.WriteAllTextAsync(ready, commit + "\n", cancellationToken).ConfigureAwait(false);
                    timings["seedStore"] = Lap(sw);
                    seeded = true;
                }
            }
            if (!seeded && File.Exists(ready))
            {
                // the ready file's time is the entry's last use: a first build of another commit takes the most recently
                // used kept directory (TakeKeptDirOfAnotherCommitAsync), the one most likely to be near in history
                File.SetLastWriteTimeUtc(ready, DateTime.UtcNow);
            }

            if (locked)
            {
                if (Directory.Exists(outDir))
                {
                    KernelMirror.DeleteDirectory(outDir);
                }
                Directory.Move(kept, outDir);
                movedIn = true;
            }
            else if (!seeded)
            {
                // brief lock so a Lock-mode build is not changing the kept directory while it is copied
                using (await AcquireLockAsync(entry + ".lock", cancellationToken).ConfigureAwait(false))
                {
                    await CopyTreeAsync(kept, outDir, cancellationToken).ConfigureAwait(false);
                }
            }
            if (!seeded || locked)
            {
                // files an earlier Lock-mode build compiled with a patch: make them newer than their objects
                TouchNow(src, ReadDirtyList(outDir));
                timings["kcacheRestore"] = Lap(sw);
            }

            if (patch is not null)
            {
                if (await ApplyPatchAsync(src, patch, logPath, cancellationToken).ConfigureAwait(false) is { } applyError)
                {
                    return await FailAsync(BuildStatus.CompilationError, applyError, commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
                }
                patchApplied = true;
                TouchNow(src, patch.Paths);
                timings["patch"] = Lap(sw);
            }

            if (!seeded || patch is not null)
            {
                make = await MakeAsync(src, outDir, logPath, cancellationToken).ConfigureAwait(false);
                timings["make"] = Lap(sw);
                if (!make.Succeeded)
                {
                    if (make.TimedOut)
                    {
                        return await FailAsync(BuildStatus.Error, $"build timed out after {Options.BuildTimeout.TotalMinutes:F0} min", commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
                    }
                    var status = patch is not null ? BuildStatus.CompilationError : BuildStatus.Error;
                    return await FailAsync(status, "build failed: " + ErrorLines(make), commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
                }
            }
            else
            {
                timings["make"] = timings["seedMake"];
            }
            buildOk = true;

            var bz = await Artifacts.PutFileAsync(Path.Combine(outDir, "arch", "x86", "boot", "bzImage"), cancellationToken).ConfigureAwait(false);
            var vmlinux = await Artifacts.PutFileAsync(Path.Combine(outDir, "vmlinux"), cancellationToken).ConfigureAwait(false);
            var config = await Artifacts.PutFileAsync(Path.Combine(outDir, ".config"), cancellationToken).ConfigureAwait(false);
            var log = await Artifacts.PutFileAsync(logPath, cancellationToken).ConfigureAwait(false);
            timings["store"] = Lap(sw);
            var cc = make!.StandardOutput.Split('\n').Count(l => l.StartsWith("  CC ", StringComparison.Ordinal));
            return new BuildResult(BuildStatus.Success, null, commit, configHash, new BuildArtifacts(bz, vmlinux, config), log,
                total.Elapsed.TotalSeconds, timings["make"], !seeded || patch is not null, cc, timings);
        }
        catch (Exception ex) when (ex is ExternalProcessException or IOException or UnauthorizedAccessException)
        {
            return await FailAsync(BuildStatus.Error, ex.Message, commit, configHash, logPath, total, timings, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (locked)
            {
                if (movedIn && Directory.Exists(outDir))
                {
                    // the kept directory now holds this patch's objects: list its files so the next build re-touches them
                    var dirty = new SortedSet<string>(patchApplied ? patch!.Paths : [], StringComparer.Ordinal);
                    if (!buildOk)
                    {
                        dirty.UnionWith(ReadDirtyList(outDir));
                    }
                    await File.WriteAllLinesAsync(Path.Combine(outDir, DirtyListName), dirty, CancellationToken.None).ConfigureAwait(false);
                    Directory.Move(outDir, kept);
                }
                try
                {
                    await RestoreTreeAsync(src, CancellationToken.None).ConfigureAwait(false);
                }
                catch (ExternalProcessException)
                {
                    // restored again at the start of the next build
                }
                keptLock!.Dispose();
            }
            if (jobTree is not null)
            {
                await jobTree.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary><c>git update-index -q --refresh</c>: re-reads stat data so unchanged files count as clean (exit code 1 only means some files differ).</summary>
    private static Task<ProcessResult> RefreshIndexAsync(string src, CancellationToken ct)
        => ProcessRunner.RunAsync("git", ["update-index", "-q", "--refresh"], new ProcessOptions
        {
            WorkingDirectory = src,
            Timeout = TimeSpan.FromMinutes(10),
            Environment = new Dictionary<string, string?> { ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["GIT_DIR"] = null, ["GIT_WORK_TREE"] = null },
        }, ct);

    private static string[] ReadDirtyList(string outDir)
    {
        var f = Path.Combine(outDir, DirtyListName);
        return File.Exists(f) ? File.ReadAllLines(f).Where(l => l.Length > 0).ToArray() : [];
    }

    /// <summary>Puts a persistent work tree back to its commit: reverts patched files (they get a new mtime, so they rebuild) and deletes untracked files except the build folder.</summary>
    private static async Task RestoreTreeAsync(string src, CancellationToken ct)
    {
        var env = new Dictionary<string, string?> { ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["LC_ALL"] = "C", ["GIT_DIR"] = null, ["GIT_WORK_TREE"] = null };
        await RefreshIndexAsync(src, ct).ConfigureAwait(false);
        await ProcessRunner.RunCheckedAsync("git", ["reset", "-q", "--hard"], new ProcessOptions { WorkingDirectory = src, Environment = env, Timeout = TimeSpan.FromMinutes(10) }, ct).ConfigureAwait(false);
        await ProcessRunner.RunCheckedAsync("git", ["clean", "-ffdxq", "-e", "/" + BuildDirName], new ProcessOptions { WorkingDirectory = src, Environment = env, Timeout = TimeSpan.FromMinutes(10) }, ct).ConfigureAwait(false);
    }

    private async Task<string?> ConfigureAsync(string src, string outDir, KernelConfigSpec config, string logPath, CancellationToken ct)
    {
        var configFile = Path.Combine(outDir, ".config");
        if (config.FullConfig is not null)
        {
            await File.WriteAllTextAsync(configFile, config.FullConfig.Replace("\r\n", "\n", StringComparison.Ordinal), ct).ConfigureAwait(false);
        }
        else
        {
            var r = await RunMakeAsync(src, outDir, ["tinyconfig"], logPath, Options.ConfigTimeout, ct).ConfigureAwait(false);
            if (!r.Succeeded)
            {
                return "make tinyconfig failed: " + r.Tail(500).Trim();
            }
            var args = new List<string> { "--file", configFile };
            args.AddRange(config.Fragment!.Split((char[])[' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries));
            var sc = await ProcessRunner.RunAsync(Path.Combine(src, "scripts", "config"), args,
                new ProcessOptions { WorkingDirectory = src, Timeout = Options.ConfigTimeout, LogFile = logPath }, ct).ConfigureAwait(false);
            if (!sc.Succeeded)
            {
                return "scripts/config failed: " + sc.Tail(500).Trim();
            }
        }
        // twice: the second pass settles symbols (CONFIG_X86_64) whose defaults depend on the first
        for (var i = 0; i < 2; i++)
        {
            var r = await RunMakeAsync(src, outDir, ["olddefconfig"], logPath, Options.ConfigTimeout, ct).ConfigureAwait(false);
            if (!r.Succeeded)
            {
                return "make olddefconfig failed: " + r.Tail(500).Trim();
            }
        }
        return null;
    }

    private Task<ProcessResult> MakeAsync(string src, string outDir, string logPath, CancellationToken ct)
        => RunMakeAsync(src, outDir, ["-j" + Math.Max(1, Options.Jobs).ToString(CultureInfo.InvariantCulture), "bzImage"], logPath, Options.BuildTimeout, ct);

    private async Task<ProcessResult> RunMakeAsync(string src, string outDir, IEnumerable<string> targets, string logPath, TimeSpan timeout, CancellationToken ct)
    {
        var ccache = Path.GetFullPath(Options.CcacheDir ?? Path.Combine(Options.WorkRoot, "ccache"));
        Directory.CreateDirectory(ccache);
        var program = "make";
        var args = new List<string>();
        var visibleSrc = src;
        var visibleOut = outDir;
        if (Options.StableSourcePath)
        {
            visibleSrc = StableSourceMount;
            visibleOut = Path.Combine(StableSourceMount, Path.GetRelativePath(src, outDir));
            Directory.CreateDirectory(StableSourceMount);
            program = "bwrap";
            args.AddRange(["--dev-bind", "/", "/", "--bind", src, visibleSrc, "--chdir", visibleSrc, "make"]);
        }
        args.AddRange(["-C", visibleSrc, "O=" + visibleOut, Options.UseCcache ? "CC=ccache gcc" : "CC=gcc"]);
        args.AddRange(targets);
        await File.AppendAllTextAsync(logPath, $"[kbench] {program} {string.Join(' ', args)}\n", ct).ConfigureAwait(false);
        var result = await ProcessRunner.RunAsync(program, args, new ProcessOptions
        {
            WorkingDirectory = src,
            Timeout = timeout,
            LogFile = logPath,
            Environment = new Dictionary<string, string?>
            {
                ["KBUILD_BUILD_TIMESTAMP"] = "Mon Jan  1 00:00:00 UTC 2024",
                ["KBUILD_BUILD_USER"] = "kbench",
                ["KBUILD_BUILD_HOST"] = "kbench",
                ["KBUILD_BUILD_VERSION"] = "1",
                ["CCACHE_DIR"] = ccache,
                ["CCACHE_BASEDIR"] = Options.StableSourcePath ? StableSourceMount : WorktreesRoot,
                ["CCACHE_NOHASHDIR"] = "1",
                ["CCACHE_MAXSIZE"] = "10G",
                ["LC_ALL"] = "C",
                ["MAKEFLAGS"] = null,
                ["ARCH"] = null,
                ["KBUILD_OUTPUT"] = null,
            },
        }, ct).ConfigureAwait(false);
        await File.AppendAllTextAsync(logPath, $"[kbench] exit code {result.ExitCode}{(result.TimedOut ? " (timed out)" : "")} after {result.Elapsed.TotalSeconds:F1} s\n", CancellationToken.None).ConfigureAwait(false);
        return result;
    }

    /// <summary>The fixed path at which work trees are mounted for make when <see cref="KernelBuilderOptions.StableSourcePath"/> is on.</summary>
    public string StableSourceMount => Path.Combine(Options.WorkRoot, "src");

    private static async Task<string?> ApplyPatchAsync(string src, PatchCheck patch, string logPath, CancellationToken ct, bool checkOnly = false)
    {
        if (PatchSanitizer.CheckAgainstTree(patch.Paths, src, [BuildDirName]) is { } treeProblem)
        {
            await File.AppendAllTextAsync(logPath, $"[kbench] patch rejected: {treeProblem}\n", ct).ConfigureAwait(false);
            return "patch rejected: " + treeProblem;
        }
        var bytes = Encoding.UTF8.GetBytes(patch.NormalizedPatch!);
        var env = new Dictionary<string, string?> { ["GIT_CONFIG_NOSYSTEM"] = "1", ["GIT_CONFIG_GLOBAL"] = "/dev/null", ["LC_ALL"] = "C" };
        foreach (var check in checkOnly ? [true] : new[] { true, false })
        {
            List<string> args = ["apply", "-p1", "--whitespace=nowarn"];
            if (check)
            {
                args.Add("--check");
            }
            args.Add("-");
            var r = await ProcessRunner.RunAsync("git", args, new ProcessOptions
            {
                WorkingDirectory = src,
                StandardInput = bytes,
                Timeout = TimeSpan.FromMinutes(2),
                LogFile = logPath,
                Environment = env,
            }, ct).ConfigureAwait(false);
            if (!r.Succeeded)
            {
                return "patch does not apply: " + r.Tail(1000).Trim();
            }
        }
        return null;
    }

    /// <summary><c>git apply --cached --check</c> against the commit's tree in a temporary index (no work tree needed).</summary>
    /// <returns>Null when the patch applies, else the reason.</returns>
    private async Task<string?> CheckPatchAtCommitAsync(string commit, PatchCheck patch, string jobId, string logPath, CancellationToken ct)
    {
        var index = Path.Combine(Options.WorkRoot, "logs", jobId + ".index");
        var env = new Dictionary<string, string?> { ["GIT_INDEX_FILE"] = index, ["LC_ALL"] = "C" };
        try
        {
            await _mirror.Git.RunCheckedAsync(["read-tree", commit], environment: env, timeout: TimeSpan.FromMinutes(5), cancellationToken: ct).ConfigureAwait(false);
            var r = await _mirror.Git.RunAsync(["apply", "--cached", "--check", "-p1", "--whitespace=nowarn", "-"], environment: env,
                stdin: Encoding.UTF8.GetBytes(patch.NormalizedPatch!), timeout: TimeSpan.FromMinutes(2), cancellationToken: ct).ConfigureAwait(false);
            if (r.Succeeded)
            {
                return null;
            }
            var why = "patch does not apply: " + r.Tail(1000).Trim();
            await File.AppendAllTextAsync(logPath, $"[kbench] {why}\n", ct).ConfigureAwait(false);
            return why;
        }
        finally
        {
            File.Delete(index);
            File.Delete(index + ".lock");
        }
    }

    /// <summary>What <see cref="TakeKeptDirOfAnotherCommitAsync"/> moved: the commit it was built at and the files to rebuild.</summary>
    private sealed record MovedKeptDir(string FromCommit, IReadOnlyList<string> ChangedFiles);

    /// <summary>
    /// Moves the kept build directory of another commit with the same config (same kernel tree: the two commits must be
    /// in this mirror) to <paramref name="outDir"/>, so a first build at <paramref name="commit"/> recompiles only the
    /// files that differ instead of the whole tree. The other commit loses its kept directory (its next build takes one
    /// back the same way). A directory whose lock another build holds is skipped, so two builds of different commits
    /// never share one. Candidates are tried most recently used first (the time of their <c>ready</c> file, renewed on
    /// every build that uses the entry).
    /// </summary>
    /// <returns>The move, or null when no such directory is free (the caller then configures and builds from scratch).</returns>
    private async Task<MovedKeptDir?> TakeKeptDirOfAnotherCommitAsync(string commit, string configHash, string outDir, CancellationToken ct)
    {
        var root = Path.Combine(Options.WorkRoot, "kcache");
        var suffix = "-" + configHash[..16];
        if (!Directory.Exists(root))
        {
            return null;
        }
        var candidates = Directory.EnumerateDirectories(root, "*" + suffix)
            .Select(d => (Dir: d, Name: Path.GetFileName(d)))
            .Where(c => c.Name.Length == 40 + suffix.Length && !c.Name.StartsWith(commit, StringComparison.Ordinal) && File.Exists(Path.Combine(c.Dir, "ready")))
            .OrderByDescending(c => File.GetLastWriteTimeUtc(Path.Combine(c.Dir, "ready")))
            .ToList();
        foreach (var (dir, name) in candidates)
        {
            FileStream donorLock;
            try
            {
                donorLock = new FileStream(dir + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                continue; // a build of that commit is using it
            }
            using (donorLock)
            {
                var donorReady = Path.Combine(dir, "ready");
                var donorKept = Path.Combine(dir, BuildDirName);
                if (!File.Exists(donorReady) || !Directory.Exists(donorKept))
                {
                    continue;
                }
                var donorCommit = name[..40];
                var diff = await _mirror.Git.RunAsync(["diff", "--name-only", "--no-renames", donorCommit, commit], cancellationToken: ct).ConfigureAwait(false);
                if (!diff.Succeeded)
                {
                    continue; // not the same kernel tree
                }
                File.Delete(donorReady);
                Directory.Move(donorKept, outDir);
                var changed = new SortedSet<string>(diff.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);
                changed.UnionWith(ReadDirtyList(outDir));
                return new MovedKeptDir(donorCommit, [.. changed]);
            }
        }
        return null;
    }

    private static void TouchNow(string root, IEnumerable<string> relativePaths)
    {
        var now = DateTime.UtcNow;
        foreach (var p in relativePaths)
        {
            var f = Path.Combine(root, p);
            if (File.Exists(f) && new FileInfo(f).LinkTarget is null)
            {
                File.SetLastWriteTimeUtc(f, now);
            }
        }
    }

    private static Task CopyTreeAsync(string from, string to, CancellationToken ct)
        => ProcessRunner.RunCheckedAsync("cp", ["-a", "--reflink=auto", from, to], new ProcessOptions { Timeout = TimeSpan.FromMinutes(30) }, ct);

    private static async Task<FileStream> AcquireLockAsync(string path, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(500, ct).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Compiler/make error lines of a failed make (at most 15 lines).</summary>
    internal static string ErrorLines(ProcessResult make)
    {
        var all = (make.StandardOutput + "\n" + make.StandardError).Split('\n');
        var errors = all.Where(l => l.Contains("error:", StringComparison.Ordinal) || l.Contains("Error ", StringComparison.Ordinal) || l.Contains("*** ", StringComparison.Ordinal)).Take(15).ToList();
        return errors.Count > 0 ? string.Join('\n', errors) : make.Tail(1500).Trim();
    }

    private async Task<BuildResult> FailAsync(BuildStatus status, string reason, string? commit, string configHash, string logPath, Stopwatch total, Dictionary<string, double> timings, CancellationToken ct)
    {
        ArtifactRef? log = null;
        if (File.Exists(logPath))
        {
            await File.AppendAllTextAsync(logPath, $"[kbench] {status}: {reason}\n", CancellationToken.None).ConfigureAwait(false);
            log = await Artifacts.PutFileAsync(logPath, ct).ConfigureAwait(false);
        }
        return new BuildResult(status, reason, commit, configHash, null, log, total.Elapsed.TotalSeconds, timings.GetValueOrDefault("make"), false, 0, timings);
    }

    private static double Lap(Stopwatch sw)
    {
        var s = sw.Elapsed.TotalSeconds;
        sw.Restart();
        return Math.Round(s, 2);
    }
}
