using System.Collections.Concurrent;
using System.Net;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace LiveKBench.Arena.Syzbot;

/// <summary>Settings of a <see cref="SyzbotClient"/>. Defaults are the polite production values.</summary>
public sealed record SyzbotClientOptions
{
    /// <summary>Dashboard base URL (scheme + host, optional port; no trailing path). Default https://syzkaller.appspot.com.</summary>
    public string BaseUrl { get; init; } = "https://syzkaller.appspot.com";

    /// <summary>Requests allowed in any window of <see cref="Period"/>, retries included. Default 8.</summary>
    public int RequestsPerPeriod { get; init; } = 8;

    /// <summary>Rate-limit window. Default 15 s.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Attempts per request (1 = no retry) on timeouts, network errors, HTTP 429 and 5xx. Default 4.</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>Base delay of the exponential back-off (with jitter). Default 2 s.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Upper bound of one back-off delay, and of an honoured Retry-After. Default 2 min.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Largest response body read, in bytes (default <see cref="Infrastructure.InputLimits.HttpResponseBytes"/>, 64 MiB).
    /// A larger answer is refused while reading (never buffered whole): the request fails with
    /// <see cref="SyzbotHttpException"/> without retrying, so the crawl fails cleanly and is retried on its next run.
    /// </summary>
    public long MaxResponseBytes { get; init; } = Infrastructure.InputLimits.HttpResponseBytes;

    /// <summary>Time limit of one HTTP attempt (headers and body). Default 60 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Cache lifetime of an open bug's detail. Default 1 h.</summary>
    public TimeSpan OpenBugCacheLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Cache lifetime of a fixed bug's detail. Default 7 days.</summary>
    public TimeSpan FixedBugCacheLifetime { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Cache folder; null = no cache.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Clock for cache expiry and the rate limiter. Default system clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The User-Agent sent: <c>LiveKBench/&lt;version&gt; (+https://github.com/livekbench)</c>.</summary>
    public static string UserAgent { get; } =
        $"LiveKBench/{typeof(SyzbotClient).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0"} (+https://github.com/livekbench)";
}

/// <summary>A syzbot request failed for good (after retries where retrying makes sense).</summary>
public sealed class SyzbotHttpException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="statusCode">HTTP status of the last attempt; null for timeouts and network errors.</param>
    /// <param name="attempts">HTTP attempts made (≥ 1).</param>
    /// <param name="inner">The last exception, if any.</param>
    public SyzbotHttpException(string message, int? statusCode, int attempts, Exception? inner = null) : base(message, inner)
    {
        StatusCode = statusCode;
        Attempts = attempts;
    }

    /// <summary>HTTP status of the last attempt; null for timeouts and network errors.</summary>
    public int? StatusCode { get; }

    /// <summary>HTTP attempts made.</summary>
    public int Attempts { get; }
}

/// <summary>A syzbot answer could not be used: malformed JSON, a missing field, text that is not UTF-8, a bad link.</summary>
public sealed class SyzbotFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Client of the public syzbot JSON API (list pages, bug details, text bodies). Every HTTP attempt, retries included,
/// takes a token from one shared <see cref="RollingWindowRateLimiter"/>; timeouts, network errors, 429 and 5xx are
/// retried with exponential back-off and jitter (a Retry-After header wins, capped at
/// <see cref="SyzbotClientOptions.MaxRetryDelay"/>). Thread-safe; dispose to release the HTTP client.
/// </summary>
public sealed class SyzbotClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { AllowTrailingCommas = false };
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly SyzbotClientOptions _options;
    private readonly HttpClient _http;
    private readonly RollingWindowRateLimiter _limiter;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly SyzbotCache? _cache;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, Lazy<Task<string>>> _textsInFlight = new(StringComparer.Ordinal);
    private long _requests;

