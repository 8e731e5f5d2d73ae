using System.CommandLine;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Stages;
using LiveKBench.Arena.Store;
using LiveKBench.Kernel.Vm;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench mirror`, `kbench kcache`, `kbench reproduce`, `kbench eval crash`.</summary>
internal static class KernelCommands
{
    public static Command BuildMirror()
    {
        var cmd = new Command("mirror", "Kernel source mirrors (git) that builds check commits out of");
        var url = new Argument<string>("url") { Description = "Git URL the mirror stands for (as syzbot names the tree)" };
        var path = new Argument<string>("path") { Description = "Path of a bare git mirror" };
        var add = new Command("add", "Register a bare mirror of a kernel tree for a git URL");
        add.Arguments.Add(url);
        add.Arguments.Add(path);
        add.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            try
            {
                MirrorStage.Register(ws, parse.GetValue(url)!, parse.GetValue(path)!);
            }
            catch (DirectoryNotFoundException ex)
            {
                Console.Error.WriteLine($"kbench: {ex.Message}");
                return ExitCodes.WorkFailed;
            }
            Console.WriteLine($"mirror {parse.GetValue(url)} -> {Path.GetFullPath(parse.GetValue(path)!)}");
            return ExitCodes.Success;
        });
        var tarball = new Argument<string>("tarball") { Description = "Kernel source tarball, e.g. /usr/src/linux-source-6.1.tar.xz", DefaultValueFactory = _ => "/usr/src/linux-source-6.1.tar.xz" };
        var json = CliOptions.Json();
        var fromTarball = new Command("from-tarball", "Make the offline default mirror: one deterministic commit holding the tarball's source; bundle bugs on it get their parent-of-fix and fix commits");
        fromTarball.Arguments.Add(tarball);
        fromTarball.Options.Add(json);
        fromTarball.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            var log = logs.CreateLogger("mirror");
            var t = parse.GetValue(tarball)!;
            if (!File.Exists(t))
            {
                Console.Error.WriteLine($"kbench: {t} not found (install the Debian package linux-source-6.1)");
                return ExitCodes.WorkFailed;
            }
            var (p, commit, attached) = await CliProgress.RunAsync("mirror from tarball", CliContext.Interactive(parse.GetValue(json)), async progress =>
            {
                progress(0, 1, "extract and commit (1-3 min)");
                return await MirrorStage.FromTarballAsync(ws, t, log, ct);
            });
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(new { path = p, sourceCommit = commit, bugsAttached = attached });
            }
            else
            {
                Console.WriteLine($"mirror {p}\n  source commit {commit}\n  {attached} bundle bugs got their parent-of-fix and fix commits");
            }
            return ExitCodes.Success;
        });
        var list = new Command("list", "List registered mirrors");
        list.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            foreach (var (k, v) in ws.Settings.Mirrors)
            {
                Console.WriteLine($"{k}  {v}");
            }
            return ExitCodes.Success;
        });
        cmd.Subcommands.Add(add);
        cmd.Subcommands.Add(fromTarball);
        cmd.Subcommands.Add(list);
        return cmd;
    }

    public static Command BuildKcache()
    {
        var bugs = new Option<string[]>("--bug") { Description = "Only these bugs (repeatable)", AllowMultipleArgumentsPerToken = true };
        var json = CliOptions.Json();
        var cmd = new Command("kcache", "Build each bug at its parent of fix and reproduce its crash (the baseline); only bugs reproduced with their own crash go on to agents");
        cmd.Options.Add(bugs);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            List<string>? ids;
            using (var db = ws.OpenStore())
            {
                ids = parse.GetValue(bugs) is { Length: > 0 } b ? BugCommands.ResolveIds(db, b) : null;
            }
            var summary = await CliProgress.RunAsync("kcache", CliContext.Interactive(parse.GetValue(json)),
                p => ReproductionStages.KcacheAsync(ws, ids, logs.CreateLogger("kcache"), p, ct));
            using var db2 = ws.OpenStore();
            var rows = db2.KcacheEntries.AsNoTracking().OrderBy(k => k.BugId).ToList()
                .Where(k => ids is null || ids.Contains(k.BugId))
                .Select(k => new
                {
                    bug = k.BugId,
                    status = EnumText.ToText(k.Status),
                    verdict = k.Verdict is { } v ? EnumText.ToText(v) : null,
                    crashTitle = k.CrashTitle,
                    sameCrash = k.SameCrash,
                    reason = k.Reason,
                    attempts = k.Attempts,
                }).ToList();
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(new { done = summary.Done, failed = summary.Failed, skipped = summary.Skipped, baselines = rows });
            }
            else
            {
                foreach (var r in rows)
                {
                    Console.WriteLine($"{r.bug,-40} {r.verdict ?? r.status,-16} {(r.sameCrash == true ? "own crash" : r.sameCrash == false ? "OTHER crash" : ""),-11} {r.crashTitle}");
                }
                Console.WriteLine($"kcache: {summary.Done} done, {summary.Failed} failed, {summary.Skipped} skipped");
            }
            return summary.Failed > 0 ? ExitCodes.WorkFailed : ExitCodes.Success;
        });
        return cmd;
    }

    public static Command BuildReproduce()
    {
        var bug = new Option<string>("--bug") { Description = "Bug id, extid or bundle key", Required = true };
        var patch = new Option<string?>("--patch") { Description = "A patch file to apply on the parent of fix (none = the baseline)" };
        var instances = new Option<int?>("--instances") { Description = "VM instances (default from settings, 5)" };
        var json = CliOptions.Json();
        var cmd = new Command("reproduce", "One evaluation by hand: build the bug's parent of fix (with --patch) and run its reproducer in N VMs; prints the verdict");
        cmd.Options.Add(bug);
        cmd.Options.Add(patch);
        cmd.Options.Add(instances);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            Bug? b;
            using (var db = ws.OpenStore())
            {
                b = BugRepository.Find(db, parse.GetValue(bug)!) ?? throw new UsageException($"no bug {parse.GetValue(bug)}");
            }
            string? patchText = null;
            if (parse.GetValue(patch) is { } pf)
            {
                if (!File.Exists(pf))
                {
                    throw new UsageException($"{pf}: no such file");
                }
                patchText = await File.ReadAllTextAsync(pf, ct);
            }
            var n = parse.GetValue(instances) ?? ws.Settings.Vm.Instances;
            if (n < 1)
            {
                throw new UsageException("--instances must be at least 1");
            }
            ReproductionResult result;
            try
            {
                result = await CliProgress.RunAsync("reproduce", CliContext.Interactive(parse.GetValue(json)), async p =>
                {
                    p(0, 1, $"{b.Id}: build + {n} VMs");
                    return await ReproductionStages.ReproduceAsync(ws, b, patchText, n, logs.CreateLogger("reproduce"), ct);
                });
            }
            catch (InvalidOperationException ex)
            {
                Console.Error.WriteLine($"kbench: {ex.Message}");
                return ExitCodes.WorkFailed;
            }
            var verdict = EnumText.ToText(ReproductionStages.Map(result.Verdict));
            if (parse.GetValue(json))
            {
                var node = System.Text.Json.JsonSerializer.SerializeToNode(new
                {
                    bug = b.Id,
                    verdict,
                    crashTitle = result.CrashTitle,
                    sameCrash = result.SameCrash,
                    reason = result.Reason,
                    instancesRun = result.InstancesRun,
                    instances = result.Instances.Select(i => new { verdict = EnumText.ToText(ReproductionStages.Map(i.Verdict)), crashTitle = i.CrashTitle, console = i.ConsolePath }),
                    buildSeconds = Math.Round(result.BuildSeconds, 1),
                    reproduceSeconds = Math.Round(result.ReproduceSeconds, 1),
                }, BugDocument.JsonOptions)!.AsObject();
                node["falseFixBound"] = result.FalseFixBound;
                CliContext.PrintJson(node);
            }
            else
            {
                Console.WriteLine($"{b.Id}: {verdict}{(result.CrashTitle is null ? "" : $" — {result.CrashTitle} ({(result.SameCrash ? "the bug's own crash" : "another crash")})")}");
                Console.WriteLine($"  {result.Reason}");
                foreach (var i in result.Instances)
                {
                    Console.WriteLine($"  instance {i.Index}: {EnumText.ToText(ReproductionStages.Map(i.Verdict))} {i.CrashTitle} ({i.Seconds:F1} s, {i.ConsolePath})");
                }
                Console.WriteLine($"  {result.InstancesRun} instances{(result.FalseFixBound is { } fb ? $", false-fix bound {fb:0.####}" : "")}; build {result.BuildSeconds:F1} s, reproduce {result.ReproduceSeconds:F1} s");
            }
            return result.Verdict == ReproductionVerdict.Error ? ExitCodes.WorkFailed : ExitCodes.Success;
        });
        return cmd;
    }

    public static Command BuildEvalCrash()
    {
        var config = new Option<string?>("--agent-config") { Description = "Only runs of this agent configuration" };
        var json = CliOptions.Json();
        var cmd = new Command("crash", "Crash resolution: rebuild with each agent patch that has no verdict yet and rerun the reproducer");
        cmd.Options.Add(config);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            var s = await CliProgress.RunAsync("eval crash", CliContext.Interactive(parse.GetValue(json)),
                p => ReproductionStages.EvaluateCrashResolutionAsync(ws, parse.GetValue(config), logs.CreateLogger("eval.crash"), p, ct));
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(new { done = s.Done, failed = s.Failed, skipped = s.Skipped });
            }
            else
            {
                Console.WriteLine($"crash resolution: {s.Done} evaluated, {s.Failed} failed, {s.Skipped} skipped");
            }
            return s.Failed > 0 ? ExitCodes.WorkFailed : ExitCodes.Success;
        });
        return cmd;
    }
}
