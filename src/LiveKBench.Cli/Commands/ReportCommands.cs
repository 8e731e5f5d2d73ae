using System.CommandLine;
using System.Text.Json;
using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench report parse [--json] FILE...`: find and title kernel crashes in raw console logs.</summary>
internal static class ReportCommands
{
    public static Command Build()
    {
        var report = new Command("report", "Kernel crash reports in console output; the results dashboard as a static site");
        report.Subcommands.Add(BuildParse());
        report.Subcommands.Add(DashboardCommands.BuildReportHtml());
        return report;
    }

    private static Command BuildParse()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object per file per line" };
        var files = new Argument<string[]>("files") { Description = "Raw console log files", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("parse", "Parse raw console logs and print the first crash report of each (exit 1 only if a file cannot be read)");
        cmd.Options.Add(json);
        cmd.Arguments.Add(files);
        cmd.SetAction(parse =>
        {
            var asJson = parse.GetValue(json);
            var exit = ExitCodes.Success;
            foreach (var file in parse.GetValue(files) ?? [])
            {
                byte[] bytes;
                try
                {
                    // Regular files only (a device such as /dev/zero or a FIFO is refused), read with a bound.
                    bytes = LiveKBench.Infrastructure.SafeFile.ReadBytes(file, LiveKBench.Infrastructure.InputLimits.ConsoleLogBytes, followLinks: true);
                }
                catch (LiveKBench.Infrastructure.UnsafeInputException e)
                {
                    Console.Error.WriteLine($"kbench: {e.Message}");
                    exit = ExitCodes.WorkFailed;
                    continue;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
                {
                    Console.Error.WriteLine($"kbench: cannot read {file}: {e.Message}");
                    exit = ExitCodes.WorkFailed;
                    continue;
                }
                var rep = CrashReportParser.Parse(bytes);
                Console.WriteLine(asJson ? ToJson(file, rep) : ToText(file, rep));
            }
            return exit;
        });
        return cmd;
    }

    private static string ToJson(string file, CrashReport? rep)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteString("file", file);
            if (rep is null)
            {
                w.WriteNull("title");
            }
            else
            {
                w.WriteString("title", rep.Title);
            }
            w.WriteStartArray("altTitles");
            foreach (var a in rep?.AltTitles ?? [])
            {
                w.WriteStringValue(a);
            }
            w.WriteEndArray();
            w.WriteString("type", rep?.Type ?? "");
            w.WriteString("frame", rep?.Frame ?? "");
            w.WriteBoolean("corrupted", rep?.Corrupted ?? false);
            w.WriteString("corruptedReason", rep?.CorruptedReason ?? "");
            w.WriteBoolean("suppressed", rep?.Suppressed ?? false);
            w.WriteBoolean("panicked", rep?.Panicked ?? false);
            w.WriteString("executor", rep?.Executor ?? "");
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(ms.ToArray());
    }

    private static string ToText(string file, CrashReport? rep)
    {
        if (rep is null)
        {
            return $"{file}: no crash";
        }
        var lines = new List<string> { $"{file}: {rep.Title}", $"  type: {rep.Type}" };
        if (rep.Frame.Length > 0)
        {
            lines.Add($"  frame: {rep.Frame}");
        }
        foreach (var a in rep.AltTitles)
        {
            lines.Add($"  alt: {a}");
        }
        var flags = new List<string>();
        if (rep.Corrupted)
        {
            flags.Add($"corrupted ({rep.CorruptedReason})");
        }
        if (rep.Suppressed)
        {
            flags.Add("suppressed");
        }
        if (rep.Panicked)
        {
            flags.Add("panicked");
        }
        if (flags.Count > 0)
        {
            lines.Add($"  flags: {string.Join(", ", flags)}");
        }
        if (rep.Executor.Length > 0)
        {
            lines.Add($"  executor: {rep.Executor}");
        }
        lines.Add($"  bytes: {rep.StartPos}-{rep.EndPos}");
        return string.Join(Environment.NewLine, lines);
    }
}
