using LiveKBench.Agents;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Datasets;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Infrastructure;
using LiveKBench.Llm;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Arena.Stages;

/// <summary>What <c>kbench run</c> does.</summary>
public sealed record PipelineOptions
{
    /// <summary>Restrict to this dataset's bugs (null = every bug in the workspace).</summary>
    public string? Dataset { get; init; }

    /// <summary>Import these bugs first (bundle folder(s) or a JSON Lines export) and restrict to them.</summary>
    public string? BugsFrom { get; init; }

    /// <summary>Agent configurations to run (names under configs/agents, or the built-ins developer-oracle and empty).</summary>
    public IReadOnlyList<string> Agents { get; init; } = ["developer-oracle", "empty"];

    /// <summary>Judge configuration (configs/judges/NAME.yaml); null = the judge stage is skipped with a note.</summary>
    public string? Judge { get; init; }

    /// <summary>Runs per (agent configuration, bug).</summary>
    public int Runs { get; init; } = 1;

    /// <summary>k of pass@k in the final leaderboard.</summary>
    public int K { get; init; } = 1;

    /// <summary>Kernel source tarball used to create the offline mirror when the workspace has none.</summary>
    public string Tarball { get; init; } = "/usr/src/linux-source-6.1.tar.xz";

    /// <summary>Run agents without the sandbox (explicit opt-out).</summary>
    public bool NoSandbox { get; init; }
}

/// <summary>Progress of the pipeline: (stage, items done, items in the stage, current item).</summary>
public delegate void PipelineProgress(string stage, int done, int total, string item);

/// <summary>What a pipeline run did, stage by stage, and the final leaderboard.</summary>
/// <param name="Stages">One line per stage: name → summary text.</param>
/// <param name="Leaderboard">The leaderboard over the bugs of the run.</param>
/// <param name="Failed">True when some stage left failed work (retried by the next run).</param>
public sealed record PipelineReport(IReadOnlyList<(string Stage, string Summary)> Stages, LeaderboardResult? Leaderboard, bool Failed);

