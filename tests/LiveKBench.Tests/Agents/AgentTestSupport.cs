using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using LiveKBench.Agents;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Agents;

/// <summary>The buggy net/unix/af_unix.c from linux-source-6.1 (fix reverse-applied), extracted once per machine.</summary>
public static class UnixShutdownSource
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    public const string Tarball = "/usr/src/linux-source-6.1.tar.xz";

    /// <summary>Folder holding net/unix/af_unix.c (buggy). Skips when the tarball is absent.</summary>
    public static async Task<string> GetAsync()
    {
        var fix = SharedData.Path("realbugs", "unix_shutdown", "fix.patch");
        if (!File.Exists(Tarball))
        {
            Assert.Skip($"{Tarball} not installed");
        }
        var root = Path.Combine(Path.GetTempPath(), "kbench-agents-unix-src");
        var src = Path.Combine(root, "linux-source-6.1");
        var done = Path.Combine(root, ".done");
        await Gate.WaitAsync(TestContext.Current.CancellationToken);
        try
        {
            if (!File.Exists(done))
            {
                if (Directory.Exists(root))
                {
                    Directory.Delete(root, true);
                }
                Directory.CreateDirectory(root);
                await ProcessRunner.RunCheckedAsync("tar", ["-xJf", Tarball, "-C", root, "linux-source-6.1/net/unix/af_unix.c"], new ProcessOptions { Timeout = TimeSpan.FromMinutes(10) }, TestContext.Current.CancellationToken);
                await ProcessRunner.RunCheckedAsync("patch", ["-R", "-p1", "-d", src, "-i", fix], new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) }, TestContext.Current.CancellationToken);
                File.WriteAllText(done, "");
            }
        }
        finally
        {
            Gate.Release();
        }
        return src;
    }

    /// <summary>The +/-/context lines of a diff's hunks, with the @@ line reduced to its ranges (drops headers and function context).</summary>
    public static List<string> HunkLines(string diff)
    {
        var lines = new List<string>();
        var inHunk = false;
        foreach (var line in diff.Split('\n'))
        {
            if (line.StartsWith("@@", StringComparison.Ordinal))
            {
                inHunk = true;
                var end = line.IndexOf("@@", 2, StringComparison.Ordinal);
                lines.Add(line[..(end + 2)]);
            }
            else if (line.StartsWith("diff ", StringComparison.Ordinal) || line.StartsWith("--- ", StringComparison.Ordinal))
            {
                inHunk = false;
            }
            else if (inHunk && line.Length > 0)
            {
                lines.Add(line);
            }
        }
        return lines;
    }
}

/// <summary>A loopback OpenAI-compatible server (HttpListener on 127.0.0.1) answering from a script.</summary>
public sealed class FakeOpenAiServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Queue<string> _replies = new();
    private readonly Func<string>? _fallback;
    private readonly Task _loop;

    public FakeOpenAiServer(IEnumerable<string> replies, Func<string>? fallback = null, Action? onRequest = null)
    {
        foreach (var r in replies)
        {
            _replies.Enqueue(r);
        }
        _fallback = fallback;
        OnRequest = onRequest;
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

    public int Port { get; }
    public string BaseUrl => $"http://127.0.0.1:{Port}/v1";
    public Action? OnRequest { get; set; }
    public List<JsonObject> Requests { get; } = [];

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
            string reply;
            lock (Requests)
            {
                Requests.Add((JsonObject)JsonNode.Parse(body)!);
                reply = _replies.Count > 0 ? _replies.Dequeue() : _fallback?.Invoke() ?? Text("nothing left in the script");
            }
            OnRequest?.Invoke();
            var bytes = Encoding.UTF8.GetBytes(reply);
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength64 = bytes.Length;
            await ctx.Response.OutputStream.WriteAsync(bytes);
            ctx.Response.Close();
        }
    }

    /// <summary>A reply with one tool call (arguments given as a JSON object, or raw text when <paramref name="rawArguments"/>).</summary>
    public static string Call(string tool, JsonObject? args = null, string? rawArguments = null, long promptTokens = 100, long completionTokens = 20)
        => new JsonObject
        {
            ["id"] = "chatcmpl-1",
            ["model"] = "fake",
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["finish_reason"] = "tool_calls",
                ["message"] = new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = "thinking about " + tool,
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = "call_" + Guid.NewGuid().ToString("N")[..8],
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = tool, ["arguments"] = rawArguments ?? (args ?? []).ToJsonString() },
                    }),
                },
            }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = promptTokens, ["completion_tokens"] = completionTokens },
        }.ToJsonString();

    /// <summary>A plain text reply.</summary>
    public static string Text(string text) => new JsonObject
    {
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["finish_reason"] = "stop", ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text } }),
        ["usage"] = new JsonObject { ["prompt_tokens"] = 10, ["completion_tokens"] = 5 },
    }.ToJsonString();

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

/// <summary>A clock that moves only when told.</summary>
public sealed class ManualTime : TimeProvider
{
    private long _ticks;
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>A small agent tree (one C file, squashed git repo) for budget tests.</summary>
public static class SmallTree
{
    public static async Task<KenvLayout> CreateAsync(TempDir dir)
    {
        var layout = new KenvLayout(dir["run"]);
        Directory.CreateDirectory(layout.Tree);
        File.WriteAllText(Path.Combine(layout.Tree, "a.c"), "int main(void)\n{\n\treturn 1;\n}\n");
        await SnapshotTree.InitSquashedAsync(layout.Tree, "test", TestContext.Current.CancellationToken);
        await SnapshotTree.SealBaseAsync(layout.Tree, layout.BaseGitDir, TestContext.Current.CancellationToken);
        layout.CreateFolders();
        return layout;
    }

    public static KenvTask Task(AgentBudget budget) => new("bug1", "BUG: test", "base", "crash report\n", "int main(){}\n", global::LiveKBench.Arena.Store.ReproducerKind.C, null, false, budget);
}
