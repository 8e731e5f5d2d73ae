using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Llm;
using Microsoft.Extensions.AI;

namespace LiveKBench.Tests.Llm;

public sealed class OpenAiCompatibleChatClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ModelConfig Model(string? apiKeyEnv = null) => new()
    {
        Name = "m",
        BaseUrl = "http://llm.invalid/v1/",
        Model = "cfg-model",
        ApiKeyEnv = apiKeyEnv,
        Temperature = 0.5,
        MaxTokens = 123,
    };

    private static string Reply(string? content, JsonArray? toolCalls = null, string usage = """{"prompt_tokens":7,"completion_tokens":3}""")
        => new JsonObject
        {
            ["id"] = "chatcmpl-9",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content, ["tool_calls"] = toolCalls },
                ["finish_reason"] = "stop",
            }),
            ["usage"] = JsonNode.Parse(usage),
        }.ToJsonString();

    [Fact]
    public async Task RequestCarriesConfigDefaultsKeyToolsAndResults()
    {
        var handler = new StubHandler(HttpStatusCode.OK, Reply("ok"));
        using var http = new HttpClient(handler);
        using var client = new OpenAiCompatibleChatClient(Model("KEY_VAR"), http: http, environment: n => n == "KEY_VAR" ? "sekrit" : null);
        var call = new FunctionCallContent("c1", "bash", new Dictionary<string, object?> { ["command"] = "ls" });
        var tool = AIFunctionFactory.CreateDeclaration("bash", "run", JsonDocument.Parse("""{"type":"object"}""").RootElement.Clone());
        var response = await client.GetResponseAsync(
            [new(ChatRole.User, "hi"), new(ChatRole.Assistant, [call]), new(ChatRole.Tool, [new FunctionResultContent("c1", "out")])],
            new ChatOptions { Tools = [tool], Instructions = "sys" },
            Ct);

        Assert.Equal(new Uri("http://llm.invalid/v1/chat/completions"), handler.Uri);
        Assert.Equal("Bearer sekrit", handler.Authorization);
        var body = JsonNode.Parse(handler.Body!)!;
        Assert.Equal("cfg-model", body["model"]!.GetValue<string>());
        Assert.Equal(0.5, body["temperature"]!.GetValue<double>(), 6);
        Assert.Equal(123, body["max_tokens"]!.GetValue<int>());
        var msgs = body["messages"]!.AsArray();
        Assert.Equal(["system", "user", "assistant", "tool"], msgs.Select(m => m!["role"]!.GetValue<string>()));
        Assert.Equal("bash", msgs[2]!["tool_calls"]![0]!["function"]!["name"]!.GetValue<string>());
        Assert.Equal("c1", msgs[3]!["tool_call_id"]!.GetValue<string>());
        Assert.Equal("bash", body["tools"]![0]!["function"]!["name"]!.GetValue<string>());

        Assert.Equal("ok", response.Text);
        Assert.Equal((7L, 3L, 10L), (response.Usage!.InputTokenCount!.Value, response.Usage.OutputTokenCount!.Value, response.Usage.TotalTokenCount!.Value));
        Assert.Equal("chatcmpl-9", response.ResponseId);
        Assert.Equal("cfg-model", response.ModelId);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);

        // Per-call options override the configuration.
        await client.GetResponseAsync([new(ChatRole.User, "hi")], new ChatOptions { ModelId = "other", Temperature = 0, MaxOutputTokens = 5 }, Ct);
        body = JsonNode.Parse(handler.Body!)!;
        Assert.Equal(("other", 0.0, 5), (body["model"]!.GetValue<string>(), body["temperature"]!.GetValue<double>(), body["max_tokens"]!.GetValue<int>()));
    }

    [Fact]
    public async Task ApiKeyRequiredOrOptional()
    {
        Assert.Throws<ConfigException>(() => new OpenAiCompatibleChatClient(Model("KEY_VAR"), environment: _ => null));
        Assert.Throws<ConfigException>(() => new OpenAiCompatibleChatClient(Model("KEY_VAR"), environment: _ => ""));
        Assert.Throws<ConfigException>(() => new OpenAiCompatibleChatClient(new ModelConfig { BaseUrl = "not a url", Model = "x" }));
        var handler = new StubHandler(HttpStatusCode.OK, Reply("ok"));
        using var http = new HttpClient(handler);
        using var client = new OpenAiCompatibleChatClient(Model("KEY_VAR"), requireApiKey: false, http: http, environment: _ => null);
        await client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct);
        Assert.Null(handler.Authorization);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, true)]
    [InlineData(HttpStatusCode.TooManyRequests, true)]
    [InlineData(HttpStatusCode.RequestTimeout, true)]
    [InlineData(HttpStatusCode.BadRequest, false)]
    [InlineData(HttpStatusCode.Unauthorized, false)]
    public async Task HttpErrorsThrowWithStatusAndBody(HttpStatusCode status, bool transient)
    {
        using var http = new HttpClient(new StubHandler(status, """{"error":"nope"}"""));
        using var client = new OpenAiCompatibleChatClient(Model(), http: http);
        var ex = await Assert.ThrowsAsync<ChatApiException>(() => client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(transient, ex.IsTransient);
        Assert.Contains($"HTTP {(int)status}", ex.Message);
        Assert.Equal("""{"error":"nope"}""", ex.Body);
    }

    [Fact]
    public async Task TransportFailureIsTransient()
    {
        using var http = new HttpClient(new StubHandler(HttpStatusCode.OK, "", new HttpRequestException("connection refused")));
        using var client = new OpenAiCompatibleChatClient(Model(), http: http);
        var ex = await Assert.ThrowsAsync<ChatApiException>(() => client.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Null(ex.StatusCode);
        Assert.True(ex.IsTransient);
        Assert.Contains("connection refused", ex.Message);
    }

    [Fact]
    public async Task UnusableRepliesAreNotTransientAndKeepUsage()
    {
        using var noChoicesHttp = new HttpClient(new StubHandler(HttpStatusCode.OK, """{"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":0}}"""));
        using var noChoices = new OpenAiCompatibleChatClient(Model(), http: noChoicesHttp);
        var ex = await Assert.ThrowsAsync<ChatApiException>(() => noChoices.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Contains("no choices", ex.Message);
        Assert.False(ex.IsTransient);
        Assert.Equal(10L, ex.Usage!.InputTokenCount);

        using var notJsonHttp = new HttpClient(new StubHandler(HttpStatusCode.OK, "this is not json"));
        using var notJson = new OpenAiCompatibleChatClient(Model(), http: notJsonHttp);
        ex = await Assert.ThrowsAsync<ChatApiException>(() => notJson.GetResponseAsync([new(ChatRole.User, "hi")], null, Ct));
        Assert.Contains("not JSON", ex.Message);
        Assert.False(ex.IsTransient);
        Assert.Equal("this is not json", ex.Body);
    }

    [Fact]
    public void BadToolArgumentsAreKeptRaw()
    {
        var calls = new JsonArray(
            new JsonObject { ["id"] = "a", ["function"] = new JsonObject { ["name"] = "bash", ["arguments"] = "{\"command\": \"ls" } },
            new JsonObject { ["id"] = "b", ["function"] = new JsonObject { ["name"] = "view_file", ["arguments"] = "{\"path\":\"x.c\"}" } });
        var response = OpenAiCompatibleChatClient.ParseResponse(Reply(null, calls, """{"prompt_tokens":1}"""));
        var fc = response.Messages.Single().Contents.OfType<FunctionCallContent>().ToList();
        Assert.Equal(2, fc.Count);
        Assert.NotNull(fc[0].Exception);
        Assert.Equal("{\"command\": \"ls", fc[0].AdditionalProperties!["rawArguments"]);
        Assert.Null(fc[1].Exception);
        Assert.Equal("x.c", fc[1].Arguments!["path"]!.ToString());
        Assert.Equal("", response.Text);
        Assert.Equal((1L, (long?)null, 1L), (response.Usage!.InputTokenCount!.Value, response.Usage.OutputTokenCount, response.Usage.TotalTokenCount!.Value));
    }

    private sealed class StubHandler(HttpStatusCode status, string body, Exception? fail = null) : HttpMessageHandler
    {
        public Uri? Uri { get; private set; }

        public string? Authorization { get; private set; }

        public string? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Uri = request.RequestUri;
            Authorization = request.Headers.Authorization?.ToString();
            Body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            if (fail is not null)
            {
                throw fail;
            }
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }
}
