using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Evaluation;

/// <summary><c>kbench leaderboard</c> through the real CLI: a metric that was not measured shows as – and null, never as 0.</summary>
public sealed class LeaderboardCliTests : IDisposable
{
    private const string Patch = "--- a/f.c\n+++ b/f.c\n@@ -1,1 +1,1 @@\n-a\n+b\n";
    private readonly EvalStore _s = new();

    public void Dispose() => _s.Dispose();

    private Task<ProcessResult> Kbench(params string[] args) => KbenchCli.RunAsync(["--workspace", _s.Root, .. args]);

    private static string Line(string output, string config) => output.Split('\n').Single(l => l.StartsWith(config + " ", StringComparison.Ordinal));

    [Fact]
    public async Task Epr_without_a_judge_verdict_is_a_dash_and_null_also_when_another_configuration_was_judged()
    {
        var bug = _s.AddBug("b1", Patch);
        var judged = _s.AddConfig("judged-config");
        var unjudged = _s.AddConfig("unjudged-config");
        var run = _s.AddRun(judged, "b1", 0, Patch, Verdict.NotReproduced);
        _s.AddRun(unjudged, "b1", 0, Patch, Verdict.NotReproduced);

        // No judge at all.
        var none = await Kbench("leaderboard");
        Assert.True(none.Succeeded, none.StandardError);
        Assert.Contains("judge: (none: EPR not measured)", none.StandardOutput);
        foreach (var config in new[] { "judged-config", "unjudged-config" })
        {
            var line = Line(none.StandardOutput, config);
            Assert.Contains("100.0 [100.0, 100.0] –", line); // CRR measured; the EPR column right after it is not
        }

        // A judge that evaluated only one configuration's run: the other's EPR is still not measured.
        var judge = new JudgeConfiguration { Name = "j", Prompt = "{devPatch} {agentPatch}", ModelConfigName = "m" };
        _s.Db.JudgeConfigurations.Add(judge);
        _s.Db.SaveChanges();
        _s.Db.JudgeEvaluations.Add(new JudgeEvaluation { JudgeConfigurationId = judge.Id, AgentRunId = run.Id, DeveloperPatchId = bug.DeveloperPatch!.Id, Status = WorkStatus.Done, Outcome = JudgeOutcome.Equivalent, YesCount = 1 });
        _s.Db.SaveChanges();

        var text = await Kbench("leaderboard");
        Assert.True(text.Succeeded, text.StandardError);
        Assert.Contains("judge: j ", text.StandardOutput);
        Assert.Matches(@"100\.0 \[100\.0, 100\.0\] +100\.0 \[100\.0, 100\.0\]", Line(text.StandardOutput, "judged-config"));
        var other = Line(text.StandardOutput, "unjudged-config");
        Assert.Contains("100.0 [100.0, 100.0] –", other);

        var json = await Kbench("leaderboard", "--json");
        Assert.True(json.Succeeded, json.StandardError);
        using var doc = JsonDocument.Parse(json.StandardOutput);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("agentConfig").GetString()!);
        Assert.Equal(1.0, rows["judged-config"].GetProperty("epr").GetProperty("mean").GetDouble());
        Assert.Equal(JsonValueKind.Null, rows["unjudged-config"].GetProperty("epr").ValueKind);
        Assert.Equal(JsonValueKind.Null, rows["unjudged-config"].GetProperty("passAtK").GetProperty("epr").ValueKind);
        Assert.Equal(JsonValueKind.Null, rows["unjudged-config"].GetProperty("meanAtK").GetProperty("epr").ValueKind);
        Assert.False(rows["unjudged-config"].TryGetProperty("eprMeasured", out _));

        var csv = (await Kbench("leaderboard", "--csv")).StandardOutput.Split('\n');
        var header = csv[0].Split(',');
        var unjudgedCells = csv.Single(l => l.StartsWith("unjudged-config,", StringComparison.Ordinal)).Split(',');
        Assert.Equal("", unjudgedCells[Array.IndexOf(header, "epr")]);
        Assert.Equal("1", unjudgedCells[Array.IndexOf(header, "crr")]);

        // The reference computation from the run tables agrees with the cell table the CLI read.
        var fromRuns = Leaderboard.QueryFromRuns(_s.Db, new LeaderboardOptions());
        Assert.True(fromRuns.Rows.Single(r => r.AgentConfig == "judged-config").EprMeasured);
        Assert.False(fromRuns.Rows.Single(r => r.AgentConfig == "unjudged-config").EprMeasured);
        Assert.Equal(json.StandardOutput.Trim(), fromRuns.ToJson().Trim());
    }
}
