using LiveKBench.Infrastructure;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Arena.Syzbot;

/// <summary>Builds the syzbot client and crawler of a workspace from its settings (used by <c>kbench crawl</c> and <c>kbench live</c>).</summary>
public static class CrawlerFactory
{
    /// <summary>Creates a client (caller disposes) and a crawler over it.</summary>
    /// <param name="ws">The workspace (settings: syzbot.*, mirrors).</param>
    /// <param name="logs">Logger factory.</param>
    /// <param name="baseUrl">Dashboard URL overriding settings; null = settings.</param>
    /// <param name="allowFetch">Let developer-patch lookup run <c>git fetch</c> in mirrors.</param>
    /// <exception cref="ArgumentException">Invalid URL or rate-limit settings.</exception>
    public static (SyzbotClient Client, SyzbotCrawler Crawler) Create(Workspace ws, ILoggerFactory logs, string? baseUrl, bool allowFetch)
    {
        var s = ws.Settings.Syzbot;
        if (s.RequestsPerPeriod < 1 || s.PeriodSeconds <= 0)
        {
            throw new ArgumentException("settings syzbot.requestsPerPeriod must be ≥ 1 and syzbot.periodSeconds > 0");
        }
        var client = new SyzbotClient(new SyzbotClientOptions
        {
            BaseUrl = baseUrl ?? s.Url,
            RequestsPerPeriod = s.RequestsPerPeriod,
            Period = TimeSpan.FromSeconds(s.PeriodSeconds),
            MaxAttempts = Math.Max(1, s.MaxAttempts),
            RetryBaseDelay = TimeSpan.FromSeconds(Math.Max(0, s.RetryBaseDelaySeconds)),
            RequestTimeout = TimeSpan.FromSeconds(s.RequestTimeoutSeconds > 0 ? s.RequestTimeoutSeconds : 60),
            OpenBugCacheLifetime = TimeSpan.FromSeconds(s.OpenBugCacheSeconds),
            FixedBugCacheLifetime = TimeSpan.FromSeconds(s.FixedBugCacheSeconds),
            CacheDirectory = Path.Combine(ws.CacheDir, "syzbot"),
        }, logger: logs.CreateLogger("syzbot"));
        var mirrors = ws.Settings.Mirrors.ToDictionary(kv => kv.Key, kv => Path.IsPathRooted(kv.Value) ? kv.Value : Path.Combine(ws.Root, kv.Value));
        var crawler = new SyzbotCrawler(client, ws.OpenStore, new DeveloperPatchResolver(mirrors, allowFetch), logger: logs.CreateLogger("crawl"));
        return (client, crawler);
    }
}
