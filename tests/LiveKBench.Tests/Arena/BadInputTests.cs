using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Arena.Syzbot;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Build;
using LiveKBench.Tests.Support;
using LiveKBench.Tests.Syzbot;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;

namespace LiveKBench.Tests.Arena;

/// <summary>
/// Issue 16: each row of "bad input and concurrent use" fed exactly so through the real CLI (or the stage it hits):
/// a clear error naming the input, and nothing else lost or changed.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    // ---- patches ----

    private const string GoodHunk = "--- a/net/unix/af_unix.c\n+++ b/net/unix/af_unix.c\n@@ -1,1 +1,1 @@\n-a\n+b\n";

    [Fact]
    public async Task Hunk_header_with_a_huge_number_makes_that_patch_invalid_not_an_exception()
    {
        var patch = "--- a/net/unix/af_unix.c\n+++ b/net/unix/af_unix.c\n@@ -99999999999999999999,1 +1,1 @@\n-a\n+b\n";
        var ex = Assert.Throws<DiffFormatException>(() => UnifiedDiff.Parse(patch));
        Assert.Contains("out of range", ex.Message);
        // The analyzer stage: Invalid with the reason, before any git command (the repository does not even exist).
        var outcome = await new PatchAnalyzer(_tmp["no-repo"]).AnalyzeAsync("HEAD", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, outcome.Status);
        Assert.Contains("out of range", outcome.Reason);
        // A good patch still parses (the others are analysed).
        Assert.Single(UnifiedDiff.Parse(GoodHunk));
        // The sandbox's sanitizer rejects it too instead of throwing.
        var check = PatchSanitizer.Sanitize(patch);
        Assert.False(check.Ok);
        Assert.Contains("out of range", check.Reason);
    }

    [Theory]
    [InlineData("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1,1 +1,1 @@\n-a\n+b\n", "../../etc/passwd")]
    [InlineData("--- /etc/passwd\n+++ /etc/passwd\n@@ -1,1 +1,1 @@\n-a\n+b\n", "/etc/passwd")]
    [InlineData("diff --git a/net/x.c b/../../../tmp/x.c\nsimilarity index 100%\nrename from net/x.c\nrename to ../../../tmp/x.c\n", "../../../tmp/x.c")]
    public async Task Patch_leaving_the_tree_is_invalid_and_shows_no_host_path(string patch, string path)
    {
        var repo = _tmp["mirror-with-a-host-path"];
        var outcome = await new PatchAnalyzer(repo).AnalyzeAsync("HEAD", patch, TestContext.Current.CancellationToken);
        Assert.Equal(AnalysisStatus.Invalid, outcome.Status);
        Assert.Contains(path, outcome.Reason);
        Assert.DoesNotContain(_tmp.Path, outcome.Reason);
        Assert.False(PatchSanitizer.Sanitize(patch).Ok);
    }

    // ---- bundles ----

    private string CopyBundle(string name = "unix_shutdown")
    {
        var src = SharedData.Path("realbugs", name);
        var copy = _tmp[Path.Combine("bundles", name)];
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(src))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }
        return copy;
    }

    private static void EditBugJson(string bundle, Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        var path = Path.Combine(bundle, "bug.json");
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(node);
        File.WriteAllText(path, node.ToJsonString());
    }

    private async Task<string> InitWithRealBugsAsync()
    {
        var ws = _tmp["ws"];
        Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
        var import = await KbenchCli.RunAsync("bugs", "import", SharedData.Path("realbugs"), "--workspace", ws);
        Assert.True(import.Succeeded, import.StandardError);
        return ws;
    }

    private static async Task<string> ExportAsync(string ws)
    {
        var r = await KbenchCli.RunAsync("bugs", "export", "-", "--workspace", ws);
        Assert.True(r.Succeeded, r.StandardError);
        return r.StandardOutput;
    }

    /// <summary>Imports the bundles folder; asserts exit 1, the message parts, and that the store is exactly as before.</summary>
    private async Task RefusedAsync(string ws, string input, params string[] messageParts)
    {
        var before = await ExportAsync(ws);
        var r = await KbenchCli.RunAsync("bugs", "import", input, "--workspace", ws);
        Assert.Equal(1, r.ExitCode);
        foreach (var part in messageParts)
        {
            Assert.Contains(part, r.StandardError);
        }
        Assert.Contains("nothing imported", r.StandardError);
        Assert.Equal(before, await ExportAsync(ws));
    }

    [Fact]
    public async Task Bundle_with_wrong_json_types_is_refused_with_the_field_named()
    {
        var ws = await InitWithRealBugsAsync();
        var bundle = CopyBundle();
        EditBugJson(bundle, o => o["status"] = new System.Text.Json.Nodes.JsonArray("open"));
        await RefusedAsync(ws, _tmp["bundles"], "\"status\" must be a JSON string, not an array", "bug.json");

        EditBugJson(bundle, o =>
        {
            o["status"] = "fixed";
            o["reproducers"] = new System.Text.Json.Nodes.JsonObject { ["c"] = 123 };
        });
        await RefusedAsync(ws, _tmp["bundles"], "\"reproducers.c\" must be a file name (a JSON string), not a number");
    }

    [Fact]
    public async Task Bundle_field_above_its_size_limit_is_refused_while_reading()
    {
        var ws = await InitWithRealBugsAsync();
        var bundle = CopyBundle();
        var repro = Path.Combine(bundle, "repro.c");
        File.WriteAllBytes(repro, Enumerable.Repeat((byte)'a', (int)InputLimits.ReproducerBytes + 1).ToArray());
        await RefusedAsync(ws, _tmp["bundles"], repro, "larger than the limit of 1 MiB");
        // Exactly at the limit is accepted.
        File.WriteAllBytes(repro, Enumerable.Repeat((byte)'a', (int)InputLimits.ReproducerBytes).ToArray());
        var ok = await KbenchCli.RunAsync("bugs", "import", _tmp["bundles"], "--workspace", ws);
        Assert.True(ok.Succeeded, ok.StandardError);
    }

    [Fact]
    public async Task Bundle_with_non_utf8_bytes_is_refused_with_the_file_named()
    {
        var ws = await InitWithRealBugsAsync();
        var bundle = CopyBundle();
        var repro = Path.Combine(bundle, "repro.c");
        var bytes = File.ReadAllBytes(repro).ToList();
        bytes.InsertRange(10, new byte[] { 0xff, 0xfe });
        File.WriteAllBytes(repro, [.. bytes]);
        await RefusedAsync(ws, _tmp["bundles"], repro, "not valid UTF-8 (byte offset 10)");
    }

    [Fact]
    public async Task Bundle_with_a_symlinked_reproducer_is_refused_with_its_name()
    {
        var ws = await InitWithRealBugsAsync();
        var bundle = CopyBundle();
        var repro = Path.Combine(bundle, "repro.c");
        var outside = _tmp["outside.c"];
        File.Move(repro, outside);
        File.CreateSymbolicLink(repro, outside);
        await RefusedAsync(ws, _tmp["bundles"], repro, "is a symbolic link");

        // A symlinked folder on the way is refused too.
        File.Delete(repro);
        Directory.CreateDirectory(_tmp["elsewhere"]);
        File.Move(outside, Path.Combine(_tmp["elsewhere"], "repro.c"));
        Directory.CreateSymbolicLink(Path.Combine(bundle, "sub"), _tmp["elsewhere"]);
        EditBugJson(bundle, o => o["reproducers"] = new System.Text.Json.Nodes.JsonObject { ["c"] = "sub/repro.c" });
        await RefusedAsync(ws, _tmp["bundles"], Path.Combine(bundle, "sub"), "is a symbolic link");
    }

    // ---- JSON Lines ----

    [Fact]
    public async Task Jsonl_with_a_null_reproducer_is_refused_with_the_line_named()
    {
        var ws = await InitWithRealBugsAsync();
        var lines = (await ExportAsync(ws)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var node = System.Text.Json.Nodes.JsonNode.Parse(lines[1])!.AsObject();
        node["id"] = "new-bug";
        node["reproducers"] = new System.Text.Json.Nodes.JsonArray((System.Text.Json.Nodes.JsonNode?)null);
        var file = _tmp["bugs.jsonl"];
        File.WriteAllText(file, lines[0].Replace("\"title\":\"", "\"title\":\"changed ", StringComparison.Ordinal) + "\n" + node.ToJsonString() + "\n");
        await RefusedAsync(ws, file, file + ":2", "\"reproducers[0]\" is null");

        File.WriteAllText(file, lines[0] + "\nnull\n");
        await RefusedAsync(ws, file, file + ":2", "needs \"id\" and \"title\"");
    }

    [Fact]
    public async Task Dataset_import_naming_an_unknown_bug_or_with_a_null_line_stores_nothing()
    {
        var ws = await InitWithRealBugsAsync();
        var lines = (await ExportAsync(ws)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var export = _tmp["export"];
        Directory.CreateDirectory(Path.Combine(export, "bugs"));
        Directory.CreateDirectory(Path.Combine(export, "datasets"));
        var fresh = System.Text.Json.Nodes.JsonNode.Parse(lines[0])!.AsObject();
        fresh["id"] = "fresh-bug";
        File.WriteAllText(Path.Combine(export, "bugs", "train.jsonl"), fresh.ToJsonString() + "\n");
        var datasets = Path.Combine(export, "datasets", "train.jsonl");
        File.WriteAllText(datasets, "{\"name\":\"good\",\"bugIds\":[\"fresh-bug\"]}\n{\"name\":\"bad\",\"bugIds\":[\"no-such-bug\"]}\n");

        async Task AssertRefused(params string[] parts)
        {
            var before = await ExportAsync(ws);
            var r = await KbenchCli.RunAsync("dataset", "import", export, "--workspace", ws);
            Assert.Equal(1, r.ExitCode);
            foreach (var p in parts)
            {
                Assert.Contains(p, r.StandardError);
            }
            Assert.Equal(before, await ExportAsync(ws));
            var list = await KbenchCli.RunAsync("dataset", "list", "--json", "--workspace", ws);
            Assert.True(list.Succeeded, list.StandardError);
            Assert.DoesNotContain("good", list.StandardOutput);
        }

        await AssertRefused("no bug no-such-bug");
        File.WriteAllText(datasets, "{\"name\":\"good\",\"bugIds\":[\"fresh-bug\"]}\nnull\n");
        await AssertRefused(datasets + ":2");
    }

    // ---- report parse ----

    [Fact]
    public async Task Report_parse_refuses_a_device_and_reads_files_with_a_bound()
    {
        var r = await KbenchCli.RunAsync("report", "parse", "/dev/zero");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("/dev/zero: not a regular file", r.StandardError);
        var big = _tmp["big.log"];
        using (var f = File.Create(big))
        {
            f.SetLength(InputLimits.ConsoleLogBytes + 1);
        }
        r = await KbenchCli.RunAsync("report", "parse", big);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("larger than the limit of 64 MiB", r.StandardError);
        // A real console log still parses.
        r = await KbenchCli.RunAsync("report", "parse", SharedData.Path("realbugs", "unix_shutdown", "console-buggy.txt"));
        Assert.True(r.Succeeded, r.StandardError);
        Assert.Contains("unix_shutdown", r.StandardOutput);
    }

    // ---- concurrency ----

    [Fact]
    public async Task Two_first_commands_on_one_new_workspace_both_succeed()
    {
        for (var trial = 0; trial < 4; trial++)
        {
            var ws = _tmp[$"ws{trial}"];
            Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
            // init writes the settings; the store is created by the first command that opens it.
            var results = await Task.WhenAll(
                KbenchCli.RunAsync("bugs", "list", "--workspace", ws),
                KbenchCli.RunAsync("bugs", "list", "--workspace", ws));
            Assert.All(results, r => Assert.True(r.Succeeded, r.StandardError));
        }
    }

    [Fact]
    public async Task Dataset_create_waits_for_a_writer_and_succeeds()
    {
        var ws = await InitWithRealBugsAsync();
        var db = Path.Combine(ws, "kbench.db");
        await using var c = new SqliteConnection($"Data Source={db};Pooling=False");
        await c.OpenAsync(TestContext.Current.CancellationToken);
        await using (var begin = c.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE; UPDATE Bugs SET Title = Title;";
            await begin.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }
        var create = KbenchCli.RunAsync("dataset", "create", "waited", "--bug", "unix_shutdown", "--workspace", ws);
        // Hold the write lock while the command starts and reaches its write; then let go.
        await Task.Delay(TimeSpan.FromSeconds(4), TestContext.Current.CancellationToken);
        Assert.False(create.IsCompleted);
        await using (var commit = c.CreateCommand())
        {
            commit.CommandText = "COMMIT;";
            await commit.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }
        var r = await create;
        Assert.True(r.Succeeded, r.StandardError);
        var show = await KbenchCli.RunAsync("dataset", "show", "waited", "--json", "--workspace", ws);
        Assert.True(show.Succeeded, show.StandardError);
        Assert.Contains("cd7ceee0d3b5892f07af", show.StandardOutput);
    }

    // ---- syzbot response size ----

    [Fact]
    public async Task Syzbot_response_above_the_limit_fails_cleanly_without_retrying()
    {
        await using var h = await CrawlHarness.StartAsync();
        var big = new string('x', 300_000);
        h.Server.Overrides["/upstream?json=1"] = async ctx =>
        {
            ctx.Response.ContentType = "application/json";
            // Chunked (no Content-Length): the limit must hold while reading.
            for (var i = 0; i < 10; i++)
            {
                await ctx.Response.WriteAsync(big, ctx.RequestAborted);
            }
        };
        using var client = new SyzbotClient(h.ClientOptions() with { MaxResponseBytes = 1_000_000 });
        var ex = await Assert.ThrowsAsync<SyzbotHttpException>(() => client.GetListAsync("upstream", false, TestContext.Current.CancellationToken));
        Assert.Contains("larger than the limit", ex.Message);
        Assert.Equal(1, h.Server.CountOf("/upstream?json=1"));
    }
}
