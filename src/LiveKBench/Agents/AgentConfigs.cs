using LiveKBench.Arena.Store;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace LiveKBench.Agents;

/// <summary>A configuration file is invalid or missing.</summary>
public sealed class AgentConfigException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Budgets section of an agent configuration (YAML <c>budgets:</c>).</summary>
public sealed class BudgetsSection
{
    /// <summary>Maximum model calls (default 100).</summary>
    public int MaxSteps { get; set; } = 100;

    /// <summary>Maximum USD (default 5).</summary>
    public double MaxUsd { get; set; } = 5;

    /// <summary>Wall-clock seconds (default 7200; 2 h like kArena's stateless limit).</summary>
    public double MaxSeconds { get; set; } = 7200;

    /// <summary>Maximum run_kernel calls in stateful mode (default 3).</summary>
    public int RunKernelCalls { get; set; } = 3;

    /// <summary>Per-command timeout of the bash tool in seconds (default 600).</summary>
    public double CommandTimeoutSeconds { get; set; } = 600;

    /// <summary>Maximum characters of a tool observation shown to the model (default 10000).</summary>
    public int MaxObservationChars { get; set; } = 10_000;
}

/// <summary>
/// <c>configs/agents/NAME.yaml</c>: <c>name, agent (developer-oracle|empty|kbench-agent|external|npm-cli|cli), model, modelConfig,
/// stateful, oracleMode, description, budgets {maxSteps, maxUsd, maxSeconds, runKernelCalls, commandTimeoutSeconds,
/// maxObservationChars}, runner (sandbox|container|none), image, command (list), passEnv (list), systemPrompt</c>.
/// </summary>
public sealed class AgentConfigFile
{
    /// <summary>Known agent kinds.</summary>
    public static readonly IReadOnlyList<string> AgentKinds = ["developer-oracle", "empty", "kbench-agent", "external", "npm-cli", "cli"];

    /// <summary>The agent kinds run by <see cref="NpmCliAgent"/> behind the model proxy: <c>npm-cli</c> (an npm package
    /// installed by <c>kbench agent install</c>) and <c>cli</c> (a program the user installed, e.g. with pip).</summary>
    public static readonly IReadOnlyList<string> ProxiedKinds = ["npm-cli", "cli"];

    /// <summary>Where the host folders of a <c>cli</c> agent (<see cref="Binds"/>) must lie.</summary>
    public const string BindRoot = "/opt/";

    /// <summary>Unique name (defaults to the file name).</summary>
    public string Name { get; set; } = "";

    /// <summary>Agent kind, one of <see cref="AgentKinds"/>.</summary>
    public string Agent { get; set; } = "";

    /// <summary>Model display name (defaults to the model config's model).</summary>
    public string Model { get; set; } = "";

    /// <summary>Model configuration name (configs/models/NAME.yaml).</summary>
    public string? ModelConfig { get; set; }

    /// <summary>Stateful: run_kernel allowed.</summary>
    public bool Stateful { get; set; }

    /// <summary>Oracle mode: the agent receives the files the fix touches.</summary>
    public bool OracleMode { get; set; }

    /// <summary>Free text.</summary>
    public string Description { get; set; } = "";

    /// <summary>Budgets.</summary>
    public BudgetsSection Budgets { get; set; } = new();

    /// <summary>sandbox (default), container or none.</summary>
    public string Runner { get; set; } = "sandbox";

    /// <summary>Container image (runner container).</summary>
    public string? Image { get; set; }

    /// <summary>Command of an external agent (program and arguments, run inside the sandbox with cwd = tree); for a
    /// <c>cli</c> agent, the program and its fixed arguments (placeholders as in <see cref="Arguments"/>), followed by
    /// <see cref="Arguments"/>.</summary>
    public List<string> Command { get; set; } = [];

    /// <summary>Host environment variables passed to an external agent (e.g. an API key name). Nothing else leaks.</summary>
    public List<string> PassEnv { get; set; } = [];

    /// <summary>System prompt override for kbench-agent; null = built-in.</summary>
    public string? SystemPrompt { get; set; }

    /// <summary>npm-cli agents: the npm package, its pinned version and the script run with node (see <see cref="NpmSection"/>).</summary>
    public NpmSection? Npm { get; set; }

