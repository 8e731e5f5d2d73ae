using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Infrastructure;
using LiveKBench.Llm;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;

namespace LiveKBench.Agents;

/// <summary>Options of <see cref="AgentRunner.RunAsync"/>.</summary>
public sealed class AgentRunOptions
{
    /// <summary>Runs per bug (RunIndex 0..Runs-1). Default 1.</summary>
    public int Runs { get; init; } = 1;

    /// <summary>Overrides the configuration's runner (e.g. <see cref="RunnerKind.None"/> for <c>--no-sandbox</c>).</summary>
    public RunnerKind? RunnerOverride { get; init; }

    /// <summary>Makes the agent trees. Required.</summary>
    public required IAgentTreeProvider Trees { get; init; }

    /// <summary>run_kernel implementation for stateful configurations; null = run_kernel unavailable.</summary>
    public IKernelFeedback? Kernel { get; init; }

    /// <summary>
    /// Creates the model client of kbench-agent; default = <see cref="DefaultChatClient"/>. May throw
    /// <see cref="ConfigException"/>, which fails the run with its message.
    /// </summary>
    public Func<ModelConfig, IChatClient>? ChatClientFactory { get; init; }

    /// <summary>
    /// The default model client of kbench-agent: an <see cref="OpenAiCompatibleChatClient"/> whose HTTP requests time out
    /// after <see cref="ModelConfig.TimeoutSeconds"/> and that sends no Authorization header when the variable named by
    /// <see cref="ModelConfig.ApiKeyEnv"/> is unset (the key is optional for local endpoints).
    /// </summary>
    /// <exception cref="ConfigException">The base URL is not an absolute URL.</exception>
    public static IChatClient DefaultChatClient(ModelConfig model)
        => new OpenAiCompatibleChatClient(model, timeout: TimeSpan.FromSeconds(model.TimeoutSeconds), requireApiKey: false);

    /// <summary>Clock for agent budgets.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Extra host folders hidden from sandboxed processes (the workspace and mirrors are always hidden).</summary>
    public IReadOnlyList<string> HiddenPaths { get; init; } = [];

    /// <summary>Keep the working tree under work/agent-runs/ID/tree after the run (default: deleted).</summary>
    public bool KeepTree { get; init; }

    /// <summary>Failed runs with this many attempts are not retried. Default: settings.json maxAttempts.</summary>
    public int? MaxAttempts { get; init; }
}

/// <summary>One run's result as printed by <c>kbench agent run --json</c>.</summary>
/// <param name="RunId">AgentRun row id.</param>
/// <param name="Config">Configuration name.</param>
/// <param name="BugId">Bug.</param>
/// <param name="RunIndex">Run number for (config, bug).</param>
/// <param name="Batch">Batch number.</param>
/// <param name="Status">pending, running, done or failed.</param>
/// <param name="Skipped">True when the run already existed (done, or failed too often) and was not redone.</param>
/// <param name="ExitReason">kEnv exit reason (camelCase), when done.</param>
/// <param name="DollarCost">USD.</param>
/// <param name="TimeSeconds">Wall seconds.</param>
/// <param name="Steps">Model calls.</param>
/// <param name="PatchId">Stored patch row.</param>
/// <param name="PatchChars">Length of the patch text (0 = empty patch).</param>
/// <param name="TrajectoryPath">traj.json relative to the workspace.</param>
/// <param name="LogPath">log.txt relative to the workspace.</param>
/// <param name="Attempts">Attempts so far.</param>
/// <param name="FailureReason">Why it failed, when failed.</param>
public sealed record AgentRunReport(
    int RunId, string Config, string BugId, int RunIndex, int Batch, string Status, bool Skipped, string? ExitReason,
    double? DollarCost, double? TimeSeconds, int? Steps, int? PatchId, int PatchChars, string? TrajectoryPath, string? LogPath,
    int Attempts, string? FailureReason);

