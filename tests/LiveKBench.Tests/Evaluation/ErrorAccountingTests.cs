using System.Text.Json;
using LiveKBench.Arena.Stages;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Kernel.Vm;

namespace LiveKBench.Tests.Evaluation;

/// <summary>Infrastructure errors that stay after the retries are the verdict error, counted in <c>counts.error</c>, never pending.</summary>
public sealed class ErrorAccountingTests
{
    private static ReproductionResult LostVm() => VerdictCalculator.Combine(
        [new InstanceVerdict(0, ReproductionVerdict.Error, "VM stopped before the end marker without a recognised crash report", null, false, "/c", null, 2)], 60, 2);

    [Fact]
    public void AnErrorThatStaysAfterRetriesShowsInCountsError()
    {
        using var store = new EvalStore();
        store.AddBug("b1", "d1");
        var cfg = store.AddConfig("alpha");
        var errorRun = store.AddRun(cfg, "b1", 0, "p1");
        var inconclusiveRun = store.AddRun(cfg, "b1", 1, "p2");
        store.AddRun(cfg, "b1", 2, "p3", Verdict.NotReproduced);
        var kc = store.Db.KcacheEntries.Single(k => k.BugId == "b1");
        const int maxAttempts = 3;

        var eval = new CrashResolutionEvaluation { AgentRunId = errorRun.Id, KcacheEntryId = kc.Id };
        store.Db.CrashResolutionEvaluations.Add(eval);
        var inconclusive = new CrashResolutionEvaluation { AgentRunId = inconclusiveRun.Id, KcacheEntryId = kc.Id, Attempts = 1 };
        store.Db.CrashResolutionEvaluations.Add(inconclusive);
        ReproductionStages.ApplyEvaluation(inconclusive, new ReproductionResult(ReproductionVerdict.Inconclusive, "cap", null, false, [], 0, 0, FalseFixBound: 0.07), maxAttempts);

        // Attempts left: stored failed (retried by the next run) and shown as pending.
        for (var attempt = 1; attempt < maxAttempts; attempt++)
        {
            eval.Attempts = attempt;
            ReproductionStages.ApplyEvaluation(eval, LostVm(), maxAttempts);
            store.Db.SaveChanges();
            Assert.Equal(WorkStatus.Failed, eval.Status);
            var counts = Leaderboard.Query(store.Db, new LeaderboardOptions { K = 1, Replicates = 50 }).Rows.Single().Counts;
            Assert.Equal((1, 0), (counts.Pending, counts.Error));
        }

        // The last attempt fails too: the final verdict error, never pending, never a fix.
        eval.Attempts = maxAttempts;
        ReproductionStages.ApplyEvaluation(eval, LostVm(), maxAttempts);
        store.Db.SaveChanges();
        Assert.Equal((WorkStatus.Done, Verdict.Error), (eval.Status, eval.Verdict));
        var lb = Leaderboard.Query(store.Db, new LeaderboardOptions { K = 1, Replicates = 50 });
        var row = lb.Rows.Single();
        Assert.Equal(new RunCounts(3, 1, 0, 1, 0, 0, 1, 0), row.Counts);
        Assert.Equal(1.0 / 3, row.Crr.Mean, 12);

        using var json = JsonDocument.Parse(lb.ToJson());
        var c = json.RootElement.GetProperty("rows")[0].GetProperty("counts");
        Assert.Equal(["runs", "resolved", "notResolved", "inconclusive", "bootError", "compilationError", "error", "pending"], c.EnumerateObject().Select(p => p.Name));
        Assert.Equal(c.GetProperty("runs").GetInt32(), c.EnumerateObject().Where(p => p.Name != "runs").Sum(p => p.Value.GetInt32()));
        Assert.Equal(1, c.GetProperty("error").GetInt32());
    }
}
