using System.CommandLine;
using System.Globalization;
using LiveKBench.Datasets;
using LiveKBench.Infrastructure;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench dataset create|list|show|export|import`.</summary>
internal static class DatasetCommands
{
    public static Command Build()
    {
        var cmd = new Command("dataset", "Named sets of bugs; export/import in the Hugging Face dataset layout (Parquet + JSON Lines)");
        cmd.Subcommands.Add(Create());
        cmd.Subcommands.Add(List());
        cmd.Subcommands.Add(Show());
        cmd.Subcommands.Add(Export());
        cmd.Subcommands.Add(Import());
        return cmd;
    }

    private static Command Create()
    {
        var name = new Argument<string>("name") { Description = "Dataset name (unique)" };
        var bugs = new Option<string[]>("--bug") { Description = "Bug id, extid or bundle key (repeatable)", AllowMultipleArgumentsPerToken = true };
        var between = new Option<string[]>("--fixed-between") { Description = "FROM TO (UTC dates, inclusive): bugs whose fix was committed in that window", Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true };
        var description = new Option<string>("--description") { Description = "Description", DefaultValueFactory = _ => "" };
        var json = CliOptions.Json();
        var cmd = new Command("create", "Create a dataset from bugs or a fix-date window");
        cmd.Arguments.Add(name);
        cmd.Options.Add(bugs);
        cmd.Options.Add(between);
        cmd.Options.Add(description);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var ids = parse.GetValue(bugs) ?? [];
            var window = parse.GetValue(between) ?? [];
            if ((ids.Length == 0) == (window.Length == 0))
            {
                throw new UsageException("give either --bug ID... or --fixed-between FROM TO");
            }
            DatasetDocument doc;
            try
            {
                doc = ids.Length > 0
                    ? DatasetService.Create(db, parse.GetValue(name)!, parse.GetValue(description)!, ids, Clock.UtcNow())
                    : DatasetService.CreateFixedBetween(db, parse.GetValue(name)!, parse.GetValue(description)!, ParseDate(window[0], false), ParseDate(window[1], true), Clock.UtcNow());
            }
            catch (DatasetException ex)
            {
                Console.Error.WriteLine($"kbench: {ex.Message}");
                return ExitCodes.WorkFailed;
            }
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(doc);
            }
            else
            {
                Console.WriteLine($"dataset {doc.Name}: {doc.BugIds.Count} bugs");
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static DateTime ParseDate(string text, bool endOfDay)
    {
        if (!DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t))
        {
            throw new UsageException($"'{text}' is not a date (use e.g. 2025-02-01 or 2025-02-01T12:00:00Z)");
        }
        // A bare date as the upper bound means the whole day.
        return endOfDay && t.TimeOfDay == TimeSpan.Zero && !text.Contains('T') ? t.AddDays(1).AddTicks(-10) : t;
    }

    private static Command List()
    {
        var json = CliOptions.Json();
        var cmd = new Command("list", "List datasets");
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var all = DatasetService.List(db);
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(all.Select(d => new { d.Name, d.Description, d.AddedTime, bugs = d.BugIds.Count }));
                return ExitCodes.Success;
            }
            foreach (var d in all)
            {
                Console.WriteLine($"{d.Name,-24} {d.BugIds.Count,5} bugs  {d.AddedTime:yyyy-MM-dd}  {d.Description}");
            }
            Console.WriteLine($"{all.Count} datasets");
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command Show()
    {
        var name = new Argument<string>("name");
        var json = CliOptions.Json();
        var cmd = new Command("show", "Show a dataset and its bugs");
        cmd.Arguments.Add(name);
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            var d = DatasetService.Find(db, parse.GetValue(name)!);
            if (d is null)
            {
                Console.Error.WriteLine($"kbench: no dataset {parse.GetValue(name)}");
                return ExitCodes.WorkFailed;
            }
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(d);
                return ExitCodes.Success;
            }
            Console.WriteLine($"{d.Name}: {d.BugIds.Count} bugs, created {d.AddedTime:yyyy-MM-dd HH:mm} UTC");
            if (d.Description.Length > 0)
            {
                Console.WriteLine($"  {d.Description}");
            }
            var titles = db.Bugs.Where(b => d.BugIds.Contains(b.Id)).ToDictionary(b => b.Id, b => b.Title);
            foreach (var id in d.BugIds)
            {
                Console.WriteLine($"  {id,-40}  {titles.GetValueOrDefault(id)}");
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command Export()
    {
        var dir = new Argument<string>("dir") { Description = "Output folder (Hugging Face layout: README.md, bugs/, datasets/)" };
        var names = new Option<string[]>("--dataset") { Description = "Datasets to export (repeatable; default: all)", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("export", "Export datasets and their bugs (config `bugs`, split `train`) as Parquet + JSON Lines");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(names);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            try
            {
                var s = DatasetExport.Export(db, parse.GetValue(dir)!, parse.GetValue(names));
                Console.WriteLine($"{s.Datasets} datasets, {s.Bugs} bugs written to {Path.GetFullPath(parse.GetValue(dir)!)}");
                return ExitCodes.Success;
            }
            catch (DatasetException ex)
            {
                Console.Error.WriteLine($"kbench: {ex.Message}");
                return ExitCodes.WorkFailed;
            }
        });
        return cmd;
    }

    private static Command Import()
    {
        var dir = new Argument<string>("dir") { Description = "A folder written by `kbench dataset export`" };
        var cmd = new Command("import", "Import datasets and their bugs from an export folder");
        cmd.Arguments.Add(dir);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var db = ws.OpenStore();
            try
            {
                var s = DatasetExport.Import(db, parse.GetValue(dir)!);
                Console.WriteLine($"{s.Datasets} datasets, {s.Bugs} bugs imported");
                return ExitCodes.Success;
            }
            catch (Exception ex) when (ex is DatasetException or LiveKBench.Arena.Bugs.BugImportException)
            {
                Console.Error.WriteLine($"kbench: {ex.Message}");
                return ExitCodes.WorkFailed;
            }
        });
        return cmd;
    }
}
