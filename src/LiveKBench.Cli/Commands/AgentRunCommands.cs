using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Evaluation;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench runs list|show`: agent runs with their crash-resolution, judge and localization results.</summary>
internal static class AgentRunCommands
{
    public static Command Build()
    {
        var runs = new Command("runs", "List agent runs and show one with its patch, verdicts, judge votes, localization, cost and trajectory");
        runs.Subcommands.Add(List());
        runs.Subcommands.Add(Show());
        return runs;
    }

    private static Command List()
    {
        var config = new Option<string?>("--agent-config") { Description = "Only runs of this agent configuration" };
        var bug = new Option<string?>("--bug") { Description = "Only runs on this bug (id, extid, syzbot id or bundle key)" };
        var json = CliOptions.Json();
        var cmd = new Command("list", "List agent runs (id order): configuration, bug, crash resolution, judge, file/function IoU, cost, time, exit reason");
        cmd.Options.Add(config);
        cmd.Options.Add(bug);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            int? configId = null;
            if (parse.GetValue(config) is { } name)
            {
                configId = db.AgentConfigurations.AsNoTracking().Where(c => c.Name == name).Select(c => (int?)c.Id).FirstOrDefault();
                if (configId is null)
                {
                    Console.Error.WriteLine($"kbench: no agent configuration {name}");
                    return ExitCodes.WorkFailed;
                }
            }
            string? bugId = null;
            if (parse.GetValue(bug) is { } key)
            {
                bugId = BugRepository.Find(db, key)?.Id;
                if (bugId is null)
                {
                    Console.Error.WriteLine($"kbench: no bug {key}");
                    return ExitCodes.WorkFailed;
                }
            }
            var rows = RunViews.List(db, configId, bugId);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(rows, RunViews.JsonOptions));
                return ExitCodes.Success;
            }
            if (rows.Count == 0)
            {
                Console.WriteLine("no agent runs (start some with `kbench agent run` or `kbench run`)");
                return ExitCodes.Success;
            }
            // Full names and ids (they are what --agent-config and --bug take), so the two columns are as wide as their longest entry.
            var cw = Math.Max("configuration".Length, rows.Max(r => r.AgentConfig.Length));
            var bw = Math.Max("bug".Length, rows.Max(r => r.BugId.Length));
            Console.WriteLine($"{"run",5}  {"configuration".PadRight(cw)} {"bug".PadRight(bw)} {"b/r",-5} {"crash resolution",-16} {"judge",-11} {"file IoU",8} {"func IoU",8} {"cost $",8} {"time s",7}  exit");
            foreach (var r in rows)
            {
                var judge = r.Judges.Count == 0 ? "–" : string.Join(",", r.Judges.Select(j => j.Outcome));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Id,5}  {r.AgentConfig.PadRight(cw)} {r.BugId.PadRight(bw)} {$"{r.Batch}/{r.RunIndex}",-5} {r.CrashResolution,-16} {Trunc(judge, 11),-11} {Pct(r.FileIou),8} {Pct(r.FunctionIou),8} {Money(r.DollarCost),8} {Seconds(r.TimeSeconds),7}  {r.ExitReason ?? "–"}"));
            }
            Console.WriteLine($"{rows.Count} runs");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command Show()
    {
        var id = new Argument<int>("run") { Description = "Run id (the first column of `kbench runs list`)" };
        var json = CliOptions.Json();
        var cmd = new Command("show", "Show one agent run: patch, crash-resolution verdict with every VM instance and console, judge votes, localization sets and IoU, cost, time, exit reason, trajectory");
        cmd.Arguments.Add(id);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var runId = parse.GetValue(id);
            var run = RunViews.Show(db, runId, ws.Root);
            if (run is null)
            {
                Console.Error.WriteLine($"kbench: no run {runId} (see `kbench runs list`)");
                return ExitCodes.WorkFailed;
            }
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(run, RunViews.JsonOptions));
                return ExitCodes.Success;
            }
            Print(run);
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static void Print(RunDetails r)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"run {r.Id}  {r.AgentConfig}{(r.Model.Length > 0 ? $" ({r.Model})" : "")} on {r.BugId}  {r.BugTitle}");
        Console.WriteLine($"  batch/run     {r.Batch}/{r.RunIndex}");
        Console.WriteLine($"  status        {r.Status}{(r.FailureReason is null ? "" : ": " + r.FailureReason)}");
        Console.WriteLine($"  exit reason   {r.ExitReason ?? "–"}{(r.Steps is { } s ? $", {s} steps" : "")}");
        Console.WriteLine($"  cost          {(r.DollarCost is { } c ? string.Create(inv, $"{c:0.0000} USD") : "–")}");
        Console.WriteLine($"  time          {(r.TimeSeconds is { } t ? string.Create(inv, $"{t:0} s") : "–")}");
        Console.WriteLine($"  base commit   {r.BaseCommit ?? "–"}");
        Console.WriteLine($"  trajectory    {r.TrajectoryPath ?? "–"}");
        Console.WriteLine($"  log           {r.LogPath ?? "–"}");

        var cr = r.CrashResolution;
        Console.WriteLine();
        Console.WriteLine($"crash resolution: {cr.Outcome}{(cr.Verdict is null ? "" : $" (verdict {cr.Verdict})")}{(cr.CrashTitle is null ? "" : $", crash: {cr.CrashTitle}{(cr.SameCrash == true ? " (the bug's own)" : "")}")}");
        if (cr.Reason is not null)
        {
            Console.WriteLine($"  reason        {cr.Reason}");
        }
        if (cr.InstancesRun is { } n)
        {
            Console.WriteLine(string.Create(inv, $"  instances     {n}{(cr.FalseFixBound is { } b ? $", false-fix bound {b:0.####}" : "")}"));
        }
        foreach (var i in cr.Instances)
        {
            Console.WriteLine(string.Create(inv, $"  instance {i.Index,-3} {i.Verdict,-14} {i.Seconds,5:0} s  {i.Reason}{(i.CrashTitle is null ? "" : $" [{i.CrashTitle}{(i.SameCrash ? ", the bug's own" : "")}]")}{(i.Hang ? " (hang)" : "")}"));
            Console.WriteLine($"               console {i.Console}");
        }

        Console.WriteLine();
        if (r.Judges.Count == 0)
        {
            Console.WriteLine("judge: – (not judged)");
        }
        foreach (var j in r.Judges)
        {
            Console.WriteLine(string.Create(inv, $"judge {j.Judge}: {j.Outcome ?? j.Status}, votes yes {j.Yes}, no {j.No}, error {j.Errors}, {j.DollarCost:0.0000} USD"));
            foreach (var v in j.Votes)
            {
                Console.WriteLine(string.Create(inv, $"  vote {v.Index,-3} {v.Outcome,-5} {v.InputTokens} in / {v.OutputTokens} out tokens, {v.DollarCost:0.0000} USD{(v.Error is null ? "" : ": " + v.Error)}"));
            }
        }

        var l = r.Localization;
        Console.WriteLine();
        Console.WriteLine($"localization: {l.Status}{(l.Reason is null ? "" : ": " + l.Reason)}");
        Console.WriteLine($"  file IoU      {Pct(l.FileIou)}{(l.FileIou is null ? "" : $" % ({l.FileIntersection}/{l.FileUnion})")}");
        Console.WriteLine($"  function IoU  {Pct(l.FunctionIou)}{(l.FunctionIou is null ? "" : $" % ({l.FunctionIntersection}/{l.FunctionUnion})")}");
        Console.WriteLine($"  def. IoU      {Pct(l.DefinitionIou)}{(l.DefinitionIou is null ? "" : " %")}");
        Console.WriteLine($"  agent files       {Set(l.Agent.Files)}");
        Console.WriteLine($"  agent functions   {Set(l.Agent.Functions)}");
        Console.WriteLine($"  dev files         {Set(l.Developer.Files)}");
        Console.WriteLine($"  dev functions     {Set(l.Developer.Functions)}");

        Console.WriteLine();
        if (r.Patch is null)
        {
            Console.WriteLine("patch: – (the run produced none)");
        }
        else if (r.Patch.Length == 0)
        {
            Console.WriteLine("patch: empty (the agent changed nothing)");
        }
        else
        {
            Console.WriteLine($"patch ({r.Patch.Split('\n').Length - (r.Patch.EndsWith('\n') ? 1 : 0)} lines):");
            Console.Write(r.Patch.EndsWith('\n') ? r.Patch : r.Patch + "\n");
        }
    }

    private static string Set(IReadOnlyList<string> items) => items.Count == 0 ? "–" : string.Join(", ", items);

    private static string Pct(double? v) => v is { } x ? string.Create(CultureInfo.InvariantCulture, $"{x * 100:0.0}") : "–";

    private static string Money(double? v) => v is { } x ? string.Create(CultureInfo.InvariantCulture, $"{x:0.0000}") : "–";

    private static string Seconds(double? v) => v is { } x ? string.Create(CultureInfo.InvariantCulture, $"{x:0}") : "–";

    private static string Trunc(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";
}
