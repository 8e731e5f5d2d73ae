using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Infrastructure;

namespace LiveKBench.Agents;

/// <summary>Installs the pinned npm package of an npm-cli agent configuration into the workspace.</summary>
public static class NpmAgentInstaller
{
    /// <summary>Where the sandbox sees the installed package folder (read-only).</summary>
    public const string SandboxInstallDir = "/opt/kenv-agent";

    /// <summary>Where the sandbox sees the agent's (writable, per-run) home folder.</summary>
    public const string SandboxHome = "/tmp/kenv-home";

    /// <summary>The install prefix of configuration <paramref name="name"/>: <c>WORKSPACE/tools/npm/NAME</c>.</summary>
    public static string Prefix(string workspaceRoot, string name) => Path.Combine(workspaceRoot, "tools", "npm", name);

    /// <summary>The installed entry script on the host (may not exist yet).</summary>
    public static string Script(string prefix, NpmSection npm) => Path.Combine(prefix, "node_modules", npm.Package, npm.Script);

    /// <summary>
    /// Runs <c>npm install --prefix PREFIX --no-audit --no-fund --no-save PACKAGE@VERSION</c> (timeout
    /// <paramref name="timeout"/>; output kept in <c>PREFIX/install.log</c>) and checks that the entry script and the
    /// installed version are the pinned ones.
    /// </summary>
    /// <returns>The install prefix.</returns>
    /// <exception cref="AgentConfigException">The configuration is not an npm-cli agent.</exception>
    /// <exception cref="ExternalProcessException">npm is missing, failed or timed out, or the installed package is not the pinned version.</exception>
    public static async Task<string> InstallAsync(string workspaceRoot, AgentConfigFile cfg, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (cfg.Agent == "cli")
        {
            throw new AgentConfigException($"agent configuration {cfg.Name} is a cli agent: kbench does not install it; install its program yourself"
                + (cfg.Binds.Count > 0 ? $" into {string.Join(", ", cfg.Binds)}" : "") + " (see the comment at the top of the configuration)");
        }
        if (cfg.Agent != "npm-cli" || cfg.Npm is null)
        {
            throw new AgentConfigException($"agent configuration {cfg.Name} is not an npm-cli agent; nothing to install");
        }
        var prefix = Prefix(workspaceRoot, cfg.Name);
        Directory.CreateDirectory(prefix);
        var npm = ProcessRunner.FindOnPath("npm") ?? throw new ExternalProcessException("npm is not installed (apt-get install nodejs npm)", new ProcessResult("npm", [], -1, "", "not installed", false, TimeSpan.Zero));
        var log = Path.Combine(prefix, "install.log");
        var r = await ProcessRunner.RunAsync(npm, ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--no-save", $"{cfg.Npm.Package}@{cfg.Npm.Version}"],
            new ProcessOptions { Timeout = timeout, LogFile = log, WorkingDirectory = prefix }, cancellationToken).ConfigureAwait(false);
        r.EnsureSuccess();
        var pkgJson = Path.Combine(prefix, "node_modules", cfg.Npm.Package, "package.json");
        var version = File.Exists(pkgJson) ? JsonNode.Parse(File.ReadAllText(pkgJson))?["version"]?.GetValue<string>() : null;
        if (version != cfg.Npm.Version || !File.Exists(Script(prefix, cfg.Npm)))
        {
            throw new ExternalProcessException($"npm installed {cfg.Npm.Package} {version ?? "(nothing)"}, expected {cfg.Npm.Version} with {cfg.Npm.Script}", r);
        }
        return prefix;
    }
}

/// <summary>
/// A third-party coding agent distributed as an npm command-line program (pi, Qwen Code, ...; kind <c>npm-cli</c>), or a
/// program the user installed on the host (SWE-agent, mini-SWE-agent, OpenHands with pip; kind <c>cli</c>), run in the
/// sandbox with its installed package bound read-only at <see cref="NpmAgentInstaller.SandboxInstallDir"/> (npm-cli) or
/// its <see cref="AgentConfigFile.Binds"/> read-only at their own paths (cli), a fresh home folder and
/// one road to the model: the <see cref="ModelProxy"/>'s socket, reached through a loopback forwarder (<c>socat</c>)
/// inside the sandbox's own network namespace at <c>http://127.0.0.1:PORT/v1</c>. The harness measures cost, steps and
/// time and writes traj.json (every exchange), log.txt (the program's output) and metadata.json; the patch is computed
/// from the tree as for every agent.
/// </summary>
/// <param name="workspaceRoot">The workspace (where <c>kbench agent install</c> put the package).</param>
/// <param name="model">The model configuration (endpoint, prices).</param>
/// <param name="upstream">HTTP handler of the proxy towards the endpoint (tests); null = default.</param>
public sealed class NpmCliAgent(string workspaceRoot, ModelConfig model, HttpMessageHandler? upstream = null) : IKenvAgent
{
    /// <summary>The loopback port of the forwarder inside the sandbox.</summary>
    public const int LoopbackPort = 8765;