/// <summary>
/// Runs an agent configuration on bugs and records <see cref="AgentRun"/> rows: pending → running → done/failed.
/// Only runs that do not exist yet or failed (with fewer than MaxAttempts attempts) are (re)done. Outputs are kept
/// under <c>artifacts/agent-runs/RUNID/</c> (patch.txt, traj.json, log.txt, metadata.json).
/// </summary>
/// <param name="workspace">The workspace.</param>
public sealed class AgentRunner(Workspace workspace)
{
    /// <summary>Largest output file (traj.json, log.txt, ...) kept in the artifacts, in bytes; longer ones are cut.</summary>
    public const long MaxOutputFileBytes = 64L * 1024 * 1024;

    /// <summary>
    /// Bugs eligible for agents: a KcacheEntry with verdict reproduced and SameCrash true whose baseline is reliable enough
    /// for the cap to decide (its required clean runs ≤ <paramref name="maxInstances"/>; entries from before baseline statistics
    /// count as reliable). Ordered by id.
    /// </summary>
    /// <param name="db">The store.</param>
    /// <param name="maxInstances"><c>Reproduction:MaxInstances</c>.</param>
    public static List<string> EligibleBugIds(KBenchDbContext db, int maxInstances = 20)
        => [.. db.KcacheEntries.Where(k => k.Verdict == Verdict.Reproduced && k.SameCrash == true)
            .Where(k => k.BaselineInstances == null || (k.RequiredCleanRuns != null && k.RequiredCleanRuns <= maxInstances))
            .Select(k => k.BugId).Distinct().AsEnumerable().Order(StringComparer.Ordinal)];

    /// <summary>Loads the configuration <paramref name="configName"/> into the store and runs it on the bugs.</summary>
    /// <param name="configName">configs/agents/NAME.yaml, or a built-in (developer-oracle, empty).</param>
    /// <param name="bugKeys">Bug ids/extids/bundle keys; null = every eligible bug.</param>
    /// <param name="options">Options.</param>
    /// <param name="cancellationToken">Cancels; the running row is marked failed ("cancelled").</param>
    /// <returns>One report per (bug, run index), in order.</returns>
    /// <exception cref="AgentConfigException">Missing/invalid configuration or model configuration, or the program of an
    /// npm-cli/cli agent is not installed.</exception>
    /// <exception cref="ArgumentException">An unknown bug key.</exception>
    public async Task<List<AgentRunReport>> RunAsync(string configName, IReadOnlyList<string>? bugKeys, AgentRunOptions options, CancellationToken cancellationToken = default)
    {
        var (cfg, text) = AgentConfigFile.Load(workspace.ConfigsDir, configName);
        ModelConfig? modelCfg = null;
        if (cfg.ModelConfig is { } mc)
        {
            try
            {
                modelCfg = ModelConfig.Load(Path.Combine(workspace.ConfigsDir, "models"), mc);
            }
            catch (ConfigException ex)
            {
                throw new AgentConfigException(ex.Message, ex);
            }
        }
        if (AgentConfigFile.ProxiedKinds.Contains(cfg.Agent))
        {
            _ = NpmCliAgent.InstalledBinds(workspace.Root, cfg);
        }
        using var db = workspace.OpenStore();
        var row = AgentConfigFile.Upsert(db, cfg, text, modelCfg?.Model);
        row.BatchCounter++;
        db.SaveChanges();
        var batch = row.BatchCounter;

        List<string> bugIds;
        if (bugKeys is null)
        {
            bugIds = EligibleBugIds(db, workspace.Settings.Reproduction.MaxInstances);
        }
        else
        {
            bugIds = [];
            foreach (var key in bugKeys)
            {
                var id = db.Bugs.Where(b => b.Id == key || b.Extid == key || b.SyzbotId == key || b.BundleKey == key).Select(b => b.Id).FirstOrDefault()
                    ?? throw new ArgumentException($"no bug {key}");
                if (!bugIds.Contains(id))
                {
                    bugIds.Add(id);
                }
            }
        }
        var maxAttempts = options.MaxAttempts ?? workspace.Settings.MaxAttempts;
        var reports = new List<AgentRunReport>();
        foreach (var bugId in bugIds)
        {
            for (var index = 0; index < options.Runs; index++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var run = db.AgentRuns.Include(r => r.Patch).SingleOrDefault(r => r.AgentConfigurationId == row.Id && r.BugId == bugId && r.RunIndex == index);
                if (run is not null && (run.Status == WorkStatus.Done || (run.Status == WorkStatus.Failed && run.Attempts >= maxAttempts)))
                {
                    reports.Add(Report(cfg.Name, run, skipped: true));
                    continue;
                }
                var now = Clock.UtcNow();
                if (run is null)
                {
                    run = new AgentRun { AgentConfigurationId = row.Id, BugId = bugId, RunIndex = index, AddedTime = now };
                    db.AgentRuns.Add(run);
                }
                run.Status = WorkStatus.Running;
                run.Batch = batch;
                run.Attempts++;
                run.FailureReason = null;
                run.UpdatedTime = now;
                db.SaveChanges();
                try
                {
                    await RunOneAsync(db, cfg, text, modelCfg, run, options, cancellationToken).ConfigureAwait(false);
                    run.Status = WorkStatus.Done;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || cancellationToken.IsCancellationRequested)
                {
                    run.Status = WorkStatus.Failed;
                    run.FailureReason = ex is OperationCanceledException ? "cancelled" : ex.Message;
                    run.PatchId = null;
                    run.Patch = null;
                    if (ex is OperationCanceledException)
                    {
                        run.UpdatedTime = Clock.UtcNow();
                        db.SaveChanges();
                        throw;
                    }
                }
                run.UpdatedTime = Clock.UtcNow();
                db.SaveChanges();
                reports.Add(Report(cfg.Name, run, skipped: false));
            }
        }
        return reports;
    }

