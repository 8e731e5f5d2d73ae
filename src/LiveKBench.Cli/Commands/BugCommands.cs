using System.CommandLine;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Stages;
using LiveKBench.Arena.Store;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench bugs import|export|list|show`.</summary>
internal static class BugCommands
{
    public static Command Build()
    {
        var bugs = new Command("bugs", "Import, export, list and show bugs");
        bugs.Subcommands.Add(Import());
        bugs.Subcommands.Add(Export());
        bugs.Subcommands.Add(List());
        bugs.Subcommands.Add(Show());
        return bugs;
    }

    private static Command Import()
    {
        var path = new Argument<string>("path") { Description = "A bug bundle folder, a folder of bundles (realbugs layout), or a JSON Lines export (.jsonl)" };
        var json = CliOptions.Json();
        var cmd = new Command("import", "Import bugs, all or nothing; importing twice changes nothing");
        cmd.Arguments.Add(path);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            var log = logs.CreateLogger("bugs.import");
            var p = parse.GetValue(path)!;
            List<BugDocument> docs;
            try
            {
                docs = BugImport.ReadInput(p, LiveKBench.Infrastructure.Clock.UtcNow());
            }
            catch (BugImportException ex)
            {
                log.LogError("import of {Path} refused: {Reason}", p, ex.Message);
                Console.Error.WriteLine($"kbench: {ex.Message}; nothing imported");
                return ExitCodes.WorkFailed;
            }
            using var db = ws.OpenStore();
            ImportSummary summary;
            try
            {
                summary = BugRepository.Upsert(db, docs, ct);
            }
            catch (BugImportException ex)
            {
                log.LogError("import of {Path} refused: {Reason}", p, ex.Message);
                Console.Error.WriteLine($"kbench: {ex.Message}; nothing imported");
                return ExitCodes.WorkFailed;
            }
            // A bundle imported after its mirror exists gets its parent of fix now, so every stage finds it.
            var attached = await LiveKBench.Arena.Stages.MirrorStage.AttachIfMirrorAsync(ws, db, log, ct);
            if (attached > 0)
            {
                log.LogInformation("{Count} imported bugs attached to the kernel mirror", attached);
            }
            log.LogInformation("imported {Path}: {Added} added, {Updated} updated, {Unchanged} unchanged", p, summary.Added, summary.Updated, summary.Unchanged);
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(new { added = summary.Added, updated = summary.Updated, unchanged = summary.Unchanged, bugs = docs.Select(d => d.Id) });
            }
            else
            {
                Console.WriteLine($"{docs.Count} bugs read: {summary.Added} added, {summary.Updated} updated, {summary.Unchanged} unchanged");
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command Export()
    {
        var file = new Argument<string>("file") { Description = "Output JSON Lines file (one bug per line, schema livekbench-bug/1); - for stdout" };
        var ids = new Option<string[]>("--bug") { Description = "Only these bugs (repeatable)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("export", "Export bugs as JSON Lines (our own format; re-importable with `bugs import`)");
        cmd.Arguments.Add(file);
        cmd.Options.Add(ids);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var f = parse.GetValue(file)!;
            var only = parse.GetValue(ids) is { Length: > 0 } l ? ResolveIds(db, l) : null;
            if (f == "-")
            {
                BugRepository.ExportJsonLines(db, Console.Out, only);
                return ExitCodes.Success;
            }
            var tmp = f + ".tmp";
            int n;
            using (var w = new StreamWriter(tmp, false, new System.Text.UTF8Encoding(false)))
            {
                n = BugRepository.ExportJsonLines(db, w, only);
            }
            File.Move(tmp, f, overwrite: true);
            Console.Error.WriteLine($"{n} bugs written to {f}");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command List()
    {
        var json = CliOptions.Json();
        var rejected = new Option<bool>("--rejected") { Description = "List syzbot entries the crawler rejected or failed on, with the reason" };
        var status = new Option<string?>("--status") { Description = "Only open or fixed bugs" };
        var cmd = new Command("list", "List bugs (id, title, status, kernel base, fix commit, reproducer kinds, baseline verdict)");
        cmd.Options.Add(json);
        cmd.Options.Add(rejected);
        cmd.Options.Add(status);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            if (parse.GetValue(rejected))
            {
                return ListRejected(db, parse.GetValue(json));
            }
            var q = db.Bugs.AsNoTracking().Include(b => b.FixCommits).Include(b => b.Reproducers).Include(b => b.DeveloperPatch).AsSplitQuery();
            if (parse.GetValue(status) is { } s)
            {
                BugStatus st;
                try
                {
                    st = EnumText.Parse<BugStatus>(s);
                }
                catch (FormatException ex)
                {
                    throw new UsageException(ex.Message);
                }
                q = q.Where(b => b.Status == st);
            }
            var kcache = db.KcacheEntries.AsNoTracking().ToList().GroupBy(k => k.BugId).ToDictionary(g => g.Key, g => g.First());
            var rows = q.OrderBy(b => b.Id).AsEnumerable().Select(b => new BugListRow(
                b.Id,
                b.Title,
                EnumText.ToText(b.Status),
                b.Source == BugSource.Bundle ? b.BundleKey : null,
                b.KernelBase ?? b.KernelSourceGit,
                b.FixCommits.OrderBy(f => f.Index).Select(f => f.Hash).FirstOrDefault(h => h != null) ?? b.DeveloperPatch?.CommitHash,
                b.ParentOfFix,
                [.. b.Reproducers.OrderBy(r => r.Kind).Select(r => EnumText.ToText(r.Kind))],
                kcache.TryGetValue(b.Id, out var k) && k.Verdict is { } v ? EnumText.ToText(v) : null,
                k is { BaselineInstances: { } bn, BaselineCrashes: { } bc } ? $"{bc}/{bn}" : null,
                BaselineView.Of(k, ws.Settings.Reproduction.MaxInstances)?.Why)).ToList();
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(rows);
                return ExitCodes.Success;
            }
            if (rows.Count == 0)
            {
                Console.WriteLine("no bugs (import some with `kbench bugs import PATH` or `kbench crawl`)");
                return ExitCodes.Success;
            }
            Console.WriteLine($"{"id",-40}  {"status",-6}  {"repro",-5}  {"baseline",-16}  title");
            foreach (var r in rows)
            {
                Console.WriteLine($"{r.Id,-40}  {r.Status,-6}  {string.Join(",", r.Reproducers),-5}  {(r.BaselineVerdict ?? "-") + (r.BaselineCrashes is null ? "" : " " + r.BaselineCrashes),-16}  {r.Title}{(r.NotGivenToAgentsBecause is { } why ? $"\n{"",-40}  not given to agents: {why}" : "")}");
                Console.WriteLine($"{"",-40}  kernel {r.KernelBase ?? "-"}; fix {r.FixCommit ?? "-"}");
            }
            Console.WriteLine($"{rows.Count} bugs");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static int ListRejected(KBenchDbContext db, bool json)
    {
        var rows = db.CrawlRecords.AsNoTracking().Where(r => r.Outcome != CrawlOutcome.Stored).OrderBy(r => r.Namespace).ThenBy(r => r.Link).ToList()
            .Select(r => new { r.Namespace, r.Link, r.Title, outcome = EnumText.ToText(r.Outcome), r.Reason, r.Attempts, r.LastSeen }).ToList();
        if (json)
        {
            CliContext.PrintJson(rows);
            return ExitCodes.Success;
        }
        foreach (var r in rows)
        {
            Console.WriteLine($"{r.outcome,-9} {r.Link}  {r.Title}\n          reason: {r.Reason}");
        }
        Console.WriteLine($"{rows.Count} entries");
        return ExitCodes.Success;
    }

    private static Command Show()
    {
        var id = new Argument<string>("id") { Description = "Bug id, extid, syzbot id or bundle key" };
        var json = CliOptions.Json();
        var cmd = new Command("show", "Show one bug with its crashes, fix commits, reproducers and developer patch");
        cmd.Arguments.Add(id);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var key = parse.GetValue(id)!;
            var bug = BugRepository.Find(db, key);
            if (bug is null)
            {
                Console.Error.WriteLine($"kbench: no bug {key}");
                return ExitCodes.WorkFailed;
            }
            var doc = BugDocument.From(bug);
            var baseline = BaselineView.Of(db.KcacheEntries.AsNoTracking().Where(k => k.BugId == bug.Id).OrderBy(k => k.Id).FirstOrDefault(), ws.Settings.Reproduction.MaxInstances);
            if (parse.GetValue(json))
            {
                var node = System.Text.Json.JsonSerializer.SerializeToNode(doc, BugDocument.JsonOptions)!.AsObject();
                node["baseline"] = baseline is null ? null : System.Text.Json.JsonSerializer.SerializeToNode(baseline, BugDocument.JsonOptions);
                CliContext.PrintJson(node);
                return ExitCodes.Success;
            }
            Console.WriteLine($"{doc.Id}  {doc.Title}");
            Console.WriteLine($"  status        {EnumText.ToText(doc.Status)} ({EnumText.ToText(doc.Source)}{(doc.BundleKey is null ? "" : " " + doc.BundleKey)})");
            Console.WriteLine($"  link          {doc.Link}");
            Console.WriteLine($"  crash title   {doc.CrashTitle}");
            if (doc.AltTitles.Count > 0)
            {
                Console.WriteLine($"  alt titles    {string.Join(" | ", doc.AltTitles)}");
            }
            Console.WriteLine($"  kernel base   {doc.KernelBase ?? doc.KernelSourceGit}");
            Console.WriteLine($"  config        {(doc.ConfigFragment is not null ? $"{doc.ConfigBase} + fragment ({doc.ConfigFragment.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length} options)" : "full config")}, {doc.Architecture}");
            Console.WriteLine($"  reproducers   {string.Join(", ", doc.Reproducers.Select(r => $"{EnumText.ToText(r.Kind)} ({r.Text.Length} bytes)"))}");
            foreach (var f in doc.FixCommits)
            {
                Console.WriteLine($"  fix commit    {f.Hash ?? "(no hash)"} {f.Title}");
            }
            if (doc.ParentOfFix is not null)
            {
                Console.WriteLine($"  parent of fix {doc.ParentOfFix} (mirror)");
            }
            if (doc.DeveloperPatch is { } dp)
            {
                Console.WriteLine($"  dev patch     {EnumText.ToText(dp.Status)}{(dp.Patch is null ? "" : $", {dp.Patch.Split('\n').Length} lines")}{(dp.FixedTime is { } t ? $", fixed {t:yyyy-MM-dd}" : "")}{(dp.FailureReason is null ? "" : ", " + dp.FailureReason)}");
            }
            Console.WriteLine(baseline is null ? "  baseline      (kcache has not run)"
                : $"  baseline      {baseline.Verdict}{(baseline.ReproductionRate is { } rr ? $", {baseline.Crashes}/{baseline.Instances} instances crashed with the bug's own crash, rate {rr.Mean:0.00} (95 % CI {rr.CiLow:0.00}–{rr.CiHigh:0.00}), needs {baseline.RequiredCleanRuns?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "∞"} clean runs" : "")}{(baseline.Why is null ? "" : "; not given to agents: " + baseline.Why)}");
            return ExitCodes.Success;
        });
        return cmd;
    }

    internal static List<string> ResolveIds(KBenchDbContext db, IEnumerable<string> keys)
    {
        var ids = new List<string>();
        foreach (var key in keys)
        {
            var id = db.Bugs.Where(b => b.Id == key || b.Extid == key || b.SyzbotId == key || b.BundleKey == key).Select(b => b.Id).FirstOrDefault()
                ?? throw new UsageException($"no bug {key}");
            ids.Add(id);
        }
        return ids;
    }

    private sealed record BugListRow(string Id, string Title, string Status, string? BundleKey, string? KernelBase, string? FixCommit, string? ParentOfFix, List<string> Reproducers, string? BaselineVerdict, string? BaselineCrashes, string? NotGivenToAgentsBecause);
}
