using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;

namespace LiveKBench.Tests.Evaluation;

/// <summary>A temporary workspace with helpers to add bugs, configurations, runs and evaluations.</summary>
internal sealed class EvalStore : IDisposable
{
    public EvalStore()
    {
        Root = Path.Combine(Path.GetTempPath(), "kbench-eval-test-" + Guid.NewGuid().ToString("N")[..10]);
        Workspace = Workspace.Init(Root);
        Db = Workspace.OpenStore();
    }

    public string Root { get; }

    public Workspace Workspace { get; }

    public KBenchDbContext Db { get; }

    public Bug AddBug(string id, string devPatch, DateTime? fixedTime = null, string parent = "buggy", string message = "fix it")
    {
        var bug = new Bug { Id = id, Title = "bug " + id, Status = BugStatus.Fixed, Source = BugSource.Bundle, ParentOfFix = parent, AddedTime = DateTime.UtcNow };
        bug.DeveloperPatch = new DeveloperPatch
        {
            BugId = id,
            Status = DeveloperPatchStatus.Available,
            Patch = BugRepository.GetOrAddPatch(Db, devPatch),
            ParentCommit = parent,
            Message = message,
            FixedTime = fixedTime,
            AddedTime = DateTime.UtcNow,
        };
        Db.Bugs.Add(bug);
        Db.SaveChanges();
        return bug;
    }

    public AgentConfiguration AddConfig(string name, string model = "m", string? modelConfig = null)
    {
        var c = new AgentConfiguration { Name = name, Agent = "kbench-agent", Model = model, ModelConfigName = modelConfig };
        Db.AgentConfigurations.Add(c);
        Db.SaveChanges();
        return c;
    }

    public AgentRun AddRun(AgentConfiguration config, string bugId, int runIndex, string? patch, Verdict? verdict = null, int batch = 0)
    {
        var run = new AgentRun
        {
            AgentConfigurationId = config.Id,
            BugId = bugId,
            RunIndex = runIndex,
            Batch = batch,
            Status = patch is null ? WorkStatus.Failed : WorkStatus.Done,
            Patch = patch is null ? null : BugRepository.GetOrAddPatch(Db, patch),
            AddedTime = DateTime.UtcNow,
            UpdatedTime = DateTime.UtcNow,
        };
        Db.AgentRuns.Add(run);
        Db.SaveChanges();
        if (verdict is { } v)
        {
            var kc = Db.KcacheEntries.FirstOrDefault(k => k.BugId == bugId);
            if (kc is null)
            {
                kc = new KcacheEntry { BugId = bugId, BaseKind = BaseCommitKind.ParentOfFix, Status = WorkStatus.Done, Verdict = Verdict.Reproduced };
                Db.KcacheEntries.Add(kc);
                Db.SaveChanges();
            }
            Db.CrashResolutionEvaluations.Add(new CrashResolutionEvaluation { AgentRunId = run.Id, KcacheEntryId = kc.Id, Status = WorkStatus.Done, Verdict = v });
            Db.SaveChanges();
        }
        return run;
    }

    public void Dispose()
    {
        Db.Dispose();
        try
        {
            Directory.Delete(Root, true);
        }
        catch (IOException)
        {
        }
    }
}
