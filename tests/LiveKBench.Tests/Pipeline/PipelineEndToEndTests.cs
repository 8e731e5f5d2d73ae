using System.Diagnostics;
using System.Text.Json;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using Microsoft.Data.Sqlite;

namespace LiveKBench.Tests.Pipeline;

/// <summary>
/// `kbench run` end to end on the real syzbot bugs (issue: the main job). Slow: builds kernels and boots VMs.
/// </summary>
[Collection("pipeline")]
[Trait("Category", "Slow")]
public sealed class PipelineEndToEndTests(PipelineFixture fx)
{
    [Fact]
    public async Task Real_bugs_reproduce_oracle_resolves_all_empty_resolves_none_and_oracle_localizes_exactly()
    {
        var board = await fx.FirstRunAsync();

        // Every baseline reproduced with the bug's own crash title.
        var expected = Directory.GetDirectories(SharedData.Path("realbugs")).Where(d => File.Exists(Path.Combine(d, "bug.json")))
            .Select(d => JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "bug.json"))).RootElement)
            .ToDictionary(b => b.GetProperty("syzbot").TryGetProperty("extid", out var e) ? e.GetString()! : b.GetProperty("syzbot").GetProperty("id").GetString()!,
                b => b.GetProperty("crashTitle").GetString()!);
        var baselines = Query("SELECT BugId, Verdict, CrashTitle, SameCrash FROM KcacheEntries");
        foreach (var (bug, title) in expected)
        {
            var row = Assert.Single(baselines, r => (string)r[0]! == bug);
            Assert.Equal("reproduced", row[1]);
            Assert.Equal(title, row[2]);
            Assert.Equal(1L, row[3]);
        }

        var rows = board.RootElement.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("agentConfig").GetString()!);
        var oracle = rows["developer-oracle"];
        var empty = rows["empty"];
        Assert.Equal(expected.Count, oracle.GetProperty("bugs").GetInt32());
        Assert.Equal(1.0, oracle.GetProperty("crr").GetProperty("mean").GetDouble());
        Assert.Equal(0.0, empty.GetProperty("crr").GetProperty("mean").GetDouble());
        Assert.Equal(1.0, oracle.GetProperty("fileIou").GetProperty("mean").GetDouble());
        Assert.Equal(1.0, oracle.GetProperty("functionIou").GetProperty("mean").GetDouble());

        // The developer fix gives notReproduced in every instance; the empty patch reproduces the crash.
        var evals = Query("SELECT c.Name, e.Verdict, e.ResultJson FROM CrashResolutionEvaluations e JOIN AgentRuns r ON r.Id = e.AgentRunId JOIN AgentConfigurations c ON c.Id = r.AgentConfigurationId");
        foreach (var e in evals.Where(e => (string)e[0]! == "developer-oracle"))
        {
            Assert.Equal("notReproduced", e[1]);
            using var result = JsonDocument.Parse((string)e[2]!);
            Assert.All(result.RootElement.GetProperty("instances").EnumerateArray(), i => Assert.Equal("NotReproduced", i.GetProperty("verdict").GetString()));
        }
        Assert.All(evals.Where(e => (string)e[0]! == "empty"), e => Assert.Equal("reproduced", e[1]));
    }

    [Fact]
    public async Task Sigkill_at_ten_moments_then_rerun_finishes_without_duplicates_or_leftovers_and_same_leaderboard()
    {
        await fx.FirstRunAsync();
        // One bug, one more run per configuration: every later stage gets new work (agent runs, crash evaluations with
        // an incremental build and VMs, localization) while the test stays within CI time.
        const string dataset = "crash-safety";
        var bug = "cd7ceee0d3b5892f07af"; // unix_shutdown
        var create = await fx.Run("dataset", "create", dataset, "--bug", bug);
        Assert.True(create.Succeeded || create.StandardError.Contains("exists already", StringComparison.Ordinal), create.StandardError);
        var referenceRun = await fx.Run("leaderboard", "--dataset", dataset, "--json");
        Assert.True(referenceRun.Succeeded, referenceRun.StandardError);
        using var reference = JsonDocument.Parse(referenceRun.StandardOutput);

        // One more run per configuration than the workspace has (2 on a fresh workspace), so there is always new work.
        var runs = (int)Scalar($"SELECT COALESCE(MAX(RunIndex), 0) FROM AgentRuns WHERE BugId = '{bug}'") + 2;
        string[] args = ["run", "--dataset", dataset, "--agents", "developer-oracle,empty", "--runs", runs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"];
        var plan = new (string Marker, int DelayMs)[]
        {
            ("kcache", 100), ("kcache", 1200), ("agent developer-oracle", 300), ("agent developer-oracle", 1500), ("agent empty", 200),
            ("crash resolution", 1000), ("crash resolution", 3000), ("crash resolution", 6000), ("crash resolution", 10000),
            ("crash resolution", 20000), ("crash resolution", 500), ("localization", 100), ("crash resolution", 40000),
        };
        var kills = new List<string>();
        foreach (var (marker, delay) in plan)
        {
            if (await RunAndKillAsync(args, marker, delay))
            {
                kills.Add($"{marker}+{delay}ms");
            }
        }
        Assert.True(kills.Count >= 10, $"only {kills.Count} kills landed before the run finished: {string.Join(", ", kills)}");

        var final = await fx.Run(args);
        Assert.True(final.Succeeded, final.StandardError);
        AssertNoLeftovers();

        // No duplicate rows: one run per (configuration, bug, index), one evaluation of each kind per run.
        Assert.Equal(2L * runs, Scalar($"SELECT COUNT(*) FROM AgentRuns WHERE BugId = '{bug}'"));
        Assert.Equal(0L, Scalar($"SELECT COUNT(*) FROM AgentRuns WHERE BugId = '{bug}' AND Status <> 'done'"));
        Assert.Equal(2L * runs, Scalar($"SELECT COUNT(*) FROM CrashResolutionEvaluations e JOIN AgentRuns r ON r.Id = e.AgentRunId WHERE r.BugId = '{bug}' AND e.Status = 'done'"));
        Assert.Equal(2L * runs, Scalar($"SELECT COUNT(*) FROM LocalizationEvaluations e JOIN AgentRuns r ON r.Id = e.AgentRunId WHERE r.BugId = '{bug}'"));
        Assert.Empty(Query("SELECT BugId FROM KcacheEntries GROUP BY BugId HAVING COUNT(*) > 1"));

        // The leaderboard equals the uninterrupted run's: each baseline run is deterministic, so the second run of
        // each configuration changes no metric (only the run counts).
        using var after = JsonDocument.Parse(final.StandardOutput);
        Assert.Equal(Metrics(reference), Metrics(after));
    }

    private long Scalar(string sql) => (long)Query(sql)[0][0]!;

    private async Task<bool> RunAndKillAsync(string[] args, string marker, int delayMs)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { KbenchCli.Dll }.Concat(args).Concat(["--workspace", fx.Workspace]))
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var seen = new TaskCompletionSource();
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.Contains($"] {marker}", StringComparison.Ordinal))
            {
                seen.TrySetResult();
            }
        };
        p.OutputDataReceived += (_, _) => { };
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        var exited = p.WaitForExitAsync();
        if (await Task.WhenAny(seen.Task, exited, Task.Delay(TimeSpan.FromMinutes(30))) != seen.Task)
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: false);
            }
            return false;
        }
        if (await Task.WhenAny(exited, Task.Delay(delayMs)) == exited)
        {
            return false;
        }
        // SIGKILL the kbench process only, like an OOM kill or a power cut of the main process: its children
        // (make, QEMU) are orphaned and must be cleaned up by the next run.
        p.Kill(entireProcessTree: false);
        await p.WaitForExitAsync();
        return true;
    }

    private void AssertNoLeftovers()
    {
        // After a completed run nothing of the killed runs may remain: no job work tree (on disk or registered in
        // the mirror) and no QEMU instance started from this workspace.
        var worktrees = Path.Combine(fx.Workspace, "work", "worktrees");
        var onDisk = Directory.Exists(worktrees) ? Directory.GetDirectories(worktrees) : [];
        Assert.True(onDisk.Length == 0, "work trees left: " + string.Join(", ", onDisk));
        var mirror = Path.Combine(fx.Workspace, "mirrors", "linux-source-6.1");
        var list = ProcessRunner.RunAsync("git", ["-C", mirror, "worktree", "list", "--porcelain"]).GetAwaiter().GetResult();
        // The only registered work trees allowed are the kept trees of kcache entries (work/kcache/*.src).
        var kcache = Path.Combine(fx.Workspace, "work", "kcache") + "/";
        var registered = list.StandardOutput.Split('\n').Where(l => l.StartsWith("worktree ", StringComparison.Ordinal)).Skip(1)
            .Select(l => l["worktree ".Length..]).Where(p => !p.StartsWith(kcache, StringComparison.Ordinal)).ToList();
        Assert.True(registered.Count == 0, "registered job work trees left: " + string.Join(", ", registered));
        var qemu = Process.GetProcesses().Where(pr =>
        {
            try
            {
                return pr.ProcessName.StartsWith("qemu-system", StringComparison.Ordinal)
                    && File.ReadAllText($"/proc/{pr.Id}/cmdline").Contains(fx.Workspace, StringComparison.Ordinal);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
            {
                return false;
            }
        }).Select(pr => pr.Id).ToList();
        Assert.True(qemu.Count == 0, "QEMU processes left: " + string.Join(", ", qemu));
    }

    private static string Metrics(JsonDocument board)
        => string.Join("\n", board.RootElement.GetProperty("rows").EnumerateArray().OrderBy(r => r.GetProperty("agentConfig").GetString())
            .Select(r => string.Join(" ", new[] { "agentConfig", "bugs", "crr", "epr", "fileIou", "functionIou", "passAtK", "meanAtK" }
                .Select(k => r.GetProperty(k).GetRawText()))));

    private List<object?[]> Query(string sql)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(fx.Workspace, "kbench.db")};Pooling=False;Mode=ReadOnly");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            r.GetValues(row);
            rows.Add([.. row.Select(v => v is DBNull ? null : v)]);
        }
        return rows;
    }
}
