using System.Text.Json;
using LiveKBench.Arena.Syzbot;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Syzbot;

/// <summary>A temp workspace plus a replay server, and crawlers with tiny delays against it.</summary>
public sealed class CrawlHarness : IAsyncDisposable
{
    private CrawlHarness(string root, Workspace ws, ReplayServer server, string dataDir)
    {
        Root = root;
        Workspace = ws;
        Server = server;
        DataDir = dataDir;
    }

    public string Root { get; }

    public Workspace Workspace { get; }

    public ReplayServer Server { get; }

    public string DataDir { get; }

    public static async Task<CrawlHarness> StartAsync()
    {
        var data = SharedData.Path("syzbot-replay");
        var root = Path.Combine(Path.GetTempPath(), "kbench-crawl-" + Guid.NewGuid().ToString("N"));
        var ws = Workspace.Init(root);
        var server = await ReplayServer.StartAsync(data);
        return new CrawlHarness(root, ws, server, data);
    }

    /// <summary>Client options for tests: fast retries, short timeout, a generous rate limit unless given.</summary>
    public SyzbotClientOptions ClientOptions(int requestsPerPeriod = 10_000, double periodSeconds = 1) => new()
    {
        BaseUrl = Server.BaseUrl,
        RequestsPerPeriod = requestsPerPeriod,
        Period = TimeSpan.FromSeconds(periodSeconds),
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        MaxRetryDelay = TimeSpan.FromMilliseconds(20),
        RequestTimeout = TimeSpan.FromSeconds(5),
        CacheDirectory = Path.Combine(Workspace.CacheDir, "syzbot"),
    };

    public SyzbotCrawler Crawler(SyzbotClient client, IReadOnlyDictionary<string, string>? mirrors = null, bool allowFetch = false)
        => new(client, Workspace.OpenStore, new DeveloperPatchResolver(mirrors ?? new Dictionary<string, string>(), allowFetch));

    public async Task<CrawlSummary> CrawlAsync(CrawlOptions? options = null, IReadOnlyDictionary<string, string>? mirrors = null, SyzbotClientOptions? clientOptions = null, CancellationToken ct = default)
    {
        using var client = new SyzbotClient(clientOptions ?? ClientOptions());
        return await Crawler(client, mirrors).CrawlAsync(options ?? new CrawlOptions(), null, ct);
    }

    public JsonElement Expected() => JsonDocument.Parse(File.ReadAllText(Path.Combine(DataDir, "expected.json"))).RootElement;

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
