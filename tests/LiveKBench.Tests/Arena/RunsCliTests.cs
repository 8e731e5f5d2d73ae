using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;
using LiveKBench.Tests.Web;

namespace LiveKBench.Tests.Arena;

/// <summary>
/// <c>kbench runs list|show</c> through the real CLI, on the dashboard tests' workspace (the real bugs of
/// shared/data/realbugs, two configurations with runs of every outcome, judge votes, localization, trajectories; no kernels).
/// </summary>
public sealed class RunsCliTests : IDisposable
{
    private readonly DashboardWorkspace _fx = new();

    public void Dispose() => _fx.Dispose();

    private Task<ProcessResult> Kbench(params string[] args) => KbenchCli.RunAsync(["--workspace", _fx.Root, .. args]);

    private AgentRun Run(string config, string bugId, int runIndex)
    {
        using var db = _fx.Workspace.OpenStore();
        return db.AgentRuns.Single(r => r.AgentConfiguration!.Name == config && r.BugId == bugId && r.RunIndex == runIndex);
    }

    [Fact]
    public async Task List_json_has_every_run_and_filters_by_configuration_and_bug()
    {
        var all = await Kbench("runs", "list", "--json");
        Assert.True(all.Succeeded, all.StandardError);
        using var doc = JsonDocument.Parse(all.StandardOutput);
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(2 * _fx.AllBugIds.Count * 2, rows.Count);
        Assert.Equal(rows.Select(r => r.GetProperty("id").GetInt32()).Order(), rows.Select(r => r.GetProperty("id").GetInt32()));
        // Every outcome of the fixture appears, named as the leaderboard counts them.
        var outcomes = rows.Select(r => r.GetProperty("crashResolution").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "resolved", "notResolved", "bootError", "compilationError", "pending", "agentError" }, outcomes);

