using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace LiveKBench.Tests.Evaluation;

/// <summary>
/// A loopback OpenAI-compatible /v1/chat/completions server (HttpListener on 127.0.0.1) with scripted answers
/// chosen by a marker <c>SCRIPT:mode</c> in the request: equivalent, discrepant, malformed, empty, twoverdicts,
/// noverdict, 429then-ok (the first three requests get 429), 500, hang (never answers until disposed).
/// </summary>
internal sealed class FakeLlmServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();

    public FakeLlmServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = $"http://127.0.0.1:{port}/v1";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(LoopAsync);
    }

    public string BaseUrl { get; }

    public int Requests(string mode) => _counts.GetValueOrDefault(mode);

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try
            {
                ctx = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            _ = Task.Run(() => HandleAsync(ctx));
        }
    }

    private async Task HandleAsync(HttpListenerContext ctx)
    {
        try
        {
            string body;
            using (var r = new StreamReader(ctx.Request.InputStream, Encoding.UTF8))
            {
                body = await r.ReadToEndAsync();
            }
            var i = body.IndexOf("SCRIPT:", StringComparison.Ordinal);
            var mode = "equivalent";
            if (i >= 0)
            {
                var end = i + 7;
                while (end < body.Length && (char.IsAsciiLetterOrDigit(body[end]) || body[end] == '-'))
                {
                    end++;
                }
                mode = body[(i + 7)..end];
            }
            var n = _counts.AddOrUpdate(mode, 1, (_, v) => v + 1);
            switch (mode)
            {
                case "hang":
                    await Task.Delay(Timeout.Infinite, _stop.Token);
                    return;
                case "500":
                    await Send(ctx, 500, "{\"error\":{\"message\":\"internal\"}}");
                    return;
                case "429then-ok" when n <= 3:
                    await Send(ctx, 429, "{\"error\":{\"message\":\"rate limited\"}}");
                    return;
            }
            var content = mode switch
            {
                "discrepant" => "<reasoning>differs</reasoning>\n<evaluation><developerPatchAnalysis>a</developerPatchAnalysis><studentPatchAnalysis>b</studentPatchAnalysis><verdict>discrepant</verdict></evaluation>",
                "malformed" => "<reasoning>x</reasoning><evaluation><verdict>equivalent</verdict>",
                "empty" => "",
                "twoverdicts" => "<evaluation><verdict>equivalent</verdict><verdict>discrepant</verdict></evaluation>",
                "noverdict" => "<evaluation><studentPatchAnalysis>b</studentPatchAnalysis></evaluation>",
                _ => "<reasoning>same root cause</reasoning>\n<evaluation>\n<developerPatchAnalysis>a</developerPatchAnalysis>\n<studentPatchAnalysis>b</studentPatchAnalysis>\n<verdict> Equivalent </verdict>\n</evaluation>",
            };
            var json = JsonSerializer.Serialize(new
            {
                id = "chatcmpl-1",
                model = "fake",
                choices = new[] { new { index = 0, message = new { role = "assistant", content }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 1000, completion_tokens = 200, total_tokens = 1200 },
            });
            await Send(ctx, 200, json);
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (HttpListenerException)
        {
        }
        catch (IOException)
        {
        }
    }

    private static async Task Send(HttpListenerContext ctx, int status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength64 = bytes.Length;
        await ctx.Response.OutputStream.WriteAsync(bytes);
        ctx.Response.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            _listener.Stop();
            _listener.Close();
        }
        catch (ObjectDisposedException)
        {
        }
        _stop.Dispose();
    }
}
