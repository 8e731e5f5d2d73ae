using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Evaluation.Research;
using LiveKBench.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveKBench.Tests.Evaluation;

public sealed class StoreEvaluationTests
{
    [Fact]
    public async Task LocalizationRunnerStoresAnalysesAndIou()
    {
        var repo = await KernelSubset.RepoAsync();
        using var store = new EvalStore();
        var fix = await File.ReadAllTextAsync(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"), TestContext.Current.CancellationToken);
        store.AddBug("unix", fix);
        var cfg = store.AddConfig("a");
        var same = store.AddRun(cfg, "unix", 0, fix);
        var other = store.AddRun(cfg, "unix", 1, await KernelSubset.MakePatchAsync(repo, w => KernelSubset.Replace(w, "net/socket.c",
            "SYSCALL_DEFINE3(socket, int, family, int, type, int, protocol)\n{\n", "SYSCALL_DEFINE3(socket, int, family, int, type, int, protocol)\n{\n\t/* x */\n")));
        var broken = store.AddRun(cfg, "unix", 2, "--- a/net/unix/af_unix.c\n+++ b/net/unix/af_unix.c\n@@ -1,1 +1,1 @@\n-no such line\n+x\n");
        var failedAgent = store.AddRun(cfg, "unix", 3, null);
        var options = new LocalizationRunOptions { RepositoryFor = _ => repo };
        var s = await LocalizationRunner.RunAsync(store.Db, options, NullLogger.Instance, TestContext.Current.CancellationToken);
        Assert.Equal(2, s.PatchesAnalyzed);
        Assert.Equal(1, s.PatchesInvalid);
        Assert.Equal(2, s.Evaluations);
        Assert.Equal(1, s.EvaluationsInvalid);
        var rows = store.Db.LocalizationEvaluations.AsNoTracking().ToDictionary(e => e.AgentRunId);
        Assert.Equal((1.0, 1.0), (rows[same.Id].FileIou, rows[same.Id].FunctionIou));
        Assert.Equal((0.0, 0.0, 2, 2), (rows[other.Id].FileIou, rows[other.Id].FunctionIou, rows[other.Id].FileUnion, rows[other.Id].FunctionUnion));
        Assert.Equal(AnalysisStatus.Invalid, rows[broken.Id].Status);
        Assert.Contains("does not apply", rows[broken.Id].Reason);
        Assert.False(rows.ContainsKey(failedAgent.Id));
        var patch = store.Db.Patches.AsNoTracking().Single(p => p.Id == same.PatchId);
        Assert.Equal(["net/unix/af_unix.c"], patch.ModifiedFiles);
        Assert.Equal(["unix_shutdown"], patch.ModifiedFunctions);
        Assert.Equal(1, patch.Attempts);

        // A second pass does no work (success rows are kept; the invalid patch is final).
        var again = await LocalizationRunner.RunAsync(store.Db, options, NullLogger.Instance, TestContext.Current.CancellationToken);
        Assert.Equal(0, again.PatchesAnalyzed + again.PatchesInvalid + again.PatchesFailed);
        Assert.Equal(0, again.Evaluations);
        Assert.Equal(1, again.EvaluationsInvalid);
    }

    [Fact]
    public async Task LeaderboardQueryAndCutoffSplitFromTheStore()
    {
        using var store = new EvalStore();
        var early = new DateTime(2024, 1, 10, 12, 0, 0, DateTimeKind.Utc);
        var late = new DateTime(2025, 3, 1, 0, 0, 0, DateTimeKind.Utc);
        store.AddBug("b1", "d1", early);
        store.AddBug("b2", "d2", late);
        store.AddBug("b3", "d3", null);
        var a = store.AddConfig("alpha", "model-a", "ma");
        var b = store.AddConfig("beta", "model-b", "mb");
        store.AddRun(a, "b1", 0, "p", Verdict.NotReproduced);
        store.AddRun(a, "b1", 1, "p2", Verdict.BootError);
        store.AddRun(a, "b2", 0, "p3", Verdict.Reproduced);
        store.AddRun(a, "b3", 0, "p4", Verdict.NotReproduced);
        store.AddRun(b, "b1", 0, null);
        store.AddRun(b, "b2", 0, "p5", Verdict.Error);
        store.AddRun(b, "b2", 1, "p6");
        var judge = new JudgeConfiguration { Name = "j", Prompt = "x", ModelConfigName = "ma" };
        store.Db.JudgeConfigurations.Add(judge);
        store.Db.SaveChanges();
        var firstRun = store.Db.AgentRuns.Single(r => r.AgentConfigurationId == a.Id && r.BugId == "b1" && r.RunIndex == 0);
        store.Db.JudgeEvaluations.Add(new JudgeEvaluation { JudgeConfigurationId = judge.Id, AgentRunId = firstRun.Id, DeveloperPatchId = store.Db.DeveloperPatches.Single(d => d.BugId == "b1").Id, Status = WorkStatus.Done, Outcome = JudgeOutcome.Equivalent, YesCount = 3 });
        store.Db.SaveChanges();

        var lb = Leaderboard.Query(store.Db, new LeaderboardOptions { K = 2, Replicates = 200 });
        Assert.Equal("j", lb.Judge);
        Assert.Equal(3, lb.Bugs);
        var alpha = lb.Rows.Single(r => r.AgentConfig == "alpha");
        Assert.Equal(((0.5) + 0 + 1) / 3, alpha.Crr.Mean, 12);
        Assert.Equal(0.5 / 3, alpha.Epr.Mean, 12);
        Assert.Equal(1, alpha.Outcomes.BootError);
        Assert.Equal(["b2", "b3"], alpha.IncompleteBugs.Select(i => i.BugId));
        var beta = lb.Rows.Single(r => r.AgentConfig == "beta");
        Assert.Equal(0, beta.Crr.Mean);
        Assert.Equal(new OutcomeCounts(0, 0, 0, 0, 1, 1, 1), beta.Outcomes);
        using var doc = JsonDocument.Parse(lb.ToJson());
        Assert.Equal(2, doc.RootElement.GetProperty("rows").GetArrayLength());
        Assert.Throws<LeaderboardException>(() => Leaderboard.Query(store.Db, new LeaderboardOptions { Dataset = "nope" }));

        store.Db.Datasets.Add(new Dataset { Name = "ds", Members = [new DatasetMember { BugId = "b1" }] });
        store.Db.SaveChanges();
        var only = Leaderboard.Query(store.Db, new LeaderboardOptions { Dataset = "ds", K = 1, Replicates = 0 });
        Assert.Equal(1, only.Bugs);
        Assert.Equal(0.5, only.Rows.Single(r => r.AgentConfig == "alpha").Crr.Mean, 12);

        var models = Path.Combine(store.Workspace.ConfigsDir, "models");
        File.WriteAllText(Path.Combine(models, "ma.yaml"), "baseUrl: http://x/v1\nmodel: model-a\ntrainingCutoff: 2024-06-01\n");
        File.WriteAllText(Path.Combine(models, "mb.yaml"), "baseUrl: http://x/v1\nmodel: model-b\n");
        var cut = CutoffResearch.Compute(store.Db, models, new LeaderboardOptions { K = 1, Replicates = 200 });
        Assert.Equal(1, cut.BugsWithoutFixDate);
        Assert.Equal(["beta"], cut.ConfigsWithoutCutoff);
        var row = Assert.Single(cut.Rows);
        Assert.Equal((1, 1), (row.BugsBefore, row.BugsAfter));
        Assert.Equal(0.5, row.CrrBefore.Mean, 12);
        Assert.Equal(0.0, row.CrrAfter.Mean, 12);
        Assert.Equal(0.5, row.CrrDifference.Mean, 12);
        Assert.Equal(0.5, row.EprBefore.Mean, 12);
        var written = await CutoffResearch.WriteChartAsync(store.Workspace, cut, TestContext.Current.CancellationToken);
        Assert.True(File.Exists(written.ChartSvg));
        var svg = File.ReadAllText(written.ChartSvg!);
        Assert.Contains("<svg", svg);
        Assert.Contains("fixed before cutoff", svg);
        // A real PNG (ScottPlot, no external converter): the signature and a non-trivial size.
        var png = File.ReadAllBytes(written.ChartPng!);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, png[..4]);
        Assert.True(png.Length > 5000, $"PNG of {png.Length} bytes");
        Assert.Null(written.PngSkipped);

        // No rows: no empty chart, a reason instead.
        var none = await CutoffResearch.WriteChartAsync(store.Workspace, cut with { Rows = [] }, TestContext.Current.CancellationToken);
        Assert.Null(none.ChartSvg);
        Assert.Null(none.ChartPng);
        Assert.Contains("no chart", none.PngSkipped);
    }
}