    /// <summary>How long the agent may still run after the proxy refused a request for a budget.</summary>
    public static readonly TimeSpan LimitGrace = TimeSpan.FromSeconds(2);

    /// <summary>
    /// The sandbox command line that first starts the loopback forwarder (<c>socat TCP-LISTEN:<see cref="LoopbackPort"/>,
    /// bind=127.0.0.1,fork UNIX-CONNECT:<see cref="Sandbox.SandboxSocket"/></c>) inside the sandbox's network namespace,
    /// waits (at most ~5 s) until it accepts connections, then execs <paramref name="program"/>.
    /// </summary>
    public static List<string> WithForwarder(IEnumerable<string> program)
    {
        var port = LoopbackPort.ToString(CultureInfo.InvariantCulture);
        var forwarder = $"socat TCP-LISTEN:{port},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:{Sandbox.SandboxSocket} & "
            + $"i=0; until socat -u OPEN:/dev/null TCP:127.0.0.1:{port} 2>/dev/null; do i=$((i+1)); [ $i -gt 100 ] && break; sleep 0.05; done; exec \"$@\"";
        return ["sh", "-c", forwarder, "kenv-forwarder", .. program];
    }

    /// <summary>The loopback base URL of the model proxy inside the sandbox (<c>{baseUrl}</c>).</summary>
    public static string BaseUrl => $"http://127.0.0.1:{LoopbackPort.ToString(CultureInfo.InvariantCulture)}/v1";

    /// <summary>Replaces <c>{baseUrl}</c> and <c>{model}</c> in <paramref name="text"/>.</summary>
    public static string Fill(string text, string model) =>
        text.Replace("{baseUrl}", BaseUrl, StringComparison.Ordinal).Replace("{model}", model, StringComparison.Ordinal);

    /// <summary>
    /// The program's command line in the sandbox (before <see cref="WithForwarder"/>): <c>node
    /// /opt/kenv-agent/node_modules/PACKAGE/SCRIPT ARGUMENTS</c> for npm-cli agents, <c>COMMAND ARGUMENTS</c> for cli
    /// agents, with <c>{baseUrl}</c>, <c>{model}</c>, <c>{tree}</c> and <c>{prompt}</c> replaced.
    /// </summary>
    /// <param name="cfg">The agent configuration.</param>
    /// <param name="prompt">The task prompt (<see cref="Prompt"/>).</param>
    /// <param name="model">The model name of the model configuration.</param>
    /// <param name="tree">The tree's path in the sandbox (the working directory).</param>
    /// <exception cref="AgentConfigException">The configuration is not an npm-cli or cli agent.</exception>
    public static List<string> ProgramCommand(AgentConfigFile cfg, string prompt, string model, string tree)
    {
        IEnumerable<string> program = cfg.Agent switch
        {
            "npm-cli" => ["node", $"{NpmAgentInstaller.SandboxInstallDir}/node_modules/{cfg.Npm!.Package}/{cfg.Npm.Script}"],
            "cli" => cfg.Command,
            _ => throw new AgentConfigException($"agent configuration {cfg.Name} is not an npm-cli or cli agent"),
        };
        return [.. program.Concat(cfg.Arguments).Select(a => Fill(a, model).Replace("{tree}", tree, StringComparison.Ordinal).Replace("{prompt}", prompt, StringComparison.Ordinal))];
    }

    /// <summary>
    /// Checks that the program of an npm-cli or cli configuration is installed and returns its read-only sandbox binds:
    /// the npm package at <see cref="NpmAgentInstaller.SandboxInstallDir"/>, or each of a cli agent's
    /// <see cref="AgentConfigFile.Binds"/> at its own path. The agent runner calls it before creating any run.
    /// </summary>
    /// <exception cref="AgentConfigException">The npm package is not installed, or a folder to bind does not exist.</exception>
    public static List<SandboxBind> InstalledBinds(string workspaceRoot, AgentConfigFile cfg)
    {
        var binds = new List<SandboxBind>();
        if (cfg.Agent == "npm-cli")
        {
            var prefix = NpmAgentInstaller.Prefix(workspaceRoot, cfg.Name);
            if (!File.Exists(NpmAgentInstaller.Script(prefix, cfg.Npm!)))
            {
                throw new AgentConfigException($"{cfg.Npm!.Package}@{cfg.Npm.Version} is not installed; run: kbench agent install {cfg.Name}");
            }
            binds.Add(new SandboxBind(prefix, NpmAgentInstaller.SandboxInstallDir, ReadOnly: true));
        }
        foreach (var b in cfg.Binds)
        {
            if (!Directory.Exists(b))
            {
                throw new AgentConfigException($"agent configuration {cfg.Name}: {b} does not exist (install the agent's program there first; see the comment at the top of the configuration)");
            }
            binds.Add(new SandboxBind(b.TrimEnd('/'), b.TrimEnd('/'), ReadOnly: true));
        }
        return binds;
    }