    /// <summary>Creates the client.</summary>
    /// <param name="options">Settings.</param>
    /// <param name="handler">HTTP handler (tests); null = a new <see cref="SocketsHttpHandler"/>.</param>
    /// <param name="logger">Logger; null = none.</param>
    /// <exception cref="ArgumentException"><see cref="SyzbotClientOptions.BaseUrl"/> is not an absolute http(s) URL.</exception>
    public SyzbotClient(SyzbotClientOptions options, HttpMessageHandler? handler = null, ILogger? logger = null)
    {
        _options = options;
        if (!Uri.TryCreate(options.BaseUrl.TrimEnd('/'), UriKind.Absolute, out var baseUri) || (baseUri.Scheme != "http" && baseUri.Scheme != "https"))
        {
            throw new ArgumentException($"syzbot URL '{options.BaseUrl}' is not an absolute http(s) URL", nameof(options));
        }
        BaseUrl = baseUri.GetLeftPart(UriPartial.Authority) + baseUri.AbsolutePath.TrimEnd('/');
        _http = new HttpClient(handler ?? new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.All }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(SyzbotClientOptions.UserAgent);
        _limiter = new RollingWindowRateLimiter(options.RequestsPerPeriod, options.Period, options.TimeProvider);
        _cache = options.CacheDirectory is null ? null : new SyzbotCache(options.CacheDirectory);
        _log = logger ?? NullLogger.Instance;
        _retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = Math.Max(0, options.MaxAttempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Exception: HttpRequestException or TimeoutException } => true,
                    { Result: { } r } => IsTransient(r.StatusCode),
                    _ => false,
                }),
                DelayGenerator = args =>
                {
                    var ra = args.Outcome.Result?.Headers.RetryAfter;
                    TimeSpan? delay = ra?.Delta ?? (ra?.Date is { } d ? d - options.TimeProvider.GetUtcNow() : null);
                    if (delay is null)
                    {
                        return ValueTask.FromResult<TimeSpan?>(null);
                    }
                    var capped = delay.Value < TimeSpan.Zero ? TimeSpan.Zero : delay.Value > options.MaxRetryDelay ? options.MaxRetryDelay : delay.Value;
                    return ValueTask.FromResult<TimeSpan?>(capped);
                },
                OnRetry = args =>
                {
                    var why = args.Outcome.Exception?.Message ?? $"HTTP {(int)args.Outcome.Result!.StatusCode}";
                    _log.LogWarning("syzbot: attempt {Attempt} failed ({Why}); retrying in {Delay} ms", args.AttemptNumber + 1, why, (long)args.RetryDelay.TotalMilliseconds);
                    args.Outcome.Result?.Dispose();
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The base URL without trailing slash, e.g. <c>https://syzkaller.appspot.com</c>.</summary>
    public string BaseUrl { get; }

    /// <summary>HTTP attempts sent so far (retries included; cache hits excluded).</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    /// <summary>Fetches a list page (never cached): open bugs (<c>/&lt;ns&gt;?json=1</c>) or fixed bugs (<c>/&lt;ns&gt;/fixed?json=1</c>).</summary>
    /// <returns>The entries in the dashboard's order (empty when the server sent <c>null</c>).</returns>
    /// <exception cref="SyzbotHttpException">The page could not be fetched.</exception>
    /// <exception cref="SyzbotFormatException">The body is not a version-1 list.</exception>
    public async Task<IReadOnlyList<SyzbotListEntry>> GetListAsync(string ns, bool fixedBugs, CancellationToken cancellationToken = default)
    {
        var target = $"/{Uri.EscapeDataString(ns)}{(fixedBugs ? "/fixed" : "")}?json=1";
        var (body, _) = await GetStringAsync(target, cancellationToken).ConfigureAwait(false);
        var list = Parse<SyzbotBugList>(body, target);
        if (list.Version != 1)
        {
            throw new SyzbotFormatException($"{target}: unsupported API version {list.Version}");
        }
        return list.Bugs ?? [];
    }

    /// <summary>
    /// Fetches a bug detail by its list link (<c>/bug?extid=…</c> or <c>/bug?id=…</c>), from the cache when fresh:
    /// an open bug's detail lives <see cref="SyzbotClientOptions.OpenBugCacheLifetime"/>, a fixed bug's
    /// <see cref="SyzbotClientOptions.FixedBugCacheLifetime"/>. A cached open detail is never used when
    /// <paramref name="expectFixed"/> (the bug is on the fixed list now), so open→fixed transitions are never lost.
    /// </summary>
    /// <returns>The detail, its raw body, and the HTTP attempts made (0 = from the cache).</returns>
    /// <exception cref="SyzbotFormatException">Bad link, malformed JSON, wrong version, or missing title/id/status/crashes.</exception>
    /// <exception cref="SyzbotHttpException">HTTP failure after retries (404 is not retried).</exception>
    public async Task<(SyzbotBugDetail Detail, string Body, int Attempts)> GetBugAsync(string link, bool expectFixed, CancellationToken cancellationToken = default)
    {
        var target = BugLink.Parse(link).ToJsonTarget();
        var url = BaseUrl + target;
        if (_cache?.GetDetail(url) is { } cached)
        {
            try
            {
                var c = ParseDetail(cached.Body, target);
                var isFixed = IsFixed(c);
                var lifetime = isFixed ? _options.FixedBugCacheLifetime : _options.OpenBugCacheLifetime;
                var age = _options.TimeProvider.GetUtcNow().UtcDateTime - cached.FetchedUtc;
                if (age < lifetime && (isFixed || !expectFixed))
                {
                    return (c, cached.Body, 0);
                }
            }
            catch (SyzbotFormatException)
            {
                // a damaged entry is a miss
            }
        }
        var (body, attempts) = await GetStringAsync(target, cancellationToken).ConfigureAwait(false);
        var detail = ParseDetail(body, target);
        _cache?.PutDetail(url, body, _options.TimeProvider.GetUtcNow().UtcDateTime);
        return (detail, body, attempts);
    }

    /// <summary>
    /// Fetches a text body (<c>/text?tag=…&amp;x=…</c>) by the link the JSON gave; cached for good (by link and by content
    /// hash). Concurrent callers for one link share one request, which runs under the first caller's cancellation token.
    /// </summary>
    /// <exception cref="SyzbotFormatException">The link is not a relative <c>/text?</c> link, or the body is not valid UTF-8.</exception>
    /// <exception cref="SyzbotHttpException">HTTP failure after retries.</exception>
    public async Task<string> GetTextAsync(string link, CancellationToken cancellationToken = default)
    {
        if (!link.StartsWith("/text?", StringComparison.Ordinal) || link.Contains("..", StringComparison.Ordinal) || link.Any(char.IsWhiteSpace))
        {
            throw new SyzbotFormatException($"unexpected text link format '{link}'");
        }
        var url = BaseUrl + link;
        if (_cache?.GetText(url) is { } cached)
        {
            return cached;
        }
        // Many bugs share one text (a kernel config): concurrent callers for the same link share one fetch.
        var fetch = _textsInFlight.GetOrAdd(url, _ => new Lazy<Task<string>>(() => FetchTextAsync(link, url, cancellationToken)));
        try
        {
            return await fetch.Value.ConfigureAwait(false);
        }
        finally
        {
            _textsInFlight.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(url, fetch));
        }
    }

    private async Task<string> FetchTextAsync(string link, string url, CancellationToken cancellationToken)
    {
        if (_cache?.GetText(url) is { } cached)
        {
            return cached; // another caller's fetch finished between our cache look-up and this one
        }
        var (text, _) = await GetStringAsync(link, cancellationToken).ConfigureAwait(false);
        _cache?.PutText(url, text);
        return text;
    }

    /// <summary>True when a detail's status text says fixed (<c>fixed on …</c>) or it carries a fix time.</summary>
    public static bool IsFixed(SyzbotBugDetail d) => d.FixTime is not null || (d.Status?.StartsWith("fixed", StringComparison.OrdinalIgnoreCase) ?? false);

    /// <inheritdoc/>
    public void Dispose()
    {
        _http.Dispose();
        _limiter.Dispose();
    }

    private static SyzbotBugDetail ParseDetail(string body, string target)
    {
        var d = Parse<SyzbotBugDetail>(body, target);
        if (d.Version != 1)
        {
            throw new SyzbotFormatException($"{target}: unsupported API version {d.Version}");
        }
        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(d.Title)) { missing.Add("title"); }
        if (string.IsNullOrWhiteSpace(d.Id)) { missing.Add("id"); }
        if (d.Status is null) { missing.Add("status"); }
        if (d.Crashes is null) { missing.Add("crashes"); }
        if (missing.Count > 0)
        {
            throw new SyzbotFormatException($"{target}: missing field(s) {string.Join(", ", missing)}");
        }
        return d;
    }

    private static T Parse<T>(string body, string target) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(body, Json) ?? throw new SyzbotFormatException($"{target}: the body is JSON null");
        }
        catch (JsonException ex)
        {
            throw new SyzbotFormatException($"{target}: malformed JSON ({ex.Message})", ex);
        }
    }

    private static bool IsTransient(HttpStatusCode code) => code == HttpStatusCode.TooManyRequests || code == HttpStatusCode.RequestTimeout || (int)code >= 500;

    private async Task<(string Body, int Attempts)> GetStringAsync(string target, CancellationToken cancellationToken)
    {
        var url = BaseUrl + target;
        var attempts = 0;
        HttpResponseMessage response;
        try
        {
            response = await _retry.ExecuteAsync(async ct =>
            {
                attempts++;
                using (var lease = await _limiter.AcquireAsync(1, ct).ConfigureAwait(false))
                {
                    // lease always granted (waits); the token counts from now
                }
                Interlocked.Increment(ref _requests);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(_options.RequestTimeout);
                HttpResponseMessage? r = null;
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, url);
                    r = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                    // Buffer the body inside the timeout so a stalled body counts as a timeout too, and never more than the limit.
                    var max = _options.MaxResponseBytes;
                    if (r.Content.Headers.ContentLength is long declared && declared > max)
                    {
                        throw new SyzbotHttpException($"GET {target}: the response is {declared} bytes, larger than the limit of {Infrastructure.InputLimits.Describe(max)}; not read", (int)r.StatusCode, attempts);
                    }
                    var body = new MemoryStream();
                    await using (var stream = await r.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false))
                    {
                        var buffer = new byte[81920];
                        int n;
                        while ((n = await stream.ReadAsync(buffer, timeout.Token).ConfigureAwait(false)) > 0)
                        {
                            if (body.Length + n > max)
                            {
                                throw new SyzbotHttpException($"GET {target}: the response is larger than the limit of {Infrastructure.InputLimits.Describe(max)}; reading stopped", (int)r.StatusCode, attempts);
                            }
                            body.Write(buffer, 0, n);
                        }
                    }
                    var buffered = new ByteArrayContent(body.GetBuffer(), 0, (int)body.Length);
                    foreach (var h in r.Content.Headers)
                    {
                        buffered.Headers.TryAddWithoutValidation(h.Key, h.Value);
                    }
                    r.Content.Dispose();
                    r.Content = buffered;
                    return r;
                }
                catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
                {
                    r?.Dispose();
                    throw new TimeoutException($"no complete answer within {_options.RequestTimeout.TotalSeconds:0.###} s", ex);
                }
                catch
                {
                    r?.Dispose();
                    throw;
                }
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException)
        {
            throw new SyzbotHttpException($"GET {target} failed after {attempts} attempt(s): {ex.Message}", null, attempts, ex);
        }
        using (response)
        {
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new SyzbotHttpException(
                    $"GET {target}: HTTP {(int)response.StatusCode} after {attempts} attempt(s)", (int)response.StatusCode, attempts);
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var text = StrictUtf8.GetString(bytes);
                return (text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text, attempts);
            }
            catch (DecoderFallbackException ex)
            {
                throw new SyzbotFormatException($"GET {target}: the body is not valid UTF-8 ({ex.Message})", ex);
            }
        }
    }
}

