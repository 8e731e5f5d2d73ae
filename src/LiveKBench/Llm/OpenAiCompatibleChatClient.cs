using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Evaluation.Judge;
using Microsoft.Extensions.AI;

namespace LiveKBench.Llm;

/// <summary>
/// An OpenAI-compatible endpoint failed. Three cases: the request did not get through (transport failure;
/// <see cref="HttpRequestException.StatusCode"/> is null), the endpoint answered with an HTTP error status, or it
/// answered 2xx with a body that is not a usable chat completion (not JSON, not a JSON object, no choices).
/// </summary>
public sealed class ChatApiException : HttpRequestException
{
    /// <summary>Longest <see cref="Body"/> kept, characters.</summary>
    public const int MaxBodyChars = 4000;

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, including the endpoint.</param>
    /// <param name="statusCode">HTTP status of the answer; null when the request did not get through.</param>
    /// <param name="body">The raw response body, when any (truncated to <see cref="MaxBodyChars"/> characters).</param>
    /// <param name="usage">Token usage the answer reported anyway, when any.</param>
    /// <param name="inner">The underlying exception, when any.</param>
    public ChatApiException(string message, HttpStatusCode? statusCode, string? body = null, UsageDetails? usage = null, Exception? inner = null)
        : base(message, inner, statusCode)
    {
        Body = body is { Length: > MaxBodyChars } ? body[..MaxBodyChars] : body;
        Usage = usage;
    }

    /// <summary>
    /// True for failures worth retrying: HTTP 408, 429, 5xx, or no status (transport failure). False for other HTTP
    /// errors and for 2xx answers that are not a usable chat completion.
    /// </summary>
    public bool IsTransient => StatusCode is null or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)StatusCode >= 500;

    /// <summary>The raw response body (at most <see cref="MaxBodyChars"/> characters); null when there was no answer.</summary>
    public string? Body { get; }

    /// <summary>Token usage the answer reported although it was unusable (still billed); null when it reported none.</summary>
    public UsageDetails? Usage { get; }
}

