using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Llm;
using Microsoft.Extensions.AI;

namespace LiveKBench.Tests.Llm;

/// <summary>
/// The chat client (Microsoft.Extensions.AI.OpenAI over the OpenAI SDK) against <see cref="ScriptedLlmStandIn"/>, a local
/// HTTP server that stands in for the LLM endpoint (no model runs here) and answers each request with the next scripted
/// status and body.
/// </summary>
public sealed class OpenAiCompatibleChatClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ModelConfig Model(string baseUrl, string? apiKeyEnv = null) => new()
    {
        Name = "m",
        BaseUrl = baseUrl + "/",
        Model = "cfg-model",
        ApiKeyEnv = apiKeyEnv,
        Temperature = 0.5,
        MaxTokens = 123,
    };

    private static string Reply(string? content, JsonArray? toolCalls = null, string usage = """{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}""")
        => new JsonObject
        {
            ["id"] = "chatcmpl-9",
            ["object"] = "chat.completion",
            ["created"] = 1700000000,
            ["model"] = "served-model",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content, ["tool_calls"] = toolCalls },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = JsonNode.Parse(usage),
        }.ToJsonString();

    [Fact]
    public async Task StandInEndpoint_RequestCarriesConfigDefaultsKeyToolsAndResults()
    {
        using var server = new ScriptedLlmStandIn((HttpStatusCode.OK, Reply("ok")), (HttpStatusCode.OK, Reply("again")));
        using var client = new OpenAiCompatibleChatClient(Model(server.BaseUrl, "KEY_VAR"), environment: n => n == "KEY_VAR" ? "sekrit" : null);
        var call = new FunctionCallContent("c1", "bash", new Dictionary<string, object?> { ["command"] = "ls" });
        var tool = AIFunctionFactory.CreateDeclaration("bash", "run", JsonDocument.Parse("""{"type":"object","properties":{"command":{"type":"string"}}}""").RootElement.Clone());
        var response = await client.GetResponseAsync(
            [new(ChatRole.User, "hi"), new(ChatRole.Assistant, [call]), new(ChatRole.Tool, [new FunctionResultContent("c1", "out")])],
            new ChatOptions { Tools = [tool], Instructions = "sys" },
            Ct);

        var first = server.Requests[0];
        Assert.Equal("/v1/chat/completions", first.Path);
        Assert.Equal("Bearer sekrit", first.Authorization);
        var body = JsonNode.Parse(first.Body)!;
        Assert.Equal("cfg-model", body["model"]!.GetValue<string>());
        Assert.Equal(0.5, body["temperature"]!.GetValue<double>(), 6);
        // The current parameter name; the deprecated max_tokens is not sent.
        Assert.Equal(123, body["max_completion_tokens"]!.GetValue<int>());
        Assert.Null(body["max_tokens"]);
        var msgs = body["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "tool"], msgs.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("bash", msgs[2]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("c1", msgs[3]!["tool_call_id"]!.GetValue<string>());
        Assert.Equal("bash", body["tools"]![0]!["function"]!["name"]!.GetValue<string>());

        Assert.Equal("ok", response.Text);
        Assert.Equal((7L, 3L, 10L), (response.Usage!.InputTokenCount!.Value, response.Usage.OutputTokenCount!.Value, response.Usage.TotalTokenCount!.Value));
        Assert.Equal("chatcmpl-9", response.ResponseId);
        Assert.Equal("served-model", response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);

        // Per-call options override the configuration.
        await client.GetResponseAsync([new(ChatRole.User, "hi")], new ChatOptions { ModelId = "other", Temperature = 0, MaxOutputTokens = 5 }, Ct);
        body = JsonNode.Parse(server.Requests[1].Body)!;
        Assert.Equal(("other", 0.0, 5), (body["model"]!.GetValue<string>(), body["temperature"]!.GetValue<double>(), body["max_completion_tokens"]!.GetValue<int>()));
    }

    [Fact]
    public async Task StandInEndpoint_CachedAndReasoningTokensAreKept()
    {
        using var server = new ScriptedLlmStandIn((HttpStatusCode.OK, Reply("ok", usage: """
            {"prompt_tokens":100,"completion_tokens":40,"total_tokens":140,
             "prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":25}}
            """)));
        using var client = new OpenAiCompatibleChatClient(Model(server.BaseUrl));
        var response = await client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct);
        Assert.Equal((100L, 40L, 64L, 25L), (response.Usage!.InputTokenCount!.Value, response.Usage.OutputTokenCount!.Value,
            response.Usage.CachedInputTokenCount!.Value, response.Usage.ReasoningTokenCount!.Value));
    }

    [Fact]
    public async Task StandInEndpoint_StreamingReadsServerSentEvents()
    {
        var sse = new StringBuilder();
        foreach (var piece in new[] { "Hel", "lo" })
        {
            sse.Append("data: ").Append(new JsonObject
            {
                ["id"] = "s1",
                ["object"] = "chat.completion.chunk",
                ["created"] = 1700000000,
                ["model"] = "served-model",
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = new JsonObject { ["content"] = piece } }),
            }.ToJsonString()).Append("\n\n");
        }
        sse.Append("data: ").Append("""{"id":"s1","object":"chat.completion.chunk","created":1700000000,"model":"served-model","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}""").Append("\n\n");
        sse.Append("data: [DONE]\n\n");
        using var server = new ScriptedLlmStandIn((HttpStatusCode.OK, sse.ToString())) { ContentType = "text/event-stream" };
        using var client = new OpenAiCompatibleChatClient(Model(server.BaseUrl));
        var updates = new List<ChatResponseUpdate>();
        await foreach (var u in client.GetStreamingResponseAsync([new(ChatRole.User, "hi")], null, Ct))
        {
            updates.Add(u);
        }
        Assert.True(JsonNode.Parse(server.Requests[0].Body)!["stream"]!.GetValue<bool>());
        var response = updates.ToChatResponse();
        Assert.Equal("Hello", response.Text);
        Assert.Equal(6L, response.Usage!.TotalTokenCount);
    }

    [Fact]
    public async Task StandInEndpoint_ApiKeyRequiredOrOptional()
    {
        Assert.Throws<ConfigException>(() => new OpenAiCompatibleChatClient(Model("http://llm.invalid/v1", "KEY_VAR"), environment: _ => null));
        Assert.Throws<ConfigException>(() => new OpenAiCompatibleChatClient(Model("http://llm.invalid/v1", "KEY_VAR"), environment: _ => ""));
        Assert.Throws<ConfigException>(() => new OpenAiCompatibleChatClient(new ModelConfig { BaseUrl = "not a url", Model = "x" }));
        using var server = new ScriptedLlmStandIn((HttpStatusCode.OK, Reply("ok")));
        using var client = new OpenAiCompatibleChatClient(Model(server.BaseUrl, "KEY_VAR"), requireApiKey: false, environment: _ => null);
        await client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct);
        Assert.Null(server.Requests[0].Authorization);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, true)]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.RequestTimeout, true)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    [InlineData(HttpStatusCode.Unauthorized, false)]
    public async Task StandInEndpoint_HttpErrorsThrowWithStatusAndBodyAndAreNotRetried(HttpStatusCode status, bool transient)
    {
        using var server = new ScriptedLlmStandIn((status, """{"error":"nope"}"""), (HttpStatusCode.OK, Reply("late")));
        using var client = new OpenAiCompatibleChatClient(Model(server.BaseUrl));
        var ex = await Assert.ThrowsAsync<ChatApiException>(() => client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(transient, ex.IsTransient);
        Assert.Contains($"HTTP {(int)status}", ex.Message);
        Assert.Equal("""{"error":"nope"}""", ex.Body);
        // Retrying is the caller's choice (the judge's Polly pipeline); the client sent exactly one request.
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task StandInEndpoint_TransportFailureIsTransient()
    {
        string baseUrl;
        using (var gone = new ScriptedLlmStandIn())
        {
            baseUrl = gone.BaseUrl;
        }
        using var client = new OpenAiCompatibleChatClient(Model(baseUrl));
        var ex = await Assert.ThrowsAsync<ChatApiException>(() => client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Null(ex.StatusCode);
        Assert.True(ex.IsTransient);
        Assert.Contains(baseUrl, ex.Message);
    }

    [Fact]
    public async Task StandInEndpoint_UnusableRepliesAreNotTransientAndKeepUsage()
    {
        using var server = new ScriptedLlmStandIn(
            (HttpStatusCode.OK, """{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":0}}"""),
            (HttpStatusCode.OK, "this is not json"));
        using var client = new OpenAiCompatibleChatClient(Model(server.BaseUrl));
        var ex = await Assert.ThrowsAsync<ChatApiException>(() => client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Contains("no choices", ex.Message);
        Assert.False(ex.IsTransient);
        Assert.Equal(10L, ex.Usage!.InputTokenCount);

        ex = await Assert.ThrowsAsync<ChatApiException>(() => client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Contains("not JSON", ex.Message);
        Assert.False(ex.IsTransient);
        Assert.Equal("this is not json", ex.Body);
    }

    [Fact]
    public async Task StandInEndpoint_BadToolArgumentsAreKeptRaw()
    {
        var calls = new JsonArray(
            new JsonObject { ["id"] = "a", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "bash", ["arguments"] = "{\"command\": \"ls" } },
            new JsonObject { ["id"] = "b", ["type"] = "function", ["function"] = new JsonObject { ["name"] = "view_file", ["arguments"] = "{\"path\":\"x.c\"}" } });
        using var server = new ScriptedLlmStandIn((HttpStatusCode.OK, Reply(null, calls, """{"prompt_tokens":1,"completion_tokens":0,"total_tokens":1}""")));
        using var client = new OpenAiCompatibleChatClient(Model(server.BaseUrl));
        var response = await client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct);
        var fc = response.Messages.Single().Contents.OfType<FunctionCallContent>().ToList();
        Assert.Equal(2, fc.Count);
        Assert.NotNull(fc[0].Exception);
        Assert.Equal("{\"command\": \"ls", fc[0].AdditionalProperties!["rawArguments"]);
        Assert.Null(fc[1].Exception);
        Assert.Equal("{\"path\":\"x.c\"}", fc[1].AdditionalProperties!["rawArguments"]);
        Assert.Equal("x.c", fc[1].Arguments!["path"]!.ToString());
        Assert.Equal("", response.Text);
        Assert.Equal(1L, response.Usage!.InputTokenCount);
    }
}

/// <summary>
/// A local HTTP server that stands in for an OpenAI-compatible LLM endpoint in tests (no model runs here): it answers
/// each request with the next scripted (status, body) and records the path, Authorization header and body it got.
/// Disposing it stops it (the port then refuses connections).
/// </summary>
public sealed class ScriptedLlmStandIn : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Queue<(HttpStatusCode Status, string Body)> _script;
    private readonly Task _loop;

    /// <summary>Starts the server on a free loopback port with the given answers, in order.</summary>
    public ScriptedLlmStandIn(params (HttpStatusCode Status, string Body)[] script)
    {
        _script = new(script);
        for (var attempt = 0; ; attempt++)
        {
            var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            try
            {
                _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                _listener.Prefixes.Clear();
            }
        }
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>The loopback port.</summary>
    public int Port { get; }

    /// <summary>Base URL to configure (<c>http://127.0.0.1:PORT/v1</c>).</summary>
    public string BaseUrl => $"http://127.0.0.1:{Port}/v1";

    /// <summary>Content type of every answer.</summary>
    public string ContentType { get; init; } = "application/json";

    /// <summary>Requests received, in order.</summary>
    public List<(string Path, string? Authorization, string Body)> Requests { get; } = [];

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception)
            {
                return;
            }
            using var reader = new StreamReader(ctx.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            (HttpStatusCode Status, string Body) answer;
            lock (Requests)
            {
                Requests.Add((ctx.Request.Url!.AbsolutePath, ctx.Request.Headers["Authorization"], body));
                answer = _script.Count > 0 ? _script.Dequeue() : (HttpStatusCode.InternalServerError, "script exhausted");
            }
            var bytes = Encoding.UTF8.GetBytes(answer.Body);
            ctx.Response.StatusCode = (int)answer.Status;
            ctx.Response.ContentType = ContentType;
            ctx.Response.ContentLength64 = bytes.Length;
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    /// <summary>Stops the server.</summary>
    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }
}
