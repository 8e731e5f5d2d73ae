using LiveKBench.Agents;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Agents;

/// <summary>
/// The shipped configurations of the pip-installed agents (SWE-agent, mini-SWE-agent, OpenHands; kind <c>cli</c>) at the
/// command-line level only: PyPI is not reachable from the development machine, so the programs never run here. What is
/// checked: each configuration loads, and the sandbox command line and environment are built as README and
/// docs/kenv.md document them.
/// </summary>
public sealed class NpmCliAgentCommandLineTests
{
    private const string Tree = "/work/agent-runs/7/tree";
    private const string Prompt = "Fix the crash.\nReport: ...";

    private static AgentConfigFile Shipped(string name) => AgentConfigFile.Parse(AgentConfigFile.Shipped(name) ?? throw new InvalidOperationException($"{name} is not shipped"), name);

    [Fact]
    public void MiniSweAgentRunsMiniInYoloModeWithTheProxyAsItsOpenAiBase()
    {
        var cfg = Shipped("mini-swe-agent");
        Assert.Equal("cli", cfg.Agent);
        Assert.Equal(["/opt/kbench-agents/mini-swe-agent"], cfg.Binds);
        Assert.Equal(
            ["/opt/kbench-agents/mini-swe-agent/bin/mini", "--model", "openai/gpt-x", "--yolo", "--exit-immediately", "--cost-limit", "0",
             "--output", "/tmp/kenv-home/mini.traj.json", "--task", Prompt],
            NpmCliAgent.ProgramCommand(cfg, Prompt, "gpt-x", Tree));
        Assert.Equal("http://127.0.0.1:8765/v1", NpmCliAgent.Fill(cfg.Environment["OPENAI_API_BASE"], "gpt-x"));
        Assert.Equal("true", cfg.Environment["MSWEA_CONFIGURED"]);
        Assert.Equal("ignore_errors", cfg.Environment["MSWEA_COST_TRACKING"]);
    }

    [Fact]
    public void SweAgentRunsTheLocalDeploymentOnTheTreeWhereItIs()
    {
        var cfg = Shipped("swe-agent");
        Assert.Equal("cli", cfg.Agent);
        Assert.Equal(
            ["/opt/kbench-agents/swe-agent/venv/bin/sweagent", "run",
             "--agent.model.name=openai/gpt-x", "--agent.model.api_base=http://127.0.0.1:8765/v1", "--agent.model.api_key=kbench-proxy",
             "--agent.model.per_instance_cost_limit=0", "--agent.model.total_cost_limit=0",
             "--env.deployment.type=local", "--env.repo.type=preexisting", $"--env.repo.repo_name={Tree}", "--env.repo.reset=false",
             "--output_dir=/tmp/kenv-home/swe-agent", "--problem_statement.type=text", "--problem_statement.text=" + Prompt],
            NpmCliAgent.ProgramCommand(cfg, Prompt, "gpt-x", Tree));
    }

