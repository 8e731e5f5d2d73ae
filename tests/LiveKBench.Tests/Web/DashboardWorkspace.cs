using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Datasets;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;
using StoreVerdict = LiveKBench.Arena.Store.Verdict;

namespace LiveKBench.Tests.Web;

/// <summary>
/// A workspace for the dashboard tests, written through the library's store (no kernel builds): the real bugs of
/// shared/data/realbugs (crash reports, reproducers, developer patches; their real buggy/fixed console logs stand in
/// as VM consoles), one bug with a hostile title, two agent configurations with runs of every outcome, crash,
/// judge (with votes) and localization evaluations, a trajectory, a dataset, a model with a training cutoff and Gym jobs.
/// Fix dates are fixture values (the bundles carry none).
/// </summary>
public sealed class DashboardWorkspace : IDisposable
{
    /// <summary>Title of the hostile bug: must show as text everywhere.</summary>
    public const string HostileTitle = "<script>window.__pwned=1</script>KASAN: use-after-free in <b>evil</b>";

    /// <summary>Id of the hostile bug.</summary>
    public const string HostileId = "hostile0000000000001";

    /// <summary>The dataset's name.</summary>
    public const string DatasetName = "realbugs-2025";

    public DashboardWorkspace()
    {
        var realbugs = SharedData.Path("realbugs");
        // KBENCH_DASHBOARD_WORKSPACE=DIR builds it there and keeps it (a demo workspace for `kbench serve`).
        _keep = Environment.GetEnvironmentVariable("KBENCH_DASHBOARD_WORKSPACE") is { Length: > 0 } keep ? keep : null;
        if (_keep is not null && Directory.Exists(_keep))
        {
            Directory.Delete(_keep, true);
        }
        Root = _keep ?? Path.Combine(Path.GetTempPath(), "kbench-web-test-" + Guid.NewGuid().ToString("N")[..10]);
        Workspace = Workspace.Init(Root);
        using var db = Workspace.OpenStore();
        var now = new DateTime(2026, 1, 20, 12, 0, 0, DateTimeKind.Utc);
        var docs = BugImport.ReadInput(realbugs, now);
        BugRepository.Upsert(db, docs);
        RealBugIds = [.. db.Bugs.Select(b => b.Id).AsEnumerable().Order(StringComparer.Ordinal)];
        var fixDates = new[] { new DateTime(2025, 3, 10, 9, 30, 0, DateTimeKind.Utc), new DateTime(2025, 8, 20, 23, 59, 0, DateTimeKind.Utc), new DateTime(2026, 1, 15, 8, 0, 0, DateTimeKind.Utc) };
        var consoles = new Dictionary<string, (string Buggy, string Fixed)>(StringComparer.Ordinal);
        var folders = BugBundleReader.FindBundles(realbugs).ToList();
        for (var i = 0; i < RealBugIds.Count; i++)
        {
            var dp = db.DeveloperPatches.Single(p => p.BugId == RealBugIds[i]);
            dp.FixedTime = fixDates[i % fixDates.Length];
            var bug = db.Bugs.Single(b => b.Id == RealBugIds[i]);
            var folder = folders.First(f => BugBundleReader.Read(f, now).Id == bug.Id);
            consoles[bug.Id] = (Path.Combine(folder, "console-buggy.txt"), Path.Combine(folder, "console-fixed.txt"));
            // What the crawler stores as the crash report: here the parsed report of the bundle's real buggy console.
            bug.CrashReport ??= LiveKBench.Kernel.CrashReports.CrashReportParser.Parse(File.ReadAllBytes(consoles[bug.Id].Buggy))?.Text;
        }
        db.SaveChanges();

        // The hostile bug: title, report and patch carry markup.
        var hostile = new Bug
        {
            Id = HostileId,
            Title = HostileTitle,
            Status = BugStatus.Fixed,
            Source = BugSource.Bundle,
            CrashReport = "<img src=x onerror=\"window.__pwned=2\">\nBUG: KASAN: use-after-free in evil+0x10/0x20",
            AddedTime = now,
            Subsystems = ["<i>net</i>"],
        };
        hostile.DeveloperPatch = new DeveloperPatch
        {
            BugId = HostileId,
            Status = DeveloperPatchStatus.Available,
            Patch = BugRepository.GetOrAddPatch(db, "--- a/net/evil.c\n+++ b/net/evil.c\n@@ -1,1 +1,1 @@\n-<script>window.__pwned=3</script>\n+</pre><script>window.__pwned=4</script>\n"),
            FixedTime = new DateTime(2025, 11, 1, 0, 0, 0, DateTimeKind.Utc),
            AddedTime = now,
            Message = "evil: fix <script>",
        };
        db.Bugs.Add(hostile);
        db.SaveChanges();
        AllBugIds = [.. RealBugIds, HostileId];
        DatasetService.Create(db, DatasetName, "The realbugs bundles and one hostile bug", AllBugIds, now);

        Directory.CreateDirectory(Path.Combine(Workspace.ConfigsDir, "models"));
        File.WriteAllText(Path.Combine(Workspace.ConfigsDir, "models", "model-a.yaml"), "baseUrl: http://127.0.0.1:9/v1\nmodel: model-a-2025\ntrainingCutoff: 2025-06-01\n");
        var configA = new AgentConfiguration { Name = "kbench-agent-model-a", Agent = "kbench-agent", Model = "model-a-2025", ModelConfigName = "model-a", Description = "stateless, 2 runs per bug", ConfigText = "stepLimit: 50\n" };
        var configB = new AgentConfiguration { Name = "kbench-agent-model-b-stateful", Agent = "kbench-agent", Model = "model-b", ModelConfigName = "model-b", Stateful = true, Description = "crash-resolution feedback" };
        var judge = new JudgeConfiguration { Name = "judge-5-votes", Prompt = "{devPatch} {agentPatch}", ModelConfigName = "model-a", Votes = 3 };
        db.AgentConfigurations.AddRange(configA, configB);
        db.JudgeConfigurations.Add(judge);
        db.SaveChanges();

        // Baseline per real bug: 2 VM instances with the bug's real buggy console.
        var kcache = new Dictionary<string, KcacheEntry>(StringComparer.Ordinal);
        foreach (var id in AllBugIds)
        {
            var bug = db.Bugs.Single(b => b.Id == id);
            var console = consoles.TryGetValue(id, out var c) ? c.Buggy : null;
            var result = new ReproductionResult(ReproductionVerdict.Reproduced, "crash reproduced", bug.CrashTitle ?? bug.Title, true,
                [.. Enumerable.Range(0, 2).Select(i => new InstanceVerdict(i, ReproductionVerdict.Reproduced, "the bug's own crash", bug.CrashTitle ?? bug.Title, true, console ?? "/nonexistent/console.txt", null, 12.5 + i))], 300, 40);
            var k = new KcacheEntry { BugId = id, BaseKind = BaseCommitKind.ParentOfFix, BaseCommit = bug.ParentOfFix, Status = WorkStatus.Done, Verdict = StoreVerdict.Reproduced, CrashTitle = result.CrashTitle, SameCrash = true, Reason = result.Reason, ResultJson = JsonSerializer.Serialize(result, LiveKBench.Gym.GymJob.JsonOptions), AddedTime = now, UpdatedTime = now };
            db.KcacheEntries.Add(k);
            kcache[id] = k;
        }
        db.SaveChanges();

        // Runs: per configuration and bug two runs; outcomes rotate over resolved, reproduced, bootError, pending, agent failure.
        var outcomes = new StoreVerdict?[] { StoreVerdict.NotReproduced, StoreVerdict.Reproduced, StoreVerdict.NotReproduced, StoreVerdict.BootError, null, StoreVerdict.NotReproduced, StoreVerdict.CompilationError };
        var n = 0;
        foreach (var config in new[] { configA, configB })
        {
            foreach (var id in AllBugIds)
            {
                var bug = db.Bugs.Single(b => b.Id == id);
                var dev = db.DeveloperPatches.Single(p => p.BugId == id);
                var devPatch = db.Patches.Single(p => p.Id == dev.PatchId);
                for (var r = 0; r < 2; r++, n++)
                {
                    var failed = n % 9 == 8;
                    var verdict = outcomes[n % outcomes.Length];
                    var content = r == 0 ? devPatch.Content : $"--- a/kernel/other.c\n+++ b/kernel/other.c\n@@ -10,1 +10,2 @@\n int x;\n+int attempt_{n}; /* config {config.Name} */\n";
                    Patch? patch = null;
                    if (!failed)
                    {
                        patch = BugRepository.GetOrAddPatch(db, content);
                        patch.AnalysisStatus = AnalysisStatus.Success;
                        if (r == 1)
                        {
                            patch.ModifiedFiles = ["kernel/other.c"];
                            patch.ModifiedFunctions = [];
                        }
                    }
                    var run = new AgentRun
                    {
                        AgentConfigurationId = config.Id,
                        BugId = id,
                        Batch = 0,
                        RunIndex = r,
                        BaseCommit = bug.ParentOfFix,
                        Status = failed ? WorkStatus.Failed : WorkStatus.Done,
                        FailureReason = failed ? "agent exited with code 1" : null,
                        Patch = patch,
                        DollarCost = 0.05 + (0.01 * n),
                        TimeSeconds = 120 + n,
                        Steps = 10 + n,
                        ExitReason = failed ? ExitReason.Error : ExitReason.Normal,
                        AddedTime = now,
                        UpdatedTime = now,
                    };
                    db.AgentRuns.Add(run);
                    db.SaveChanges();
                    var trajDir = Path.Combine(Workspace.ArtifactsDir, "agent-runs", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    Directory.CreateDirectory(trajDir);
                    run.TrajectoryPath = Path.Combine(trajDir, "traj.json");
                    File.WriteAllText(run.TrajectoryPath, JsonSerializer.Serialize(new
                    {
                        info = new { exit_status = failed ? "error" : "Submitted", model_stats = new { instance_cost = run.DollarCost, api_calls = run.Steps } },
                        messages = new object[]
                        {
                            new { role = "system", content = "You are a Linux kernel developer." },
                            new { role = "user", content = "<crashReport>" + bug.CrashReport?[..Math.Min(300, bug.CrashReport.Length)] + "</crashReport>" },
                            new { role = "assistant", content = "THOUGHT: read the reproducer.\n```bash\ncat /root/reproducer.txt\n```" },
                            new { role = "user", content = "<returncode>0</returncode>" },
                        },
                        trajectory_format = "mini-swe-agent-1",
                    }));
                    db.SaveChanges();
                    if (failed)
                    {
                        continue;
                    }
                    if (verdict is { } v)
                    {
                        var console = consoles.TryGetValue(id, out var c) ? (v == StoreVerdict.NotReproduced ? c.Fixed : c.Buggy) : "/nonexistent/console.txt";
                        var rv = v switch { StoreVerdict.NotReproduced => ReproductionVerdict.NotReproduced, StoreVerdict.Reproduced => ReproductionVerdict.Reproduced, StoreVerdict.BootError => ReproductionVerdict.BootError, _ => ReproductionVerdict.CompilationError };
                        var res = new ReproductionResult(rv, $"fixture verdict {v}", v == StoreVerdict.Reproduced ? bug.CrashTitle : null, v == StoreVerdict.Reproduced,
                            rv == ReproductionVerdict.CompilationError ? [] : [new InstanceVerdict(0, rv, $"instance verdict {rv}", null, false, console, 0, 30)], 200, 30);
                        db.CrashResolutionEvaluations.Add(new CrashResolutionEvaluation { AgentRunId = run.Id, KcacheEntryId = kcache[id].Id, Status = WorkStatus.Done, Verdict = v, Reason = res.Reason, ResultJson = JsonSerializer.Serialize(res, LiveKBench.Gym.GymJob.JsonOptions), UpdatedTime = now });
                    }
                    var equivalent = r == 0;
                    var je = new JudgeEvaluation
                    {
                        JudgeConfigurationId = judge.Id,
                        AgentRunId = run.Id,
                        DeveloperPatchId = dev.Id,
                        Status = WorkStatus.Done,
                        Outcome = equivalent ? JudgeOutcome.Equivalent : JudgeOutcome.Discrepant,
                        YesCount = equivalent ? 3 : 0,
                        NoCount = equivalent ? 0 : 3,
                        DollarCost = 0.003,
                        UpdatedTime = now,
                    };
                    for (var vi = 0; vi < 3; vi++)
                    {
                        je.Votes.Add(new JudgeVote
                        {
                            Index = vi,
                            Outcome = equivalent ? VoteOutcome.Yes : VoteOutcome.No,
                            MessagesJson = JsonSerializer.Serialize(new object[]
                            {
                                new { role = "system", content = "You compare kernel patches." },
                                new { role = "user", content = "Developer patch vs student patch" },
                                new { role = "assistant", content = $"<reasoning>vote {vi}: the student patch {(equivalent ? "makes the same change" : "touches kernel/other.c, not the crashing code")}.</reasoning><verdict>{(equivalent ? "equivalent" : "discrepant")}</verdict>" },
                            }),
                            DollarCost = 0.001,
                        });
                    }
                    db.JudgeEvaluations.Add(je);
                    db.LocalizationEvaluations.Add(new LocalizationEvaluation
                    {
                        AgentRunId = run.Id,
                        DeveloperPatchId = dev.Id,
                        Status = AnalysisStatus.Success,
                        FileIntersection = r == 0 ? 1 : 0,
                        FileUnion = r == 0 ? 1 : 2,
                        FileIou = r == 0 ? 1 : 0,
                        FunctionIntersection = r == 0 ? 1 : 0,
                        FunctionUnion = r == 0 ? 2 : 1,
                        FunctionIou = r == 0 ? 0.5 : 0,
                        UpdatedTime = now,
                    });
                    db.SaveChanges();
                }
            }
        }

        db.GymJobs.Add(new GymJob { Purpose = "kcache", BugId = RealBugIds[0], Status = WorkStatus.Done, CreatedTime = now, UpdatedTime = now.AddMinutes(6), Stages = [new GymJobStage { Index = 0, Kind = GymStageKind.Build, Status = WorkStatus.Done, StartedTime = now, FinishedTime = now.AddMinutes(5) }, new GymJobStage { Index = 1, Kind = GymStageKind.Reproduce, Status = WorkStatus.Done, StartedTime = now.AddMinutes(5), FinishedTime = now.AddMinutes(6) }] });
        db.GymJobs.Add(new GymJob { Purpose = "crash-resolution", BugId = HostileId, Status = WorkStatus.Failed, FailureReason = "<b>qemu</b> exited with code 1", CreatedTime = now, UpdatedTime = now.AddMinutes(1), Stages = [new GymJobStage { Index = 0, Kind = GymStageKind.Build, Status = WorkStatus.Failed, StartedTime = now, FinishedTime = now.AddMinutes(1) }] });
        db.SaveChanges();
    }

    private readonly string? _keep;

    public string Root { get; }

    public Workspace Workspace { get; }

    /// <summary>Ids of the imported realbugs bundles (ordinal order).</summary>
    public List<string> RealBugIds { get; }

    /// <summary>Real bugs plus the hostile one.</summary>
    public List<string> AllBugIds { get; }

    public void Dispose()
    {
        if (_keep is not null)
        {
            return;
        }
        try
        {
            Directory.Delete(Root, true);
        }
        catch (IOException)
        {
        }
    }
}
