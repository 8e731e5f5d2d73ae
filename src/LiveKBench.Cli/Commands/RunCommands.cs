using System.CommandLine;
using System.Runtime.InteropServices;
using LiveKBench.Agents;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Stages;
using LiveKBench.Arena.Syzbot;
using LiveKBench.Datasets;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Infrastructure;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench run`, `kbench live`, `kbench status`, `kbench retry`.</summary>
internal static class RunCommands
{
    private sealed record RunArgs(Option<string?> Dataset, Option<string?> BugsFrom, Option<string> Agents, Option<string?> Judge, Option<int> Runs, Option<int> K, Option<bool> NoSandbox, Option<bool> Json);

    private static RunArgs AddRunOptions(Command cmd)
    {
        var a = new RunArgs(
            new Option<string?>("--dataset") { Description = "Only this dataset's bugs" },
            new Option<string?>("--bugs-from") { Description = "Import these bugs first (bundle folder(s) or a .jsonl export) and run on them" },
            new Option<string>("--agents") { Description = "Agent configurations, comma-separated", DefaultValueFactory = _ => "developer-oracle,empty" },
            new Option<string?>("--judge") { Description = "Judge configuration (configs/judges/NAME.yaml); without it the judge stage is skipped" },
            new Option<int>("--runs") { Description = "Runs per agent configuration and bug", DefaultValueFactory = _ => 1 },
            new Option<int>("--k") { Description = "k of pass@k in the leaderboard", DefaultValueFactory = _ => 1 },
            new Option<bool>("--no-sandbox") { Description = "Run agents without bubblewrap (explicit opt-out)" },
            CliOptions.Json());
        cmd.Options.Add(a.Dataset);
        cmd.Options.Add(a.BugsFrom);
        cmd.Options.Add(a.Agents);
        cmd.Options.Add(a.Judge);
        cmd.Options.Add(a.Runs);
        cmd.Options.Add(a.K);
        cmd.Options.Add(a.NoSandbox);
        cmd.Options.Add(a.Json);
        return a;
    }

    private static PipelineOptions Read(ParseResult parse, RunArgs a)
    {
        if (parse.GetValue(a.Dataset) is not null && parse.GetValue(a.BugsFrom) is not null)
        {
            throw new UsageException("give either --dataset or --bugs-from, not both");
        }
        if (parse.GetValue(a.Runs) < 1 || parse.GetValue(a.K) < 1)
        {
            throw new UsageException("--runs and --k must be at least 1");
        }
        var agents = parse.GetValue(a.Agents)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (agents.Length == 0)
        {
            throw new UsageException("--agents needs at least one configuration");
        }
        return new PipelineOptions
        {
            Dataset = parse.GetValue(a.Dataset),
            BugsFrom = parse.GetValue(a.BugsFrom),
            Agents = agents,
            Judge = parse.GetValue(a.Judge),
            Runs = parse.GetValue(a.Runs),
            K = parse.GetValue(a.K),
            NoSandbox = parse.GetValue(a.NoSandbox),
        };
    }

    public static Command BuildRun()
    {
        var cmd = new Command("run", "The benchmark end to end: import → kcache (baseline build + reproduction) → agent runs → crash resolution → LLM judge → localization → leaderboard. Only work without a result is done; rerun after a kill.");
        var a = AddRunOptions(cmd);
        cmd.SetAction(async (parse, ct) =>
        {
            var options = Read(parse, a);
            var ws = Workspace.Exists(CliOptions.ResolveWorkspace(parse)) ? CliContext.OpenWorkspace(parse) : Workspace.Init(CliOptions.ResolveWorkspace(parse));
            using var logs = CliContext.Logging(ws);
            var json = parse.GetValue(a.Json);
            var report = await RunPipelineAsync(ws, options, logs, json, ct);
            if (report is null)
            {
                return ExitCodes.WorkFailed;
            }
            Print(report, json);
            return report.Failed ? ExitCodes.WorkFailed : ExitCodes.Success;
        });
        return cmd;
    }

    public static Command BuildLive()
    {
        var cmd = new Command("live", "Run continuously: crawl syzbot every --interval-hours, then the pipeline; SIGINT/SIGTERM finish the current step and stop");
        var a = AddRunOptions(cmd);
        var interval = new Option<double>("--interval-hours") { Description = "Hours between crawls", DefaultValueFactory = _ => 6 };
        var url = new Option<string?>("--syzbot-url") { Description = "Dashboard URL (default from settings)" };
        var once = new Option<bool>("--once") { Description = "One crawl + pipeline round, then stop" };
        cmd.Options.Add(interval);
        cmd.Options.Add(url);
        cmd.Options.Add(once);
        cmd.SetAction(async (parse, ct) =>
        {
            var options = Read(parse, a);
            var ws = Workspace.Exists(CliOptions.ResolveWorkspace(parse)) ? CliContext.OpenWorkspace(parse) : Workspace.Init(CliOptions.ResolveWorkspace(parse));
            using var logs = CliContext.Logging(ws);
            var log = logs.CreateLogger("live");
            // SIGTERM: finish the current step, then stop (SIGINT is handled by CliHost through the same token).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                log.LogWarning("SIGTERM: stopping after the current step");
                stop.Cancel();
            });
            var json = parse.GetValue(a.Json);
            var round = 0;
            while (!stop.IsCancellationRequested)
            {
                round++;
                log.LogInformation("live round {Round}: crawl", round);
                try
                {
                    var (client, crawler) = CrawlerFactory.Create(ws, logs, parse.GetValue(url), false);
                    using (client)
                    {
                        var s = await crawler.CrawlAsync(new CrawlOptions { Namespaces = [.. ws.Settings.Syzbot.Namespaces] }, null, stop.Token);
                        Console.Error.WriteLine($"crawl: {s.New} new, {s.Transitioned} open→fixed, {s.Failed} failed");
                    }
                    var report = await RunPipelineAsync(Workspace.Open(ws.Root), options, logs, json, stop.Token);
                    if (report is not null)
                    {
                        Print(report, json);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                if (parse.GetValue(once))
                {
                    break;
                }
                try
                {
                    await Task.Delay(TimeSpan.FromHours(Math.Max(0.01, parse.GetValue(interval))), stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            log.LogInformation("live stopped after {Rounds} rounds", round);
            return ExitCodes.Success;
        });
        return cmd;
    }

    public static Command BuildStatus()
    {
        var json = CliOptions.Json();
        var cmd = new Command("status", "Per stage: pending, running, done and failed work, with the top failure reasons");
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var stages = PipelineStatus.Compute(db, ws.Settings.Reproduction.MaxInstances);
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(stages);
                return ExitCodes.Success;
            }
            Console.WriteLine($"{"stage",-18} {"pending",8} {"running",8} {"done",8} {"failed",8}");
            foreach (var s in stages)
            {
                Console.WriteLine($"{s.Stage,-18} {s.Pending,8} {s.Running,8} {s.Done,8} {s.Failed,8}");
                foreach (var r in s.TopReasons)
                {
                    Console.WriteLine($"{"",-18}   {r.Count} × {r.Reason}");
                }
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    public static Command BuildRetry()
    {
        var json = CliOptions.Json();
        var bugs = new Option<string[]>("--bug") { Description = "Only this bug's work (repeatable)", AllowMultipleArgumentsPerToken = true };
        var stage = new Option<string[]>("--stage") { Description = "Only these stages: kcache, agents, crash, judge, localization (repeatable; default all)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("retry", "Give back the attempts of work whose infrastructure errors spent every retry (final verdict error, or failed at MaxAttempts), so the next `kbench run` does it again; kernel verdicts are kept");
        cmd.Options.Add(bugs);
        cmd.Options.Add(stage);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var stages = new List<RetryStage>();
            foreach (var name in parse.GetValue(stage) ?? [])
            {
                stages.Add(name.Trim().ToLowerInvariant() switch
                {
                    "kcache" => RetryStage.Kcache,
                    "agents" or "agent" => RetryStage.Agents,
                    "crash" => RetryStage.Crash,
                    "judge" => RetryStage.Judge,
                    "localization" => RetryStage.Localization,
                    _ => throw new UsageException($"unknown stage '{name}' (kcache, agents, crash, judge, localization)"),
                });
            }
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var ids = parse.GetValue(bugs) is { Length: > 0 } b ? b : null;
            if (ids is not null && ids.FirstOrDefault(id => !db.Bugs.Any(x => x.Id == id)) is { } missing)
            {
                throw new UsageException($"no bug {missing}");
            }
            var counts = PipelineRetry.ResetSpent(db, ws.Settings.MaxAttempts, stages, ids);
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(counts);
                return ExitCodes.Success;
            }
            foreach (var c in counts)
            {
                Console.WriteLine($"{c.Stage,-18} {c.Reset,4} reset");
                foreach (var r in c.Reasons.Take(3))
                {
                    Console.WriteLine($"{"",-18}   {r.Count} × {r.Reason}");
                }
            }
            Console.WriteLine(counts.Sum(c => c.Reset) == 0 ? "nothing to retry" : "the next `kbench run` (or the stage's command) does them again");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static async Task<PipelineReport?> RunPipelineAsync(Workspace ws, PipelineOptions options, ILoggerFactory logs, bool json, CancellationToken ct)
    {
        try
        {
            if (!CliContext.Interactive(json))
            {
                var last = "";
                return await Pipeline.RunAsync(ws, options, logs, (stage, done, total, item) =>
                {
                    // One line per stage and item on stderr (stdout stays the report / JSON).
                    var line = $"{stage}: {(item.Length > 0 ? item : total + " items")}";
                    if (line != last && (item.Length > 0 || done == 0))
                    {
                        last = line;
                        Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line} ({done}/{total})");
                    }
                }, ct);
            }
            PipelineReport? report = null;
            await AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var tasks = new Dictionary<string, ProgressTask>();
                    report = await Pipeline.RunAsync(ws, options, logs, (stage, done, total, item) =>
                    {
                        if (!tasks.TryGetValue(stage, out var t))
                        {
                            t = tasks[stage] = ctx.AddTask(Markup.Escape(stage), maxValue: Math.Max(1, total));
                        }
                        t.MaxValue = Math.Max(1, total);
                        t.Value = done;
                        t.Description = Markup.Escape(item.Length == 0 ? stage : $"{stage}: {(item.Length > 50 ? item[..50] + "…" : item)}");
                    }, ct);
                    foreach (var t in tasks.Values)
                    {
                        t.Value = t.MaxValue;
                    }
                });
            return report;
        }
        catch (Exception ex) when (ex is BugImportException or DatasetException or AgentConfigException or ConfigException or InvalidOperationException)
        {
            Console.Error.WriteLine($"kbench: {ex.Message}");
            return null;
        }
    }

    private static void Print(PipelineReport report, bool json)
    {
        if (json)
        {
            Console.Out.WriteLine(report.Leaderboard?.ToJson() ?? "null");
            return;
        }
        foreach (var (stage, summary) in report.Stages)
        {
            Console.WriteLine($"{stage,-24} {summary}");
        }
        Console.WriteLine();
        if (report.Leaderboard is { } lb)
        {
            EvaluationCommands.PrintLeaderboard(lb);
        }
    }
}
