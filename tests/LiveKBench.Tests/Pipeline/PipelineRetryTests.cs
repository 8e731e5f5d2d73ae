using System.Text.Json;
using LiveKBench.Arena.Stages;
using LiveKBench.Arena.Store;
using LiveKBench.Tests.Evaluation;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Pipeline;

/// <summary>
/// `kbench retry`: rows whose infrastructure errors spent MaxAttempts go back to failed with no attempts (so every stage's
/// own selection takes them again); kernel verdicts, judge outcomes and invalid analyses stay as they are.
/// </summary>
public sealed class PipelineRetryTests : IDisposable
{
    private const string Diff = "--- a/net/x.c\n+++ b/net/x.c\n@@ -1 +1 @@\n-a\n+b\n";
    private readonly EvalStore _s = new();

    public void Dispose() => _s.Dispose();

    private int Max => _s.Workspace.Settings.MaxAttempts;

    private KcacheEntry Baseline(string bug, WorkStatus status, Verdict? verdict, int attempts, string reason)
    {
        var k = new KcacheEntry { BugId = bug, BaseKind = BaseCommitKind.ParentOfFix, Status = status, Verdict = verdict, Attempts = attempts, Reason = reason, FailureReason = verdict == Verdict.Error || status == WorkStatus.Failed ? reason : null };
        _s.Db.KcacheEntries.Add(k);
        _s.Db.SaveChanges();
        return k;
    }

    [Fact]
    public void Final_errors_of_every_stage_get_their_attempts_back_and_results_are_kept()
    {
        _s.AddBug("b1", Diff);
        _s.AddBug("b2", Diff);
        _s.AddBug("b3", Diff);
        _s.AddBug("b4", Diff);
        var spentBaseline = Baseline("b1", WorkStatus.Done, Verdict.Error, Max, "build: DirectoryNotFoundException");
        var failedAtLimit = Baseline("b2", WorkStatus.Failed, Verdict.Error, Max, "qemu died");
        var stillRetrying = Baseline("b3", WorkStatus.Failed, Verdict.Error, Max - 1, "qemu died");
        var reproduced = Baseline("b4", WorkStatus.Done, Verdict.Reproduced, 1, "crashed 5/5");

        var cfg = _s.AddConfig("oracle");
        var fixedRun = _s.AddRun(cfg, "b4", 0, Diff, Verdict.NotReproduced);
        var errorRun = _s.AddRun(cfg, "b4", 1, Diff, Verdict.Error);
        var inconclusiveRun = _s.AddRun(cfg, "b4", 2, Diff, Verdict.Inconclusive);
        var errorEval = _s.Db.CrashResolutionEvaluations.Single(e => e.AgentRunId == errorRun.Id);
        errorEval.Attempts = Max;
        errorEval.Reason = errorEval.FailureReason = "VM did not boot: qemu exited 1";
        var failedAgent = _s.AddRun(cfg, "b4", 3, patch: null);
        failedAgent.Attempts = Max;
        failedAgent.FailureReason = "agent process killed";
        var retryingAgent = _s.AddRun(cfg, "b4", 4, patch: null);
        retryingAgent.Attempts = 1;

        var judgeCfg = new JudgeConfiguration { Name = "j", Prompt = "p", ModelConfigName = "m" };
        _s.Db.JudgeConfigurations.Add(judgeCfg);
        _s.Db.SaveChanges();
        var devPatchId = _s.Db.DeveloperPatches.Single(d => d.BugId == "b4").Id;
        var spentJudge = new JudgeEvaluation { JudgeConfigurationId = judgeCfg.Id, AgentRunId = fixedRun.Id, DeveloperPatchId = devPatchId, Status = WorkStatus.Failed, Attempts = Max, FailureReason = "HTTP 503" };
        var doneJudge = new JudgeEvaluation { JudgeConfigurationId = judgeCfg.Id, AgentRunId = errorRun.Id, DeveloperPatchId = devPatchId, Status = WorkStatus.Done, Outcome = JudgeOutcome.Equivalent, Attempts = Max };
        _s.Db.JudgeEvaluations.AddRange(spentJudge, doneJudge);
        var patch = _s.Db.Patches.Single();
        patch.AnalysisStatus = AnalysisStatus.Error;
        patch.Attempts = Max;
        patch.FailureReason = "ctags timed out";
        _s.Db.SaveChanges();

        var counts = PipelineRetry.ResetSpent(_s.Db, Max);

        Assert.Equal(["kcache", "agent runs", "crash resolution", "judge", "localization"], counts.Select(c => c.Stage));
        Assert.Equal([2, 1, 1, 1, 1], counts.Select(c => c.Reset));
        Assert.Equal([new ReasonCount("build: DirectoryNotFoundException", 1), new ReasonCount("qemu died", 1)], counts[0].Reasons);
        Assert.Equal("VM did not boot: qemu exited 1", counts[2].Reasons.Single().Reason);

        using var db = _s.Workspace.OpenStore();
        KcacheEntry K(int id) => db.KcacheEntries.Single(k => k.Id == id);
        foreach (var k in new[] { K(spentBaseline.Id), K(failedAtLimit.Id) })
        {
            // The kcache stage's own selection: failed with attempts below the limit is done again.
            Assert.Equal((WorkStatus.Failed, 0, (Verdict?)null), (k.Status, k.Attempts, k.Verdict));
            Assert.NotNull(k.FailureReason);
        }
        Assert.Equal((WorkStatus.Failed, Max - 1), (K(stillRetrying.Id).Status, K(stillRetrying.Id).Attempts));
        Assert.Equal((WorkStatus.Done, Verdict.Reproduced), (K(reproduced.Id).Status, K(reproduced.Id).Verdict));

        var evals = db.CrashResolutionEvaluations.ToDictionary(e => e.AgentRunId);
        Assert.Equal((WorkStatus.Failed, 0, (Verdict?)null), (evals[errorRun.Id].Status, evals[errorRun.Id].Attempts, evals[errorRun.Id].Verdict));
        Assert.Equal("VM did not boot: qemu exited 1", evals[errorRun.Id].FailureReason);
        Assert.Equal((WorkStatus.Done, (Verdict?)Verdict.NotReproduced), (evals[fixedRun.Id].Status, evals[fixedRun.Id].Verdict));
        Assert.Equal((WorkStatus.Done, (Verdict?)Verdict.Inconclusive), (evals[inconclusiveRun.Id].Status, evals[inconclusiveRun.Id].Verdict));

        var runs = db.AgentRuns.ToDictionary(r => r.Id);
        Assert.Equal((WorkStatus.Failed, 0, "agent process killed"), (runs[failedAgent.Id].Status, runs[failedAgent.Id].Attempts, runs[failedAgent.Id].FailureReason));
        Assert.Equal(1, runs[retryingAgent.Id].Attempts);

        var judges = db.JudgeEvaluations.ToDictionary(j => j.AgentRunId);
        Assert.Equal((WorkStatus.Failed, 0), (judges[fixedRun.Id].Status, judges[fixedRun.Id].Attempts));
        Assert.Equal((WorkStatus.Done, Max, (JudgeOutcome?)JudgeOutcome.Equivalent), (judges[errorRun.Id].Status, judges[errorRun.Id].Attempts, judges[errorRun.Id].Outcome));

        Assert.Equal((AnalysisStatus.Error, 0), (db.Patches.Single().AnalysisStatus, db.Patches.Single().Attempts));

        // A second call finds nothing left to give back.
        Assert.All(PipelineRetry.ResetSpent(db, Max), c => Assert.Equal(0, c.Reset));
    }