    /// <summary>npm-cli and cli agents: the program's arguments; placeholders <c>{prompt}</c>, <c>{model}</c>, <c>{baseUrl}</c>
    /// and <c>{tree}</c> (the tree's path, also the working directory) are replaced.</summary>
    public List<string> Arguments { get; set; } = [];

    /// <summary>npm-cli and cli agents: environment of the program (placeholders as in <see cref="Arguments"/>).</summary>
    public Dictionary<string, string> Environment { get; set; } = [];

    /// <summary>npm-cli and cli agents: files written into the agent's home folder before it starts (relative path → text,
    /// placeholders as in <see cref="Arguments"/>), e.g. the program's provider configuration.</summary>
    public Dictionary<string, string> HomeFiles { get; set; } = [];

    /// <summary>npm-cli and cli agents: the task prompt template; placeholders <c>{bugId}</c>, <c>{title}</c>, <c>{crashReport}</c>,
    /// <c>{inputDir}</c>, <c>{tree}</c>, <c>{oracleFiles}</c>.</summary>
    public string? Prompt { get; set; }

    /// <summary>cli agents: host folders holding the program (e.g. a Python virtual environment made with pip), each bound
    /// read-only at the same path in the sandbox (so scripts' <c>#!</c> lines keep working); each must lie under
    /// <see cref="BindRoot"/>.</summary>
    public List<string> Binds { get; set; } = [];

    /// <summary>The budgets as a record.</summary>
    public AgentBudget Budget => new(Budgets.MaxSteps, Budgets.MaxUsd, Budgets.MaxSeconds, Budgets.RunKernelCalls);

    /// <summary>The runner as an enum.</summary>
    /// <exception cref="AgentConfigException">Unknown runner.</exception>
    public RunnerKind RunnerKind => Runner.ToLowerInvariant() switch
    {
        "sandbox" or "bwrap" => RunnerKind.Sandbox,
        "container" or "docker" or "podman" => RunnerKind.Container,
        "none" => RunnerKind.None,
        _ => throw new AgentConfigException($"agent configuration {Name}: runner '{Runner}' is not sandbox, container or none"),
    };

    /// <summary>The text of the built-in configurations (<c>developer-oracle</c>, <c>empty</c>, and the <see cref="Shipped"/>
    /// ones), available without a file in the workspace.</summary>
    public static string? BuiltInText(string name) => name switch
    {
        "developer-oracle" => "name: developer-oracle\nagent: developer-oracle\ndescription: applies the developer patch (harness sanity check)\nbudgets:\n  maxSteps: 0\n  maxUsd: 0\n  maxSeconds: 600\n",
        "empty" => "name: empty\nagent: empty\ndescription: changes nothing (lower bound)\nbudgets:\n  maxSteps: 0\n  maxUsd: 0\n  maxSeconds: 600\n",
        _ => Shipped(name),
    };

    /// <summary>The configurations shipped with LiveKBench (the repository's <c>configs/agents/*.yaml</c>, embedded):
    /// the npm-cli adapters and the pip agents' command lines; null when there is none named <paramref name="name"/>.</summary>
    public static string? Shipped(string name)
    {
        using var s = typeof(AgentConfigFile).Assembly.GetManifestResourceStream($"LiveKBench.Configs.Agents.{name}.yaml");
        return s is null ? null : new StreamReader(s).ReadToEnd();
    }

