using System.CommandLine;
using LiveKBench.Arena.Syzbot;
using LiveKBench.Infrastructure;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench crawl`.</summary>
internal static class CrawlCommands
{
    public static Command Build()
    {
        var ns = new Option<string[]>("--namespace") { Description = "Syzbot namespace (repeatable; default: settings syzbot.namespaces, i.e. upstream)", AllowMultipleArgumentsPerToken = false };
        var url = new Option<string?>("--syzbot-url") { Description = "Dashboard base URL (default: settings syzbot.url, i.e. https://syzkaller.appspot.com)" };
        var maxAge = new Option<int?>("--max-age-days") { Description = "Reject bugs reported more than N days ago" };
        var limit = new Option<int?>("--limit") { Description = "Process at most N list entries that need work" };
        var allowFetch = new Option<bool>("--allow-fetch") { Description = "git fetch a fix commit that no local mirror has (into the mirror mapped to its repository)" };
        var json = CliOptions.Json();
        var cmd = new Command(
            "crawl",
            "Crawl syzbot (JSON API, rate-limited, cached): store new bugs, update open bugs that got fixed, record rejected and failed " +
            "entries (see `kbench bugs list --rejected`), read developer patches from local mirrors. Resumable: rerun after a kill.");
        cmd.Options.Add(ns);
        cmd.Options.Add(url);
        cmd.Options.Add(maxAge);
        cmd.Options.Add(limit);
        cmd.Options.Add(allowFetch);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var ws = CliContext.OpenWorkspace(parse);
            using var logs = CliContext.Logging(ws);
            var log = logs.CreateLogger("crawl");
            var s = ws.Settings.Syzbot;
            if (parse.GetValue(maxAge) is < 0 || parse.GetValue(limit) is < 0)
            {
                throw new UsageException("--max-age-days and --limit must not be negative");
            }
            SyzbotClient client;
            SyzbotCrawler crawler;
            try
            {
                (client, crawler) = CrawlerFactory.Create(ws, logs, parse.GetValue(url), parse.GetValue(allowFetch));
            }
            catch (ArgumentException ex)
            {
                throw new UsageException(ex.Message);
            }
            using var _ = client;
            var options = new CrawlOptions
            {
                Namespaces = [.. (parse.GetValue(ns) is { Length: > 0 } n ? n : [.. s.Namespaces]).Distinct(StringComparer.Ordinal)],
                MaxAgeDays = parse.GetValue(maxAge),
                Limit = parse.GetValue(limit),
            };
            var asJson = parse.GetValue(json);
            CrawlSummary summary;
            if (CliContext.Interactive(asJson))
            {
                summary = await AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask("syzbot: reading lists", maxValue: 1);
                        var progress = new SyncProgress<CrawlProgress>(p =>
                        {
                            task.MaxValue = Math.Max(1, p.Total);
                            task.Value = p.Done;
                            task.Description = p.Current is null ? $"syzbot: {p.Total} entries" : Markup.Escape($"syzbot: {Shorten(p.Current, 50)}");
                        });
                        var result = await crawler.CrawlAsync(options, progress, ct);
                        task.Value = task.MaxValue;
                        return result;
                    });
            }
            else
            {
                summary = await crawler.CrawlAsync(options, null, ct);
            }
            log.LogInformation(
                "crawl done: {New} new, {Updated} updated, {Transitioned} transitioned, {Rejected} rejected, {Failed} failed, {Skipped} already stored",
                summary.New, summary.Updated, summary.Transitioned, summary.Rejected.Values.Sum(), summary.Failed, summary.Skipped);
            foreach (var e in summary.ListErrors)
            {
                Console.Error.WriteLine($"kbench: list unavailable: {e}");
            }
            if (asJson)
            {
                CliContext.PrintJson(new
                {
                    @new = summary.New,
                    updated = summary.Updated,
                    transitioned = summary.Transitioned,
                    rejected = summary.Rejected,
                    failed = summary.Failed,
                });
            }
            else
            {
                Console.WriteLine($"{summary.New} new, {summary.Updated} updated, {summary.Transitioned} open→fixed, {summary.Skipped} already stored");
                foreach (var (reason, count) in summary.Rejected.OrderByDescending(kv => kv.Value))
                {
                    Console.WriteLine($"  rejected {count,4}  {reason}");
                }
                foreach (var f in summary.Failures)
                {
                    Console.WriteLine($"  failed    {f.Link}  {f.Title}: {f.Reason}");
                }
                if (summary.Failed > 0)
                {
                    Console.WriteLine($"{summary.Failed} failed (retried by the next crawl; `kbench bugs list --rejected`)");
                }
            }
            return summary.ListErrors.Count > 0 && summary.ListErrors.Count >= options.Namespaces.Count ? ExitCodes.WorkFailed : ExitCodes.Success;
        });
        return cmd;
    }

    private static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";

    /// <summary>IProgress that calls back synchronously (Progress&lt;T&gt; would post to the thread pool out of order).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly Lock _lock = new();

        public void Report(T value)
        {
            lock (_lock)
            {
                report(value);
            }
        }
    }
}
