using System.Net;
using System.Text.Json.Nodes;
using LiveKBench.Agents;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Tests.Agents;

/// <summary>
/// A scripted stand-in for an LLM endpoint (the only thing that cannot run here): an OpenAI-compatible Chat Completions
/// server on the host's loopback (Kestrel) whose replies are computed from each request by a script that reads the
/// tools the agent offered. Streams (server-sent events) when the request asks for it.
/// </summary>
public sealed class ScriptedLlmStandInServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Func<JsonObject, int, JsonObject> _script;

    private ScriptedLlmStandInServer(Func<JsonObject, int, JsonObject> script)
    {
        _script = script;
        var b = WebApplication.CreateSlimBuilder();
        b.Logging.ClearProviders();
        b.WebHost.UseUrls("http://127.0.0.1:0");
        _app = b.Build();
        _app.MapPost("/v1/chat/completions", HandleAsync);
        _app.MapGet("/v1/models", () => Results.Json(new { data = new[] { new { id = "stand-in" } } }));
    }

    /// <summary>Requests received, in order.</summary>
    public List<JsonObject> Requests { get; } = [];

    /// <summary>http://127.0.0.1:PORT/v1.</summary>
    public string BaseUrl { get; private set; } = "";

    /// <summary>The port on the host's loopback.</summary>
    public int Port { get; private set; }

    /// <summary>Starts the server; <paramref name="script"/> maps (request, 0-based index) to an assistant message.</summary>
    public static async Task<ScriptedLlmStandInServer> StartAsync(Func<JsonObject, int, JsonObject> script)
    {
        var s = new ScriptedLlmStandInServer(script);
        await s._app.StartAsync();
        var address = s._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        s.Port = new Uri(address).Port;
        s.BaseUrl = $"http://127.0.0.1:{s.Port}/v1";
        return s;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var req = (JsonObject)(await JsonNode.ParseAsync(ctx.Request.Body))!;
        int index;
        lock (Requests)
        {
            index = Requests.Count;
            Requests.Add(req);
        }
        var message = _script(req, index);
        var finish = message["tool_calls"] is not null ? "tool_calls" : "stop";
        var usage = new JsonObject { ["prompt_tokens"] = 100, ["completion_tokens"] = 20, ["total_tokens"] = 120 };
        if (req["stream"]?.GetValue<bool>() == true)
        {
            ctx.Response.ContentType = "text/event-stream";
            async Task Send(JsonObject chunk)
            {
                await ctx.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n");
                await ctx.Response.Body.FlushAsync();
            }
            var delta = new JsonObject { ["role"] = "assistant", ["content"] = message["content"]?.DeepClone() };
            if (message["tool_calls"] is JsonArray calls)
            {
                var withIndex = new JsonArray();
                for (var i = 0; i < calls.Count; i++)
                {
                    var c = (JsonObject)calls[i]!.DeepClone();
                    c["index"] = i;
                    withIndex.Add(c);
                }
                delta["tool_calls"] = withIndex;
            }
            await Send(Chunk(delta, null));
            await Send(Chunk([], finish));
            var last = Chunk(null, null);
            last["choices"] = new JsonArray();
            last["usage"] = usage;
            await Send(last);
            await ctx.Response.WriteAsync("data: [DONE]\n\n");
            return;
        }
        await ctx.Response.WriteAsJsonAsync(new JsonObject
        {
            ["id"] = "chatcmpl-standin",
            ["object"] = "chat.completion",
            ["model"] = "stand-in",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["finish_reason"] = finish, ["message"] = message }),
            ["usage"] = usage,
        });
    }

    private static JsonObject Chunk(JsonObject? delta, string? finish) => new()
    {
        ["id"] = "chatcmpl-standin",
        ["object"] = "chat.completion.chunk",
        ["model"] = "stand-in",
        ["choices"] = delta is null ? new JsonArray() : new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finish }),
    };

    /// <summary>An assistant message calling <paramref name="tool"/> with <paramref name="args"/>.</summary>
    public static JsonObject ToolCall(string tool, JsonObject args) => ToolCalls((tool, args));

    /// <summary>An assistant message with several tool calls (parallel tool calls, in this order).</summary>
    public static JsonObject ToolCalls(params (string Tool, JsonObject Args)[] calls) => new()
    {
        ["role"] = "assistant",
        ["content"] = "",
        ["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
        {
            ["id"] = "call_" + Guid.NewGuid().ToString("N")[..8],
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = c.Tool, ["arguments"] = c.Args.ToJsonString() },
        })]),
    };

    /// <summary>A plain text assistant message.</summary>
    public static JsonObject Text(string text) => new() { ["role"] = "assistant", ["content"] = text };

    /// <summary>The parameter names of the offered tool <paramref name="name"/> (fails the test when it is not offered).</summary>
    public static List<string> ToolParameters(JsonObject request, string name)
    {
        var tool = request["tools"]!.AsArray().Select(t => t!["function"]!).FirstOrDefault(f => f!["name"]!.GetValue<string>() == name);
        Assert.True(tool is not null, $"the agent did not offer a tool {name}; offered: {string.Join(", ", request["tools"]!.AsArray().Select(t => t!["function"]!["name"]))}");
        return [.. tool!["parameters"]!["properties"]!.AsObject().Select(p => p.Key)];
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The npm-cli adapters with the real npm programs in the real sandbox, reaching a scripted LLM stand-in only through the model proxy.</summary>
public sealed class NpmCliAgentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private static readonly Dictionary<string, string> Installed = [];

    private const string OldLine = "\t\tprot->unhash(other);\n";
    private const string NewLines = "\t\tif (prot->unhash)\n\t\t\tprot->unhash(other);\n";

    private static void Require(string tool)
    {
        if (ProcessRunner.FindOnPath(tool) is null)
        {
            if (SharedData.IsCi)
            {
                Assert.Fail($"{tool} is not installed; CI=true requires it (scripts/install-deps.sh)");
            }
            Assert.Skip($"{tool} not installed");
        }
    }

    /// <summary>Installs the shipped configuration's pinned package once per test process (real npm install) and links
    /// it into <paramref name="ws"/>'s tools folder.</summary>
    private static async Task InstallAsync(Workspace ws, string name)
    {
        Require("npm");
        var cfg = AgentConfigFile.Load(ws.ConfigsDir, name).Config;
        await InstallGate.WaitAsync(Ct);
        try
        {
            if (!Installed.TryGetValue(name, out var prefix))
            {
                var root = Path.Combine(Path.GetTempPath(), "kbench-npm-agents-" + Environment.ProcessId);
                prefix = await NpmAgentInstaller.InstallAsync(root, cfg, TimeSpan.FromMinutes(10), Ct);
                Installed[name] = prefix;
            }
            var link = NpmAgentInstaller.Prefix(ws.Root, name);
            Directory.CreateDirectory(Path.GetDirectoryName(link)!);
            Directory.CreateSymbolicLink(link, prefix);
        }
        finally
        {
            InstallGate.Release();
        }
    }

    private static async Task<Workspace> UnixWorkspaceAsync(TempDir dir, string agent, string baseUrl, int maxSteps)
    {
        SandboxAttackTests.RequireBwrap();
        Require("socat");
        var ws = Workspace.Init(dir["ws"]);
        using (var db = ws.OpenStore())
        {
            BugRepository.Upsert(db, BugImport.ReadInput(SharedData.Path("realbugs", "unix_shutdown"), Clock.UtcNow()));
        }
        File.WriteAllText(Path.Combine(ws.ConfigsDir, "models", "gpt.yaml"), $"baseUrl: {baseUrl}\nmodel: stand-in\npricePerMillionInput: 1\npricePerMillionOutput: 2\n");
        var shipped = AgentConfigFile.Shipped(agent)!;
        File.WriteAllText(Path.Combine(ws.ConfigsDir, "agents", agent + ".yaml"), shipped.Replace("maxSteps: 50", $"maxSteps: {maxSteps}", StringComparison.Ordinal));
        await InstallAsync(ws, agent);
        return ws;
    }

    /// <summary>pi's script: read the function, edit with pi's own edit tool (path + edits[{oldText,newText}]), then stop.</summary>
    private static JsonObject PiScript(JsonObject req, int index)
    {
        var last = req["messages"]!.AsArray().Last()!;
        return index switch
        {
            0 => ScriptedLlmStandInServer.ToolParameters(req, "read") is var p && p.Contains("path") && p.Contains("offset") && p.Contains("limit")
                ? ScriptedLlmStandInServer.ToolCall("read", new JsonObject { ["path"] = "net/unix/af_unix.c", ["offset"] = 3085, ["limit"] = 15 })
                : throw new InvalidOperationException("read tool without path/offset/limit"),
            1 => ScriptedLlmStandInServer.ToolParameters(req, "edit") is var p && p.Contains("path") && p.Contains("edits")
                ? ScriptedLlmStandInServer.ToolCall("edit", new JsonObject
                {
                    ["path"] = "net/unix/af_unix.c",
                    ["edits"] = new JsonArray(new JsonObject { ["oldText"] = OldLine, ["newText"] = NewLines }),
                })
                : throw new InvalidOperationException("edit tool without path/edits"),
            _ => ScriptedLlmStandInServer.Text("Fixed: unix_shutdown now checks prot->unhash before calling it. " + (last["role"]?.ToString() ?? "")),
        };
    }

    /// <summary>The sandbox path of the tree, as Qwen Code tells the model in its first user message.</summary>
    private static string QwenTree(JsonObject req)
    {
        var m = System.Text.RegularExpressions.Regex.Match(req["messages"]!.ToJsonString(), @"working in the directory: ([^\\""]+)");
        return m.Success ? m.Groups[1].Value.Trim() : throw new InvalidOperationException("Qwen Code did not name its working directory");
    }

    /// <summary>Qwen Code's read_file call on the function (absolute file_path, 0-based offset, limit).</summary>
    private static (string Tool, JsonObject Args) QwenRead(JsonObject req) =>
        ScriptedLlmStandInServer.ToolParameters(req, "read_file") is var p && p.Contains("file_path") && p.Contains("offset") && p.Contains("limit")
            ? ("read_file", new JsonObject { ["file_path"] = QwenTree(req) + "/net/unix/af_unix.c", ["offset"] = 3084, ["limit"] = 15 })
            : throw new InvalidOperationException("read_file tool without file_path/offset/limit");

    /// <summary>Qwen Code's edit call replacing the line (file_path, old_string, new_string).</summary>
    private static (string Tool, JsonObject Args) QwenEdit(JsonObject req) =>
        ScriptedLlmStandInServer.ToolParameters(req, "edit") is var p && p.Contains("file_path") && p.Contains("old_string") && p.Contains("new_string")
            ? ("edit", new JsonObject { ["file_path"] = QwenTree(req) + "/net/unix/af_unix.c", ["old_string"] = OldLine, ["new_string"] = NewLines })
            : throw new InvalidOperationException("edit tool without file_path/old_string/new_string");

    /// <summary>Qwen Code's script: read the function with its read_file tool, replace the line with its edit tool, then stop.</summary>
    private static JsonObject QwenScript(JsonObject req, int index) => index switch
    {
        0 => ScriptedLlmStandInServer.ToolCalls(QwenRead(req)),
        1 => ScriptedLlmStandInServer.ToolCalls(QwenEdit(req)),
        _ => ScriptedLlmStandInServer.Text("Fixed: unix_shutdown now checks prot->unhash before calling it."),
    };

    /// <summary>Runs <paramref name="agent"/> on unix_shutdown against the scripted stand-in and checks what every adapter
    /// must do: patch.txt equals the developer fix, 3 steps and their tokens/cost measured by the proxy, every exchange
    /// in traj.json (request as the stand-in received it), the run stored with its patch.</summary>
    private static async Task FixesUnixShutdownAsync(string agent, Func<JsonObject, int, JsonObject> script, string editTool)
    {
        var src = await UnixShutdownSource.GetAsync();
        await using var server = await ScriptedLlmStandInServer.StartAsync(script);
        using var dir = new TempDir();
        var ws = await UnixWorkspaceAsync(dir, agent, server.BaseUrl, maxSteps: 10);
        var fix = File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"));

        var reports = await new AgentRunner(ws).RunAsync(agent, ["unix_shutdown"], new AgentRunOptions { Trees = new DirectoryTreeProvider(src), KeepTree = true }, Ct);

        var r = Assert.Single(reports);
        var art = Path.Combine(ws.Root, "artifacts", "agent-runs", r.RunId.ToString());
        var why = File.Exists(Path.Combine(art, "harness.log")) ? File.ReadAllText(Path.Combine(art, "harness.log")) : "";
        Assert.True(r.Status == "done" && r.ExitReason == "normal", $"{r.Status} {r.ExitReason} {r.FailureReason} {why} {File.ReadAllText(Path.Combine(art, "log.txt"))}");
        var patch = File.ReadAllText(Path.Combine(art, "patch.txt"));
        Assert.Equal(UnixShutdownSource.HunkLines(fix), UnixShutdownSource.HunkLines(patch));
        // The read tool ran in the sandbox on the tree: its result (sent back in request 2) shows the buggy line.
        Assert.Equal(3, server.Requests.Count);
        Assert.Contains("unhash(other);", server.Requests[1]["messages"]!.ToJsonString());
        Assert.Contains("unix_shutdown", server.Requests[0]["messages"]!.ToJsonString());
        // Tokens and cost measured by the proxy: 3 x (100 in x $1/M + 20 out x $2/M).
        Assert.Equal(3, r.Steps);
        Assert.Equal(3 * (100 * 1 + 20 * 2) / 1e6, r.DollarCost!.Value, 9);
        var traj = JsonNode.Parse(File.ReadAllText(Path.Combine(art, "traj.json")))!;
        var exchanges = traj["exchanges"]!.AsArray();
        Assert.Equal(3, exchanges.Count(e => e!["path"]!.GetValue<string>() == "chat/completions"));
        Assert.All(exchanges, e => Assert.Equal(200, e!["status"]!.GetValue<int>()));
        Assert.Equal(300, traj["inputTokens"]!.GetValue<long>());
        Assert.Equal(60, traj["outputTokens"]!.GetValue<long>());
        var streamed = exchanges.Where(e => e!["path"]!.GetValue<string>() == "chat/completions").ToList();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(server.Requests[i].ToJsonString(), streamed[i]!["request"]!.ToJsonString());
        }
        Assert.Contains($"\"name\":\"{editTool}\"", streamed[1]!["response"]!.GetValue<string>());
        using var db = ws.OpenStore();
        var run = db.AgentRuns.Single();
        Assert.Equal(ExitReason.Normal, run.ExitReason);
        Assert.Equal(patch, db.Patches.Single(p => p.Id == run.PatchId).Content);
        // On the leaderboard with its cost per run (both the cell-based query and the reference computation).
        foreach (var board in new[] { Leaderboard.Query(db, new LeaderboardOptions()), Leaderboard.QueryFromRuns(db, new LeaderboardOptions()) })
        {
            var row = Assert.Single(board.Rows);
            Assert.Equal(agent, row.AgentConfig);
            Assert.Equal(1, row.Runs);
            Assert.Equal(1, row.CostRuns);
            Assert.Equal(3 * (100 * 1 + 20 * 2) / 1e6, row.CostPerRunUsd!.Value, 9);
            Assert.Equal(3 * (100 * 1 + 20 * 2) / 1e6, JsonNode.Parse(board.ToJson())!["rows"]![0]!["costPerRunUsd"]!.GetValue<double>(), 9);
        }
    }

    /// <summary>Runs <paramref name="agent"/> with <c>maxSteps: 1</c> against a stand-in that edits at once: the second
    /// request is refused by the proxy, the run ends stepLimitExceeded and the edit is in patch.txt.</summary>
    private static async Task StopsAtOneRequestAndKeepsItsEditAsync(string agent, Func<JsonObject, int, JsonObject> script)
    {
        var src = await UnixShutdownSource.GetAsync();
        await using var server = await ScriptedLlmStandInServer.StartAsync(script);
        using var dir = new TempDir();
        var ws = await UnixWorkspaceAsync(dir, agent, server.BaseUrl, maxSteps: 1);
        var fix = File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"));

        var r = Assert.Single(await new AgentRunner(ws).RunAsync(agent, ["unix_shutdown"], new AgentRunOptions { Trees = new DirectoryTreeProvider(src) }, Ct));

        Assert.Equal("done", r.Status);
        Assert.Equal("stepLimitExceeded", r.ExitReason);
        Assert.Equal(1, r.Steps);
        Assert.Single(server.Requests);
        var art = Path.Combine(ws.Root, "artifacts", "agent-runs", r.RunId.ToString());
        var traj = JsonNode.Parse(File.ReadAllText(Path.Combine(art, "traj.json")))!;
        var exchanges = traj["exchanges"]!.AsArray();
        // On failure: the refused request carries the agent's tool result (why an edit did not happen).
        var refusedRequest = exchanges.Count > 1 ? exchanges[1]!["request"]!["messages"]!.AsArray().Last()!.ToJsonString() : "(no second request)";
        Assert.True(UnixShutdownSource.HunkLines(fix).SequenceEqual(UnixShutdownSource.HunkLines(File.ReadAllText(Path.Combine(art, "patch.txt")))),
            $"patch.txt is not the fix; the agent's last message: {refusedRequest}");
        Assert.Equal(2, exchanges.Count);
        Assert.Equal(200, exchanges[0]!["status"]!.GetValue<int>());
        Assert.Equal("stepLimitExceeded", exchanges[1]!["refused"]!.GetValue<string>());
        Assert.Equal(400, exchanges[1]!["status"]!.GetValue<int>());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public Task PiFixesUnixShutdownInTheSandboxThroughTheModelProxyAgainstAScriptedLlmStandIn() => FixesUnixShutdownAsync("pi", PiScript, "edit");

    [Fact]
    [Trait("Category", "Slow")]
    public Task PiWithABudgetOfOneRequestStopsWithStepLimitExceededAndKeepsItsEdit() => StopsAtOneRequestAndKeepsItsEditAsync("pi", (req, i) => PiScript(req, i + 1));

    [Fact]
    [Trait("Category", "Slow")]
    public Task QwenCodeFixesUnixShutdownInTheSandboxThroughTheModelProxyAgainstAScriptedLlmStandIn() => FixesUnixShutdownAsync("qwen", QwenScript, "edit");

    /// <summary>The stand-in edits at once: Qwen Code edits only files read in the session, so its first reply calls
    /// read_file and edit together; Qwen Code's second request is refused.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public Task QwenCodeWithABudgetOfOneRequestStopsWithStepLimitExceededAndKeepsItsEdit() =>
        StopsAtOneRequestAndKeepsItsEditAsync("qwen", (req, i) => i == 0 ? ScriptedLlmStandInServer.ToolCalls(QwenRead(req), QwenEdit(req)) : QwenScript(req, 2));

    [Fact]
    public async Task InsideTheSandboxOnlyTheProxyRoadWorksAndEveryOtherAddressFails()
    {
        SandboxAttackTests.RequireBwrap();
        Require("socat");
        await using var server = await ScriptedLlmStandInServer.StartAsync((_, _) => ScriptedLlmStandInServer.Text("hello from the stand-in"));
        using var dir = new TempDir();
        var root = dir["run"];
        var tree = Path.Combine(root, "tree");
        var input = Path.Combine(root, "input");
        Directory.CreateDirectory(tree);
        Directory.CreateDirectory(input);
        await using var proxy = await ModelProxy.StartAsync(Path.Combine(root, "model.sock"),
            new LiveKBench.Evaluation.Judge.ModelConfig { BaseUrl = server.BaseUrl, Model = "stand-in", PricePerMillionInput = 1, PricePerMillionOutput = 2 }, new AgentBudget(MaxSteps: 5), cancellationToken: Ct);
        // Control: the stand-in answers on the host's loopback.
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port, Ct);
        }
        var port = NpmCliAgent.LoopbackPort;
        var probe = $$"""
            try() { if socat -u OPEN:/dev/null "$1" 2>/dev/null; then echo "$2 open"; else echo "$2 refused"; fi; }
            node -e "fetch('http://127.0.0.1:{{port}}/v1/chat/completions',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({model:'stand-in',messages:[{role:'user',content:'hi'}]})}).then(r=>r.text()).then(t=>console.log('proxy road: '+t),e=>console.log('proxy road failed: '+e))"
            try TCP:127.0.0.1:{{server.Port}} stand-in-port
            try TCP:127.0.0.1:22 ssh-port
            try TCP:192.0.2.1:80 public-address
            try TCP:1.1.1.1:443 internet
            try UDP:8.8.8.8:53 dns
            """;
        var spec = new SandboxSpec(tree, input, null, [], Sandbox.BaseEnvironment(), Path.Combine(root, "model.sock"));
        var r = await Sandbox.RunAsync(RunnerKind.Sandbox, spec, NpmCliAgent.WithForwarder(["sh", "-c", probe]), TimeSpan.FromSeconds(60), cancellationToken: Ct);
        var output = r.StandardOutput;
        Assert.Contains("hello from the stand-in", output);
        Assert.Contains("stand-in-port refused", output);
        Assert.Contains("ssh-port refused", output);
        Assert.Contains("public-address refused", output);
        Assert.Contains("internet refused", output);
        Assert.Contains("dns refused", output);
        Assert.DoesNotContain(" open", output);
        Assert.Single(server.Requests);
        var exchange = Assert.Single(proxy.Exchanges);
        Assert.Equal(200, exchange.Status);
        Assert.Equal(100, exchange.InputTokens);
        Assert.Equal(20, exchange.OutputTokens);
        Assert.Equal((100 * 1 + 20 * 2) / 1e6, proxy.DollarCost, 12);
    }
}