        var resolved = Run("kbench-agent-model-a", _fx.RealBugIds[0], 0);
        var row = rows.Single(r => r.GetProperty("id").GetInt32() == resolved.Id);
        Assert.Equal("resolved", row.GetProperty("crashResolution").GetString());
        Assert.Equal("equivalent", row.GetProperty("judges")[0].GetProperty("outcome").GetString());
        Assert.Equal(1.0, row.GetProperty("fileIou").GetDouble());
        Assert.Equal(0.5, row.GetProperty("functionIou").GetDouble());
        Assert.Equal(resolved.DollarCost, row.GetProperty("dollarCost").GetDouble());
        // A failed agent run has no localization: null, not 0.
        var failed = rows.First(r => r.GetProperty("crashResolution").GetString() == "agentError");
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("fileIou").ValueKind);

        var byConfig = await Kbench("runs", "list", "--json", "--agent-config", "kbench-agent-model-b-stateful");
        Assert.True(byConfig.Succeeded, byConfig.StandardError);
        using var cdoc = JsonDocument.Parse(byConfig.StandardOutput);
        Assert.Equal(_fx.AllBugIds.Count * 2, cdoc.RootElement.GetArrayLength());
        Assert.All(cdoc.RootElement.EnumerateArray(), r => Assert.Equal("kbench-agent-model-b-stateful", r.GetProperty("agentConfig").GetString()));

        // --bug takes a bundle key too.
        var byBug = await Kbench("runs", "list", "--json", "--bug", "unix_shutdown", "--agent-config", "kbench-agent-model-a");
        Assert.True(byBug.Succeeded, byBug.StandardError);
        using var bdoc = JsonDocument.Parse(byBug.StandardOutput);
        Assert.Equal(2, bdoc.RootElement.GetArrayLength());
        Assert.All(bdoc.RootElement.EnumerateArray(), r => Assert.Equal("cd7ceee0d3b5892f07af", r.GetProperty("bugId").GetString()));

        var text = await Kbench("runs", "list", "--bug", "unix_shutdown");
        Assert.True(text.Succeeded, text.StandardError);
        Assert.Contains("4 runs", text.StandardOutput);
        Assert.Contains("kbench-agent-model-a", text.StandardOutput);

        var unknownConfig = await Kbench("runs", "list", "--agent-config", "nope");
        Assert.Equal(1, unknownConfig.ExitCode);
        Assert.Contains("no agent configuration nope", unknownConfig.StandardError);
        var unknownBug = await Kbench("runs", "list", "--bug", "no-such-bug");
        Assert.Equal(1, unknownBug.ExitCode);
        Assert.Contains("no bug no-such-bug", unknownBug.StandardError);
    }

    [Fact]
    public async Task Show_prints_patch_verdict_instances_consoles_votes_localization_cost_and_trajectory()
    {
        var run = Run("kbench-agent-model-a", _fx.RealBugIds[0], 0);
        string console;
        using (var db = _fx.Workspace.OpenStore())
        {
            var ce = db.CrashResolutionEvaluations.Single(e => e.AgentRunId == run.Id);
            console = JsonSerializer.Deserialize<ReproductionResult>(ce.ResultJson!, LiveKBench.Gym.GymJob.JsonOptions)!.Instances.Single().ConsolePath;
        }
        Assert.True(File.Exists(console), console);

        var show = await Kbench("runs", "show", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(show.Succeeded, show.StandardError);
        var o = show.StandardOutput;
        Assert.Contains($"run {run.Id}  kbench-agent-model-a (model-a-2025) on {_fx.RealBugIds[0]}", o);
        Assert.Contains("crash resolution: resolved (verdict notReproduced)", o);
        Assert.Contains("console " + console, o);
        Assert.Contains("judge judge-5-votes: equivalent, votes yes 3, no 0, error 0", o);
        Assert.Equal(3, o.Split("\n").Count(l => l.TrimStart().StartsWith("vote ", StringComparison.Ordinal)));
        Assert.Contains("file IoU      100.0 % (1/1)", o);
        Assert.Contains("function IoU  50.0 % (1/2)", o);
        Assert.Contains("def. IoU      –", o);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"cost          {run.DollarCost:0.0000} USD"), o);
        Assert.Contains(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"time          {run.TimeSeconds:0} s"), o);
        Assert.Contains("exit reason   normal", o);
        Assert.Contains("trajectory    " + run.TrajectoryPath, o);
        using (var db = _fx.Workspace.OpenStore())
        {
            Assert.Contains(db.Patches.Single(p => p.Id == run.PatchId).Content, o.Replace("\r\n", "\n"));
        }

        var json = await Kbench("runs", "show", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
        Assert.True(json.Succeeded, json.StandardError);
        using var doc = JsonDocument.Parse(json.StandardOutput);
        var r = doc.RootElement;
        Assert.Equal("resolved", r.GetProperty("crashResolution").GetProperty("outcome").GetString());
        Assert.Equal(console, r.GetProperty("crashResolution").GetProperty("instances")[0].GetProperty("console").GetString());
        Assert.Equal(3, r.GetProperty("judges")[0].GetProperty("votes").GetArrayLength());
        Assert.Equal(1.0, r.GetProperty("localization").GetProperty("fileIou").GetDouble());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("localization").GetProperty("definitionIou").ValueKind);
        Assert.Equal(run.TrajectoryPath, r.GetProperty("trajectoryPath").GetString());
        Assert.Equal("normal", r.GetProperty("exitReason").GetString());
    }

    [Fact]
    public async Task Show_prints_the_localization_sets_of_agent_and_developer()
    {
        var run = Run("kbench-agent-model-a", _fx.RealBugIds[0], 1); // the fixture's patch of kernel/other.c
        var show = await Kbench("runs", "show", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json");
        Assert.True(show.Succeeded, show.StandardError);
        using var doc = JsonDocument.Parse(show.StandardOutput);
        var loc = doc.RootElement.GetProperty("localization");
        Assert.Equal(["kernel/other.c"], loc.GetProperty("agent").GetProperty("files").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, loc.GetProperty("agent").GetProperty("functions").GetArrayLength());
        Assert.Equal(0.0, loc.GetProperty("fileIou").GetDouble());
        Assert.Equal("notResolved", doc.RootElement.GetProperty("crashResolution").GetProperty("outcome").GetString());
        var text = await Kbench("runs", "show", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("agent files       kernel/other.c", text.StandardOutput);
        Assert.Contains("file IoU      0.0 % (0/2)", text.StandardOutput);
        Assert.Contains("judge judge-5-votes: discrepant, votes yes 0, no 3", text.StandardOutput);
    }

    [Fact]
    public async Task Show_of_a_failed_run_says_so_and_an_unknown_run_exits_1()
    {
        int failedId;
        using (var db = _fx.Workspace.OpenStore())
        {
            failedId = db.AgentRuns.Where(r => r.Status == WorkStatus.Failed).Select(r => r.Id).First();
        }
        var show = await Kbench("runs", "show", failedId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(show.Succeeded, show.StandardError);
        Assert.Contains("status        failed: agent exited with code 1", show.StandardOutput);
        Assert.Contains("crash resolution: agentError", show.StandardOutput);
        Assert.Contains("patch: – (the run produced none)", show.StandardOutput);
        Assert.Contains("judge: – (not judged)", show.StandardOutput);

        var missing = await Kbench("runs", "show", "99999");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("no run 99999", missing.StandardError);
        Assert.Equal("", missing.StandardOutput);
        Assert.Equal(2, (await Kbench("runs", "show", "not-a-number")).ExitCode);
    }
}
