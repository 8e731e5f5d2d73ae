using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Tests.Syzbot;

/// <summary>
/// Loopback Kestrel server answering the syzbot JSON API from shared/data/syzbot-replay per its manifest
/// (day switchable), with per-target overrides for bad-input tests. Records every request with its arrival time.
/// </summary>
public sealed class ReplayServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dataDir;
    private readonly Dictionary<string, Dictionary<string, ManifestEntry>> _manifest;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private ReplayServer(WebApplication app, string dataDir, Dictionary<string, Dictionary<string, ManifestEntry>> manifest)
    {
        _app = app;
        _dataDir = dataDir;
        _manifest = manifest;
    }

    /// <summary>Snapshot served: day1 or day2.</summary>
    public string Day { get; set; } = "day1";

    /// <summary>Base URL, http://127.0.0.1:PORT.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>Request target → custom handler (wins over the manifest).</summary>
    public ConcurrentDictionary<string, Func<HttpContext, Task>> Overrides { get; } = new(StringComparer.Ordinal);

    /// <summary>Every request: arrival time since start, and target.</summary>
    public ConcurrentQueue<(TimeSpan At, string Target)> Requests { get; } = new();

    /// <summary>Requests for one target.</summary>
    public int CountOf(string target) => Requests.Count(r => r.Target == target);

    /// <summary>Starts the server on 127.0.0.1 port 0.</summary>
    public static async Task<ReplayServer> StartAsync(string dataDir)
    {
        var manifest = JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, ManifestEntry>>>(
            File.ReadAllText(Path.Combine(dataDir, "manifest.json")), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new ReplayServer(app, dataDir, manifest);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        return server;
    }

    /// <summary>Reads a replay file.</summary>
    public byte[] ReadData(string relative) => System.IO.File.ReadAllBytes(Path.Combine(_dataDir, relative));

    /// <summary>The manifest file of a target on a day.</summary>
    public string FileOf(string day, string target) => _manifest[day][target].File;

    private async Task HandleAsync(HttpContext ctx)
    {
        var target = ctx.Request.Path.Value + ctx.Request.QueryString.Value;
        Requests.Enqueue((_clock.Elapsed, target));
        if (Overrides.TryGetValue(target, out var custom))
        {
            await custom(ctx);
            return;
        }
        if (!_manifest[Day].TryGetValue(target, out var entry))
        {
            ctx.Response.StatusCode = 404;
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.WriteAsync("not found");
            return;
        }
        ctx.Response.StatusCode = entry.Status;
        ctx.Response.ContentType = entry.ContentType;
        await ctx.Response.Body.WriteAsync(ReadData(entry.File));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed record ManifestEntry(int Status, string ContentType, string File);
}
