using System.Text.Json;
using System.Text.Json.Serialization;
using LiveKBench.Arena.Store;

namespace LiveKBench.Agents;

/// <summary>Names of the kEnv protocol (docs/kenv.md): environment variables, input and output files.</summary>
public static class Kenv
{
    /// <summary>Bug id (our store key).</summary>
    public const string BugIdVar = "KENV_BUG_ID";

    /// <summary>Commit the tree was made from (the parent of the fix), 40 hex or a description.</summary>
    public const string BaseCommitVar = "KENV_BASE_COMMIT";

    /// <summary>Absolute path of the agent's working tree (writable).</summary>
    public const string TreeVar = "KENV_TREE";

    /// <summary>Absolute path of the read-only input folder.</summary>
    public const string InputDirVar = "KENV_INPUT_DIR";

    /// <summary>Absolute path of the writable output folder.</summary>
    public const string OutputDirVar = "KENV_OUTPUT_DIR";

    /// <summary>"true" or "false": whether run_kernel is allowed.</summary>
    public const string StatefulVar = "KENV_STATEFUL";

    /// <summary>"true" or "false": whether <see cref="OracleFilesFile"/> exists.</summary>
    public const string OracleModeVar = "KENV_ORACLE_MODE";

    /// <summary>Step budget (integer, model calls).</summary>
    public const string MaxStepsVar = "KENV_MAX_STEPS";

    /// <summary>Cost budget in USD (invariant decimal).</summary>
    public const string MaxUsdVar = "KENV_MAX_USD";

    /// <summary>Wall-clock budget in seconds (invariant decimal).</summary>
    public const string MaxSecondsVar = "KENV_MAX_SECONDS";

    /// <summary>How many run_kernel calls the agent may make (0 when stateless).</summary>
    public const string RunKernelCallsVar = "KENV_RUN_KERNEL_CALLS";

    /// <summary>Input: the crash report text.</summary>
    public const string ReportFile = "report.txt";

    /// <summary>Input: the C reproducer (when the bug has one).</summary>
    public const string CReproducerFile = "reproducer.c";

    /// <summary>Input: the syzkaller reproducer (when the bug has one).</summary>
    public const string SyzReproducerFile = "reproducer.syz";

    /// <summary>Input: newline-separated files the developer fix touched (oracle mode only).</summary>
    public const string OracleFilesFile = "oracle-files.txt";

    /// <summary>Input: the agent configuration (YAML, as loaded).</summary>
    public const string AgentConfigFile = "agent-config.yaml";

    /// <summary>Input: the model configuration (YAML, API key NOT included), when the agent has one.</summary>
    public const string ModelConfigFile = "model-config.yaml";

    /// <summary>Input: the task as JSON (<see cref="KenvTask"/>), for agents that prefer one file.</summary>
    public const string TaskFile = "task.json";

    /// <summary>Output: the unified diff of the tree against the base commit.</summary>
    public const string PatchFile = "patch.txt";

    /// <summary>Output: the trajectory (JSON).</summary>
    public const string TrajectoryFile = "traj.json";

    /// <summary>Output: free-form log.</summary>
    public const string LogFile = "log.txt";

    /// <summary>Output: <see cref="KenvMetadata"/> as JSON.</summary>
    public const string MetadataFile = "metadata.json";

    /// <summary>Serializer options of the protocol's JSON files (camelCase, indented, enums as camelCase strings).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>The protocol text of an exit reason ("normal", "costLimitExceeded", ...).</summary>
    public static string ExitReasonText(ExitReason reason) => JsonNamingPolicy.CamelCase.ConvertName(reason.ToString());

    /// <summary>Parses an exit reason text (case-insensitive); null when unknown.</summary>
    public static ExitReason? ParseExitReason(string? text)
        => Enum.TryParse<ExitReason>(text, ignoreCase: true, out var r) && Enum.IsDefined(r) && !int.TryParse(text, out _) ? r : null;
}

/// <summary>Budgets of one agent run. A value &lt;= 0 means unlimited (steps, USD) or the default (seconds: 7200).</summary>
/// <param name="MaxSteps">Maximum model calls.</param>
/// <param name="MaxUsd">Maximum cost in US dollars.</param>
/// <param name="MaxSeconds">Wall-clock limit in seconds; also the timeout of the agent process.</param>
/// <param name="RunKernelCalls">Maximum run_kernel calls in stateful mode.</param>
public sealed record AgentBudget(int MaxSteps = 100, double MaxUsd = 5, double MaxSeconds = 7200, int RunKernelCalls = 3)
{
    /// <summary>The wall-clock limit as a span (7200 s when not positive).</summary>
    public TimeSpan Wall => TimeSpan.FromSeconds(MaxSeconds > 0 ? MaxSeconds : 7200);
}

