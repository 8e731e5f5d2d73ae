using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Evaluation.Judge;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

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
/// The <see cref="IChatClient"/> for OpenAI-compatible <c>POST {baseUrl}/chat/completions</c> endpoints (OpenAI, vLLM,
/// LiteLLM, OpenRouter, llama.cpp server…): Microsoft.Extensions.AI.OpenAI's client over the official OpenAI SDK, plus
/// the two things our callers rely on — errors as <see cref="ChatApiException"/> and the raw argument text of every
/// tool call. Used by the built-in agent (<c>kbench-agent</c>, with tools) and by the LLM judge (plain text).
/// <para>
/// Request (done by the SDK): <c>model</c> (<see cref="ChatOptions.ModelId"/>, else <see cref="ModelConfig.Model"/>);
/// <c>messages</c> (<see cref="ChatOptions.Instructions"/> first as a system message, tool calls and tool results);
/// <c>temperature</c> and <c>max_completion_tokens</c> (<see cref="ChatOptions.Temperature"/> and
/// <see cref="ChatOptions.MaxOutputTokens"/>, else <see cref="ModelConfig.Temperature"/> and
/// <see cref="ModelConfig.MaxTokens"/>, omitted when neither is set); <c>tools</c>. Streaming is real (server-sent events).
/// </para>
/// <para>
/// Response: text, tool calls, finish reason, id, model and usage — input, output and total tokens, and, when the
/// endpoint reports them, cached input tokens (<see cref="UsageDetails.CachedInputTokenCount"/>) and reasoning tokens
/// (<see cref="UsageDetails.ReasoningTokenCount"/>). Every <see cref="FunctionCallContent"/> carries its raw argument text in
/// <c>AdditionalProperties["rawArguments"]</c>; one whose arguments are not a JSON object has
/// <see cref="FunctionCallContent.Exception"/> set.
/// </para>
/// <para>
/// Failures throw <see cref="ChatApiException"/> (see <see cref="ChatApiException.IsTransient"/>). The SDK's own retries
/// are switched off: the judge retries transient failures with Polly (<see cref="JudgeRunner"/>); the agent counts a
/// failed call as a malformed step.
/// </para>
/// </summary>
public sealed class OpenAiCompatibleChatClient : DelegatingChatClient
{
    private readonly HttpClient? _ownedHttp;
    private readonly string _endpoint;
    private readonly ModelConfig _config;

    /// <summary>Creates the client for a model configuration.</summary>
    /// <param name="config">Model configuration: base URL, model id, API key variable, default temperature and max tokens.</param>
    /// <param name="timeout">
    /// Time limit of one HTTP request (<see cref="HttpClient.Timeout"/>; when it elapses the call throws
    /// <see cref="OperationCanceledException"/>); null = none, for callers that time out each attempt themselves. Ignored
    /// when <paramref name="http"/> is given.
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
        : base(Create(config, timeout, requireApiKey, http, environment, out var owned, out var endpoint))
    {
        _ownedHttp = owned;
        _endpoint = endpoint;
        _config = config;
    }