/// <summary>A bug link of a list page: <c>/bug?extid=&lt;hex&gt;</c> or <c>/bug?id=&lt;40 hex&gt;</c>.</summary>
/// <param name="Kind"><c>extid</c> or <c>id</c>.</param>
/// <param name="Value">The lower-case hex value.</param>
public sealed record BugLink(string Kind, string Value)
{
    /// <summary>The canonical list link, e.g. <c>/bug?extid=88533dc8b582309bf3ee</c>.</summary>
    public override string ToString() => $"/bug?{Kind}={Value}";

    /// <summary>The detail JSON request target, e.g. <c>/bug?extid=88533dc8b582309bf3ee&amp;json=1</c>.</summary>
    public string ToJsonTarget() => $"/bug?{Kind}={Value}&json=1";

    /// <summary>Parses a list link. Accepts exactly <c>/bug?extid=</c> + 16–64 hex or <c>/bug?id=</c> + 40 hex.</summary>
    /// <exception cref="SyzbotFormatException">Any other form (absolute URLs, extra parameters, non-hex values).</exception>
    public static BugLink Parse(string? link)
    {
        if (link is not null)
        {
            foreach (var kind in new[] { "extid", "id" })
            {
                var prefix = $"/bug?{kind}=";
                if (link.StartsWith(prefix, StringComparison.Ordinal))
                {
                    var v = link[prefix.Length..];
                    var okLength = kind == "id" ? v.Length == 40 : v.Length is >= 16 and <= 64;
                    if (okLength && v.All(char.IsAsciiHexDigit))
                    {
                        return new BugLink(kind, v.ToLowerInvariant());
                    }
                }
            }
        }
        throw new SyzbotFormatException($"unexpected bug link format '{link}'");
    }
}