/// <summary>The task given to an agent (written as <see cref="Kenv.TaskFile"/>).</summary>
/// <param name="BugId">Bug id.</param>
/// <param name="Title">Bug title (the crash title; not a leak).</param>
/// <param name="BaseCommit">Commit the tree was made from.</param>
/// <param name="CrashReport">Crash report text.</param>
/// <param name="Reproducer">Reproducer text; null when none.</param>
/// <param name="ReproducerKind">Kind of <paramref name="Reproducer"/>.</param>
/// <param name="OracleFiles">Files the fix touches (oracle mode), else null.</param>
/// <param name="Stateful">Whether run_kernel is allowed.</param>
/// <param name="Budget">Budgets.</param>
public sealed record KenvTask(
    string BugId,
    string Title,
    string BaseCommit,
    string CrashReport,
    string? Reproducer,
    ReproducerKind? ReproducerKind,
    IReadOnlyList<string>? OracleFiles,
    bool Stateful,
    AgentBudget Budget)
{
    /// <summary>The reproducer file name for this task; null when there is no reproducer.</summary>
    public string? ReproducerFileName => Reproducer is null ? null : ReproducerKind == Arena.Store.ReproducerKind.Syz ? Kenv.SyzReproducerFile : Kenv.CReproducerFile;
}

/// <summary>The <c>metadata.json</c> every agent writes (kEnv output).</summary>
/// <param name="DollarCost">Model cost in USD (0 for baselines).</param>
/// <param name="TimeCost">Wall seconds of the agent's own work.</param>
/// <param name="ExitReason">normal, costLimitExceeded, timeLimitExceeded, stepLimitExceeded or error.</param>
/// <param name="Steps">Model calls made (0 for baselines).</param>
public sealed record KenvMetadata(double DollarCost, double TimeCost, string ExitReason, int Steps)
{
    /// <summary>Largest metadata.json the harness reads (bytes).</summary>
    public const long MaxBytes = 1024 * 1024;

    /// <summary>
    /// Writes the file (indented JSON) atomically: a new <c>.tmp</c> file (whatever the agent left at that name is
    /// removed first, links are never followed) renamed over <paramref name="path"/> (a link there is replaced, not followed).
    /// </summary>
    public void Write(string path)
    {
        HostFiles.WriteNew(path + ".tmp", JsonSerializer.Serialize(this, Kenv.JsonOptions) + "\n");
        if (Directory.Exists(path) && new FileInfo(path).LinkTarget is null)
        {
            Directory.Delete(path, recursive: true);
        }
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>Reads and validates a metadata.json.</summary>
    /// <exception cref="InvalidDataException">Missing, a symbolic link or not a regular file, over <see cref="MaxBytes"/>, not
    /// JSON, a key missing, negative numbers or an unknown exitReason.</exception>
    public static KenvMetadata Read(string path)
    {
        string text;
        try
        {
            text = HostFiles.ReadText(path, MaxBytes);
        }
        catch (FileNotFoundException)
        {
            throw new InvalidDataException($"{Kenv.MetadataFile} missing or empty");
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"{Kenv.MetadataFile} refused: {ex.Message}", ex);
        }
        if (text.Length == 0)
        {
            throw new InvalidDataException($"{Kenv.MetadataFile} missing or empty");
        }
        JsonElement root;
        try
        {
            root = JsonDocument.Parse(text).RootElement;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{Kenv.MetadataFile} is not JSON: {ex.Message}", ex);
        }
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException($"{Kenv.MetadataFile} is not a JSON object");
        }
        double Num(string key) => root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.GetDouble() >= 0
            ? v.GetDouble()
            : throw new InvalidDataException($"{Kenv.MetadataFile}: '{key}' missing or not a non-negative number");
        var cost = Num("dollarCost");
        var time = Num("timeCost");
        var reasonText = root.TryGetProperty("exitReason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
        var reason = Kenv.ParseExitReason(reasonText) ?? throw new InvalidDataException($"{Kenv.MetadataFile}: exitReason '{reasonText}' is not one of normal, costLimitExceeded, timeLimitExceeded, stepLimitExceeded, error");
        var steps = root.TryGetProperty("steps", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : 0;
        return new KenvMetadata(cost, time, Kenv.ExitReasonText(reason), steps);
    }

    /// <summary>The exit reason as an enum (Error when unknown).</summary>
    [JsonIgnore]
    public ExitReason Reason => Kenv.ParseExitReason(ExitReason) ?? Arena.Store.ExitReason.Error;
}

/// <summary>
/// The folders of one agent run on the host: <c>tree/</c> (working tree), <c>input/</c> (read-only for the agent),
/// <c>output/</c> (patch.txt, traj.json, log.txt, metadata.json).
/// </summary>
/// <param name="Root">Absolute run folder, e.g. <c>WORKSPACE/work/agent-runs/ID</c>.</param>
public sealed record KenvLayout(string Root)
{
    /// <summary>The agent's working tree.</summary>
    public string Tree => Path.Combine(Root, "tree");

