using System.CommandLine;
using LiveKBench.Agents;
using LiveKBench.Datasets;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench agent run`.</summary>
internal static class AgentCommands
{
    public static Command Build()
    {
        var agent = new Command("agent", "Run agents on bugs (kEnv protocol, docs/kenv.md)");
        agent.Subcommands.Add(Run());
        agent.Subcommands.Add(Install());
        return agent;
    }

    private static Command Install()
    {
        var name = new Argument<string>("name") { Description = "npm-cli agent configuration (configs/agents/NAME.yaml or a shipped one: pi, qwen)" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds npm may take", DefaultValueFactory = _ => 900 };
        var cmd = new Command("install", "Install the pinned npm package of an npm-cli agent into WORKSPACE/tools/npm/NAME (npm install; output in install.log)");
        cmd.Arguments.Add(name);
        cmd.Options.Add(timeout);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            AgentConfigFile cfg;
            try
            {
                cfg = AgentConfigFile.Load(ws.ConfigsDir, parse.GetValue(name)!).Config;
            }
            catch (AgentConfigException ex)
            {
                throw new UsageException(ex.Message);
            }
            string prefix;
            try
            {
                prefix = await NpmAgentInstaller.InstallAsync(ws.Root, cfg, TimeSpan.FromSeconds(parse.GetValue(timeout)), ct);
            }
            catch (AgentConfigException ex)
            {
                throw new UsageException(ex.Message);
            }
            Console.WriteLine($"installed {cfg.Npm!.Package}@{cfg.Npm.Version} into {prefix} (log: {Path.Combine(prefix, "install.log")})");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command Run()
    {
        var config = new Option<string>("--config") { Description = "Agent configuration: configs/agents/NAME.yaml, or built-in developer-oracle / empty", Required = true };
        var bugs = new Option<string[]>("--bug") { Description = "Bugs (id, extid or bundle key; repeatable). Default: every bug whose baseline reproduced its own crash", AllowMultipleArgumentsPerToken = true };
        var dataset = new Option<string?>("--dataset") { Description = "Run on the members of this dataset" };
        var runs = new Option<int>("--runs") { Description = "Runs per bug (RunIndex 0..N-1); existing done runs are kept", DefaultValueFactory = _ => 1 };
        var noSandbox = new Option<bool>("--no-sandbox") { Description = "Run agent processes and tools WITHOUT isolation (network and whole file system reachable)" };
        var sourceTree = new Option<string?>("--source-tree") { Description = "Make agent trees from this local source folder (squashed copy) instead of the git mirrors" };
        var keepTree = new Option<bool>("--keep-tree") { Description = "Keep work/agent-runs/ID/ after each run" };
        var json = CliOptions.Json();
        var cmd = new Command("run", "Run an agent configuration on bugs and store the runs (pending → running → done/failed)");
        foreach (var o in new Option[] { config, bugs, dataset, runs, noSandbox, sourceTree, keepTree, json })
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            var log = logs.CreateLogger("agent.run");
            if (parse.GetValue(runs) < 1)
            {
                throw new UsageException("--runs must be at least 1");
            }
            List<string>? keys = parse.GetValue(bugs) is { Length: > 0 } b ? [.. b] : null;
            if (parse.GetValue(dataset) is { } d)
            {
                if (keys is not null)
                {
                    throw new UsageException("give either --bug or --dataset, not both");
                }
                using var db = ws.OpenStore();
                try
                {
                    keys = DatasetService.MemberIds(db, d);
                }
                catch (DatasetException ex)
                {
                    throw new UsageException(ex.Message);
                }
            }
            IAgentTreeProvider trees = parse.GetValue(sourceTree) is { } src
                ? new DirectoryTreeProvider(Path.GetFullPath(src))
                : new MirrorTreeProvider(ws.Settings.Mirrors);
            var options = new AgentRunOptions
            {
                Runs = parse.GetValue(runs),
                RunnerOverride = parse.GetValue(noSandbox) ? RunnerKind.None : null,
                Trees = trees,
                KeepTree = parse.GetValue(keepTree),
            };
            List<AgentRunReport> reports;
            try
            {
                reports = await new AgentRunner(ws).RunAsync(parse.GetValue(config)!, keys, options, ct);
            }
            catch (AgentConfigException ex)
            {
                throw new UsageException(ex.Message);
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message);
            }
            foreach (var r in reports.Where(r => !r.Skipped))
            {
                log.LogInformation("agent run {Id} ({Config}, {Bug}, #{Index}): {Status} {Exit} {Reason}", r.RunId, r.Config, r.BugId, r.RunIndex, r.Status, r.ExitReason, r.FailureReason);
            }
            if (parse.GetValue(json))
            {
                foreach (var r in reports)
                {
                    CliContext.PrintJsonLine(r);
                }
            }
            else
            {
                foreach (var r in reports)
                {
                    var what = r.Status == "done"
                        ? $"{r.ExitReason}, {r.Steps} steps, {r.DollarCost:F4} USD, {r.TimeSeconds:F1} s, patch {r.PatchChars} chars"
                        : $"{r.Status}: {r.FailureReason}";
                    Console.WriteLine($"run {r.RunId} {r.BugId} #{r.RunIndex}{(r.Skipped ? " (kept)" : "")}: {what}");
                }
                Console.WriteLine($"{reports.Count(r => r.Status == "done")} done, {reports.Count(r => r.Status == "failed")} failed, {reports.Count(r => r.Skipped)} kept from before");
            }
            return reports.Any(r => r.Status == "failed") ? ExitCodes.WorkFailed : ExitCodes.Success;
        });
        return cmd;
    }
}
