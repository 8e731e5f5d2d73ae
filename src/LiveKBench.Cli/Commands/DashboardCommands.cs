using System.CommandLine;
using System.Globalization;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Web.Dashboard;
using Microsoft.AspNetCore.Builder;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench serve` (the results dashboard) and `kbench report html DIR` (the same pages as a static site).</summary>
internal static class DashboardCommands
{
    public static Command BuildServe()
    {
        var listen = new Option<string>("--listen") { Description = "URL to listen on", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var cmd = new Command("serve", "The results dashboard in a browser: leaderboard, configurations, bugs, datasets, research, Gym jobs (read-only; Ctrl+C stops)");
        cmd.Options.Add(listen);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            var url = parse.GetValue(listen)!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            {
                throw new UsageException($"--listen must be an http:// or https:// URL, not \"{url}\"");
            }
            await using var app = DashboardServer.Build(ws, url);
            try
            {
                await app.StartAsync(ct);
            }
            catch (IOException ex)
            {
                Console.Error.WriteLine($"kbench: cannot listen on {url}: {ex.Message}");
                return ExitCodes.WorkFailed;
            }
            foreach (var a in app.Urls)
            {
                Console.WriteLine($"serving {ws.Root} on {a} (Ctrl+C stops)");
            }
            // Ctrl+C (the host's token) or SIGTERM stop the server.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
            await app.StopAsync(CancellationToken.None);
            return ExitCodes.Success;
        });
        return cmd;
    }

    public static Command BuildReportHtml()
    {
        var dir = new Argument<string>("dir") { Description = "Output folder (created; files of the same names are replaced)" };
        var dataset = new Option<string?>("--dataset") { Description = "Dataset of the leaderboard and research pages (default: every bug with a run)" };
        var k = new Option<int>("--k") { Description = "k of pass@k (default 1)", DefaultValueFactory = _ => 1 };
        var judge = new Option<string?>("--judge") { Description = "Judge defining EPR (default: the judge with the most finished evaluations)" };
        var cmd = new Command("html", "Write the dashboard's pages as a static site (relative links, no server) for publishing a leaderboard");
        cmd.Arguments.Add(dir);
        cmd.Options.Add(dataset);
        cmd.Options.Add(k);
        cmd.Options.Add(judge);
        cmd.SetAction(parse =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            if (parse.GetValue(k) < 1)
            {
                throw new UsageException("--k must be at least 1");
            }
            var outDir = Path.GetFullPath(parse.GetValue(dir)!);
            StaticReportSummary s;
            try
            {
                s = StaticReport.Write(ws, outDir, new LeaderboardQuery { Dataset = parse.GetValue(dataset), K = parse.GetValue(k), Judge = parse.GetValue(judge) });
            }
            catch (LeaderboardException ex)
            {
                throw new UsageException(ex.Message);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wrote {s.Pages} pages ({s.Bugs} bugs, {s.Configs} configurations, {s.Datasets} datasets), {s.Bytes / 1024.0:F0} KiB, to {outDir}"));
            Console.WriteLine($"open {Path.Combine(outDir, "index.html")}");
            return ExitCodes.Success;
        });
        return cmd;
    }
}
