using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveKBench.Gym;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Web.Gym;

/// <summary>The Gym scheduler's REST API (see README "Gym"): jobs, workers, artifacts; bearer token on every /api and /openapi path; /healthz open.</summary>
public static class GymApi
{
    /// <summary>Registers the scheduler (a hosted service: broker connection, outbox, dead-letter consumer) and the OpenAPI document.</summary>
    public static IServiceCollection AddGymScheduler(this IServiceCollection services, GymSchedulerOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton<GymScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<GymScheduler>());
        services.AddOpenApi();
        return services;
    }

    /// <summary>Maps <c>/healthz</c>, <c>/openapi/v1.json</c> and every <c>/api</c> endpoint, behind the bearer-token check.</summary>
    public static IEndpointRouteBuilder MapGymApi(this WebApplication app)
    {
        var scheduler = app.Services.GetRequiredService<GymScheduler>();
        var expected = Encoding.UTF8.GetBytes("Bearer " + scheduler.Options.Token);
        app.Use(async (ctx, next) =>
        {
            var path = ctx.Request.Path;
            if (path.StartsWithSegments("/api") || path.StartsWithSegments("/openapi"))
            {
                var got = Encoding.UTF8.GetBytes(ctx.Request.Headers.Authorization.ToString());
                if (!CryptographicOperations.FixedTimeEquals(got, expected))
                {
                    ctx.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    ctx.Response.Headers.WWWAuthenticate = "Bearer";
                    await ctx.Response.WriteAsJsonAsync(new { error = "missing or wrong bearer token" }).ConfigureAwait(false);
                    return;
                }
            }
            try
            {
                await next(ctx).ConfigureAwait(false);
            }
            catch (GymRequestException ex) when (!ctx.Response.HasStarted)
            {
                ctx.Response.StatusCode = ex.Status;
                await ctx.Response.WriteAsJsonAsync(new { error = ex.Message }).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or BadHttpRequestException or InvalidOperationException && !ctx.Response.HasStarted)
            {
                ctx.Response.StatusCode = StatusCodes.Status400BadRequest;
                await ctx.Response.WriteAsJsonAsync(new { error = "bad request: " + ex.Message }).ConfigureAwait(false);
            }
        });
        app.MapOpenApi();
        app.MapGet("/healthz", () => Results.Text("ok")).WithSummary("Liveness; the only endpoint without a token.");

        var api = app.MapGroup("/api");
        api.MapPost("/jobs", async (HttpRequest req, CancellationToken ct) =>
        {
            var body = await Read<GymJobRequest>(req, ct).ConfigureAwait(false);
            return Results.Ok(new GymJobCreated(await scheduler.CreateAsync(body, ct).ConfigureAwait(false)));
        }).Accepts<GymJobRequest>("application/json").Produces<GymJobCreated>().WithSummary("Submit a job (ordered stages); its first stage is queued.");
        api.MapGet("/jobs", (string? status, int? page) => Results.Ok(scheduler.List(status, page ?? 1)))
            .Produces<List<GymJobView>>().WithSummary("Jobs, newest first, 50 a page.");
        api.MapGet("/jobs/{id}", (string id) => Results.Ok(scheduler.Get(id))).Produces<GymJobView>();
        api.MapPost("/jobs/{id}/abort", async (string id, CancellationToken ct) => Results.Ok(await scheduler.AbortAsync(id, ct).ConfigureAwait(false))).Produces<GymJobView>();
        api.MapPost("/jobs/{id}/restart", async (string id, CancellationToken ct) => Results.Ok(await scheduler.RestartAsync(id, ct).ConfigureAwait(false))).Produces<GymJobView>();
        api.MapPost("/jobs/{id}/stages/{index:int}/claim", async (string id, int index, HttpRequest req, CancellationToken ct) =>
            Results.Ok(await scheduler.ClaimAsync(id, index, await Read<GymClaimRequest>(req, ct).ConfigureAwait(false), ct).ConfigureAwait(false)))
            .Accepts<GymClaimRequest>("application/json").Produces<GymClaimResponse>().WithSummary("Worker: claim a stage whose broker message it holds.");
        api.MapPut("/jobs/{id}/stages/{index:int}/result", async (string id, int index, HttpRequest req, CancellationToken ct) =>
            Results.Ok(await scheduler.ResultAsync(id, index, await Read<GymResultRequest>(req, ct).ConfigureAwait(false), ct).ConfigureAwait(false)))
            .Accepts<GymResultRequest>("application/json").Produces<GymResultResponse>().WithSummary("Worker: store a stage result (idempotent).");
        api.MapGet("/workers", () => Results.Ok(scheduler.Workers())).Produces<List<GymWorkerView>>();
        api.MapPost("/workers/{name}/heartbeat", async (string name, HttpRequest req, CancellationToken ct) =>
        {
            await scheduler.HeartbeatAsync(name, await Read<GymHeartbeat>(req, ct).ConfigureAwait(false), ct).ConfigureAwait(false);
            return Results.NoContent();
        }).Accepts<GymHeartbeat>("application/json");
        api.MapPut("/artifacts/{sha256}", (string sha256, HttpContext ctx, CancellationToken ct) => PutArtifactAsync(scheduler, sha256, ctx, ct))
            .WithSummary("Upload an artifact; 400 when the body's SHA-256 differs from the path.");
        api.MapMethods("/artifacts/{sha256}", ["GET", "HEAD"], (string sha256) =>
        {
            var path = ArtifactPath(scheduler, sha256);
            return File.Exists(path) ? Results.File(path, "application/octet-stream") : Results.NotFound(new { error = $"no artifact {sha256}" });
        });
        return app;
    }

    private static async Task<T> Read<T>(HttpRequest req, CancellationToken ct)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(req.Body, GymWire.Json, ct).ConfigureAwait(false)
                ?? throw new GymRequestException(400, "the body is JSON null");
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or ArgumentException)
        {
            throw new GymRequestException(400, $"invalid {typeof(T).Name} JSON: {ex.Message}");
        }
    }

    private static string ArtifactPath(GymScheduler s, string sha256)
        => GymScheduler.IsSha256(sha256) ? Path.Combine(s.ArtifactsDir, sha256[..2], sha256)
            : throw new GymRequestException(400, "artifact names are 64 lowercase hex digits (SHA-256)");

    private static async Task<IResult> PutArtifactAsync(GymScheduler s, string sha256, HttpContext ctx, CancellationToken ct)
    {
        var path = ArtifactPath(s, sha256);
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + "." + Guid.NewGuid().ToString("N") + ".part";
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long bytes = 0;
            await using (var f = File.Create(tmp))
            {
                var buf = new byte[1 << 16];
                int n;
                while ((n = await ctx.Request.Body.ReadAsync(buf, ct).ConfigureAwait(false)) > 0)
                {
                    hash.AppendData(buf, 0, n);
                    await f.WriteAsync(buf.AsMemory(0, n), ct).ConfigureAwait(false);
                    bytes += n;
                }
            }
            var got = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (got != sha256)
            {
                return Results.BadRequest(new { error = $"content hash {got} does not match {sha256}" });
            }
            File.Move(tmp, path, overwrite: true);
            ctx.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("LiveKBench.Gym").LogInformation("gym: artifact {Sha} ({Bytes} bytes) stored", sha256, bytes);
            return Results.Ok(new { sha256, bytes });
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}

/// <summary>Builds the scheduler's web application (used by <c>kbench gym serve</c> and the tests).</summary>
public static class GymServer
{
    /// <summary>A web application listening on <paramref name="listen"/> (e.g. <c>http://127.0.0.1:8080</c>) that serves the Gym API.</summary>
    public static WebApplication Build(string listen, GymSchedulerOptions options, LogLevel minLevel = LogLevel.Information)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(listen);
        builder.Logging.SetMinimumLevel(minLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.AddGymScheduler(options);
        var app = builder.Build();
        app.MapGymApi();
        return app;
    }
}