    private async Task RunOneAsync(KBenchDbContext db, AgentConfigFile cfg, string cfgText, ModelConfig? modelCfg, AgentRun run, AgentRunOptions options, CancellationToken ct)
    {
        var bug = BugRepository.Load(db, [run.BugId]).Single();
        var baseCommit = bug.ParentOfFix ?? bug.DeveloperPatch?.ParentCommit ?? bug.KernelSourceCommit ?? bug.KernelBase
            ?? throw new InvalidOperationException($"bug {bug.Id} has no base commit (parent of fix)");
        var layout = new KenvLayout(Path.Combine(workspace.WorkDir, "agent-runs", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        if (Directory.Exists(layout.Root))
        {
            Directory.Delete(layout.Root, recursive: true);
        }
        Directory.CreateDirectory(layout.Root);
        try
        {
            // Baseline agents only read (or change nothing in) the files the fix touches: give them a sparse tree
            // instead of a copy of the whole kernel.
            IReadOnlyList<string>? sparse = cfg.Agent switch
            {
                "developer-oracle" => FilesOf(bug.DeveloperPatch?.Patch?.Content ?? ""),
                "empty" => [],
                _ => null,
            };
            run.BaseCommit = await options.Trees.PrepareAsync(bug, baseCommit, layout.Tree, sparse, ct).ConfigureAwait(false);
            await SnapshotTree.SealBaseAsync(layout.Tree, layout.BaseGitDir, ct).ConfigureAwait(false);
            layout.CreateFolders();
            var repro = bug.Reproducers.FirstOrDefault(r => r.Kind == ReproducerKind.C) ?? bug.Reproducers.FirstOrDefault();
            var devPatch = bug.DeveloperPatch?.Patch?.Content;
            IReadOnlyList<string>? oracle = null;
            if (cfg.OracleMode)
            {
                oracle = bug.DeveloperPatch?.Patch is { ModifiedFiles.Count: > 0 } p ? p.ModifiedFiles : FilesOf(devPatch ?? "");
            }
            var task = new KenvTask(bug.Id, bug.Title, run.BaseCommit, bug.CrashReport ?? "", repro?.Text, repro?.Kind, oracle, cfg.Stateful, cfg.Budget);
            layout.WriteInputs(task, cfgText, modelCfg is null ? null : File.ReadAllText(Path.Combine(workspace.ConfigsDir, "models", cfg.ModelConfig + ".yaml")));
            var hidden = new List<string> { workspace.Root };
            hidden.AddRange(workspace.Settings.Mirrors.Values);
            hidden.AddRange(options.HiddenPaths);
            var extraEnv = new Dictionary<string, string>();
            foreach (var name in cfg.PassEnv)
            {
                if (Environment.GetEnvironmentVariable(name) is { } v)
                {
                    extraEnv[name] = v;
                }
            }
            var context = new AgentContext
            {
                Layout = layout,
                Task = task,
                Config = cfg,
                Runner = options.RunnerOverride ?? cfg.RunnerKind,
                HiddenPaths = hidden,
                DeveloperPatch = cfg.Agent == "developer-oracle" ? devPatch : null,
                Kernel = cfg.Stateful ? options.Kernel : null,
                Time = options.Time,
                ExtraEnvironment = extraEnv,
            };
            IChatClient? client = null;
            try
            {
                var agent = AgentConfigFile.ProxiedKinds.Contains(cfg.Agent) ? new NpmCliAgent(workspace.Root, modelCfg!) : AgentHarness.Create(cfg, () =>
                {
                    client = (options.ChatClientFactory ?? AgentRunOptions.DefaultChatClient)(modelCfg!);
                    return new KbenchAgent(client, modelCfg!);
                });
                var outcome = await AgentHarness.RunAsync(agent, context, ct).ConfigureAwait(false);
                var rel = Path.Combine("artifacts", "agent-runs", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var dest = Path.Combine(workspace.Root, rel);
                Directory.CreateDirectory(dest);
                // The output folder is agent-writable: copy without following links, each file capped.
                foreach (var f in new[] { Kenv.PatchFile, Kenv.TrajectoryFile, Kenv.LogFile, Kenv.MetadataFile })
                {
                    if (HostFiles.CopyOut(layout.Output(f), Path.Combine(dest, f), MaxOutputFileBytes) is { } problem)
                    {
                        HostFiles.AppendLog(layout.HarnessLog, "[harness] " + problem);
                    }
                }
                foreach (var f in new[] { "agent-process.log", "harness.log" })
                {
                    var path = Path.Combine(layout.Root, f);
                    if (File.Exists(path))
                    {
                        File.Copy(path, Path.Combine(dest, f), overwrite: true);
                    }
                }
                run.Patch = BugRepository.GetOrAddPatch(db, outcome.Patch);
                run.DollarCost = outcome.Metadata.DollarCost;
                run.TimeSeconds = outcome.Metadata.TimeCost;
                run.Steps = outcome.Metadata.Steps;
                run.ExitReason = outcome.Metadata.Reason;
                run.TrajectoryPath = Path.Combine(rel, Kenv.TrajectoryFile);
                run.LogPath = Path.Combine(rel, Kenv.LogFile);
            }
            finally
            {
                client?.Dispose();
            }
        }
        finally
        {
            if (!options.KeepTree && Directory.Exists(layout.Root))
            {
                try
                {
                    Directory.Delete(layout.Root, recursive: true);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    /// <summary>Files named by the <c>+++ b/</c> and <c>--- a/</c> lines of a unified diff, in order, without duplicates.</summary>
    public static List<string> FilesOf(string diff)
    {
        var files = new List<string>();
        foreach (var line in diff.Split('\n'))
        {
            string? f = line.StartsWith("+++ b/", StringComparison.Ordinal) ? line[6..] : line.StartsWith("--- a/", StringComparison.Ordinal) ? line[6..] : null;
            f = f?.Split('\t')[0].TrimEnd('\r');
            if (f is not null && !files.Contains(f))
            {
                files.Add(f);
            }
        }
        return files;
    }

    private static AgentRunReport Report(string config, AgentRun r, bool skipped) => new(
        r.Id, config, r.BugId, r.RunIndex, r.Batch, r.Status.ToString().ToLowerInvariant(), skipped,
        r.ExitReason is { } e ? Kenv.ExitReasonText(e) : null, r.DollarCost, r.TimeSeconds, r.Steps, r.PatchId ?? r.Patch?.Id,
        r.Patch?.Content.Length ?? 0, r.TrajectoryPath, r.LogPath, r.Attempts, r.FailureReason);
}
