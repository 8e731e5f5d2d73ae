using LiveKBench.Arena.Store;
using LiveKBench.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Tests.Arena;

/// <summary>
/// A workspace database written by the release that used EF Core 6.0.7 (<c>Fixtures/kbench-ef6.db</c>: the three real
/// bugs of the test data, one developer-oracle run per bug with crash-resolution, judge and localization evaluations,
/// a dataset) opens with today's EF Core, is migrated if its schema is older, and loses nothing.
/// </summary>
public sealed class EfCore6FixtureTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kbench-ef6-" + Guid.NewGuid().ToString("N")[..10]);

    [Fact]
    public void DatabaseWrittenByEfCore6OpensAndKeepsBugsRunsAndEvaluations()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "kbench.db");
        File.Copy(Path.Combine(SharedData.RepoRoot, "tests", "LiveKBench.Tests", "Arena", "Fixtures", "kbench-ef6.db"), path);

        using var db = StoreFactory.Open(path);
        Assert.Empty(db.Database.GetPendingMigrations());
        Assert.Equal(db.Database.GetMigrations(), db.Database.GetAppliedMigrations());

        var bugs = db.Bugs.Include(b => b.DeveloperPatch!).ThenInclude(d => d.Patch).Include(b => b.Reproducers).OrderBy(b => b.Id).ToList();
        Assert.Equal(["bridge_add_del_if", "cap_convert_nscap", "unix_shutdown"], bugs.Select(b => b.BundleKey));
        Assert.Equal(["24b98616278c31afc800", "7c17e17da1e764a4db88b33fb408531edef3c5a0", "cd7ceee0d3b5892f07af"], bugs.Select(b => b.Id));
        Assert.All(bugs, b =>
        {
            Assert.False(string.IsNullOrEmpty(b.Title));
            Assert.NotEmpty(b.Reproducers);
            Assert.Contains("+++ b/", b.DeveloperPatch!.Patch!.Content);
        });

        var runs = db.AgentRuns.Include(r => r.AgentConfiguration).Include(r => r.Patch).OrderBy(r => r.BugId).ToList();
        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.Equal("developer-oracle", r.AgentConfiguration!.Name));
        Assert.Equal([0.25, 0.5, 0.75], runs.Select(r => r.DollarCost!.Value));
        Assert.All(runs, r => Assert.Equal(ExitReason.Normal, r.ExitReason));
        Assert.Equal(bugs.Select(b => b.DeveloperPatch!.PatchId), runs.Select(r => (int?)r.PatchId));

        var verdicts = db.CrashResolutionEvaluations.OrderBy(e => e.AgentRunId).Select(e => e.Verdict).ToList();
        Assert.Equal([Verdict.NotReproduced, Verdict.Reproduced, Verdict.NotReproduced], verdicts);
        var judge = db.JudgeEvaluations.Include(j => j.Votes).ToList();
        Assert.Equal(3, judge.Count);
        Assert.All(judge, j => Assert.Equal([VoteOutcome.Yes, VoteOutcome.Yes, VoteOutcome.No], j.Votes.OrderBy(v => v.Index).Select(v => v.Outcome)));
        var loc = db.LocalizationEvaluations.ToList();
        Assert.Equal(3, loc.Count);
        Assert.All(loc, l => Assert.Equal(0.5, l.FunctionIou));
        Assert.Equal(3, db.Datasets.Include(d => d.Members).Single(d => d.Name == "real").Members.Count);

        // The store still takes new work after the upgrade.
        db.AgentRuns.Add(new AgentRun { AgentConfigurationId = runs[0].AgentConfigurationId, BugId = "cd7ceee0d3b5892f07af", RunIndex = 1, AddedTime = DateTime.UnixEpoch, UpdatedTime = DateTime.UnixEpoch });
        db.SaveChanges();
        Assert.Equal(4, db.AgentRuns.Count());
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }
}
