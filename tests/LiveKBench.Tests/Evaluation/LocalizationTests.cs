using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Evaluation;

public sealed class LocalizationTests
{
    private static async Task<PatchAnalysis> AnalyzeOk(string repo, string patch, string commit = "buggy")
    {
        var outcome = await new PatchAnalyzer(repo).AnalyzeAsync(commit, patch, TestContext.Current.CancellationToken);
        Assert.True(outcome.Status == AnalysisStatus.Success, $"{outcome.Status}: {outcome.Reason}");
        return outcome.Analysis!;
    }

    [Theory]
    [InlineData("unix_shutdown", "net/unix/af_unix.c", new[] { "unix_shutdown" }, 3)]
    [InlineData("bridge_add_del_if", "net/bridge/br_ioctl.c", new[] { "br_ioctl_stub" }, 5)]
    [InlineData("cap_convert_nscap", "security/commoncap.c", new[] { "cap_convert_nscap", "cap_inode_getsecurity", "is_v2header", "is_v3header", "validheader" }, 21)]
    public async Task RealDeveloperFixes(string bug, string file, string[] functions, int lines)
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await File.ReadAllTextAsync(SharedData.Path("realbugs", bug, "fix.patch"), TestContext.Current.CancellationToken);
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal([file], a.Files);
        Assert.Equal(functions, a.Functions);
        Assert.Equal(lines, a.ModifiedLines);
    }

    [Fact]
    public async Task FixAlreadyAppliedDoesNotApply()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await File.ReadAllTextAsync(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"), TestContext.Current.CancellationToken);
        var o = await new PatchAnalyzer(repo).AnalyzeAsync("fixed", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, o.Status);
        Assert.Contains("does not apply", o.Reason);
        Assert.Contains("net/unix/af_unix.c", o.Reason);
    }

    [Fact]
    public async Task HeaderOnlyInlineFunction()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w => KernelSubset.Replace(w, "include/linux/skbuff.h",
            "static inline struct page *__dev_alloc_page(gfp_t gfp_mask)\n{\n", "static inline struct page *__dev_alloc_page(gfp_t gfp_mask)\n{\n\tmight_sleep();\n"));
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["include/linux/skbuff.h"], a.Files);
        Assert.Equal(["__dev_alloc_page"], a.Functions);
        Assert.Equal(1, a.ModifiedLines);
    }

    [Fact]
    public async Task NewFileContributesAllItsFunctions()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w => File.WriteAllText(Path.Combine(w, "net/unix/extra.c"),
            "#include <linux/net.h>\n\nstatic int helper_one(int x)\n{\n\treturn x + 1;\n}\n\nint helper_two(void)\n{\n\treturn helper_one(1);\n}\n"));
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["net/unix/extra.c"], a.Files);
        Assert.Equal(["helper_one", "helper_two"], a.Functions);
        Assert.Equal(0, a.ModifiedLines); // kArena counts lines of modified files only
    }

    [Fact]
    public async Task DeletedFileContributesAllItsFunctions()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w => File.Delete(Path.Combine(w, "net/bridge/br_ioctl.c")));
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["net/bridge/br_ioctl.c"], a.Files);
        Assert.Contains("br_ioctl_stub", a.Functions);
        Assert.Contains("add_del_if", a.Functions);
        Assert.True(a.Functions.Count >= 5, string.Join(",", a.Functions));
    }

    [Fact]
    public async Task DeletedFunctionIsMatchedInTheOldNumbering()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w =>
        {
            var path = Path.Combine(w, "net/bridge/br_ioctl.c");
            var text = File.ReadAllText(path);
            var start = text.IndexOf("static int add_del_if(", StringComparison.Ordinal);
            var end = text.IndexOf("\n}\n", start, StringComparison.Ordinal) + 3;
            File.WriteAllText(path, text[..start] + text[end..]);
        });
        var a = await AnalyzeOk(repo, patch);
        Assert.Contains("add_del_if", a.Functions);
        Assert.DoesNotContain("br_ioctl_stub", a.Functions);
    }

    [Fact]
    public async Task MacroDefinitionAddsFileButNoFunction()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w =>
        {
            var path = Path.Combine(w, "net/unix/af_unix.c");
            var text = File.ReadAllText(path);
            var i = text.IndexOf("#include", StringComparison.Ordinal);
            File.WriteAllText(path, text[..i] + "#define KBENCH_TEST_MACRO(x) ((x) + 1)\n" + text[i..]);
        });
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["net/unix/af_unix.c"], a.Files);
        Assert.Empty(a.Functions);
        Assert.Equal(1, a.ModifiedLines);
    }

    [Fact]
    public async Task GlobalInitializerOnlyFixHasNoFunctionButOneDefinition()
    {
        // Like a fix that edits only a netlink policy array: the changed line is inside a global initializer.
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w =>
        {
            var path = Path.Combine(w, "net/unix/af_unix.c");
            var text = File.ReadAllText(path);
            var start = text.IndexOf("static const struct proto_ops unix_stream_ops = {", StringComparison.Ordinal);
            Assert.True(start >= 0, "unix_stream_ops not found in the subset");
            var at = text.IndexOf(".shutdown =", start, StringComparison.Ordinal);
            File.WriteAllText(path, text[..at] + "/* kbench */ " + text[at..]);
        });
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["net/unix/af_unix.c"], a.Files);
        Assert.Empty(a.Functions);
        Assert.Equal(["variable:unix_stream_ops"], a.Definitions);
    }

    [Fact]
    public async Task DefinitionsIncludeFunctionsStructsAndMacros()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w =>
        {
            KernelSubset.Replace(w, "include/linux/skbuff.h",
                "static inline struct page *__dev_alloc_page(gfp_t gfp_mask)\n{\n", "static inline struct page *__dev_alloc_page(gfp_t gfp_mask)\n{\n\tmight_sleep();\n");
            var path = Path.Combine(w, "net/unix/af_unix.c");
            var text = File.ReadAllText(path);
            var i = text.IndexOf("#include", StringComparison.Ordinal);
            File.WriteAllText(path, text[..i] + "#define KBENCH_TEST_MACRO(x) ((x) + 1)\nstruct kbench_pair {\n\tint a;\n\tint b;\n};\n" + text[i..]);
        });
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["__dev_alloc_page"], a.Functions);
        Assert.Equal(["__dev_alloc_page", "macro:KBENCH_TEST_MACRO", "struct:kbench_pair"], a.Definitions);
    }

    [Fact]
    public async Task SyscallDefineIsNamedSys()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w => KernelSubset.Replace(w, "net/socket.c",
            "SYSCALL_DEFINE3(socket, int, family, int, type, int, protocol)\n{\n", "SYSCALL_DEFINE3(socket, int, family, int, type, int, protocol)\n{\n\t/* kbench */\n"));
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["sys_socket"], a.Functions);
    }

    [Fact]
    public async Task RenameIsReportedByNewPathAndKeepsRemovedLineAttribution()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w =>
        {
            File.Move(Path.Combine(w, "net/bridge/br_ioctl.c"), Path.Combine(w, "net/bridge/br_ioctl_new.c"));
            KernelSubset.Replace(w, "net/bridge/br_ioctl_new.c", "ret = add_del_if(netdev_priv(dev), ifr.ifr_ifindex, cmd == SIOCBRADDIF);", "ret = add_del_if(netdev_priv(dev), ifr.ifr_ifindex, cmd != SIOCBRDELIF);");
        });
        Assert.Contains("rename from net/bridge/br_ioctl.c", patch);
        var a = await AnalyzeOk(repo, patch);
        Assert.Equal(["net/bridge/br_ioctl_new.c"], a.Files);
        Assert.Equal(["br_ioctl_stub"], a.Functions);
        Assert.Equal(2, a.ModifiedLines);
    }

    [Fact]
    public async Task DocsOnlyPatchHasNoSourceFiles()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await KernelSubset.MakePatchAsync(repo, w =>
        {
            Directory.CreateDirectory(Path.Combine(w, "Documentation"));
            File.WriteAllText(Path.Combine(w, "Documentation/kbench.rst"), "Title\n=====\n");
        });
        var a = await AnalyzeOk(repo, patch);
        Assert.Empty(a.Files);
        Assert.Empty(a.Functions);
    }

    [Fact]
    public async Task EmptyPatchIsSuccessWithNothing()
    {
        var a = await AnalyzeOk("/nonexistent", "");
        Assert.Same(PatchAnalysis.Empty, a);
    }

    [Fact]
    public async Task BinaryPatchIsInvalid()
    {
        const string patch = "diff --git a/firmware/x.bin b/firmware/x.bin\nnew file mode 100644\nindex 0000000..e69de29\nGIT binary patch\nliteral 4\nLcmZ?l0000\n\nliteral 0\nHcmV?d00001\n\n";
        var o = await new PatchAnalyzer("/nonexistent").AnalyzeAsync("buggy", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, o.Status);
        Assert.Contains("binary change to firmware/x.bin", o.Reason);
    }

    [Fact]
    public async Task HugePatchIsInvalidWithoutWork()
    {
        var patch = "--- a/x.c\n+++ b/x.c\n@@ -1,1 +1,1 @@\n-a\n+b\n" + new string('x', 50 * 1024 * 1024);
        var o = await new PatchAnalyzer("/nonexistent").AnalyzeAsync("buggy", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, o.Status);
        Assert.Contains("larger than the limit", o.Reason);
    }

    [Fact]
    public async Task TruncatedHunkIsInvalid()
    {
        const string patch = "--- a/net/unix/af_unix.c\n+++ b/net/unix/af_unix.c\n@@ -10,5 +10,6 @@\n context\n-removed\n";
        var o = await new PatchAnalyzer("/nonexistent").AnalyzeAsync("buggy", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, o.Status);
        Assert.Contains("truncated", o.Reason);
    }

    [Fact]
    public async Task NotADiffIsInvalid()
    {
        var o = await new PatchAnalyzer("/nonexistent").AnalyzeAsync("buggy", "I fixed it, trust me\n", TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, o.Status);
    }

    [Fact]
    public async Task MissingFileDoesNotApply()
    {
        var repo = await KernelSubset.RepoAsync();
        const string patch = "--- a/net/nothere.c\n+++ b/net/nothere.c\n@@ -1,1 +1,1 @@\n-a\n+b\n";
        var o = await new PatchAnalyzer(repo).AnalyzeAsync("buggy", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, o.Status);
        Assert.Contains("does not exist", o.Reason);
    }

    [Fact]
    public async Task UnknownCommitIsARetryableError()
    {
        var repo = await KernelSubset.RepoAsync();
        var patch = await File.ReadAllTextAsync(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"), TestContext.Current.CancellationToken);
        var o = await new PatchAnalyzer(repo).AnalyzeAsync("0123456789012345678901234567890123456789", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Error, o.Status);
        Assert.False(string.IsNullOrEmpty(o.Reason));
    }

    [Fact]
    public void HunkAppliedAtOffsetUsesRealLineNumbers()
    {
        List<string> before = ["x", "x", "a", "b", "c"];
        var hunk = new DiffHunk(1, 3, 1, 3, [new(' ', "a"), new('-', "b"), new('+', "B"), new(' ', "c")]);
        var after = PatchAnalyzer.Apply(before, [hunk], out var removed, out var added, out var error);
        Assert.Null(error);
        Assert.Equal(["x", "x", "a", "B", "c"], after);
        Assert.Equal([4], removed);
        Assert.Equal([4], added);
    }

    [Theory]
    [InlineData("SYSCALL_DEFINE3", "(socket,int,family)", "sys_socket")]
    [InlineData("COMPAT_SYSCALL_DEFINE2", "(ioctl,unsigned int,fd)", "compat_sys_ioctl")]
    [InlineData("BPF_CALL_0", "(bpf_get_numa_node_id)", "bpf_get_numa_node_id")]
    [InlineData("unix_shutdown", "(struct socket *sock,int mode)", "unix_shutdown")]
    public void KernelMacroNames(string tag, string signature, string expected)
        => Assert.Equal(expected, PatchAnalyzer.KernelName(tag, signature));

    [Fact]
    public void IouOfEmptySetsIsZero()
    {
        var (i, u, iou) = LiveKBench.Evaluation.Aggregation.Estimators.Iou(new HashSet<string>(), new HashSet<string>());
        Assert.Equal((0, 0, 0.0), (i, u, iou));
        var r = LiveKBench.Evaluation.Aggregation.Estimators.Iou(new HashSet<string> { "a", "b" }, new HashSet<string> { "b", "c" });
        Assert.Equal(1.0 / 3, r.Iou, 12);
    }
}
