using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Evaluation.Judge;
using Microsoft.Extensions.AI;

namespace LiveKBench.Agents.Llm;

/// <summary>The endpoint answered, but not with a usable chat completion (no choices, not JSON, HTTP error).</summary>
public sealed class MalformedReplyException(string message, string? body, UsageDetails? usage) : Exception(message)
{
    /// <summary>The raw response body (truncated to 4000 characters), when any.</summary>
    public string? Body { get; } = body is { Length: > 4000 } ? body[..4000] : body;

    /// <summary>Token usage the reply reported anyway, when any (still billed).</summary>
    public UsageDetails? Usage { get; } = usage;
}

/// <summary>
/// Minimal <see cref="IChatClient"/> over an OpenAI-compatible <c>POST {baseUrl}/chat/completions</c> with function
/// calling (non-streaming). Text, <see cref="FunctionCallContent"/> and <see cref="FunctionResultContent"/> are mapped;
/// tools are the <see cref="AIFunctionDeclaration"/>s of <see cref="ChatOptions.Tools"/>. A tool call whose
/// <c>arguments</c> is not a JSON object is returned with <see cref="FunctionCallContent.Exception"/> set and the raw
/// text in <c>AdditionalProperties["rawArguments"]</c>. (Separate from the judge's adapter in the eval branch; to be unified.)
/// </summary>
public sealed class OpenAiCompatibleChatClient : IChatClient
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _endpoint;
    private readonly string _model;
    private readonly string? _apiKey;

    /// <summary>Creates the client.</summary>
    /// <param name="baseUrl">Base URL without <c>/chat/completions</c>, e.g. <c>http://127.0.0.1:8080/v1</c>.</param>
    /// <param name="model">Default model id (overridden by <see cref="ChatOptions.ModelId"/>).</param>
    /// <param name="apiKey">Bearer token; null = no Authorization header.</param>
    /// <param name="timeout">HTTP timeout per call.</param>
    /// <param name="http">Optional shared HttpClient (not disposed by this client).</param>
    public OpenAiCompatibleChatClient(string baseUrl, string model, string? apiKey, TimeSpan timeout, HttpClient? http = null)
    {
        _endpoint = new Uri(baseUrl.TrimEnd('/') + "/chat/completions");
        _model = model;
        _apiKey = apiKey;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = timeout };
    }

    /// <summary>Creates a client from a model configuration; the API key is read from the variable it names.</summary>
    public static OpenAiCompatibleChatClient FromConfig(ModelConfig cfg)
        => new(cfg.BaseUrl, cfg.Model, cfg.ApiKeyEnv is { } env ? Environment.GetEnvironmentVariable(env) : null, TimeSpan.FromSeconds(cfg.TimeoutSeconds));

    /// <inheritdoc/>
    /// <exception cref="MalformedReplyException">HTTP error status, a body that is not JSON, or no choices.</exception>
    /// <exception cref="HttpRequestException">Transport failure.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var body = BuildRequest(messages, options);
        using var req = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        if (!string.IsNullOrEmpty(_apiKey))
        {
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }
        using var resp = await _http.SendAsync(req, cancellationToken).ConfigureAwait(false);
        var text = await resp.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode)
        {
            throw new MalformedReplyException($"HTTP {(int)resp.StatusCode} from {_endpoint}", text, null);
        }
        return ParseResponse(text);
    }

    /// <summary>The JSON request body for <paramref name="messages"/> and <paramref name="options"/>.</summary>
    public JsonObject BuildRequest(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        var msgs = new JsonArray();
        if (options?.Instructions is { } instr)
        {
            msgs.Add(new JsonObject { ["role"] = "system", ["content"] = instr });
        }
        foreach (var m in messages)
        {
            var results = m.Contents.OfType<FunctionResultContent>().ToList();
            if (results.Count > 0)
            {
                foreach (var r in results)
                {
                    msgs.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = r.CallId, ["content"] = r.Result?.ToString() ?? "" });
                }
                continue;
            }
            var o = new JsonObject { ["role"] = m.Role.Value, ["content"] = m.Text };
            var calls = m.Contents.OfType<FunctionCallContent>().ToList();
            if (calls.Count > 0)
            {
                var arr = new JsonArray();
                foreach (var c in calls)
                {
                    var args = c.AdditionalProperties?.TryGetValue("rawArguments", out var raw) == true && raw is string s
                        ? s
                        : JsonSerializer.Serialize(c.Arguments ?? new Dictionary<string, object?>());
                    arr.Add(new JsonObject { ["id"] = c.CallId, ["type"] = "function", ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = args } });
                }
                o["tool_calls"] = arr;
            }
            msgs.Add(o);
        }
        var body = new JsonObject { ["model"] = options?.ModelId ?? _model, ["messages"] = msgs };
        if (options?.Temperature is { } t)
        {
            body["temperature"] = t;
        }
        if (options?.MaxOutputTokens is { } mt)
        {
            body["max_tokens"] = mt;
        }
        var tools = options?.Tools?.OfType<AIFunctionDeclaration>().ToList();
        if (tools is { Count: > 0 })
        {
            var arr = new JsonArray();
            foreach (var f in tools)
            {
                arr.Add(new JsonObject
                {
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = f.Name, ["description"] = f.Description, ["parameters"] = JsonNode.Parse(f.JsonSchema.GetRawText()) },
                });
            }
            body["tools"] = arr;
        }
        return body;
    }

    /// <summary>Parses a chat completion body into a response (first choice only).</summary>
    /// <exception cref="MalformedReplyException">Not JSON, not an object, or no choices/message.</exception>
    public static ChatResponse ParseResponse(string text)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new MalformedReplyException("reply is not JSON: " + ex.Message, text, null);
        }
        if (root is not JsonObject obj)
        {
            throw new MalformedReplyException("reply is not a JSON object", text, null);
        }
        UsageDetails? usage = null;
        if (obj["usage"] is JsonObject u)
        {
            usage = new UsageDetails
            {
                InputTokenCount = u["prompt_tokens"]?.GetValueKind() == JsonValueKind.Number ? u["prompt_tokens"]!.GetValue<long>() : 0,
                OutputTokenCount = u["completion_tokens"]?.GetValueKind() == JsonValueKind.Number ? u["completion_tokens"]!.GetValue<long>() : 0,
            };
            usage.TotalTokenCount = usage.InputTokenCount + usage.OutputTokenCount;
        }
        if (obj["choices"] is not JsonArray { Count: > 0 } choices || choices[0]?["message"] is not JsonObject msg)
        {
            throw new MalformedReplyException("reply has no choices", text, usage);
        }
        var contents = new List<AIContent>();
        if (msg["content"] is JsonValue cv && cv.GetValueKind() == JsonValueKind.String && cv.GetValue<string>() is { Length: > 0 } content)
        {
            contents.Add(new TextContent(content));
        }
        if (msg["tool_calls"] is JsonArray calls)
        {
            var i = 0;
            foreach (var call in calls)
            {
                var id = call?["id"]?.ToString() ?? $"call_{i}";
                var name = call?["function"]?["name"]?.ToString() ?? "";
                var argNode = call?["function"]?["arguments"];
                var raw = argNode is JsonValue av && av.GetValueKind() == JsonValueKind.String ? av.GetValue<string>() : argNode?.ToJsonString() ?? "";
                var fc = new FunctionCallContent(id, name) { AdditionalProperties = new() { ["rawArguments"] = raw } };
                try
                {
                    var parsed = JsonNode.Parse(raw.Length == 0 ? "{}" : raw);
                    if (parsed is not JsonObject argObj)
                    {
                        throw new JsonException("arguments are not a JSON object");
                    }
                    fc.Arguments = argObj.ToDictionary(kv => kv.Key, kv => (object?)kv.Value?.DeepClone());
                }
                catch (JsonException ex)
                {
                    fc.Exception = ex;
                }
                contents.Add(fc);
                i++;
            }
        }
        var finish = choices[0]?["finish_reason"]?.ToString();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            Usage = usage,
            FinishReason = finish is null ? null : new ChatFinishReason(finish),
            ModelId = obj["model"]?.ToString(),
            RawRepresentation = text,
        };
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <inheritdoc/>
    public object? GetService(Type serviceType, object? serviceKey = null)
        => serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