    [Fact]
    public void Bug_and_stage_filters_leave_other_work_alone()
    {
        _s.AddBug("b1", Diff);
        _s.AddBug("b2", Diff);
        var one = Baseline("b1", WorkStatus.Done, Verdict.Error, Max, "x");
        var two = Baseline("b2", WorkStatus.Done, Verdict.Error, Max, "y");
        var cfg = _s.AddConfig("oracle");
        var run = _s.AddRun(cfg, "b1", 0, patch: null);
        run.Attempts = Max;
        // Two patches with spent analyses: the developer fix (b1's and b2's) and a patch only b2's run has.
        var other = _s.AddRun(cfg, "b2", 0, Diff.Replace("+b", "+c", StringComparison.Ordinal));
        foreach (var p in _s.Db.Patches)
        {
            p.AnalysisStatus = AnalysisStatus.Error;
            p.Attempts = Max;
        }
        _s.Db.SaveChanges();
        var analyses = PipelineRetry.ResetSpent(_s.Db, Max, [RetryStage.Localization], ["b1"]);
        Assert.Equal(1, Assert.Single(analyses).Reset);
        Assert.Equal(0, _s.Db.Patches.Single(p => p.Id != other.PatchId).Attempts);
        Assert.Equal(Max, _s.Db.Patches.Single(p => p.Id == other.PatchId).Attempts);

        var counts = PipelineRetry.ResetSpent(_s.Db, Max, [RetryStage.Kcache], ["b1"]);

        Assert.Equal("kcache", Assert.Single(counts).Stage);
        Assert.Equal(1, counts[0].Reset);
        using var db = _s.Workspace.OpenStore();
        Assert.Equal(0, db.KcacheEntries.Single(k => k.Id == one.Id).Attempts);
        Assert.Equal((WorkStatus.Done, Verdict.Error, Max), (db.KcacheEntries.Single(k => k.Id == two.Id).Status, db.KcacheEntries.Single(k => k.Id == two.Id).Verdict!.Value, db.KcacheEntries.Single(k => k.Id == two.Id).Attempts));
        Assert.Equal(Max, db.AgentRuns.Single(r => r.Id == run.Id).Attempts);
    }

    [Fact]
    public async Task Cli_retry_resets_a_final_baseline_error_and_rejects_unknown_stages_and_bugs()
    {
        _s.AddBug("b1", Diff);
        Baseline("b1", WorkStatus.Done, Verdict.Error, Max, "kernel build: DirectoryNotFoundException");

        var bad = await KbenchCli.RunAsync("retry", "--stage", "nope", "--workspace", _s.Root);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("unknown stage 'nope'", bad.StandardError);
        var noBug = await KbenchCli.RunAsync("retry", "--bug", "zzz", "--workspace", _s.Root);
        Assert.Equal(2, noBug.ExitCode);
        Assert.Contains("no bug zzz", noBug.StandardError);

        var ok = await KbenchCli.RunAsync("retry", "--stage", "kcache", "--json", "--workspace", _s.Root);
        Assert.True(ok.Succeeded, ok.StandardError);
        using var json = JsonDocument.Parse(ok.StandardOutput);
        var row = Assert.Single(json.RootElement.EnumerateArray());
        Assert.Equal("kcache", row.GetProperty("stage").GetString());
        Assert.Equal(1, row.GetProperty("reset").GetInt32());

        var status = await KbenchCli.RunAsync("status", "--json", "--workspace", _s.Root);
        using var st = JsonDocument.Parse(status.StandardOutput);
        var kcache = st.RootElement.EnumerateArray().Single(e => e.GetProperty("stage").GetString() == "kcache");
        Assert.Equal(1, kcache.GetProperty("failed").GetInt32());
        Assert.Equal(0, kcache.GetProperty("done").GetInt32());
    }
}