    private static IChatClient Create(ModelConfig config, TimeSpan? timeout, bool requireApiKey, HttpClient? http, Func<string, string?>? environment, out HttpClient? owned, out string endpoint)
    {
        if (!Uri.TryCreate(config.BaseUrl.TrimEnd('/'), UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            throw new ConfigException($"model configuration {config.Name}: baseUrl '{config.BaseUrl}' is not an absolute URL");
        }
        var env = environment ?? Environment.GetEnvironmentVariable;
        var apiKey = string.IsNullOrWhiteSpace(config.ApiKeyEnv) ? null : env(config.ApiKeyEnv);
        if (string.IsNullOrEmpty(apiKey))
        {
            apiKey = null;
            if (requireApiKey && !string.IsNullOrWhiteSpace(config.ApiKeyEnv))
            {
                throw new ConfigException($"model configuration {config.Name}: environment variable {config.ApiKeyEnv} (apiKeyEnv) is not set");
            }
        }
        owned = http is null ? new HttpClient { Timeout = timeout ?? Timeout.InfiniteTimeSpan } : null;
        var options = new OpenAIClientOptions
        {
            Endpoint = baseUri,
            Transport = new HttpClientPipelineTransport(http ?? owned!),
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = Timeout.InfiniteTimeSpan,
        };
        if (apiKey is null)
        {
            // The SDK always authenticates; an endpoint without a key gets no Authorization header at all.
            options.AddPolicy(new DropAuthorizationPolicy(), PipelinePosition.BeforeTransport);
        }
        endpoint = baseUri + "/chat/completions";
        options.AddPolicy(new ReplyCheckPolicy(endpoint), PipelinePosition.BeforeTransport);
        var chat = new ChatClient(config.Model, new ApiKeyCredential(apiKey ?? "unused"), options);
        return chat.AsIChatClient();
    }

    /// <inheritdoc/>
    /// <exception cref="ChatApiException">
    /// Transport failure (no status; transient), an HTTP error status (with the body), or a 2xx body that is not a
    /// usable chat completion (with the body and any reported usage; not transient).
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled, or the client's own timeout elapsed.</exception>
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ChatResponse response;
        try
        {
            response = await base.GetResponseAsync(messages, WithDefaults(options), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Translate(ex) is { } translated)
        {
            throw translated;
        }
        foreach (var message in response.Messages)
        {
            KeepRawArguments(message.Contents);
        }
        return response;
    }

    /// <inheritdoc/>
    /// <exception cref="ChatApiException">As <see cref="GetResponseAsync"/>.</exception>
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var updates = base.GetStreamingResponseAsync(messages, WithDefaults(options), cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (updates.ConfigureAwait(false))
        {
            while (true)
            {
                ChatResponseUpdate update;
                try
                {
                    if (!await updates.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                    update = updates.Current;
                }
                catch (Exception ex) when (Translate(ex) is { } translated)
                {
                    throw translated;
                }
                KeepRawArguments(update.Contents);
                yield return update;
            }
        }
    }

    /// <summary>A copy of <paramref name="options"/> with the configuration's temperature and max tokens where the call sets none.</summary>
    private ChatOptions WithDefaults(ChatOptions? options)
    {
        var o = options?.Clone() ?? new ChatOptions();
        o.Temperature ??= (float?)_config.Temperature;
        o.MaxOutputTokens ??= _config.MaxTokens;
        return o;
    }

    private Exception? Translate(Exception ex)
    {
        switch (ex)
        {
            case ChatApiException:
            case OperationCanceledException:
                return null;
            case ClientResultException cre when cre.Status != 0:
                var body = cre.GetRawResponse()?.Content?.ToString();
                var status = (HttpStatusCode)cre.Status;
                var snippet = body is { Length: > 500 } ? body[..500] : body;
                return new ChatApiException($"HTTP {cre.Status} {cre.GetRawResponse()?.ReasonPhrase} from {_endpoint}: {snippet}", status, body, inner: ex);
            case ClientResultException cre:
                return new ChatApiException($"{_endpoint}: {(cre.InnerException ?? cre).Message}", null, inner: ex);
            case HttpRequestException hre:
                return new ChatApiException($"{_endpoint}: {hre.Message}", hre.StatusCode, inner: ex);
            case JsonException or InvalidOperationException or FormatException or KeyNotFoundException:
                return new ChatApiException($"reply from {_endpoint} is not JSON or not a chat completion: {ex.Message}", HttpStatusCode.OK, inner: ex);
            default:
                return null;
        }
    }

    private static void KeepRawArguments(IList<AIContent> contents)
    {
        foreach (var call in contents.OfType<FunctionCallContent>())
        {
            if (call.RawRepresentation is ChatToolCall { FunctionArguments: { } args })
            {
                (call.AdditionalProperties ??= [])["rawArguments"] = args.ToString();
            }
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _ownedHttp?.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// Checks a 2xx non-streaming reply before the SDK parses it: a body that is not a JSON object, or has no choices,
    /// throws <see cref="ChatApiException"/> with the body and any usage it reports (the SDK would fail without either).
    /// </summary>
    private sealed class ReplyCheckPolicy(string endpoint) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            ProcessNext(message, pipeline, currentIndex);
            Check(message);
        }

        public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            await ProcessNextAsync(message, pipeline, currentIndex).ConfigureAwait(false);
            Check(message);
        }

        private void Check(PipelineMessage message)
        {
            if (message.Response is not { IsError: false } response || !message.BufferResponse)
            {
                return;
            }
            var text = response.Content.ToString();
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new ChatApiException($"reply from {endpoint} is not JSON: {ex.Message}", (HttpStatusCode)response.Status, text, inner: ex);
            }
            if (root is not JsonObject obj)
            {
                throw new ChatApiException($"reply from {endpoint} is not a JSON object", (HttpStatusCode)response.Status, text);
            }
            if (obj["choices"] is not JsonArray { Count: > 0 } choices || choices[0]?["message"] is not JsonObject)
            {
                UsageDetails? usage = null;
                if (obj["usage"] is JsonObject u)
                {
                    var input = Count(u["prompt_tokens"]);
                    var output = Count(u["completion_tokens"]);
                    usage = new UsageDetails { InputTokenCount = input, OutputTokenCount = output, TotalTokenCount = Count(u["total_tokens"]) ?? (input ?? 0) + (output ?? 0) };
                }
                throw new ChatApiException($"reply from {endpoint} has no choices", (HttpStatusCode)response.Status, text, usage);
            }
        }

        private static long? Count(JsonNode? node)
            => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var n) ? n : null;
    }

    private sealed class DropAuthorizationPolicy : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            message.Request.Headers.Remove("Authorization");
            return ProcessNextAsync(message, pipeline, currentIndex);
        }
    }
}
