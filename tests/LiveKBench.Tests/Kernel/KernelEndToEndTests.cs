using System.Text.Json;
using LiveKBench.Gym;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Git;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Kernel;

/// <summary>
/// Acceptance on the realbugs cases: build kernels from the shared mirror, boot them in QEMU and check verdicts.
/// Slow (a first full build is 4–8 minutes on 2 cores; later builds are incremental). Crash titles come from the real crash report parser.
/// </summary>
[Collection(KernelScratchCollection.Name)]
[Trait("Category", "Slow")]
public class KernelEndToEndTests(KernelScratchFixture fx)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Cases => ["unix_shutdown", "bridge_add_del_if", "cap_convert_nscap"];

    /// <summary>The case's <c>crashTitle</c> from bug.json (the syzkaller title the parser must produce).</summary>
    private static string BugTitle(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedData.Path("realbugs", name, "bug.json")));
        return doc.RootElement.GetProperty("crashTitle").GetString()!;
    }

    private async Task<ReproductionResult> ReproduceAsync(BuildResult build, string name, int instances = 5)
    {
        Assert.True(build.Status == BuildStatus.Success, build.Reason);
        var r = await fx.Reproduction.RunAsync(new ReproduceRequest(build.Artifacts!.BzImage.Path, SharedData.Path("realbugs", name, "repro.c"), ReproducerKind.C, BugTitle(name), Instances: instances), Ct);
        fx.Record("reproduce", new { name, r.Verdict, r.CrashTitle, r.SameCrash, r.ReproduceSeconds, accel = fx.Qemu.ProbedAccelerator, instances = r.Instances.Select(i => new { i.Verdict, i.Seconds, i.ConsolePath }) });
        return r;
    }

    /// <summary>A patch that appends a line of invalid C at the end of <paramref name="path"/>.</summary>
    private async Task<string> SyntaxErrorPatchAsync(string commit, string path)
    {
        var text = await fx.Mirror.Git.RunCheckedAsync(["show", $"{commit}:{path}"], cancellationToken: Ct);
        var lines = text.Split('\n');
        var n = lines.Length;
        var ctx = lines[^3..];
        return $"--- a/{path}\n+++ b/{path}\n@@ -{n - 2},3 +{n - 2},4 @@\n" + string.Concat(ctx.Select(l => " " + l + "\n")) + "+this is not C at all(\n";
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task RealBugAcceptance(string name)
    {
        fx.RequireTarball();
        var commits = await fx.BugCommitsAsync(name);
        var cfg = KernelScratchFixture.CaseConfig(name);
        var fix = await File.ReadAllTextAsync(SharedData.Path("realbugs", name, "fix.patch"), Ct);

        // baseline: parent of fix, no patch → the bug's own crash
        var baseline = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, cfg));
        Assert.Equal(BuildStatus.Success, baseline.Status);
        var baseRun = await ReproduceAsync(baseline, name);
        Assert.True(baseRun.Verdict == ReproductionVerdict.Reproduced, baseRun.Reason);
        Assert.Equal(BugTitle(name), baseRun.CrashTitle);
        Assert.True(baseRun.SameCrash, baseRun.CrashTitle);

        // developer fix, through a Gym job (build + reproduce stages) → not reproduced in 5/5 instances
        var worker = new GymWorker(fx.Builder, fx.Reproduction);
        var job = GymJob.BuildAndReproduce("accept-" + name, new BuildRequest(commits.ParentOfFix, cfg, fix),
            new ReproduceStageArgs(0, SharedData.Path("realbugs", name, "repro.c"), ReproducerKind.C, BugTitle(name)));
        job = GymJob.FromJson(job.ToJson());
        await fx.BuildGate.WaitAsync(Ct);
        try
        {
            job = await worker.RunAsync(job, cancellationToken: Ct);
        }
        finally
        {
            fx.BuildGate.Release();
        }
        job = GymJob.FromJson(job.ToJson());
        var fixBuild = job.Stages[0].Build!;
        fx.Record("build", new { commit = commits.ParentOfFix, patch = fix.Length, fixBuild.Status, fixBuild.Seconds, fixBuild.MakeSeconds, fixBuild.Incremental, fixBuild.CompiledFiles, fixBuild.Timings });
        Assert.Equal(BuildStatus.Success, fixBuild.Status);
        Assert.True(fixBuild.Incremental);
        Assert.InRange(fixBuild.CompiledFiles, 1, 10);
        var fixVerdict = job.Verdict()!;
        fx.Record("reproduce", new { name = name + "+fix", fixVerdict.Verdict, fixVerdict.ReproduceSeconds, instances = fixVerdict.Instances.Select(i => new { i.Verdict, i.Seconds }) });
        Assert.True(fixVerdict.Verdict == ReproductionVerdict.NotReproduced, fixVerdict.Reason);
        Assert.Equal(5, fixVerdict.Instances.Count(i => i.Verdict == ReproductionVerdict.NotReproduced));

        // empty patch → same as baseline
        var empty = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, cfg, ""));
        Assert.Equal(BuildStatus.Success, empty.Status);
        // 0 files after a clean kept dir; a few when the kept dir still holds the fix's objects (Lock mode re-touches them)
        Assert.InRange(empty.CompiledFiles, 0, 10);
        Assert.Equal(ReproductionVerdict.Reproduced, (await ReproduceAsync(empty, name, 2)).Verdict);

        // syntax error → compilation error with the compiler's message
        var file = PatchSanitizer.Sanitize(fix).Paths[0];
        var broken = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, cfg, await SyntaxErrorPatchAsync(commits.ParentOfFix, file)));
        Assert.Equal(BuildStatus.CompilationError, broken.Status);
        Assert.Contains("error", broken.Reason);
        Assert.NotNull(broken.BuildLog);

        // a patch that does not apply → compilation error
        var stale = await fx.BuildAsync(new BuildRequest(commits.FixCommit, cfg, fix));
        Assert.Equal(BuildStatus.CompilationError, stale.Status);
        Assert.Contains("does not apply", stale.Reason);
    }

    /// <summary>A patch that inserts <paramref name="line"/> after the only line of <paramref name="path"/> equal (trimmed) to <paramref name="anchor"/>.</summary>
    private async Task<string> InsertAfterPatchAsync(string commit, string path, string anchor, string line)
    {
        var lines = (await fx.Mirror.Git.RunCheckedAsync(["show", $"{commit}:{path}"], cancellationToken: Ct)).Split('\n');
        var i = Array.FindIndex(lines, l => l.Trim() == anchor);
        Assert.True(i >= 2 && i + 4 <= lines.Length && Array.FindLastIndex(lines, l => l.Trim() == anchor) == i, $"anchor '{anchor}' not unique in {path}");
        var first = i - 1; // 1-based number of the first of three context lines before the insertion
        return $"--- a/{path}\n+++ b/{path}\n@@ -{first},6 +{first},7 @@\n"
            + string.Concat(lines[(i - 2)..(i + 1)].Select(l => " " + l + "\n")) + "+" + line + "\n"
            + string.Concat(lines[(i + 1)..(i + 4)].Select(l => " " + l + "\n"));
    }

    [Fact]
    public async Task KernelThatCannotBootIsBootError()
    {
        fx.RequireTarball();
        var commits = await fx.BugCommitsAsync("unix_shutdown");
        // the case's own base and config with a patch that panics before user space: an incremental build on the kept
        // directory (2 files), not a second full build of another config
        var patch = await InsertAfterPatchAsync(commits.ParentOfFix, "init/main.c", "kernel_init_freeable();", "\tpanic(\"kbench: this kernel cannot boot\");");
        var build = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, KernelScratchFixture.CaseConfig("unix_shutdown"), patch));
        Assert.True(build.Status == BuildStatus.Success, build.Reason);
        Assert.True(build.Incremental);
        Assert.InRange(build.CompiledFiles, 1, 10);
        var r = await ReproduceAsync(build, "unix_shutdown", 2);
        Assert.True(r.Verdict == ReproductionVerdict.BootError, r.Reason);
        Assert.All(r.Instances, i => Assert.Contains("before user space", i.Reason));
        Assert.Equal("kernel panic: kbench: this kernel cannot boot", r.CrashTitle);
    }

    [Fact]
    public async Task KeptDirModesBothGiveCorrectIncrementalBuilds()
    {
        fx.RequireTarball();
        var name = "unix_shutdown";
        var commits = await fx.BugCommitsAsync(name);
        var cfg = KernelScratchFixture.CaseConfig(name);
        var fix = await File.ReadAllTextAsync(SharedData.Path("realbugs", name, "fix.patch"), Ct);
        var locked = new KernelBuilder(fx.Mirror, fx.Builder.Options with { KeptDirMode = KeptDirMode.Lock });
        var copying = new KernelBuilder(fx.Mirror, fx.Builder.Options with { KeptDirMode = KeptDirMode.Copy });
        var copyFix = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, cfg, fix), copying);
        var lockFix = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, cfg, fix), locked);
        // the kept directory now holds the fix's objects: an unpatched copy-mode build must rebuild af_unix.c (dirty list) ...
        var copyEmpty = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, cfg), copying);
        // ... and so must an unpatched lock-mode build
        var lockEmpty = await fx.BuildAsync(new BuildRequest(commits.ParentOfFix, cfg), locked);
        fx.Record("keptDirModes", new
        {
            copyFix = copyFix.Timings,
            copyFixSeconds = copyFix.Seconds,
            lockFix = lockFix.Timings,
            lockFixSeconds = lockFix.Seconds,
            copyEmptyCompiled = copyEmpty.CompiledFiles,
            lockEmptyCompiled = lockEmpty.CompiledFiles,
        });
        foreach (var b in new[] { copyFix, lockFix, copyEmpty, lockEmpty })
        {
            Assert.True(b.Status == BuildStatus.Success, b.Reason);
            Assert.InRange(b.CompiledFiles, 1, 10);
        }
        Assert.Equal(copyEmpty.Artifacts!.BzImage.Sha256, lockEmpty.Artifacts!.BzImage.Sha256);
        Assert.Equal(ReproductionVerdict.Reproduced, (await ReproduceAsync(copyEmpty, name, 2)).Verdict);
        Assert.Equal(ReproductionVerdict.NotReproduced, (await ReproduceAsync(lockFix, name, 2)).Verdict);
        Assert.Equal(copyFix.Artifacts!.BzImage.Sha256, lockFix.Artifacts!.BzImage.Sha256);
    }

    [Fact]
    public async Task AFurtherBugsBaselineTakesTheKeptDirectoryOfAnotherCommit()
    {
        fx.RequireTarball();
        var first = await fx.BugCommitsAsync("unix_shutdown");
        var second = await fx.BugCommitsAsync("bridge_add_del_if");
        var cfg = KernelScratchFixture.CaseConfig("unix_shutdown");
        Assert.Equal(cfg.Hash, KernelScratchFixture.CaseConfig("bridge_add_del_if").Hash); // the realbugs cases share one config
        var firstBuild = await fx.BuildAsync(new BuildRequest(first.ParentOfFix, cfg));
        Assert.True(firstBuild.Status == BuildStatus.Success, firstBuild.Reason);
        Assert.True(fx.Builder.HasKcache(first.ParentOfFix, cfg));
        // forget the second commit's own kept directory (another test may have built it): its first build must take the
        // first commit's directory and recompile only the files that differ (af_unix.c, br_ioctl.c) instead of all
        File.Delete(Path.Combine(fx.Builder.KcacheEntryPath(second.ParentOfFix, cfg.Hash), "ready"));
        var secondBuild = await fx.BuildAsync(new BuildRequest(second.ParentOfFix, cfg));
        fx.Record("keptDirMove", new { firstBuild.MakeSeconds, secondMakeSeconds = secondBuild.MakeSeconds, secondBuild.CompiledFiles, secondBuild.Timings });
        Assert.True(secondBuild.Status == BuildStatus.Success, secondBuild.Reason);
        Assert.Contains("kcacheMove", secondBuild.Timings.Keys);
        Assert.InRange(secondBuild.CompiledFiles, 1, 10);
        Assert.True(fx.Builder.HasKcache(second.ParentOfFix, cfg));
        Assert.False(fx.Builder.HasKcache(first.ParentOfFix, cfg)); // moved, not shared
        // the moved directory gives the second bug's own kernel (its reverted fix compiled in) ...
        var r = await ReproduceAsync(secondBuild, "bridge_add_del_if", 2);
        Assert.True(r.Verdict == ReproductionVerdict.Reproduced, r.Reason);
        Assert.True(r.SameCrash, r.CrashTitle);
        // ... and the first bug takes it back the same way, with its own fix reverted again
        var back = await fx.BuildAsync(new BuildRequest(first.ParentOfFix, cfg));
        Assert.True(back.Status == BuildStatus.Success, back.Reason);
        Assert.Contains("kcacheMove", back.Timings.Keys);
        Assert.InRange(back.CompiledFiles, 1, 10);
        Assert.Equal(ReproductionVerdict.Reproduced, (await ReproduceAsync(back, "unix_shutdown", 2)).Verdict);

        // A first build of the second commit killed after it took a kept directory and before it stored its own leaves
        // that directory in the commit's tree, with no entry folder: the next build discards it (the files that differ
        // may not have been marked yet) and seeds again from the first commit's directory.
        var secondEntry = fx.Builder.KcacheEntryPath(second.ParentOfFix, cfg.Hash);
        Assert.True(File.Exists(secondEntry + ".src.ready"));
        if (Directory.Exists(secondEntry))
        {
            Directory.Delete(secondEntry, recursive: true);
        }
        var stranded = Path.Combine(secondEntry + ".src", KernelBuilder.BuildDirName);
        Directory.CreateDirectory(stranded);
        File.WriteAllText(Path.Combine(stranded, ".config"), "# left by a killed seed build\n");
        var again = await fx.BuildAsync(new BuildRequest(second.ParentOfFix, cfg));
        Assert.True(again.Status == BuildStatus.Success, again.Reason);
        Assert.Contains("kcacheMove", again.Timings.Keys);
        Assert.InRange(again.CompiledFiles, 1, 10);
        Assert.True(fx.Builder.HasKcache(second.ParentOfFix, cfg));
    }

    [Fact]
    public async Task MirrorAndBugCommitHashesAreDeterministic()
    {
        fx.RequireTarball();
        var other = Path.Combine(fx.Root, "mirror-check-" + Guid.NewGuid().ToString("N")[..8] + ".git");
        try
        {
            var m2 = await KernelMirror.FromTarballAsync(KernelScratchFixture.Tarball, other, Ct);
            Assert.Equal(fx.SourceCommit, await m2.SourceCommitAsync(Ct));
            var fix = await File.ReadAllTextAsync(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"), Ct);
            var a = await fx.BugCommitsAsync("unix_shutdown");
            var b = await m2.CreateBugCommitsAsync(await m2.SourceCommitAsync(Ct), fix, "unix_shutdown", Ct);
            Assert.Equal(a, b);
            Assert.Equal(b, await m2.CreateBugCommitsAsync(await m2.SourceCommitAsync(Ct), fix, "unix_shutdown", Ct)); // idempotent
            // the fix commit's tree is the shipped source again
            Assert.Equal(await m2.Git.RunCheckedAsync(["rev-parse", b.FixCommit + "^{tree}"], cancellationToken: Ct), await m2.Git.RunCheckedAsync(["rev-parse", KernelMirror.SourceRef + "^{tree}"], cancellationToken: Ct));
            fx.Record("mirror", new { commit = fx.SourceCommit, a.ParentOfFix, a.FixCommit });
        }
        finally
        {
            KernelMirror.DeleteDirectory(other);
        }
    }

    [Fact]
    public async Task WorktreesAreRemovedOnDisposeCancelAndAfterAKilledProcess()
    {
        fx.RequireTarball();
        var root = Path.Combine(fx.Root, "wt-test");
        var p1 = Path.Combine(root, "a");
        await using (var wt = await fx.Mirror.AddWorktreeAsync(p1, fx.SourceCommit, Ct))
        {
            Assert.True(File.Exists(Path.Combine(wt.Path, "Makefile")));
        }
        Assert.False(Directory.Exists(p1));

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var p2 = Path.Combine(root, "b");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => fx.Mirror.AddWorktreeAsync(p2, fx.SourceCommit, cts.Token));
        Assert.False(Directory.Exists(p2));
        // no locked ("initializing") metadata left behind: git forgets the path
        Assert.DoesNotContain(p2, await fx.Mirror.Git.RunCheckedAsync(["worktree", "list", "--porcelain"], cancellationToken: Ct));

        // simulate a killed job: a work tree whose owner file names a dead process
        var p3 = Path.Combine(root, "c");
        var wt3 = await fx.Mirror.AddWorktreeAsync(p3, fx.SourceCommit, Ct);
        await File.WriteAllTextAsync(p3 + ".owner", "999999 1\n", Ct);
        var removed = await fx.Mirror.PruneStaleWorktreesAsync(root, Ct);
        Assert.Contains(p3, removed);
        Assert.False(Directory.Exists(p3));
        var list = await fx.Mirror.Git.RunCheckedAsync(["worktree", "list", "--porcelain"], cancellationToken: Ct);
        Assert.DoesNotContain(p3, list);
        await wt3.DisposeAsync();
    }
}