/// <summary>
/// A minimal <see cref="IChatClient"/> over the OpenAI-compatible <c>POST {baseUrl}/chat/completions</c> API
/// (OpenAI, vLLM, LiteLLM, OpenRouter, llama.cpp server…), written on <see cref="HttpClient"/> because
/// Microsoft.Extensions.AI.OpenAI is not available here. Used by the built-in agent (<c>kbench-agent</c>, with tools)
/// and by the LLM judge (plain text).
/// <para>
/// Request: <c>model</c> (<see cref="ChatOptions.ModelId"/>, else <see cref="ModelConfig.Model"/>); <c>messages</c>
/// (<see cref="ChatOptions.Instructions"/> first as a system message, then each message's role and text;
/// <see cref="FunctionCallContent"/> as <c>tool_calls</c>, <see cref="FunctionResultContent"/> as <c>tool</c>
/// messages); <c>temperature</c> and <c>max_tokens</c> (<see cref="ChatOptions.Temperature"/> and
/// <see cref="ChatOptions.MaxOutputTokens"/>, else <see cref="ModelConfig.Temperature"/> and
/// <see cref="ModelConfig.MaxTokens"/>, omitted when neither is set); <c>tools</c> (the
/// <see cref="AIFunctionDeclaration"/>s of <see cref="ChatOptions.Tools"/>).
/// </para>
/// <para>
/// Response (first choice only): text content, tool calls, <c>finish_reason</c>, <c>id</c>, <c>model</c> and
/// <c>usage.prompt_tokens/completion_tokens/total_tokens</c> (token counts). A tool call whose <c>arguments</c> is
/// not a JSON object is returned with <see cref="FunctionCallContent.Exception"/> set; the raw argument text is always
/// in <c>AdditionalProperties["rawArguments"]</c>. Streaming is emulated (the whole reply as updates of one response).
/// </para>
/// <para>
/// Failures throw <see cref="ChatApiException"/> (see <see cref="ChatApiException.IsTransient"/>). There are no
/// retries here: the judge retries transient failures with Polly (<see cref="JudgeRunner"/>); the agent counts a
/// failed call as a malformed step.
/// </para>
/// </summary>
public sealed class OpenAiCompatibleChatClient : IChatClient
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ModelConfig _config;
    private readonly Uri _endpoint;
    private readonly string? _apiKey;

    /// <summary>Creates the client for a model configuration.</summary>
    /// <param name="config">Model configuration: base URL, model id, API key variable, default temperature and max tokens.</param>
    /// <param name="timeout">
    /// Time limit of one HTTP request (<see cref="HttpClient.Timeout"/>; when it elapses the call throws
    /// <see cref="TaskCanceledException"/> with an inner <see cref="TimeoutException"/>); null = none, for callers that
    /// time out each attempt themselves. Ignored when <paramref name="http"/> is given.
    /// </param>
    /// <param name="requireApiKey">
    /// When <see cref="ModelConfig.ApiKeyEnv"/> is set but its variable is unset or empty: true = throw
    /// <see cref="ConfigException"/>; false = send no Authorization header (for endpoints where the key is optional).
    /// </param>
    /// <param name="http">HTTP client to use (not disposed by this client); null = a new one owned by this client.</param>
    /// <param name="environment">Reads environment variables (for the API key); null = the process environment.</param>
    /// <exception cref="ConfigException">The base URL is not an absolute URL, or the API key is missing and <paramref name="requireApiKey"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is zero or negative (other than <see cref="Timeout.InfiniteTimeSpan"/>).</exception>
    public OpenAiCompatibleChatClient(ModelConfig config, TimeSpan? timeout = null, bool requireApiKey = true, HttpClient? http = null, Func<string, string?>? environment = null)
    {
        _config = config;
        if (!Uri.TryCreate(config.BaseUrl.TrimEnd('/') + "/chat/completions", UriKind.Absolute, out var endpoint))
        {
            throw new ConfigException($"model configuration {config.Name}: baseUrl '{config.BaseUrl}' is not an absolute URL");
        }
        _endpoint = endpoint;
        var env = environment ?? Environment.GetEnvironmentVariable;
        _apiKey = string.IsNullOrWhiteSpace(config.ApiKeyEnv) ? null : env(config.ApiKeyEnv);
        if (string.IsNullOrEmpty(_apiKey))
        {
            _apiKey = null;
            if (requireApiKey && !string.IsNullOrWhiteSpace(config.ApiKeyEnv))
            {
                throw new ConfigException($"model configuration {config.Name}: environment variable {config.ApiKeyEnv} (apiKeyEnv) is not set");
            }
        }
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = timeout ?? Timeout.InfiniteTimeSpan };
    }

    /// <inheritdoc/>
    /// <exception cref="ChatApiException">
    /// Transport failure (no status; transient), an HTTP error status (with the body), or a 2xx body that is not JSON,
    /// not an object, or has no choices (with the body and any reported usage; not transient).
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or the client's own timeout elapsed.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var body = BuildRequest(messages, options);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (_apiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
        }
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex is not ChatApiException)
        {
            throw new ChatApiException($"{_endpoint}: {ex.Message}", ex.StatusCode, inner: ex);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var snippet = text.Length > 500 ? text[..500] : text;
                throw new ChatApiException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase} from {_endpoint}: {snippet}", response.StatusCode, text);
            }
            var result = ParseResponse(text, response.StatusCode);
            result.ModelId ??= _config.Model;
            return result;
        }
    }

    /// <summary>The JSON request body for <paramref name="messages"/> and <paramref name="options"/> (see the class summary for the mapping).</summary>
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
        var body = new JsonObject { ["model"] = options?.ModelId ?? _config.Model, ["messages"] = msgs };
        if ((options?.Temperature ?? (float?)_config.Temperature) is { } t)
        {
            body["temperature"] = t;
        }
        if ((options?.MaxOutputTokens ?? _config.MaxTokens) is { } mt)
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

    /// <summary>Parses a chat completion body into a response (first choice only; see the class summary).</summary>
    /// <param name="text">The response body.</param>
    /// <param name="statusCode">HTTP status it came with (put into a thrown <see cref="ChatApiException"/>).</param>
    /// <exception cref="ChatApiException">Not JSON, not a JSON object, or no choices/message.</exception>
    public static ChatResponse ParseResponse(string text, HttpStatusCode statusCode = HttpStatusCode.OK)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text);
        }
        catch (JsonException ex)
        {
            throw new ChatApiException("reply is not JSON: " + ex.Message, statusCode, text, inner: ex);
        }
        if (root is not JsonObject obj)
        {
            throw new ChatApiException("reply is not a JSON object", statusCode, text);
        }
        UsageDetails? usage = null;
        if (obj["usage"] is JsonObject u)
        {
            var input = Count(u["prompt_tokens"]);
            var output = Count(u["completion_tokens"]);
            usage = new UsageDetails
            {
                InputTokenCount = input,
                OutputTokenCount = output,
                TotalTokenCount = Count(u["total_tokens"]) ?? (input is null && output is null ? null : (input ?? 0) + (output ?? 0)),
            };
        }
        if (obj["choices"] is not JsonArray { Count: > 0 } choices || choices[0]?["message"] is not JsonObject msg)
        {
            throw new ChatApiException("reply has no choices", statusCode, text, usage);
        }
        var contents = new List<AIContent>();
        if (Str(msg["content"]) is { Length: > 0 } content)
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
                var raw = Str(argNode) ?? argNode?.ToJsonString() ?? "";
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
        var finish = Str(choices[0]?["finish_reason"]);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, contents))
        {
            Usage = usage,
            FinishReason = finish is null ? null : new ChatFinishReason(finish),
            ModelId = Str(obj["model"]),
            ResponseId = Str(obj["id"]),
            RawRepresentation = text,
        };
    }

    private static string? Str(JsonNode? node)
        => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static long? Count(JsonNode? node)
        => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) ? n : null;

    /// <inheritdoc/>
    /// <exception cref="ChatApiException">As <see cref="GetResponseAsync"/>.</exception>
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

    /// <summary>Disposes the HTTP client when this client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}
