using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace LiveKBench.Evaluation.Judge;

/// <summary>An OpenAI-compatible endpoint answered with an HTTP error.</summary>
public sealed class ChatApiException(string message, HttpStatusCode? statusCode, Exception? inner = null) : HttpRequestException(message, inner, statusCode)
{
    /// <summary>True for failures worth retrying: 408, 429, 5xx, or no status (connection failure).</summary>
    public bool IsTransient => StatusCode is null or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)StatusCode >= 500;
}

/// <summary>
/// A minimal <see cref="IChatClient"/> over the OpenAI-compatible <c>POST {baseUrl}/chat/completions</c> API
/// (OpenAI, vLLM, LiteLLM, OpenRouter, llama.cpp server…), written on <see cref="HttpClient"/> because
/// Microsoft.Extensions.AI.OpenAI is not available here. Sends <c>model</c>, <c>messages</c> (role, content),
/// <c>temperature</c> and <c>max_tokens</c> from the <see cref="ModelConfig"/> (overridable per call through
/// <see cref="ChatOptions"/>); reads <c>choices[0].message.content</c>, <c>finish_reason</c> and
/// <c>usage.prompt_tokens/completion_tokens</c>. Streaming is emulated (one update holding the whole reply).
/// Non-2xx answers throw <see cref="ChatApiException"/> with the status code; there are no retries here
/// (callers add them, see <see cref="JudgeRunner"/>).
/// </summary>
public sealed class OpenAiCompatibleChatClient : IChatClient
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ModelConfig _config;
    private readonly string? _apiKey;

    /// <summary>Creates the client.</summary>
    /// <param name="config">Model configuration (base URL, model, sampling).</param>
    /// <param name="http">HTTP client to use (not disposed); null = a new one owned by this client, without its own timeout (callers time out per attempt).</param>
    /// <param name="environment">Reads environment variables (for the API key); null = the process environment.</param>
    public OpenAiCompatibleChatClient(ModelConfig config, HttpClient? http = null, Func<string, string?>? environment = null)
    {
        _config = config;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        var env = environment ?? Environment.GetEnvironmentVariable;
        _apiKey = string.IsNullOrWhiteSpace(config.ApiKeyEnv) ? null : env(config.ApiKeyEnv);
        if (!string.IsNullOrWhiteSpace(config.ApiKeyEnv) && string.IsNullOrEmpty(_apiKey))
        {
            throw new ConfigException($"model configuration {config.Name}: environment variable {config.ApiKeyEnv} (apiKeyEnv) is not set");
        }
    }

    /// <inheritdoc/>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject
        {
            ["model"] = options?.ModelId ?? _config.Model,
            ["messages"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject { ["role"] = m.Role.Value, ["content"] = m.Text })]),
        };
        if ((options?.Temperature ?? (float?)_config.Temperature) is { } t)
        {
            body["temperature"] = t;
        }
        if ((options?.MaxOutputTokens ?? _config.MaxTokens) is { } mt)
        {
            body["max_tokens"] = mt;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, _config.BaseUrl.TrimEnd('/') + "/chat/completions")
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
            throw new ChatApiException($"{_config.BaseUrl}: {ex.Message}", ex.StatusCode, ex);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var snippet = text.Length > 500 ? text[..500] : text;
                throw new ChatApiException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase} from {_config.BaseUrl}: {snippet}", response.StatusCode);
            }
            JsonNode? root;
            try
            {
                root = JsonNode.Parse(text);
            }
            catch (JsonException ex)
            {
                throw new ChatApiException($"{_config.BaseUrl} answered with invalid JSON: {ex.Message}", response.StatusCode, ex);
            }
            var choice = root?["choices"]?[0];
            var content = choice?["message"]?["content"]?.GetValue<string>() ?? "";
            var result = new ChatResponse(new ChatMessage(ChatRole.Assistant, content))
            {
                ModelId = root?["model"]?.GetValue<string>() ?? _config.Model,
                ResponseId = root?["id"]?.GetValue<string>(),
            };
            if (choice?["finish_reason"]?.GetValue<string>() is { } fr)
            {
                result.FinishReason = new ChatFinishReason(fr);
            }
            if (root?["usage"] is JsonObject usage)
            {
                result.Usage = new UsageDetails
                {
                    InputTokenCount = usage["prompt_tokens"]?.GetValue<long>(),
                    OutputTokenCount = usage["completion_tokens"]?.GetValue<long>(),
                    TotalTokenCount = usage["total_tokens"]?.GetValue<long>(),
                };
            }
            return result;
        }
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
