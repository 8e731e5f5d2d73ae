using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Judge;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Agents;

/// <summary>One request/response pair that went through the <see cref="ModelProxy"/>.</summary>
/// <param name="Index">1-based position.</param>
/// <param name="Path">Request path below <c>/v1/</c> (<c>chat/completions</c>, <c>responses</c>, <c>models</c>).</param>
/// <param name="StartedSeconds">Seconds since the proxy started.</param>
/// <param name="ElapsedSeconds">Seconds until the response was complete.</param>
/// <param name="Status">HTTP status returned to the agent.</param>
/// <param name="Request">Request body as sent upstream (JSON).</param>
/// <param name="Response">Response body: JSON, or the raw server-sent-events text of a streamed response.</param>
/// <param name="InputTokens">Prompt tokens from the response's usage (0 when absent).</param>
/// <param name="OutputTokens">Completion tokens from the response's usage.</param>
/// <param name="CostUsd">Price of the tokens (US dollars) from the model configuration.</param>
/// <param name="Refused">Why the proxy refused the request without forwarding it (a budget), else null.</param>
public sealed record ProxyExchange(
    int Index, string Path, double StartedSeconds, double ElapsedSeconds, int Status, JsonNode? Request, string Response,
    long InputTokens, long OutputTokens, double CostUsd, string? Refused);

/// <summary>
/// The harness's model proxy: the only road from a sandboxed agent to a model. It listens on a Unix socket (bound into
/// the sandbox at <see cref="Sandbox.SandboxSocket"/>), accepts OpenAI-compatible <c>POST /v1/chat/completions</c>,
/// <c>POST /v1/responses</c> and <c>GET /v1/models</c> and forwards them to <see cref="ModelConfig.BaseUrl"/> only,
/// adding the API key (which never enters the sandbox). Streams (server-sent events) are passed through as they arrive;
/// for streamed Chat Completions the proxy asks for the final usage chunk (<c>stream_options.include_usage</c>). Every
/// exchange is recorded; tokens come from the responses' <c>usage</c> (<c>prompt_tokens</c>/<c>completion_tokens</c> or
/// <c>input_tokens</c>/<c>output_tokens</c>) and are priced with the model configuration. One forwarded model request
/// (chat/completions or responses) is one step. A request that would exceed the step budget, or that arrives when the
/// cost budget is spent, is refused (HTTP 400, error code <c>stepLimitExceeded</c>/<c>costLimitExceeded</c>) and
/// <see cref="LimitReached"/> is cancelled so the harness can stop the agent.
/// </summary>
public sealed class ModelProxy : IAsyncDisposable
{
    /// <summary>Largest recorded response body per exchange, in bytes (the agent still receives everything).</summary>
    public const int MaxRecordedBytes = 8 * 1024 * 1024;

    private readonly ModelConfig _model;
    private readonly AgentBudget _budget;
    private readonly HttpClient _http;
    private readonly WebApplication _app;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _gate = new();
    private readonly List<ProxyExchange> _exchanges = [];
    private readonly CancellationTokenSource _limit = new();
    private int _steps;
    private double _cost;
    private long _inputTokens;
    private long _outputTokens;