    [Fact]
    public void OpenHandsRunsHeadlessWithItsModelFromTheLlmVariables()
    {
        var cfg = Shipped("openhands");
        Assert.Equal("cli", cfg.Agent);
        Assert.Equal(["/opt/kbench-agents/openhands/bin/openhands", "--headless", "--override-with-envs", "-t", Prompt],
            NpmCliAgent.ProgramCommand(cfg, Prompt, "gpt-x", Tree));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["LLM_MODEL"] = "openai/gpt-x",
                ["LLM_BASE_URL"] = "http://127.0.0.1:8765/v1",
                ["LLM_API_KEY"] = "kbench-proxy",
                ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True",
            },
            cfg.Environment.ToDictionary(kv => kv.Key, kv => NpmCliAgent.Fill(kv.Value, "gpt-x")));
    }

    [Theory]
    [InlineData("swe-agent")]
    [InlineData("mini-swe-agent")]
    [InlineData("openhands")]
    public async Task EveryPipAgentStartsBehindTheLoopbackForwarderAndIsNotInstalledByKbench(string name)
    {
        var cfg = Shipped(name);
        var program = NpmCliAgent.ProgramCommand(cfg, Prompt, "gpt-x", Tree);
        var sandboxed = NpmCliAgent.WithForwarder(program);
        Assert.Equal(["sh", "-c"], sandboxed.Take(2));
        Assert.StartsWith("socat TCP-LISTEN:8765,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:/run/kenv/agent.sock & ", sandboxed[2]);
        Assert.Equal(program, sandboxed.Skip(4));
        Assert.StartsWith(cfg.Binds.Single() + "/", program[0]);
        Assert.Contains("{crashReport}", cfg.Prompt);
        using var dir = new TempDir();
        var ex = await Assert.ThrowsAsync<AgentConfigException>(() => NpmAgentInstaller.InstallAsync(dir.Path, cfg, TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken));
        Assert.Contains("install its program yourself into " + cfg.Binds.Single(), ex.Message);
    }

    [Theory]
    [InlineData("/usr/local")]
    [InlineData("/opt/../etc")]
    [InlineData("opt/venv")]
    [InlineData("/opt/kenv-agent")]
    [InlineData("/opt")]
    public void ACliAgentMayBindOnlyFoldersUnderOpt(string bind)
    {
        var yaml = $"agent: cli\nmodelConfig: gpt\nprompt: fix it\ncommand: [/opt/x/bin/agent]\nbinds: [\"{bind}\"]\n";
        var ex = Assert.Throws<AgentConfigException>(() => AgentConfigFile.Parse(yaml, "x"));
        Assert.Contains("is not a normalized absolute folder under /opt/", ex.Message);
    }

    [Fact]
    public void ACliAgentNeedsACommandAModelAndAPrompt()
    {
        Assert.Contains("a cli agent needs command, modelConfig and prompt",
            Assert.Throws<AgentConfigException>(() => AgentConfigFile.Parse("agent: cli\nmodelConfig: gpt\nprompt: fix it\n", "x")).Message);
        Assert.Contains("a cli agent needs command, modelConfig and prompt",
            Assert.Throws<AgentConfigException>(() => AgentConfigFile.Parse("agent: cli\ncommand: [/opt/x/a]\nprompt: fix it\n", "x")).Message);
        Assert.Equal("cli", AgentConfigFile.Parse("agent: cli\nmodelConfig: gpt\nprompt: fix it\ncommand: [/opt/x/bin/a]\nbinds: [/opt/x]\n", "x").Agent);
    }

    [Fact]
    public void TheNpmAdaptersCommandLinesRunTheirPinnedScriptWithNode()
    {
        Assert.Equal(["node", "/opt/kenv-agent/node_modules/@qwen-code/qwen-code/cli.js", "--auth-type", "openai", "--model", "gpt-x", "--approval-mode", "yolo", "--chat-recording", "false", Prompt],
            NpmCliAgent.ProgramCommand(Shipped("qwen"), Prompt, "gpt-x", Tree));
        Assert.Equal(["node", "/opt/kenv-agent/node_modules/@mariozechner/pi-coding-agent/dist/cli.js", "--print", "--no-session", "--provider", "kbench", "--model", "gpt-x", Prompt],
            NpmCliAgent.ProgramCommand(Shipped("pi"), Prompt, "gpt-x", Tree));
        Assert.Equal("0.15.10", Shipped("qwen").Npm!.Version);
    }

    [Theory]
    [InlineData("mini-swe-agent", "/opt/kbench-agents/mini-swe-agent does not exist")]
    [InlineData("qwen", "@qwen-code/qwen-code@0.15.10 is not installed; run: kbench agent install qwen")]
    public async Task AnAgentWhoseProgramIsNotInstalledIsRefusedBeforeAnyRunIsCreated(string name, string message)
    {
        Assert.False(Directory.Exists("/opt/kbench-agents/mini-swe-agent"), "this test expects mini-SWE-agent not to be installed");
        using var dir = new TempDir();
        var ws = Workspace.Init(dir["ws"]);
        File.WriteAllText(Path.Combine(ws.ConfigsDir, "models", "gpt.yaml"), "baseUrl: http://127.0.0.1:9/v1\nmodel: m\n");
        var ex = await Assert.ThrowsAsync<AgentConfigException>(() => new AgentRunner(ws).RunAsync(name, ["no-such-bug"], new AgentRunOptions { Trees = new DirectoryTreeProvider(dir.Path) }, TestContext.Current.CancellationToken));
        Assert.Contains(message, ex.Message);
        using var db = ws.OpenStore();
        Assert.Empty(db.AgentRuns);
    }
}