/// <summary>
/// <c>kbench run</c>: import → mirror → kcache (baseline build + reproduction) → agent runs → crash-resolution
/// evaluation → LLM judge (when configured) → localization → leaderboard. Every stage does only the work that has
/// no result yet, so a killed run is simply run again.
/// </summary>
public static class Pipeline
{
    /// <summary>Runs every stage in order.</summary>
    /// <exception cref="BugImportException">The --bugs-from input is malformed (nothing imported).</exception>
    /// <exception cref="DatasetException">Unknown dataset.</exception>
    /// <exception cref="AgentConfigException">Unknown or invalid agent configuration.</exception>
    /// <exception cref="ConfigException">Unknown or invalid judge/model configuration.</exception>
    public static async Task<PipelineReport> RunAsync(Workspace ws, PipelineOptions options, ILoggerFactory logs, PipelineProgress? progress, CancellationToken ct)
    {
        var log = logs.CreateLogger("run");
        var lines = new List<(string, string)>();
        var failed = false;
        void Note(string stage, string text)
        {
            lines.Add((stage, text));
            log.LogInformation("{Stage}: {Summary}", stage, text);
        }
        StageProgress For(string stage) => (d, t, item) => progress?.Invoke(stage, d, t, item);

        // 1. Import.
        List<string>? scope = null;
        string? importDataset = null;
        if (options.BugsFrom is { } from)
        {
            progress?.Invoke("import", 0, 1, from);
            var docs = BugImport.ReadInput(from, Clock.UtcNow());
            using var db = ws.OpenStore();
            var s = BugRepository.Upsert(db, docs, ct);
            scope = [.. docs.Select(d => d.Id)];
            // The imported bugs become a dataset, so the leaderboard of this run is about exactly them.
            // A .list file names its dataset without the extension (data/linux-6.1/quickstart.list -> from-quickstart).
            var fromName = Path.GetFileName(Path.GetFullPath(from).TrimEnd('/'));
            importDataset = "from-" + (fromName.EndsWith(BugImport.ListExtension, StringComparison.Ordinal) ? fromName[..^BugImport.ListExtension.Length] : fromName);
            DatasetService.Save(db, new DatasetDocument { Name = importDataset, Description = $"bugs imported by kbench run --bugs-from {from}", AddedTime = Clock.UtcNow(), BugIds = [.. scope.Order(StringComparer.Ordinal)] }, replace: true);
            // A bundle imported after its mirror exists gets its parent of fix now, so every stage finds it.
            var attachedNow = await MirrorStage.AttachIfMirrorAsync(ws, db, log, ct).ConfigureAwait(false);
            Note("import", $"{docs.Count} bugs from {from}: {s.Added} added, {s.Updated} updated, {s.Unchanged} unchanged (dataset {importDataset})"
                + (attachedNow > 0 ? $", {attachedNow} attached to the kernel mirror" : ""));
            progress?.Invoke("import", 1, 1, "");
        }
        if (options.Dataset is { } ds)
        {
            using var db = ws.OpenStore();
            var members = DatasetService.MemberIds(db, ds);
            scope = scope is null ? members : [.. scope.Intersect(members)];
        }

        // 2. Mirror (the offline default when the workspace has none).
        if (!HasMirror(ws))
        {
            if (!File.Exists(options.Tarball))
            {
                throw new InvalidOperationException($"no kernel mirror and no {options.Tarball} (install the Debian package linux-source-6.1 or run `kbench mirror add`)");
            }
            progress?.Invoke("mirror", 0, 1, "creating the offline mirror from " + options.Tarball);
            var (path, commit, attached) = await MirrorStage.FromTarballAsync(ws, options.Tarball, log, ct).ConfigureAwait(false);
            ws = Workspace.Open(ws.Root);
            Note("mirror", $"created {path} ({commit[..12]}), {attached} bugs attached");
            progress?.Invoke("mirror", 1, 1, "");
        }

        // 3. kcache.
        var k = await ReproductionStages.KcacheAsync(ws, scope, logs.CreateLogger("kcache"), For("kcache"), ct).ConfigureAwait(false);
        failed |= k.Failed > 0;
        using (var db = ws.OpenStore())
        {
            var baselines = db.KcacheEntries.AsNoTracking().ToList().Where(e => scope is null || scope.Contains(e.BugId)).ToList();
            Note("kcache", $"{k.Done} built and reproduced now, {k.Failed} failed, {k.Skipped} skipped; baselines: "
                + string.Join(", ", baselines.GroupBy(e => e.Verdict is { } v ? EnumText.ToText(v) + (v == Store.Verdict.Reproduced && e.SameCrash != true ? " (other crash)" : v == Store.Verdict.Reproduced && e.BaselineInstances is not null && (e.RequiredCleanRuns is null || e.RequiredCleanRuns > ws.Settings.Reproduction.MaxInstances) ? " (too unreliable)" : "") : EnumText.ToText(e.Status)).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key}")));
        }

        // 4. Agent runs (only bugs whose baseline reproduced their own crash).
        List<string> eligible;
        using (var db = ws.OpenStore())
        {
            eligible = [.. AgentRunner.EligibleBugIds(db, ws.Settings.Reproduction.MaxInstances).Where(id => scope is null || scope.Contains(id))];
        }
        var runner = new AgentRunner(ws);
        var agentOptions = new AgentRunOptions
        {
            Runs = options.Runs,
            RunnerOverride = options.NoSandbox ? RunnerKind.None : null,
            Trees = new MirrorTreeProvider(ws.Settings.Mirrors),
            Kernel = new KernelFeedback(ws, logs.CreateLogger("run_kernel")),
        };
        foreach (var agent in options.Agents)
        {
            if (eligible.Count == 0)
            {
                Note("agents", "no bug has a baseline that reproduced its own crash; no agent runs");
                break;
            }
            progress?.Invoke($"agent {agent}", 0, eligible.Count * options.Runs, "");
            var reports = await runner.RunAsync(agent, eligible, agentOptions, ct).ConfigureAwait(false);
            progress?.Invoke($"agent {agent}", eligible.Count * options.Runs, eligible.Count * options.Runs, "");
            var bad = reports.Count(r => r.Status == "failed");
            failed |= bad > 0;
            Note($"agent {agent}", $"{reports.Count(r => r.Status == "done" && !r.Skipped)} runs now, {reports.Count(r => r.Skipped)} kept from before, {bad} failed");
        }

        // 5. Crash resolution.
        var c = await ReproductionStages.EvaluateCrashResolutionAsync(ws, null, logs.CreateLogger("eval.crash"), For("crash resolution"), ct).ConfigureAwait(false);
        failed |= c.Failed > 0;
        Note("crash resolution", $"{c.Done} evaluated now, {c.Failed} failed, {c.Skipped} skipped");

        // 6. LLM judge.
        if (options.Judge is { } judgeName)
        {
            var file = JudgeConfigFile.Load(Path.Combine(ws.ConfigsDir, "judges"), judgeName);
            var model = ModelConfig.Load(Path.Combine(ws.ConfigsDir, "models"), file.Model);
            using var db = ws.OpenStore();
            var row = JudgeRunner.UpsertConfiguration(db, file);
            using var client = new OpenAiCompatibleChatClient(model);
            using var judge = new JudgeRunner(client, model);
            progress?.Invoke("judge", 0, 1, judgeName);
            var j = await judge.RunAsync(db, row, ws.Settings.MaxAttempts, logs.CreateLogger("eval.judge"), ct).ConfigureAwait(false);
            failed |= j.Failed > 0;
            Note("judge", $"{judgeName}: {j.Pairs} pairs, {j.Equivalent} equivalent, {j.Discrepant} discrepant, {j.Failed} failed, ${j.DollarCost:F4}");
        }
        else
        {
            Note("judge", "skipped: no judge configured (give --judge NAME with configs/judges/NAME.yaml and a model in configs/models/); EPR stays empty");
        }

        // 7. Localization.
        using (var db = ws.OpenStore())
        {
            progress?.Invoke("localization", 0, 1, "");
            var scratch = Path.Combine(ws.WorkDir, "localization");
            Directory.CreateDirectory(scratch);
            var mirrors = ws.Settings.Mirrors;
            var l = await LocalizationRunner.RunAsync(db, new LocalizationRunOptions
            {
                RepositoryFor = bug => bug.KernelSourceGit is { } g && mirrors.TryGetValue(g, out var p) ? p
                    : mirrors.TryGetValue(KernelEnvironment.DebianMirrorKey, out var d) ? d : mirrors.Values.FirstOrDefault(),
                MaxAttempts = ws.Settings.MaxAttempts,
                Analyzer = new PatchAnalyzerOptions { ScratchDir = scratch },
            }, logs.CreateLogger("eval.localization"), ct).ConfigureAwait(false);
            failed |= l.PatchesFailed > 0;
            Note("localization", $"{l.PatchesAnalyzed} patches analysed, {l.PatchesInvalid} invalid, {l.PatchesFailed} failed; {l.Evaluations} evaluations");
            progress?.Invoke("localization", 1, 1, "");
        }

        // 8. Leaderboard over the bugs of this run.
        LeaderboardResult? board = null;
        using (var db = ws.OpenStore())
        {
            try
            {
                board = Leaderboard.Query(db, new LeaderboardOptions { Dataset = options.Dataset ?? importDataset, K = options.K, Judge = options.Judge });
            }
            catch (LeaderboardException ex)
            {
                Note("leaderboard", ex.Message);
            }
        }
        return new PipelineReport(lines, board, failed);
    }

    private static bool HasMirror(Workspace ws) => ws.Settings.Mirrors.Values.Any(Directory.Exists);
}