    /// <summary>Input folder.</summary>
    public string InputDir => Path.Combine(Root, "input");

    /// <summary>Output folder.</summary>
    public string OutputDir => Path.Combine(Root, "output");

    /// <summary>
    /// The harness-owned copy of the tree's repository made before the agent runs (<see cref="SnapshotTree.SealBaseAsync"/>);
    /// the patch is computed with it, never with <c>tree/.git</c>.
    /// </summary>
    public string BaseGitDir => Path.Combine(Root, "base.git");

    /// <summary>The harness's own notes about the run (outside the agent-writable output folder).</summary>
    public string HarnessLog => Path.Combine(Root, "harness.log");

    /// <summary>An output file path.</summary>
    public string Output(string name) => Path.Combine(OutputDir, name);

    /// <summary>An input file path.</summary>
    public string Input(string name) => Path.Combine(InputDir, name);

    /// <summary>Creates input/ and output/ and empty output files (the tree is made by an <see cref="IAgentTreeProvider"/>).</summary>
    public void CreateFolders()
    {
        Directory.CreateDirectory(InputDir);
        Directory.CreateDirectory(OutputDir);
        foreach (var f in new[] { Kenv.PatchFile, Kenv.TrajectoryFile, Kenv.LogFile })
        {
            File.WriteAllText(Output(f), "");
        }
        File.Delete(Output(Kenv.MetadataFile));
    }

    /// <summary>Writes the input files of <paramref name="task"/> plus the configuration texts.</summary>
    public void WriteInputs(KenvTask task, string? agentConfigText, string? modelConfigText)
    {
        Directory.CreateDirectory(InputDir);
        File.WriteAllText(Input(Kenv.ReportFile), task.CrashReport);
        if (task.ReproducerFileName is { } rf)
        {
            File.WriteAllText(Input(rf), task.Reproducer);
        }
        if (task.OracleFiles is { } of)
        {
            File.WriteAllText(Input(Kenv.OracleFilesFile), string.Join('\n', of) + "\n");
        }
        File.WriteAllText(Input(Kenv.AgentConfigFile), agentConfigText ?? "");
        if (modelConfigText is not null)
        {
            File.WriteAllText(Input(Kenv.ModelConfigFile), modelConfigText);
        }
        File.WriteAllText(Input(Kenv.TaskFile), JsonSerializer.Serialize(task, Kenv.JsonOptions) + "\n");
    }

    /// <summary>
    /// The KENV_* environment for <paramref name="task"/>, with the three folders as the agent sees them
    /// (host paths for bubblewrap, container paths for docker/podman).
    /// </summary>
    public static Dictionary<string, string> Environment(KenvTask task, string tree, string inputDir, string outputDir)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return new()
        {
            [Kenv.BugIdVar] = task.BugId,
            [Kenv.BaseCommitVar] = task.BaseCommit,
            [Kenv.TreeVar] = tree,
            [Kenv.InputDirVar] = inputDir,
            [Kenv.OutputDirVar] = outputDir,
            [Kenv.StatefulVar] = task.Stateful ? "true" : "false",
            [Kenv.OracleModeVar] = task.OracleFiles is null ? "false" : "true",
            [Kenv.MaxStepsVar] = task.Budget.MaxSteps.ToString(inv),
            [Kenv.MaxUsdVar] = task.Budget.MaxUsd.ToString(inv),
            [Kenv.MaxSecondsVar] = task.Budget.MaxSeconds.ToString(inv),
            [Kenv.RunKernelCallsVar] = (task.Stateful ? task.Budget.RunKernelCalls : 0).ToString(inv),
        };
    }
}
