using System.Diagnostics;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using Microsoft.Data.Sqlite;

namespace LiveKBench.Tests.Arena;

/// <summary>The kbench CLI as a user runs it: exit codes, concurrent processes, SIGKILL during an import.</summary>
public sealed class CliProcessTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public async Task Init_import_list_json_lists_every_real_case()
    {
        var ws = _tmp["ws"];
        Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
        var import = await KbenchCli.RunAsync("bugs", "import", SharedData.Path("realbugs"), "--workspace", ws);
        Assert.True(import.Succeeded, import.StandardError);
        var list = await KbenchCli.RunAsync("bugs", "list", "--json", "--workspace", ws);
        Assert.True(list.Succeeded, list.StandardError);
        using var json = JsonDocument.Parse(list.StandardOutput);
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(3, rows.Count);
        foreach (var row in rows)
        {
            Assert.False(string.IsNullOrEmpty(row.GetProperty("id").GetString()));
            Assert.False(string.IsNullOrEmpty(row.GetProperty("title").GetString()));
            Assert.Equal("fixed", row.GetProperty("status").GetString());
            Assert.Equal("Debian linux-source-6.1 6.1.192", row.GetProperty("kernelBase").GetString());
            Assert.Matches("^[0-9a-f]{40}$", row.GetProperty("fixCommit").GetString());
            Assert.Equal(["c"], row.GetProperty("reproducers").EnumerateArray().Select(e => e.GetString()));
        }
    }

    [Fact]
    public async Task Exit_codes_are_0_success_1_failure_2_usage()
    {
        var ws = _tmp["ws"];
        Assert.Equal(2, (await KbenchCli.RunAsync("no-such-command")).ExitCode);
        Assert.Equal(2, (await KbenchCli.RunAsync()).ExitCode);
        Assert.Equal(2, (await KbenchCli.RunAsync("bugs", "list", "--workspace", _tmp["not-initialized"])).ExitCode);
        Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
        var missing = await KbenchCli.RunAsync("bugs", "import", _tmp["nothing"], "--workspace", ws);
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no such file or folder", missing.StandardError);
        Assert.Equal(1, (await KbenchCli.RunAsync("bugs", "show", "nope", "--workspace", ws)).ExitCode);
    }

    [Fact]
    public async Task Bare_kbench_and_a_group_without_subcommand_print_help_on_stderr_and_exit_2()
    {
        var bare = await KbenchCli.RunAsync();
        Assert.Equal(2, bare.ExitCode);
        Assert.Equal("", bare.StandardOutput);
        Assert.Contains("kbench [command] [options]", bare.StandardError);
        Assert.Contains("leaderboard", bare.StandardError); // the command list
        Assert.DoesNotContain("Required command was not provided", bare.StandardError);
        var group = await KbenchCli.RunAsync("bugs");
        Assert.Equal(2, group.ExitCode);
        Assert.Contains("kbench bugs [command] [options]", group.StandardError);
        var help = await KbenchCli.RunAsync("--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("0 success, 1 the work failed or something was not found, 2 bad usage, 130 stopped by Ctrl-C", help.StandardOutput);
    }

    [Fact]
    public async Task A_mistyped_command_or_option_gets_a_did_you_mean_suggestion_and_exit_2()
    {
        var cmd = await KbenchCli.RunAsync("leaderbord");
        Assert.Equal(2, cmd.ExitCode);
        Assert.Equal("", cmd.StandardOutput);
        Assert.Contains("kbench: Unrecognized command or argument 'leaderbord'.", cmd.StandardError);
        Assert.Contains("'leaderbord' was not matched. Did you mean one of the following?\nleaderboard\n", cmd.StandardError.Replace("\r\n", "\n"));
        var sub = await KbenchCli.RunAsync("runs", "shwo", "1");
        Assert.Equal(2, sub.ExitCode);
        Assert.Contains("Did you mean one of the following?\nshow\n", sub.StandardError.Replace("\r\n", "\n"));
    }

    [Fact]
    public async Task Ctrl_c_exits_130()
    {
        var ws = _tmp["ws"];
        Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
        // env --default-signal=INT: a test host started with SIGINT ignored (a background job of a non-interactive shell)
        // would pass the ignore on, and .NET keeps an inherited ignore.
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--default-signal=INT", "dotnet", KbenchCli.Dll, "--workspace", ws, "serve", "--listen", "http://127.0.0.1:0" })
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            using var startup = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            startup.CancelAfter(TimeSpan.FromMinutes(2)); // a bound for a broken start, not a timing assertion
            var line = await p.StandardOutput.ReadLineAsync(startup.Token);
            Assert.True(line?.StartsWith("serving ", StringComparison.Ordinal) == true, $"{line}\n{(p.HasExited ? await stderr : "")}");
            Assert.Equal(0, Posix.Kill(p.Id, 2)); // SIGINT, as Ctrl-C sends it
            await p.WaitForExitAsync(startup.Token);
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }
        }
        Assert.True(p.ExitCode == 130, $"exit {p.ExitCode}: {await stderr}");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Two_processes_importing_into_one_workspace_both_succeed()
    {
        var ws = _tmp["ws"];
        Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
        var file = WriteCopies(200, "p");
        var a = KbenchCli.RunAsync("bugs", "import", file, "--workspace", ws);
        var b = KbenchCli.RunAsync("bugs", "import", SharedData.Path("realbugs"), "--workspace", ws);
        var results = await Task.WhenAll(a, b);
        Assert.All(results, r => Assert.True(r.Succeeded, r.StandardError));
        Assert.Equal(203L, CountBugs(ws));
        Assert.Equal("ok", Scalar(Path.Combine(ws, "kbench.db"), "PRAGMA integrity_check"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Sigkill_during_an_import_leaves_all_of_the_batch_or_none()
    {
        var ws = _tmp["ws"];
        Assert.Equal(0, (await KbenchCli.RunAsync("init", "--workspace", ws)).ExitCode);
        const int n = 1200;
        var file = WriteCopies(n, "k");
        var seen = new HashSet<long>();
        // Kill at moments spread over parsing, the transaction and the commit.
        foreach (var delayMs in new[] { 300, 900, 1500, 2200, 3000, 4000, 5500, 7500 })
        {
            using var p = KbenchCli.Start("bugs", "import", file, "--workspace", ws);
            var exited = p.WaitForExit(delayMs);
            if (!exited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }
            var count = CountBugs(ws);
            Assert.True(count == 0 || count == n, $"after a kill at {delayMs} ms the store holds {count} of {n} bugs");
            Assert.Equal("ok", Scalar(Path.Combine(ws, "kbench.db"), "PRAGMA integrity_check"));
            seen.Add(count);
            if (count == n)
            {
                break;
            }
        }
        // Finish the import: the rerun completes and nothing is duplicated.
        var final = await KbenchCli.RunAsync("bugs", "import", file, "--workspace", ws);
        Assert.True(final.Succeeded, final.StandardError);
        Assert.Equal(n, CountBugs(ws));
        Assert.Contains(0L, seen); // at least one kill landed before the commit
    }

    private string WriteCopies(int n, string prefix)
    {
        var docs = BugImport.ReadInput(SharedData.Path("realbugs"), Clock.UtcNow());
        var file = _tmp[$"copies-{prefix}.jsonl"];
        using var w = new StreamWriter(file);
        for (var i = 0; i < n; i++)
        {
            var d = docs[i % docs.Count];
            w.WriteLine((d with { Id = $"{prefix}{i:D5}-{d.Id}", Extid = null, SyzbotId = null, BundleKey = null, Source = LiveKBench.Arena.Store.BugSource.Export }).ToJsonLine());
        }
        return file;
    }

    /// <summary>Bugs every query sees: a large import stages its rows hidden by an import id until its final swap.</summary>
    private static long CountBugs(string ws) => (long)Scalar(Path.Combine(ws, "kbench.db"), "SELECT COUNT(*) FROM Bugs WHERE ImportId IS NULL")!;


    private static object? Scalar(string db, string sql)
    {
        using var c = new SqliteConnection($"Data Source={db};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }
}
