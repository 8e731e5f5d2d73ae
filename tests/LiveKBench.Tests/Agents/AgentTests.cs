using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using LiveKBench.Agents;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Infrastructure;
using LiveKBench.Llm;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Agents;

public sealed class AgentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Workspace UnixWorkspace(TempDir dir)
    {
        var ws = Workspace.Init(dir["ws"]);
        using var db = ws.OpenStore();
        BugRepository.Upsert(db, BugImport.ReadInput(SharedData.Path("realbugs", "unix_shutdown"), Clock.UtcNow()));
        return ws;
    }

    private static ModelConfig Model(string baseUrl, double priceIn = 1, double priceOut = 2)
        => new() { BaseUrl = baseUrl, Model = "fake", PricePerMillionInput = priceIn, PricePerMillionOutput = priceOut };

    [Fact]
    public async Task BuiltInAgentFixesUnixShutdownThroughFakeEndpoint()
    {
        var src = await UnixShutdownSource.GetAsync();
        using var dir = new TempDir();
        var ws = UnixWorkspace(dir);
        var fix = File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"));
        using var server = new FakeOpenAiServer(
        [
            FakeOpenAiServer.Call("bash", new JsonObject { ["command"] = "head -3 \"$KENV_INPUT_DIR/report.txt\"" }),
            FakeOpenAiServer.Call("bash", new JsonObject { ["command"] = "grep -n 'prot->unhash(other);' net/unix/af_unix.c" }),
            FakeOpenAiServer.Call("view_file", new JsonObject { ["path"] = "net/unix/af_unix.c", ["start_line"] = 3085, ["end_line"] = 3100 }),
            FakeOpenAiServer.Call("edit_file", new JsonObject { ["path"] = "net/unix/af_unix.c", ["old_str"] = "\t\tprot->unhash(other);\n", ["new_str"] = "\t\tif (prot->unhash)\n\t\t\tprot->unhash(other);\n" }),
            FakeOpenAiServer.Call("submit"),
        ]);
        File.WriteAllText(Path.Combine(ws.ConfigsDir, "models", "fake.yaml"), $"baseUrl: {server.BaseUrl}\nmodel: fake\npricePerMillionInput: 1\npricePerMillionOutput: 2\n");
        File.WriteAllText(Path.Combine(ws.ConfigsDir, "agents", "kb.yaml"), "agent: kbench-agent\nmodelConfig: fake\nbudgets:\n  maxSteps: 10\n  maxUsd: 1\n");

        var reports = await new AgentRunner(ws).RunAsync("kb", ["unix_shutdown"], new AgentRunOptions { Trees = new DirectoryTreeProvider(src) }, Ct);

        var r = Assert.Single(reports);
        Assert.Equal("done", r.Status);
        Assert.Equal("normal", r.ExitReason);
        Assert.Equal(5, r.Steps);
        Assert.Equal(5 * (100 * 1 + 20 * 2) / 1e6, r.DollarCost!.Value, 9);
        var patch = File.ReadAllText(Path.Combine(ws.Root, "artifacts", "agent-runs", r.RunId.ToString(), "patch.txt"));
        Assert.StartsWith("diff --git a/net/unix/af_unix.c b/net/unix/af_unix.c\n", patch);
        Assert.Equal(UnixShutdownSource.HunkLines(fix), UnixShutdownSource.HunkLines(patch));
        // Observations: the report was read inside the sandbox, grep found the line, the view shows the function.
        var traj = JsonNode.Parse(File.ReadAllText(Path.Combine(ws.Root, r.TrajectoryPath!)))!;
        var obs = traj["steps"]!.AsArray().Select(s => s!["actions"]![0]!["observation"]!.GetValue<string>()).ToList();
        Assert.Contains("exit code 0", obs[0]);
        Assert.Contains("prot->unhash(other);", obs[1]);
        Assert.Contains("  3094\t\t\tprot->unhash(other);", obs[2]);
        Assert.StartsWith("edited net/unix/af_unix.c", obs[3]);
        // The model saw the tools and the crash report.
        var first = server.Requests[0];
        Assert.Contains("unix_shutdown", first["messages"]![1]!["content"]!.GetValue<string>());
        Assert.Equal(["bash", "view_file", "edit_file", "submit"], first["tools"]!.AsArray().Select(t => t!["function"]!["name"]!.GetValue<string>()));
        using var db = ws.OpenStore();
        var run = db.AgentRuns.Single();
        Assert.Equal(WorkStatus.Done, run.Status);
        Assert.Equal(patch, db.Patches.Single(p => p.Id == run.PatchId).Content);
        Assert.Equal(ExitReason.Normal, run.ExitReason);
        Assert.Equal(1, run.Attempts);
    }

    [Fact]
    public async Task BaselinesProduceKenvOutputsAndAreNotRedone()
    {
        var src = await UnixShutdownSource.GetAsync();
        using var dir = new TempDir();
        var ws = UnixWorkspace(dir);
        var fix = File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "fix.patch"));
        var runner = new AgentRunner(ws);
        var options = new AgentRunOptions { Trees = new DirectoryTreeProvider(src), Runs = 2 };

        var oracle = await runner.RunAsync("developer-oracle", ["unix_shutdown"], options, Ct);
        var empty = await runner.RunAsync("empty", ["unix_shutdown"], options, Ct);

        Assert.Equal(2, oracle.Count);
        foreach (var r in oracle.Concat(empty))
        {
            Assert.Equal("done", r.Status);
            Assert.Equal("normal", r.ExitReason);
            Assert.Equal(0, r.Steps);
            Assert.Equal(0, r.DollarCost);
            var art = Path.Combine(ws.Root, "artifacts", "agent-runs", r.RunId.ToString());
            var meta = KenvMetadata.Read(Path.Combine(art, "metadata.json"));
            Assert.Equal("normal", meta.ExitReason);
            Assert.NotNull(JsonNode.Parse(File.ReadAllText(Path.Combine(art, "traj.json"))));
            Assert.True(File.Exists(Path.Combine(art, "log.txt")));
        }
        var oraclePatch = File.ReadAllText(Path.Combine(ws.Root, "artifacts", "agent-runs", oracle[0].RunId.ToString(), "patch.txt"));
        Assert.Equal(UnixShutdownSource.HunkLines(fix), UnixShutdownSource.HunkLines(oraclePatch));
        Assert.Equal(oracle[0].PatchId, oracle[1].PatchId);
        Assert.Equal("", File.ReadAllText(Path.Combine(ws.Root, "artifacts", "agent-runs", empty[0].RunId.ToString(), "patch.txt")));
        Assert.Equal([0, 1], oracle.Select(r => r.RunIndex));

        var again = await runner.RunAsync("developer-oracle", ["unix_shutdown"], options, Ct);
        Assert.All(again, r => Assert.True(r.Skipped));
        using var db = ws.OpenStore();
        Assert.Equal(4, db.AgentRuns.Count());
        Assert.Equal(2, db.AgentConfigurations.Count());
        Assert.Equal(2, db.AgentConfigurations.Single(c => c.Name == "developer-oracle").BatchCounter);
    }

    private static async Task<(AgentOutcome Outcome, JsonNode Traj)> RunSmallAsync(TempDir dir, FakeOpenAiServer server, AgentBudget budget, TimeProvider? time = null, double priceIn = 1)
    {
        var layout = await SmallTree.CreateAsync(dir);
        var cfg = new AgentConfigFile { Name = "t", Agent = "kbench-agent", ModelConfig = "fake" };
        var model = Model(server.BaseUrl, priceIn);
        using var client = new OpenAiCompatibleChatClient(model, timeout: TimeSpan.FromMinutes(1));
        var ctx = new AgentContext { Layout = layout, Task = SmallTree.Task(budget), Config = cfg, Time = time ?? TimeProvider.System, HiddenPaths = [dir.Path] };
        var outcome = await AgentHarness.RunAsync(new KbenchAgent(client, model), ctx, Ct);
        return (outcome, JsonNode.Parse(File.ReadAllText(layout.Output(Kenv.TrajectoryFile)))!);
    }

    [Fact]
    public async Task StepBudgetStopsTheLoop()
    {
        using var dir = new TempDir();
        using var server = new FakeOpenAiServer([], () => FakeOpenAiServer.Call("bash", new JsonObject { ["command"] = "true" }));
        var (o, traj) = await RunSmallAsync(dir, server, new AgentBudget(MaxSteps: 3, MaxUsd: 100));
        Assert.Equal("stepLimitExceeded", o.Metadata.ExitReason);
        Assert.Equal(3, o.Metadata.Steps);
        Assert.Equal(3, server.Requests.Count);
        Assert.Equal(3, traj["steps"]!.AsArray().Count);
    }

    [Fact]
    public async Task CostBudgetStopsTheLoop()
    {
        using var dir = new TempDir();
        // 1M prompt tokens at 0.6 USD per million: 0.6 USD per step; budget 1 USD -> stop after the second step.
        using var server = new FakeOpenAiServer([], () => FakeOpenAiServer.Call("bash", new JsonObject { ["command"] = "true" }, promptTokens: 1_000_000, completionTokens: 0));
        var (o, _) = await RunSmallAsync(dir, server, new AgentBudget(MaxSteps: 50, MaxUsd: 1), priceIn: 0.6);
        Assert.Equal("costLimitExceeded", o.Metadata.ExitReason);
        Assert.Equal(2, o.Metadata.Steps);
        Assert.Equal(1.2, o.Metadata.DollarCost, 9);
    }

    [Fact]
    public async Task TimeBudgetStopsTheLoop()
    {
        using var dir = new TempDir();
        var time = new ManualTime();
        using var server = new FakeOpenAiServer([], () => FakeOpenAiServer.Call("bash", new JsonObject { ["command"] = "true" }), () => time.Advance(TimeSpan.FromSeconds(400)));
        var (o, _) = await RunSmallAsync(dir, server, new AgentBudget(MaxSteps: 50, MaxUsd: 100, MaxSeconds: 1000), time);
        Assert.Equal("timeLimitExceeded", o.Metadata.ExitReason);
        Assert.Equal(3, o.Metadata.Steps);
        Assert.Equal(1200, o.Metadata.TimeCost, 6);
    }

    [Fact]
    public async Task MalformedRepliesAreRecordedAndCounted()
    {
        using var dir = new TempDir();
        using var server = new FakeOpenAiServer(
        [
            FakeOpenAiServer.Call("bash", rawArguments: "{\"command\": \"ls"),
            FakeOpenAiServer.Call("frobnicate", new JsonObject { ["x"] = 1 }),
            FakeOpenAiServer.Call("edit_file", new JsonObject { ["path"] = "a.c", ["old_str"] = "return 1;", ["new_str"] = "return 0;" }),
            """{"id":"x","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":0}}""",
            "this is not json",
            FakeOpenAiServer.Call("submit"),
        ]);
        var (o, traj) = await RunSmallAsync(dir, server, new AgentBudget(MaxSteps: 10, MaxUsd: 100));
        Assert.Equal("normal", o.Metadata.ExitReason);
        Assert.Equal(6, o.Metadata.Steps);
        Assert.Equal(4, traj["malformedReplies"]!.GetValue<int>());
        var steps = traj["steps"]!.AsArray();
        Assert.Contains("not a valid JSON object", steps[0]!["actions"]![0]!["observation"]!.GetValue<string>());
        Assert.Contains("unknown tool 'frobnicate'", steps[1]!["actions"]![0]!["observation"]!.GetValue<string>());
        Assert.Contains("no choices", steps[3]!["error"]!.GetValue<string>());
        Assert.Contains("not JSON", steps[4]!["error"]!.GetValue<string>());
        Assert.Contains("+\treturn 0;", o.Patch);
        // Two failures in a row do not end the run (three do). The bad arguments were sent back verbatim with an error result, so the model can correct itself.
        var msgs = server.Requests[1]["messages"]!.AsArray();
        Assert.Equal("tool", msgs[^1]!["role"]!.GetValue<string>());
    }

    [Fact]
    public async Task ThreeFailuresInARowEndWithError()
    {
        using var dir = new TempDir();
        using var server = new FakeOpenAiServer([], () => """{"choices":[]}""");
        var (o, _) = await RunSmallAsync(dir, server, new AgentBudget(MaxSteps: 10, MaxUsd: 100));
        Assert.Equal("error", o.Metadata.ExitReason);
        Assert.Equal(3, o.Metadata.Steps);
    }

    [Fact]
    public async Task SandboxBlocksNetworkOutsideWritesAndHidesTheFix()
    {
        SandboxAttackTests.RequireBwrap();
        var src = await UnixShutdownSource.GetAsync();
        using var dir = new TempDir();
        var layout = new KenvLayout(dir["run"]);
        await new DirectoryTreeProvider(src).PrepareAsync(new Bug { Id = "b", Title = "t" }, "base", layout.Tree, null, Ct);
        layout.CreateFolders();
        var outside = dir["outside"];
        Directory.CreateDirectory(outside);
        var hidden = dir["hidden"];
        Directory.CreateDirectory(hidden);
        File.WriteAllText(Path.Combine(hidden, "kbench.db"), "d359902d5c357b280e7a0862bb8a1ba56b3fc197");
        var env = Sandbox.BaseEnvironment();
        var spec = new SandboxSpec(layout.Tree, layout.InputDir, null, [hidden], env);
        using var tcp = new TcpListener(IPAddress.Loopback, 0);
        tcp.Start();
        var port = ((IPEndPoint)tcp.LocalEndpoint).Port;

        Task<ProcessResult> Bash(string cmd, RunnerKind kind = RunnerKind.Sandbox) => Sandbox.RunAsync(kind, spec, ["bash", "-c", cmd], TimeSpan.FromMinutes(2), cancellationToken: Ct);

        var connect = $"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected";
        Assert.True((await Bash(connect, RunnerKind.None)).Succeeded); // control: reachable without the sandbox
        var net = await Bash(connect);
        Assert.False(net.Succeeded);
        Assert.DoesNotContain("connected", net.StandardOutput);

        var write = await Bash($"echo x > {outside}/escaped");
        Assert.False(write.Succeeded);
        Assert.False(File.Exists(Path.Combine(outside, "escaped")));
        Assert.True((await Bash("echo scratch > /tmp/scratch && echo ok > inside.txt")).Succeeded);
        Assert.True(File.Exists(Path.Combine(layout.Tree, "inside.txt")));

        var git = await Bash("git log --all --format='%H %s' && git remote -v && git for-each-ref");
        Assert.True(git.Succeeded, git.StandardError);
        Assert.Single(git.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => !l.Contains("refs/heads/base") && l.Length > 40);
        Assert.DoesNotContain("d359902d5c357b280e7a0862bb8a1ba56b3fc197", git.StandardOutput);
        Assert.DoesNotContain("Fix NULL pointer bug in unix_shutdown", git.StandardOutput);
        var cat = await Bash($"cat {hidden}/kbench.db");
        Assert.False(cat.Succeeded);
        var envDump = await Bash("env");
        Assert.DoesNotContain("DOTNET_", envDump.StandardOutput);
    }

    [Fact]
    public void ContainerRunnerCommandLine()
    {
        // No container engine runs here: this checks the command line only.
        var task = SmallTree.Task(new AgentBudget(5, 1, 60, 0));
        var env = Sandbox.BaseEnvironment();
        foreach (var (k, v) in KenvLayout.Environment(task, "/host/run/tree", "/host/run/input", "/host/run/output"))
        {
            env[k] = v;
        }
        var spec = new SandboxSpec("/host/run/tree", "/host/run/input", "/host/run/output", ["/host/ws"], env);
        var args = Sandbox.ContainerArguments("kenv-agent:1", "kenv-abc", spec, ["python3", "/agent.py"]);
        Assert.Equal(["run", "--rm", "--network", "none", "--name", "kenv-abc"], args.Take(6));
        Assert.Contains("/host/run/tree:/kenv/tree:rw", args);
        Assert.Contains("/host/run/input:/kenv/input:ro", args);
        Assert.Contains("/host/run/output:/kenv/output:rw", args);
        Assert.Contains("KENV_TREE=/kenv/tree", args);
        Assert.Contains("KENV_OUTPUT_DIR=/kenv/output", args);
        Assert.Contains("KENV_BUG_ID=bug1", args);
        Assert.Contains("KENV_MAX_SECONDS=60", args);
        Assert.Equal(["kenv-agent:1", "python3", "/agent.py"], args.TakeLast(3));
        Assert.Equal("/kenv/tree", args[args.IndexOf("--workdir") + 1]);

        var bwrap = Sandbox.BwrapArguments(spec, ["bash"]);
        Assert.Contains("--unshare-net", bwrap);
        Assert.Contains("--die-with-parent", bwrap);
        Assert.Contains("--clearenv", bwrap);
        Assert.True(bwrap.IndexOf("--tmpfs") < bwrap.LastIndexOf("--bind"));
    }

    [Fact]
    public void MetadataValidation()
    {
        using var dir = new TempDir();
        var p = dir["metadata.json"];
        File.WriteAllText(p, """{"dollarCost": 1.5, "timeCost": 3, "exitReason": "costLimitExceeded", "steps": 7}""");
        Assert.Equal(new KenvMetadata(1.5, 3, "costLimitExceeded", 7), KenvMetadata.Read(p));
        File.WriteAllText(p, """{"dollarCost": 1.5, "timeCost": 3, "exitReason": "forfeit"}""");
        Assert.Throws<InvalidDataException>(() => KenvMetadata.Read(p));
        File.WriteAllText(p, """{"timeCost": 3, "exitReason": "normal"}""");
        Assert.Throws<InvalidDataException>(() => KenvMetadata.Read(p));
        Assert.Throws<AgentConfigException>(() => AgentConfigFile.Parse("agent: kbench-agent\n", "x"));
        Assert.Throws<AgentConfigException>(() => AgentConfigFile.Parse("agent: external\nrunner: container\n", "x"));
        Assert.Equal("developer-oracle", AgentConfigFile.Load("/nonexistent", "developer-oracle").Config.Agent);
    }
}