    /// <summary>Replaces the placeholders of the configuration's prompt template with the task.</summary>
    public static string Prompt(AgentContext context)
    {
        var t = context.Task;
        return (context.Config.Prompt ?? "")
            .Replace("{bugId}", t.BugId, StringComparison.Ordinal)
            .Replace("{title}", t.Title, StringComparison.Ordinal)
            .Replace("{crashReport}", t.CrashReport, StringComparison.Ordinal)
            .Replace("{inputDir}", context.Layout.InputDir, StringComparison.Ordinal)
            .Replace("{tree}", context.Layout.Tree, StringComparison.Ordinal)
            .Replace("{oracleFiles}", t.OracleFiles is { Count: > 0 } o ? string.Join("\n", o) : "", StringComparison.Ordinal);
    }

    /// <inheritdoc/>
    /// <exception cref="AgentConfigException">The package is not installed (run <c>kbench agent install NAME</c>).</exception>
    public async Task<KenvMetadata?> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var cfg = context.Config;
        var binds = InstalledBinds(workspaceRoot, cfg);
        var layout = context.Layout;
        var home = Path.Combine(layout.Root, "home");
        Directory.CreateDirectory(home);
        string Fill(string s) => NpmCliAgent.Fill(s, model.Model);
        foreach (var (rel, text) in cfg.HomeFiles)
        {
            var path = Path.GetFullPath(Path.Combine(home, rel));
            if (!path.StartsWith(home + "/", StringComparison.Ordinal))
            {
                throw new AgentConfigException($"agent configuration {cfg.Name}: home file {rel} lies outside the home folder");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, Fill(text));
        }
        var prompt = Prompt(context);
        var socket = Path.Combine(layout.Root, "model.sock");
        await using var proxy = await ModelProxy.StartAsync(socket, model, context.Task.Budget, upstream, cancellationToken).ConfigureAwait(false);
        var baseSpec = context.Spec(withOutput: false);
        var env = new Dictionary<string, string>(baseSpec.Environment) { ["HOME"] = NpmAgentInstaller.SandboxHome, ["NO_COLOR"] = "1", ["CI"] = "1" };
        foreach (var (k, v) in cfg.Environment)
        {
            env[k] = Fill(v);
        }
        var spec = baseSpec with
        {
            Environment = env,
            UnixSocket = socket,
            ExtraBinds = [.. binds, new SandboxBind(home, NpmAgentInstaller.SandboxHome, ReadOnly: false)],
        };
        var command = WithForwarder(ProgramCommand(cfg, prompt, model.Model, layout.Tree));
        var processLog = Path.Combine(layout.Root, "agent-process.log");
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var onLimit = proxy.LimitReached.Register(() => linked.CancelAfter(LimitGrace));
        ProcessResult? r = null;
        try
        {
            r = await Sandbox.RunAsync(context.Runner == RunnerKind.Container ? RunnerKind.Sandbox : context.Runner, spec, command, context.Task.Budget.Wall, logFile: processLog, cancellationToken: linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && proxy.LimitExitReason is not null)
        {
            HostFiles.AppendLog(layout.HarnessLog, $"[harness] agent stopped: {Kenv.ExitReasonText(proxy.LimitExitReason.Value)}");
        }
        var reason = proxy.LimitExitReason ?? (r is { TimedOut: true } ? ExitReason.TimeLimitExceeded : r is { Succeeded: true } ? ExitReason.Normal : ExitReason.Error);
        if (r is { Succeeded: false, TimedOut: false } && proxy.LimitExitReason is null)
        {
            HostFiles.AppendLog(layout.HarnessLog, $"[harness] agent process exited with code {r.ExitCode}: {r.Tail(1000)}");
        }
        var elapsed = sw.Elapsed.TotalSeconds;
        var reasonText = Kenv.ExitReasonText(reason);
        HostFiles.WriteNew(layout.Output(Kenv.LogFile), r is null ? "(stopped by the harness)\n" : $"exit code {r.ExitCode}\n--- stdout\n{r.StandardOutput}\n--- stderr\n{r.StandardError}\n");
        AgentHarness.WriteJson(layout.Output(Kenv.TrajectoryFile), new JsonObject
        {
            ["agent"] = cfg.Name,
            ["program"] = cfg.Npm is { } npm ? $"{npm.Package}@{npm.Version}" : string.Join(' ', cfg.Command),
            ["model"] = model.Model,
            ["bugId"] = context.Task.BugId,
            ["prompt"] = prompt,
            ["budget"] = new JsonObject { ["maxSteps"] = context.Task.Budget.MaxSteps, ["maxUsd"] = context.Task.Budget.MaxUsd, ["maxSeconds"] = context.Task.Budget.MaxSeconds },
            ["exchanges"] = proxy.ExchangesJson(),
            ["inputTokens"] = proxy.InputTokens,
            ["outputTokens"] = proxy.OutputTokens,
            ["dollarCost"] = proxy.DollarCost,
            ["stepCount"] = proxy.Steps,
            ["exitCode"] = r?.ExitCode,
            ["exitReason"] = reasonText,
        });
        return new KenvMetadata(proxy.DollarCost, elapsed, reasonText, proxy.Steps);
    }
}
