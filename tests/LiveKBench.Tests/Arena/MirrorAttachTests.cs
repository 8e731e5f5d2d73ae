using System.Text;
using LiveKBench.Arena.Bugs;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Arena;

/// <summary>
/// Issue 16, last row: `mirror from-tarball`, then `bugs import` of a bundle, then the stages. The bundle imported after its
/// mirror exists is attached at import (parent of fix and fix commits in the mirror), so every stage finds its parent of fix.
/// The tarball is a small real one: the files the real fix of unix_shutdown touches, holding the fixed side of each hunk.
/// </summary>
public sealed class MirrorAttachTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    /// <summary>A linux-source-6.1 tarball whose files hold the post-image of every hunk of <paramref name="fixPatch"/>.</summary>
    private async Task<string> TinyTarballAsync(string fixPatch)
    {
        var top = _tmp["src/linux-source-6.1"];
        string? file = null;
        var content = new Dictionary<string, StringBuilder>(StringComparer.Ordinal);
        var inHunk = false;
        foreach (var line in fixPatch.Split('\n'))
        {
            if (line.StartsWith("+++ b/", StringComparison.Ordinal))
            {
                file = line[6..].Trim();
                content.TryAdd(file, new StringBuilder());
                inHunk = false;
            }
            else if (line.StartsWith("@@", StringComparison.Ordinal) && file is not null)
            {
                content[file].Append("/* unrelated line */\n/* unrelated line */\n/* unrelated line */\n");
                inHunk = true;
            }
            else if (inHunk && file is not null && (line.StartsWith(' ') || line.StartsWith('+') || line.Length == 0))
            {
                content[file].Append(line.Length == 0 ? "" : line[1..]).Append('\n');
            }
            else if (line.StartsWith("diff ", StringComparison.Ordinal))
            {
                inHunk = false;
            }
        }
        Assert.NotEmpty(content);
        foreach (var (path, text) in content)
        {
            var full = Path.Combine(top, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(full, text.ToString(), TestContext.Current.CancellationToken);
        }
        var tarball = _tmp["linux-source-6.1.tar.xz"];
        var r = await ProcessRunner.RunAsync("tar", ["-cJf", tarball, "-C", _tmp["src"], "linux-source-6.1"], new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) }, TestContext.Current.CancellationToken);
        Assert.True(r.ExitCode == 0, r.StandardError);
        return tarball;
    }

    [Fact]
    public async Task Bundle_imported_after_its_mirror_exists_is_attached_at_import()
    {
        var bundle = SharedData.Path("realbugs", "unix_shutdown");
        var tarball = await TinyTarballAsync(await File.ReadAllTextAsync(Path.Combine(bundle, "fix.patch"), TestContext.Current.CancellationToken));
        var ws = _tmp["ws"];
        Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
        var mirror = await KbenchCli.RunAsync("mirror", "from-tarball", tarball, "--workspace", ws, "--json");
        Assert.True(mirror.Succeeded, mirror.StandardError);
        Assert.Contains("\"bugsAttached\": 0", mirror.StandardOutput);

        var import = await KbenchCli.RunAsync("bugs", "import", bundle, "--workspace", ws);
        Assert.True(import.Succeeded, import.StandardError);
        Assert.Contains("1 added", import.StandardOutput);

        var w = Workspace.Open(ws);
        using var db = w.OpenStore();
        var bug = BugRepository.Find(db, "unix_shutdown");
        Assert.NotNull(bug);
        // kcache and agent runs build at bug.ParentOfFix; localization analyses the developer fix at its ParentCommit.
        Assert.NotNull(bug.ParentOfFix);
        Assert.NotNull(bug.MirrorFixCommit);
        Assert.Equal(bug.ParentOfFix, bug.DeveloperPatch?.ParentCommit);
        var mirrorPath = w.Settings.Mirrors.Values.Single();
        var parentRef = await ProcessRunner.RunAsync("git", ["-C", mirrorPath, "rev-parse", "refs/kbench/bugs/unix_shutdown/parent"], new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) }, TestContext.Current.CancellationToken);
        Assert.Equal(bug.ParentOfFix, parentRef.StandardOutput.Trim());

        // Importing again changes nothing and keeps the commits.
        var again = await KbenchCli.RunAsync("bugs", "import", bundle, "--workspace", ws);
        Assert.True(again.Succeeded, again.StandardError);
        Assert.Contains("1 unchanged", again.StandardOutput);
    }
}