    private ModelProxy(string socketPath, ModelConfig model, AgentBudget budget, HttpMessageHandler? upstream)
    {
        _model = model;
        _budget = budget;
        SocketPath = socketPath;
        _http = upstream is null ? new HttpClient() : new HttpClient(upstream);
        _http.Timeout = TimeSpan.FromSeconds(model.TimeoutSeconds > 0 ? model.TimeoutSeconds : 300);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath));
        _app = builder.Build();
        _app.MapPost("/v1/{**rest}", HandleAsync);
        _app.MapGet("/v1/models", HandleAsync);
    }

    /// <summary>Host path of the listening socket.</summary>
    public string SocketPath { get; }

    /// <summary>Cancelled when a request was refused for a budget.</summary>
    public CancellationToken LimitReached => _limit.Token;

    /// <summary>The budget that stopped the run (<see cref="ExitReason.StepLimitExceeded"/> or <see cref="ExitReason.CostLimitExceeded"/>), else null.</summary>
    public ExitReason? LimitExitReason { get; private set; }

    /// <summary>Forwarded model requests so far.</summary>
    public int Steps { get { lock (_gate) { return _steps; } } }

    /// <summary>Cost so far in US dollars.</summary>
    public double DollarCost { get { lock (_gate) { return _cost; } } }

    /// <summary>Prompt tokens so far.</summary>
    public long InputTokens { get { lock (_gate) { return _inputTokens; } } }

    /// <summary>Completion tokens so far.</summary>
    public long OutputTokens { get { lock (_gate) { return _outputTokens; } } }

    /// <summary>A copy of the exchanges so far, in order.</summary>
    public List<ProxyExchange> Exchanges { get { lock (_gate) { return [.. _exchanges]; } } }

    /// <summary>Starts a proxy listening on <paramref name="socketPath"/> (an existing file there is replaced).</summary>
    /// <param name="socketPath">Host path of the Unix socket (its folder must exist; at most 107 bytes).</param>
    /// <param name="model">The configured endpoint, key variable and prices.</param>
    /// <param name="budget">Step and cost budgets (≤ 0 = unlimited).</param>
    /// <param name="upstream">HTTP handler towards the endpoint (tests); null = a default handler.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="ConfigException">The base URL is not an absolute http(s) URL.</exception>
    public static async Task<ModelProxy> StartAsync(string socketPath, ModelConfig model, AgentBudget budget, HttpMessageHandler? upstream = null, CancellationToken cancellationToken = default)
    {
        if (!Uri.TryCreate(model.BaseUrl, UriKind.Absolute, out var u) || (u.Scheme != "http" && u.Scheme != "https"))
        {
            throw new ConfigException($"model configuration {model.Name}: baseUrl '{model.BaseUrl}' is not an absolute http(s) URL");
        }
        if (File.Exists(socketPath))
        {
            File.Delete(socketPath);
        }
        var proxy = new ModelProxy(socketPath, model, budget, upstream);
        await proxy._app.StartAsync(cancellationToken).ConfigureAwait(false);
        return proxy;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var rest = ctx.Request.Path.Value!["/v1/".Length..].TrimEnd('/');
        var started = _clock.Elapsed.TotalSeconds;
        var isModelCall = rest is "chat/completions" or "responses";
        if (!isModelCall && rest != "models")
        {
            ctx.Response.StatusCode = 404;
            await ctx.Response.WriteAsJsonAsync(new { error = new { message = $"the kbench model proxy forwards only chat/completions, responses and models, not {rest}", type = "invalid_request_error" } }).ConfigureAwait(false);
            return;
        }
        JsonNode? request = null;
        byte[] body = [];
        if (HttpMethods.IsPost(ctx.Request.Method))
        {
            using var ms = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted).ConfigureAwait(false);
            body = ms.ToArray();
            try
            {
                request = JsonNode.Parse(body);
            }
            catch (System.Text.Json.JsonException)
            {
                request = null;
            }
            if (rest == "chat/completions" && request is JsonObject o && o["stream"]?.GetValueKind() == System.Text.Json.JsonValueKind.True)
            {
                // Ask for the final usage chunk so tokens can be counted.
                var so = o["stream_options"] as JsonObject ?? [];
                so["include_usage"] = true;
                o["stream_options"] = so;
                body = Encoding.UTF8.GetBytes(o.ToJsonString());
            }
        }
        int index;
        string? refused = null;
        lock (_gate)
        {
            if (isModelCall)
            {
                if (_budget.MaxSteps > 0 && _steps >= _budget.MaxSteps)
                {
                    refused = Kenv.ExitReasonText(ExitReason.StepLimitExceeded);
                    LimitExitReason ??= ExitReason.StepLimitExceeded;
                }
                else if (_budget.MaxUsd > 0 && _cost >= _budget.MaxUsd)
                {
                    refused = Kenv.ExitReasonText(ExitReason.CostLimitExceeded);
                    LimitExitReason ??= ExitReason.CostLimitExceeded;
                }
                else
                {
                    _steps++;
                }
            }
            index = _exchanges.Count + 1;
            if (refused is not null)
            {
                _exchanges.Add(new ProxyExchange(index, rest, started, 0, 400, request, "", 0, 0, 0, refused));
            }
            else
            {
                _exchanges.Add(new ProxyExchange(index, rest, started, 0, 0, request, "", 0, 0, 0, null));
            }
        }
        if (refused is not null)
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsJsonAsync(new { error = new { message = $"kbench: budget exhausted ({refused}); no further model requests are forwarded", type = "invalid_request_error", code = refused } }).ConfigureAwait(false);
            await _limit.CancelAsync().ConfigureAwait(false);
            return;
        }
        var status = 502;
        var recorded = new MemoryStream();
        try
        {
            var target = _model.BaseUrl.TrimEnd('/') + "/" + rest;
            using var up = new HttpRequestMessage(HttpMethods.IsPost(ctx.Request.Method) ? HttpMethod.Post : HttpMethod.Get, target);
            if (HttpMethods.IsPost(ctx.Request.Method))
            {
                up.Content = new ByteArrayContent(body);
                up.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            }
            if (_model.ApiKeyEnv is { } keyVar && Environment.GetEnvironmentVariable(keyVar) is { Length: > 0 } key)
            {
                up.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }
            using var resp = await _http.SendAsync(up, HttpCompletionOption.ResponseHeadersRead, ctx.RequestAborted).ConfigureAwait(false);
            status = (int)resp.StatusCode;
            ctx.Response.StatusCode = status;
            if (resp.Content.Headers.ContentType is { } ct)
            {
                ctx.Response.ContentType = ct.ToString();
            }
            await using var stream = await resp.Content.ReadAsStreamAsync(ctx.RequestAborted).ConfigureAwait(false);
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = await stream.ReadAsync(buffer, ctx.RequestAborted).ConfigureAwait(false)) > 0)
            {
                await ctx.Response.Body.WriteAsync(buffer.AsMemory(0, n), ctx.RequestAborted).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted).ConfigureAwait(false);
                if (recorded.Length < MaxRecordedBytes)
                {
                    recorded.Write(buffer, 0, (int)Math.Min(n, MaxRecordedBytes - recorded.Length));
                }
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            var text = Encoding.UTF8.GetBytes($"kbench model proxy: upstream failed: {ex.Message}");
            recorded.Write(text);
            if (!ctx.Response.HasStarted)
            {
                ctx.Response.StatusCode = 502;
                await ctx.Response.WriteAsJsonAsync(new { error = new { message = $"kbench model proxy: upstream failed: {ex.Message}", type = "api_error" } }).ConfigureAwait(false);
            }
        }
        finally
        {
            var text = Encoding.UTF8.GetString(recorded.ToArray());
            var (input, output) = Usage(text);
            var cost = (input * _model.PricePerMillionInput + output * _model.PricePerMillionOutput) / 1e6;
            lock (_gate)
            {
                _inputTokens += input;
                _outputTokens += output;
                _cost += cost;
                _exchanges[index - 1] = new ProxyExchange(index, rest, started, _clock.Elapsed.TotalSeconds - started, status, request, text, input, output, cost, null);
            }
        }
    }

    /// <summary>
    /// Token usage of a response body: a JSON body's <c>usage</c>, or the last <c>usage</c> found in the <c>data:</c>
    /// lines of a server-sent-events stream (Chat Completions' final chunk, or <c>response.usage</c> of the Responses
    /// API's <c>response.completed</c> event). Accepts <c>prompt_tokens</c>/<c>completion_tokens</c> and
    /// <c>input_tokens</c>/<c>output_tokens</c>. (0, 0) when there is none.
    /// </summary>
    public static (long Input, long Output) Usage(string body)
    {
        (long, long)? Of(JsonNode? node)
        {
            var usage = node?["usage"] as JsonObject ?? node?["response"]?["usage"] as JsonObject;
            if (usage is null)
            {
                return null;
            }
            long Get(string a, string b) => usage[a] is JsonValue va && va.TryGetValue<long>(out var x) ? x : usage[b] is JsonValue vb && vb.TryGetValue<long>(out var y) ? y : 0;
            return (Get("prompt_tokens", "input_tokens"), Get("completion_tokens", "output_tokens"));
        }
        JsonNode? Parse(string s)
        {
            try
            {
                return JsonNode.Parse(s);
            }
            catch (System.Text.Json.JsonException)
            {
                return null;
            }
        }
        var trimmed = body.TrimStart();
        if (trimmed.StartsWith('{'))
        {
            return Of(Parse(trimmed) as JsonObject) ?? (0, 0);
        }
        (long, long) last = (0, 0);
        foreach (var line in body.Split('\n'))
        {
            if (line.StartsWith("data:", StringComparison.Ordinal) && line[5..].Trim() is var data && data.StartsWith('{') && Of(Parse(data)) is { } u)
            {
                last = u;
            }
        }
        return last;
    }

    /// <summary>The exchanges as the trajectory's JSON array (streams kept as raw text).</summary>
    public JsonArray ExchangesJson() => new([.. Exchanges.Select(e => (JsonNode)new JsonObject
    {
        ["index"] = e.Index,
        ["path"] = e.Path,
        ["startedSeconds"] = Math.Round(e.StartedSeconds, 3),
        ["elapsedSeconds"] = Math.Round(e.ElapsedSeconds, 3),
        ["status"] = e.Status,
        ["refused"] = e.Refused,
        ["inputTokens"] = e.InputTokens,
        ["outputTokens"] = e.OutputTokens,
        ["costUsd"] = e.CostUsd,
        ["request"] = e.Request?.DeepClone(),
        ["response"] = e.Response,
    })]);

    /// <summary>Stops listening and removes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
        _limit.Dispose();
        if (File.Exists(SocketPath))
        {
            File.Delete(SocketPath);
        }
    }
}