    /// <summary>Parses and validates YAML text.</summary>
    /// <exception cref="AgentConfigException">Not valid YAML, unknown keys, unknown agent/runner, missing command/model/image.</exception>
    public static AgentConfigFile Parse(string yaml, string defaultName)
    {
        AgentConfigFile cfg;
        try
        {
            cfg = Yaml.Deserialize<AgentConfigFile>(yaml) ?? new AgentConfigFile();
        }
        catch (YamlException ex)
        {
            throw new AgentConfigException($"agent configuration {defaultName}: {ex.Message}", ex);
        }
        if (string.IsNullOrWhiteSpace(cfg.Name))
        {
            cfg.Name = defaultName;
        }
        if (!AgentKinds.Contains(cfg.Agent))
        {
            throw new AgentConfigException($"agent configuration {cfg.Name}: agent '{cfg.Agent}' is not one of {string.Join(", ", AgentKinds)}");
        }
        _ = cfg.RunnerKind;
        if (cfg.Agent == "kbench-agent" && string.IsNullOrWhiteSpace(cfg.ModelConfig))
        {
            throw new AgentConfigException($"agent configuration {cfg.Name}: kbench-agent needs modelConfig");
        }
        if (cfg.Agent == "external" && cfg.Command.Count == 0 && cfg.RunnerKind != RunnerKind.Container)
        {
            throw new AgentConfigException($"agent configuration {cfg.Name}: an external agent needs a command");
        }
        if (cfg.Agent == "npm-cli" && (cfg.Npm is null || string.IsNullOrWhiteSpace(cfg.Npm.Package) || string.IsNullOrWhiteSpace(cfg.Npm.Version)
            || string.IsNullOrWhiteSpace(cfg.Npm.Script) || string.IsNullOrWhiteSpace(cfg.ModelConfig) || string.IsNullOrWhiteSpace(cfg.Prompt)))
        {
            throw new AgentConfigException($"agent configuration {cfg.Name}: an npm-cli agent needs npm.package, npm.version, npm.script, modelConfig and prompt");
        }
        if (cfg.Agent == "cli" && (cfg.Command.Count == 0 || string.IsNullOrWhiteSpace(cfg.ModelConfig) || string.IsNullOrWhiteSpace(cfg.Prompt)))
        {
            throw new AgentConfigException($"agent configuration {cfg.Name}: a cli agent needs command, modelConfig and prompt");
        }
        foreach (var b in cfg.Binds)
        {
            if (!b.StartsWith(BindRoot, StringComparison.Ordinal) || Path.GetFullPath(b) != b.TrimEnd('/') || b.TrimEnd('/') == NpmAgentInstaller.SandboxInstallDir
                || b.StartsWith(NpmAgentInstaller.SandboxInstallDir + "/", StringComparison.Ordinal))
            {
                throw new AgentConfigException($"agent configuration {cfg.Name}: bind {b} is not a normalized absolute folder under {BindRoot} (other than {NpmAgentInstaller.SandboxInstallDir})");
            }
        }
        if (cfg.RunnerKind == RunnerKind.Container && string.IsNullOrWhiteSpace(cfg.Image))
        {
            throw new AgentConfigException($"agent configuration {cfg.Name}: runner container needs an image");
        }
        return cfg;
    }

    /// <summary>Loads <c>configs/agents/NAME.yaml</c>, or the built-in text for developer-oracle/empty.</summary>
    /// <returns>The parsed configuration and its text.</returns>
    /// <exception cref="AgentConfigException">No such file (and no built-in), or invalid.</exception>
    public static (AgentConfigFile Config, string Text) Load(string configsDir, string name)
    {
        var path = Path.Combine(configsDir, "agents", name + ".yaml");
        var text = File.Exists(path) ? File.ReadAllText(path) : BuiltInText(name) ?? throw new AgentConfigException($"no agent configuration {name} ({path} does not exist)");
        return (Parse(text, name), text);
    }

    /// <summary>Inserts or updates the <see cref="AgentConfiguration"/> row named like <paramref name="cfg"/> (not saved).</summary>
    public static AgentConfiguration Upsert(KBenchDbContext db, AgentConfigFile cfg, string text, string? modelName)
    {
        var row = db.AgentConfigurations.SingleOrDefault(c => c.Name == cfg.Name);
        if (row is null)
        {
            row = new AgentConfiguration { Name = cfg.Name, Agent = cfg.Agent };
            db.AgentConfigurations.Add(row);
        }
        row.Agent = cfg.Agent;
        row.Model = string.IsNullOrEmpty(cfg.Model) ? modelName ?? "" : cfg.Model;
        row.ModelConfigName = cfg.ModelConfig;
        row.Stateful = cfg.Stateful;
        row.OracleMode = cfg.OracleMode;
        row.Description = cfg.Description;
        row.ConfigText = text;
        return row;
    }

    internal static readonly IDeserializer Yaml = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
}

/// <summary>The <c>npm</c> section of an npm-cli agent configuration.</summary>
public sealed class NpmSection
{
    /// <summary>npm package name, e.g. <c>@mariozechner/pi-coding-agent</c>.</summary>
    public string Package { get; set; } = "";

    /// <summary>Pinned exact version (what <c>kbench agent install</c> installs).</summary>
    public string Version { get; set; } = "";

    /// <summary>The JavaScript entry point run with <c>node</c>, relative to the package folder (e.g. <c>dist/cli.js</c>).</summary>
    public string Script { get; set; } = "";
}
