using LiveKBench.Kernel.Build;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Kernel;

public class PatchSanitizerTests
{
    private const string Good = """
        --- a/net/unix/af_unix.c
        +++ b/net/unix/af_unix.c
        @@ -3091,7 +3091,8 @@ static int unix_shutdown(struct socket *
         		int peer_mode = 0;
         		const struct proto *prot = READ_ONCE(other->sk_prot);
         
        -		prot->unhash(other);
        +		if (prot->unhash)
        +			prot->unhash(other);
         		if (mode&RCV_SHUTDOWN)
         			peer_mode |= SEND_SHUTDOWN;
         		if (mode&SEND_SHUTDOWN)

        """;

    [Fact]
    public void AcceptsTheRealFixPatches()
    {
        foreach (var name in new[] { "unix_shutdown", "bridge_add_del_if", "cap_convert_nscap" })
        {
            var r = PatchSanitizer.Sanitize(File.ReadAllText(SharedData.Path("realbugs", name, "fix.patch")));
            Assert.True(r.Ok, name + ": " + r.Reason);
            Assert.Single(r.Paths);
        }
    }

    [Fact]
    public void AcceptsInlineGoodPatchAndListsPath()
    {
        var r = PatchSanitizer.Sanitize(Good);
        Assert.True(r.Ok, r.Reason);
        Assert.Equal(["net/unix/af_unix.c"], r.Paths);
    }

    [Fact]
    public void EmptyPatchIsOkAndTouchesNothing()
    {
        var r = PatchSanitizer.Sanitize("  \n");
        Assert.True(r.Ok);
        Assert.Empty(r.Paths);
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("net/../../etc/passwd")]
    [InlineData("net/./x.c")]
    [InlineData(".git/config")]
    public void RejectsPathsLeavingTheTree(string path)
    {
        var p = $"--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n";
        var r = PatchSanitizer.Sanitize(p);
        Assert.False(r.Ok);
        Assert.NotNull(r.Reason);
    }

    [Fact]
    public void RejectsDotDotInDiffGitHeader()
    {
        var p = "diff --git a/../x b/../x\n--- a/../x\n+++ b/../x\n@@ -1 +1 @@\n-a\n+b\n";
        Assert.Contains("leaves the tree", PatchSanitizer.Sanitize(p).Reason);
    }

    [Fact]
    public void RejectsAbsolutePaths()
    {
        var p = "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+toor\n";
        Assert.Contains("absolute", PatchSanitizer.Sanitize(p).Reason);
    }

    [Fact]
    public void RejectsSymlinkCreation()
    {
        var p = "diff --git a/evil b/evil\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/evil\n@@ -0,0 +1 @@\n+/etc\n\\ No newline at end of file\n";
        Assert.Contains("symlink", PatchSanitizer.Sanitize(p).Reason);
    }

    [Fact]
    public void RejectsRenameOutOfTree()
    {
        var p = "diff --git a/x.c b/x.c\nsimilarity index 100%\nrename from x.c\nrename to ../x.c\n";
        Assert.False(PatchSanitizer.Sanitize(p).Ok);
    }

    [Fact]
    public void RejectsWritingThroughAnExistingSymlink()
    {
        var root = Directory.CreateTempSubdirectory("kbench-sanitizer-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "real"));
            File.CreateSymbolicLink(Path.Combine(root, "link"), "/tmp");
            var r = PatchSanitizer.Sanitize("--- a/link/x\n+++ b/link/x\n@@ -0,0 +1 @@\n+a\n");
            Assert.True(r.Ok);
            Assert.Contains("symbolic link", PatchSanitizer.CheckAgainstTree(r.Paths, root));
            Assert.Null(PatchSanitizer.CheckAgainstTree(["real/x.c"], root));
            Assert.Contains("reserved", PatchSanitizer.CheckAgainstTree(["kbench-build/x"], root, [KernelBuilder.BuildDirName]));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Theory]
    [InlineData("diff --git a/fw.bin b/fw.bin\nindex 1..2 100644\nGIT binary patch\nliteral 3\nKcmZ?d\n\n")]
    [InlineData("diff --git a/fw.bin b/fw.bin\nindex 1..2 100644\nBinary files a/fw.bin and b/fw.bin differ\n")]
    public void RejectsBinaryPatches(string p) => Assert.Contains("binary", PatchSanitizer.Sanitize(p).Reason);

    [Fact]
    public void RejectsHundredMegabytePatch()
    {
        var big = Good + new string('+', 100 * 1024 * 1024);
        var r = PatchSanitizer.Sanitize(big);
        Assert.False(r.Ok);
        Assert.Contains("limit", r.Reason);
    }

    [Fact]
    public void NormalisesCrlf()
    {
        var r = PatchSanitizer.Sanitize(Good.Replace("\n", "\r\n"));
        Assert.True(r.Ok, r.Reason);
        Assert.DoesNotContain("\r", r.NormalizedPatch);
        Assert.Equal(Good.Replace("\r\n", "\n"), r.NormalizedPatch);
    }

    [Theory]
    [InlineData("--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n-a\n+b\n")]        // body shorter than the counts
    [InlineData("--- a/x.c\n+++ b/x.c\n@@ -1,1 +1,1 @@\n-a\n+b\n+c\n+d\n")] // more added lines than the count, then garbage
    [InlineData("--- a/x.c\n+++ b/x.c\n@@ garbage @@\n-a\n+b\n")]
    [InlineData("@@ -1 +1 @@\n-a\n+b\n")]                                  // hunk without a file header
    [InlineData("just some words\nno diff here\n")]
    public void RejectsMalformedHunks(string p) => Assert.False(PatchSanitizer.Sanitize(p).Ok);

    [Fact]
    public void RejectsNulBytes() => Assert.False(PatchSanitizer.Sanitize("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\0\n+b\n").Ok);
}
