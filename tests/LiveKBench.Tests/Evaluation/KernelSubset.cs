using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Evaluation;

/// <summary>
/// A small git repository holding a few files of Debian's Linux 6.1 source (/usr/src/linux-source-6.1.tar.xz):
/// commit tagged <c>fixed</c> = the files as shipped; commit tagged <c>buggy</c> = with the three realbugs fixes
/// reverse-applied (the parent of the fixes). Built once per machine in the temp folder (extracting from the
/// tarball takes ~40 s); skipped when the tarball or the realbugs data is missing.
/// </summary>
internal static class KernelSubset
{
    public const string Tarball = "/usr/src/linux-source-6.1.tar.xz";

    public static readonly string[] Files =
    [
        "net/unix/af_unix.c", "net/bridge/br_ioctl.c", "security/commoncap.c", "net/socket.c", "include/linux/skbuff.h",
        "kernel/bpf/helpers.c",
    ];

    public static readonly string[] Cases = ["unix_shutdown", "bridge_add_del_if", "cap_convert_nscap"];

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _repo;

    public static async Task<string> RepoAsync()
    {
        var fixes = Cases.Select(c => SharedData.Path("realbugs", c, "fix.patch")).ToList();
        if (!File.Exists(Tarball))
        {
            if (SharedData.IsCi)
            {
                Assert.Fail($"{Tarball} is missing; CI=true requires it");
            }
            Assert.Skip($"{Tarball} is missing (apt-get install linux-source-6.1)");
        }
        await Gate.WaitAsync();
        try
        {
            if (_repo is not null)
            {
                return _repo;
            }
            var dir = Path.Combine(Path.GetTempPath(), "kbench-test-linux61-subset-v1");
            if (!File.Exists(Path.Combine(dir, ".done")))
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, true);
                }
                Directory.CreateDirectory(dir);
                var members = Files.Select(f => "linux-source-6.1/" + f).ToList();
                await ProcessRunner.RunCheckedAsync("tar", ["-xJf", Tarball, "-C", dir, "--strip-components=1", .. members], new ProcessOptions { Timeout = TimeSpan.FromMinutes(10) });
                await Git(dir, "init", "-q");
                await Git(dir, "add", "-A");
                await Git(dir, "commit", "-q", "-m", "Debian linux-source-6.1 (fixed)");
                await Git(dir, "tag", "fixed");
                foreach (var fix in fixes)
                {
                    await Git(dir, "apply", "-R", fix);
                }
                await Git(dir, "commit", "-q", "-a", "-m", "revert the realbugs fixes (buggy)");
                await Git(dir, "tag", "buggy");
                await File.WriteAllTextAsync(Path.Combine(dir, ".done"), "ok\n");
            }
            _repo = dir;
            return dir;
        }
        finally
        {
            Gate.Release();
        }
    }

    public static Task<ProcessResult> Git(string dir, params string[] args)
        => ProcessRunner.RunCheckedAsync("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", .. args], new ProcessOptions { Timeout = TimeSpan.FromMinutes(2) });

    /// <summary>Clones the subset at <c>buggy</c>, lets <paramref name="edit"/> change the work tree, and returns <c>git diff -M</c> of the staged result.</summary>
    public static async Task<string> MakePatchAsync(string repo, Action<string> edit)
    {
        var work = Path.Combine(Path.GetTempPath(), "kbench-test-edit-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            await ProcessRunner.RunCheckedAsync("git", ["clone", "-q", "--shared", repo, work]);
            await Git(work, "checkout", "-q", "buggy");
            edit(work);
            await Git(work, "add", "-A");
            var diff = await Git(work, "diff", "--cached", "-M", "buggy");
            return diff.StandardOutput;
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, true);
            }
        }
    }

    /// <summary>Replaces the first occurrence of <paramref name="from"/> in a file (fails when absent).</summary>
    public static void Replace(string root, string path, string from, string to)
    {
        var full = Path.Combine(root, path);
        var text = File.ReadAllText(full);
        var i = text.IndexOf(from, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{from}' not found in {path}");
        File.WriteAllText(full, text[..i] + to + text[(i + from.Length)..]);
    }
}
