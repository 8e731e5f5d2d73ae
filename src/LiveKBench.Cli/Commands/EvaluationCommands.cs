using System.CommandLine;
using System.Globalization;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Evaluation.Localization;
using LiveKBench.Evaluation.Research;
using LiveKBench.Infrastructure;
using LiveKBench.Llm;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench eval localization|judge`, `kbench patch analyze`, `kbench leaderboard`, `kbench research cutoff`.</summary>
internal static class EvaluationCommands
{
    public static Command BuildEval()
    {
        var eval = new Command("eval", "Evaluate agent runs: crash resolution (rebuild + reproducer), LLM judge (patch equivalence), localization (file/function IoU)");
        eval.Subcommands.Add(KernelCommands.BuildEvalCrash());
        eval.Subcommands.Add(Localization());
        eval.Subcommands.Add(JudgeCommand());
        return eval;
    }

    public static Command BuildPatch()
    {
        var patch = new Command("patch", "Inspect patches");
        patch.Subcommands.Add(Analyze());
        return patch;
    }

    private static Option<string?> RepoOption() => new("--repo") { Description = "Git repository holding the base commits (default: the mirror of the bug's tree in settings.json, or the only mirror)" };

    private static Func<Bug, string?> RepositoryResolver(Workspace ws, string? repo)
    {
        if (!string.IsNullOrWhiteSpace(repo))
        {
            var full = Path.GetFullPath(repo);
            return _ => full;
        }
        var mirrors = ws.Settings.Mirrors;
        return bug =>
        {
            if (bug.KernelSourceGit is { } git && mirrors.TryGetValue(git, out var path))
            {
                return Path.IsPathRooted(path) ? path : Path.Combine(ws.Root, path);
            }
            if (mirrors.Count == 1)
            {
                var only = mirrors.Values.First();
                return Path.IsPathRooted(only) ? only : Path.Combine(ws.Root, only);
            }
            return null;
        };
    }

    private static Command Localization()
    {
        var repo = RepoOption();
        var force = new Option<bool>("--force") { Description = "Re-analyse every patch and recompute every evaluation" };
        var json = CliOptions.Json();
        var cmd = new Command("localization", "Analyse pending patches (modified files/functions via ctags) and compute file/function IoU of agent runs vs developer patches");
        cmd.Options.Add(repo);
        cmd.Options.Add(force);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            var log = logs.CreateLogger("eval.localization");
            using var db = ws.OpenStore();
            var options = new LocalizationRunOptions
            {
                RepositoryFor = RepositoryResolver(ws, parse.GetValue(repo)),
                Force = parse.GetValue(force),
                MaxAttempts = ws.Settings.MaxAttempts,
                Analyzer = new PatchAnalyzerOptions { ScratchDir = Path.Combine(ws.WorkDir, "localization") },
            };
            Directory.CreateDirectory(options.Analyzer.ScratchDir!);
            var s = await LocalizationRunner.RunAsync(db, options, log, ct);
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(s);
            }
            else
            {
                Console.WriteLine($"patches: {s.PatchesAnalyzed} analysed, {s.PatchesInvalid} invalid, {s.PatchesFailed} failed (retried next run), {s.PatchesWithoutRepository} without a repository ({s.AnalysisSeconds:F1} s)");
                Console.WriteLine($"evaluations: {s.Evaluations} written, {s.EvaluationsInvalid} invalid/error");
            }
            return s.PatchesFailed > 0 ? ExitCodes.WorkFailed : ExitCodes.Success;
        });
        return cmd;
    }

    private static Command JudgeCommand()
    {
        var judge = new Option<string>("--judge") { Description = "Judge configuration name (configs/judges/NAME.yaml)", Required = true };
        var json = CliOptions.Json();
        var cmd = new Command("judge", "Ask the LLM judge whether each agent patch is equivalent to the developer patch (votes stored per pair)");
        cmd.Options.Add(judge);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            var log = logs.CreateLogger("eval.judge");
            JudgeConfigFile file;
            ModelConfig model;
            try
            {
                file = JudgeConfigFile.Load(Path.Combine(ws.ConfigsDir, "judges"), parse.GetValue(judge)!);
                model = ModelConfig.Load(Path.Combine(ws.ConfigsDir, "models"), file.Model);
            }
            catch (ConfigException ex)
            {
                throw new UsageException(ex.Message);
            }
            using var db = ws.OpenStore();
            var row = JudgeRunner.UpsertConfiguration(db, file);
            OpenAiCompatibleChatClient client;
            try
            {
                client = new OpenAiCompatibleChatClient(model);
            }
            catch (ConfigException ex)
            {
                throw new UsageException(ex.Message);
            }
            using (client)
            using (var runner = new JudgeRunner(client, model))
            {
                var s = await runner.RunAsync(db, row, ws.Settings.MaxAttempts, log, ct);
                if (parse.GetValue(json))
                {
                    CliContext.PrintJson(s);
                }
                else
                {
                    Console.WriteLine($"judge {row.Name} ({model.Model}): {s.Pairs} pairs: {s.Equivalent} equivalent, {s.Discrepant} discrepant, {s.Failed} failed (retried next run); ${s.DollarCost:F4}");
                }
                return s.Failed > 0 ? ExitCodes.WorkFailed : ExitCodes.Success;
            }
        });
        return cmd;
    }

    private static Command Analyze()
    {
        var bug = new Option<string>("--bug") { Description = "Bug id, extid or bundle key (its parent-of-fix is the base commit)", Required = true };
        var file = new Argument<string>("patch") { Description = "Patch file (unified diff, -p1); - for stdin" };
        var repo = RepoOption();
        var commit = new Option<string?>("--commit") { Description = "Base commit (default: the bug's parent of fix)" };
        var json = CliOptions.Json();
        var cmd = new Command("analyze", "Print the source files and functions a patch modifies (universal-ctags at the bug's base commit)");
        cmd.Options.Add(bug);
        cmd.Arguments.Add(file);
        cmd.Options.Add(repo);
        cmd.Options.Add(commit);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            Bug b;
            using (var db = ws.OpenStore())
            {
                b = BugRepository.Find(db, parse.GetValue(bug)!) ?? throw new UsageException($"no bug '{parse.GetValue(bug)}'");
            }
            var baseCommit = parse.GetValue(commit) ?? b.ParentOfFix ?? b.DeveloperPatch?.ParentCommit
                ?? throw new UsageException($"bug {b.Id} has no parent-of-fix commit; pass --commit");
            var repository = RepositoryResolver(ws, parse.GetValue(repo))(b) ?? throw new UsageException($"no mirror known for {b.KernelSourceGit}; pass --repo");
            var path = parse.GetValue(file)!;
            var text = path == "-" ? await Console.In.ReadToEndAsync(ct) : await File.ReadAllTextAsync(path, ct);
            var outcome = await new PatchAnalyzer(repository).AnalyzeAsync(baseCommit, text, ct);
            if (outcome.Status != AnalysisStatus.Success)
            {
                if (parse.GetValue(json))
                {
                    CliContext.PrintJson(new { status = EnumText.ToText(outcome.Status), reason = outcome.Reason });
                }
                Console.Error.WriteLine($"kbench: patch is {EnumText.ToText(outcome.Status)}: {outcome.Reason}");
                return ExitCodes.WorkFailed;
            }
            var a = outcome.Analysis!;
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(new { files = a.Files, functions = a.Functions, definitions = a.Definitions, modifiedLines = a.ModifiedLines });
            }
            else
            {
                Console.WriteLine($"files ({a.Files.Count}): {string.Join(", ", a.Files)}");
                Console.WriteLine($"functions ({a.Functions.Count}): {string.Join(", ", a.Functions)}");
                Console.WriteLine($"definitions ({a.Definitions.Count}): {string.Join(", ", a.Definitions)}");
                Console.WriteLine($"modified lines: {a.ModifiedLines}");
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static (Option<string?> Dataset, Option<int> K, Option<string?> Judge, Option<int> Replicates, Option<ulong> Seed) CommonOptions(Command cmd)
    {
        var dataset = new Option<string?>("--dataset") { Description = "Dataset name or id (default: every bug with at least one agent run)" };
        var k = new Option<int>("--k") { Description = "k of pass@k and mean@k (default 1)", DefaultValueFactory = _ => 1 };
        var judge = new Option<string?>("--judge") { Description = "Judge whose verdicts define EPR (default: the judge with the most finished evaluations)" };
        var reps = new Option<int>("--replicates") { Description = $"Bootstrap replicates for the 95% CIs (default {Bootstrap.DefaultReplicates})", DefaultValueFactory = _ => Bootstrap.DefaultReplicates };
        var seed = new Option<ulong>("--seed") { Description = "Bootstrap seed (fixed default, so output is reproducible)", DefaultValueFactory = _ => Bootstrap.DefaultSeed };
        cmd.Options.Add(dataset);
        cmd.Options.Add(k);
        cmd.Options.Add(judge);
        cmd.Options.Add(reps);
        cmd.Options.Add(seed);
        return (dataset, k, judge, reps, seed);
    }

    private static LeaderboardOptions ReadOptions(ParseResult parse, (Option<string?> Dataset, Option<int> K, Option<string?> Judge, Option<int> Replicates, Option<ulong> Seed) o)
    {
        var k = parse.GetValue(o.K);
        if (k < 1)
        {
            throw new UsageException("--k must be at least 1");
        }
        var reps = parse.GetValue(o.Replicates);
        if (reps < 0)
        {
            throw new UsageException("--replicates must not be negative");
        }
        return new LeaderboardOptions { Dataset = parse.GetValue(o.Dataset), K = k, Judge = parse.GetValue(o.Judge), Replicates = reps, Seed = parse.GetValue(o.Seed) };
    }

    public static Command BuildLeaderboard()
    {
        var cmd = new Command("leaderboard", "Rank agent configurations: CRR, EPR, file/function IoU, pass@k and mean@k with 95% bootstrap CIs");
        var common = CommonOptions(cmd);
        var json = CliOptions.Json();
        var csv = new Option<bool>("--csv") { Description = "Print CSV" };
        cmd.Options.Add(json);
        cmd.Options.Add(csv);
        var wide = new Option<bool>("--wide") { Description = "Every column (model, CRR pass@k, boot errors, pending, agent errors, cost per run); the default table fits 120 columns" };
        cmd.Options.Add(wide);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            var options = ReadOptions(parse, common);
            using var db = ws.OpenStore();
            LeaderboardResult lb;
            try
            {
                lb = Leaderboard.Query(db, options);
            }
            catch (LeaderboardException ex)
            {
                throw new UsageException(ex.Message);
            }
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(lb.ToJson());
                return ExitCodes.Success;
            }
            if (parse.GetValue(csv))
            {
                Console.Out.Write(lb.ToCsv());
                return ExitCodes.Success;
            }
            PrintLeaderboard(lb, parse.GetValue(wide));
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static string Pct(MeanCi? c) => c is null ? "–" : string.Create(CultureInfo.InvariantCulture, $"{c.Mean * 100,5:F1} [{c.CiLow * 100:F1}, {c.CiHigh * 100:F1}]");

    /// <summary>
    /// Prints the leaderboard table. Metrics that were not measured show as <c>–</c> (EPR without a judge, a function IoU
    /// measured on no bug). The default table fits 120 columns: configuration, runs, CRR, EPR pass@k, file and function
    /// IoU, inconclusive and error counts; <paramref name="wide"/> adds the model, CRR pass@k, definition IoU and the
    /// other counts. A line under the table says over how many bugs a function/definition IoU mean was taken when that
    /// is fewer than all.
    /// </summary>
    internal static void PrintLeaderboard(LeaderboardResult lb, bool wide = false)
    {
        Console.WriteLine($"dataset: {lb.Dataset ?? "(every bug with a run)"}   bugs: {lb.Bugs}   k: {lb.K}   judge: {lb.Judge ?? "(none: EPR not measured)"}   95% bootstrap CI, {lb.Replicates} replicates");
        if (lb.Rows.Count == 0)
        {
            Console.WriteLine("no agent runs");
            return;
        }
        string Epr(LeaderboardRow r) => lb.Judge is null || !r.EprMeasured ? "–" : Pct(r.PassAtK.Epr);
        if (!wide)
        {
            Console.WriteLine($"{"configuration",-20} {"runs",4} {"CRR %",-20} {"EPR pass@" + lb.K + " %",-20} {"file IoU %",-20} {"func IoU %",-20} {"inc",3} {"err",3}");
            foreach (var r in lb.Rows)
            {
                Console.WriteLine($"{Trunc(r.AgentConfig, 20),-20} {r.Runs,4} {Pct(r.Crr),-20} {Epr(r),-20} {Pct(r.FileIou),-20} {Pct(r.FunctionIou),-20} {r.Counts.Inconclusive,3} {r.Counts.Error,3}");
            }
        }
        else
        {
            Console.WriteLine($"{"configuration",-28} {"model",-20} {"runs",5} {"CRR %",-20} {"EPR pass@" + lb.K + " %",-20} {"CRR pass@" + lb.K + " %",-20} {"file IoU %",-20} {"func IoU %",-20} {"def IoU %",-20} {"<k runs",7} {"resolved",8} {"notRes",6} {"inconcl",7} {"boot",4} {"compile",7} {"error",5} {"pending",7} {"$/run",9}");
            foreach (var r in lb.Rows)
            {
                var c = r.Counts;
                Console.WriteLine($"{Trunc(r.AgentConfig, 28),-28} {Trunc(r.Model, 20),-20} {r.Runs,5} {Pct(r.Crr),-20} {Epr(r),-20} {Pct(r.PassAtK.Crr),-20} {Pct(r.FileIou),-20} {Pct(r.FunctionIou),-20} {Pct(r.DefinitionIou),-20} {r.IncompleteBugs.Count,7} {c.Resolved,8} {c.NotResolved,6} {c.Inconclusive,7} {c.BootError,4} {c.CompilationError,7} {c.Error,5} {c.Pending,7} {Usd(r),9}");
            }
        }
        Console.WriteLine("inc = inconclusive (all instances clean, cap reached before the false-fix bound), err = infrastructure error after every retry or failed agent run; neither is ever a fix");
        if (!wide && lb.Rows.Any(r => r.CostPerRunUsd > 0))
        {
            Console.WriteLine("cost per run (USD, mean over the done runs that recorded a cost): "
                + string.Join(", ", lb.Rows.Where(r => r.CostPerRunUsd is not null).Select(r => $"{r.AgentConfig} {Usd(r)} ({r.CostRuns} runs)")));
        }
        foreach (var r in lb.Rows.Where(r => r.FunctionIouBugs < r.Bugs || r.DefinitionIouBugs < r.Bugs))
        {
            Console.WriteLine($"{r.AgentConfig}: function IoU over {r.FunctionIouBugs} of {r.Bugs} bugs, definition IoU over {r.DefinitionIouBugs} (not measured on the others: the developer fix touches no function/definition)");
        }
        foreach (var r in lb.Rows.Where(r => r.IncompleteBugs.Count > 0))
        {
            var shown = string.Join(", ", r.IncompleteBugs.Take(10).Select(b => $"{b.BugId} ({b.Runs})"));
            Console.WriteLine($"{r.AgentConfig}: {r.IncompleteBugs.Count} bugs with fewer than {lb.K} runs (kept; pass@k uses pass@n): {shown}{(r.IncompleteBugs.Count > 10 ? ", …" : "")}");
        }
    }

    private static string Usd(LeaderboardRow r) => r.CostPerRunUsd is { } c ? c.ToString("F4", CultureInfo.InvariantCulture) : "–";

    private static string Trunc(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    public static Command BuildResearch()
    {
        var research = new Command("research", "Research queries over the evaluation results");
        var cmd = new Command("cutoff", "CRR/EPR on bugs fixed before vs after each model's training cutoff (configs/models/*.yaml trainingCutoff), with CIs and a chart");
        var common = CommonOptions(cmd);
        var json = CliOptions.Json();
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            var options = ReadOptions(parse, common);
            CutoffResult result;
            using (var db = ws.OpenStore())
            {
                try
                {
                    result = CutoffResearch.Compute(db, Path.Combine(ws.ConfigsDir, "models"), options);
                }
                catch (LeaderboardException ex)
                {
                    throw new UsageException(ex.Message);
                }
            }
            result = await CutoffResearch.WriteChartAsync(ws, result, ct);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(result, LeaderboardResult.JsonOptions));
                return ExitCodes.Success;
            }
            Console.WriteLine("model training cutoffs (configs/models):");
            foreach (var m in result.Models)
            {
                Console.WriteLine($"  {m.ModelConfig,-24} {m.Model,-28} {(m.TrainingCutoff is { } d ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "unknown")}");
            }
            foreach (var e in result.ConfigErrors)
            {
                Console.WriteLine($"  unreadable: {e}");
            }
            Console.WriteLine($"bugs without a fix date (excluded): {result.BugsWithoutFixDate}");
            if (result.ConfigsWithoutCutoff.Count > 0)
            {
                Console.WriteLine($"agent configurations without a model cutoff (skipped): {string.Join(", ", result.ConfigsWithoutCutoff)}");
            }
            Console.WriteLine($"{"configuration",-28} {"cutoff",-10} {"bugs b/a",9} {"CRR before",-20} {"CRR after",-20} {"CRR diff",-22} {"EPR before",-20} {"EPR after",-20} {"EPR diff",-22}");
            foreach (var r in result.Rows)
            {
                Console.WriteLine($"{Trunc(r.AgentConfig, 28),-28} {r.Cutoff.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),-10} {r.BugsBefore + "/" + r.BugsAfter,9} {Pct(r.CrrBefore),-20} {Pct(r.CrrAfter),-20} {Pct(r.CrrDifference),-22} {Pct(r.EprBefore),-20} {Pct(r.EprAfter),-20} {Pct(r.EprDifference),-22}");
            }
            Console.WriteLine(result.ChartSvg is not null ? $"chart: {result.ChartSvg}\nchart (PNG): {result.ChartPng}" : result.PngSkipped);
            return ExitCodes.Success;
        });
        research.Subcommands.Add(cmd);
        return research;
    }
}
