using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Arena.Store;
using Microsoft.Extensions.Configuration;

namespace LiveKBench.Infrastructure;

/// <summary>
/// A LiveKBench workspace folder:
/// <c>kbench.db</c> (the store), <c>settings.json</c>, <c>logs/</c>, <c>artifacts/</c>, <c>mirrors/</c>,
/// <c>configs/{agents,models,judges}/</c>, <c>cache/</c>, <c>work/</c> (scratch: worktrees, kept build directories).
/// </summary>
public sealed class Workspace
{
    private Workspace(string root, KbenchSettings settings, IConfiguration configuration)
    {
        Root = root;
        Settings = settings;
        Configuration = configuration;
    }

    /// <summary>Absolute path of the workspace folder.</summary>
    public string Root { get; }

    /// <summary>Settings from settings.json overlaid with KBENCH_* environment variables.</summary>
    public KbenchSettings Settings { get; }

    /// <summary>The raw configuration (settings.json + environment).</summary>
    public IConfiguration Configuration { get; }

    /// <summary>The SQLite database file.</summary>
    public string DatabasePath => Path.Combine(Root, "kbench.db");

    /// <summary>settings.json.</summary>
    public string SettingsPath => Path.Combine(Root, "settings.json");

    /// <summary>Log folder (kbench.log and per-job logs).</summary>
    public string LogsDir => Path.Combine(Root, "logs");

    /// <summary>Artifacts addressed by content hash (kernels, consoles, charts, trajectories).</summary>
    public string ArtifactsDir => Path.Combine(Root, "artifacts");

    /// <summary>Kernel mirrors.</summary>
    public string MirrorsDir => Path.Combine(Root, "mirrors");

    /// <summary>Configuration files: agents/, models/, judges/.</summary>
    public string ConfigsDir => Path.Combine(Root, "configs");

    /// <summary>HTTP cache of the syzbot client.</summary>
    public string CacheDir => Path.Combine(Root, "cache");

    /// <summary>Scratch space: worktrees, kept build directories (kcache), ccache.</summary>
    public string WorkDir => Path.Combine(Root, "work");

    /// <summary>True when <paramref name="root"/> holds an initialized workspace (settings.json exists).</summary>
    public static bool Exists(string root) => File.Exists(Path.Combine(root, "settings.json"));

    /// <summary>Creates the folder layout, the database (migrated) and a default settings.json when missing. Idempotent.</summary>
    public static Workspace Init(string root)
    {
        root = Path.GetFullPath(root);
        Directory.CreateDirectory(root);
        foreach (var sub in new[] { "logs", "artifacts", "mirrors", "cache", "work", "configs/agents", "configs/models", "configs/judges" })
        {
            Directory.CreateDirectory(Path.Combine(root, sub));
        }
        var settingsPath = Path.Combine(root, "settings.json");
        if (!File.Exists(settingsPath))
        {
            var defaults = new KbenchSettings().WithDefaults();
            defaults.Build.CcacheDir = null; // an environment default stays an environment default
            var json = JsonSerializer.Serialize(defaults, KbenchSettings.JsonOptions);
            File.WriteAllText(settingsPath + ".tmp", json + "\n");
            File.Move(settingsPath + ".tmp", settingsPath, overwrite: true);
        }
        var ws = Open(root);
        using (StoreFactory.Open(ws.DatabasePath))
        {
        }
        return ws;
    }

    /// <summary>Opens an existing workspace.</summary>
    /// <exception cref="WorkspaceNotFoundException">No settings.json at <paramref name="root"/>.</exception>
    /// <exception cref="InvalidDataException">settings.json is not valid JSON.</exception>
    public static Workspace Open(string root)
    {
        root = Path.GetFullPath(root);
        if (!Exists(root))
        {
            throw new WorkspaceNotFoundException($"no workspace at {root} (run: kbench init --workspace {root})");
        }
        IConfiguration config;
        try
        {
            config = new ConfigurationBuilder()
                .AddJsonFile(Path.Combine(root, "settings.json"), optional: false, reloadOnChange: false)
                .AddEnvironmentVariables("KBENCH_")
                .Build();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or JsonException)
        {
            throw new InvalidDataException($"{Path.Combine(root, "settings.json")} is not valid JSON: {ex.Message}", ex);
        }
        // Lists are bound into empty defaults: the binder appends to a list that already has items.
        var settings = new KbenchSettings();
        config.Bind(settings);
        settings.WithDefaults();
        // Mirror keys are git URLs ("git://host/path"): ':' is the configuration section separator, so the map is
        // read from settings.json directly instead of through the binder.
        settings.Mirrors = ReadMirrors(Path.Combine(root, "settings.json"));
        return new Workspace(root, settings, config);
    }

    private static Dictionary<string, string> ReadMirrors(string settingsPath)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (JsonNode.Parse(File.ReadAllText(settingsPath)) is JsonObject root && root["mirrors"] is JsonObject mirrors)
            {
                foreach (var (url, path) in mirrors)
                {
                    if (path is JsonValue v && v.TryGetValue<string>(out var p) && !string.IsNullOrWhiteSpace(p))
                    {
                        map[url] = Path.IsPathRooted(p) ? p : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(settingsPath)!, p));
                    }
                }
            }
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{settingsPath} is not valid JSON: {ex.Message}", ex);
        }
        return map;
    }

    /// <summary>Opens a new store context for this workspace (caller disposes).</summary>
    public KBenchDbContext OpenStore() => StoreFactory.Open(DatabasePath);

    /// <summary>Writes one top-level setting into settings.json (e.g. the mirror map) atomically.</summary>
    public void UpdateSettingsFile(Action<JsonObject> edit)
    {
        var node = JsonNode.Parse(File.ReadAllText(SettingsPath)) as JsonObject ?? new JsonObject();
        edit(node);
        var tmp = SettingsPath + ".tmp";
        File.WriteAllText(tmp, node.ToJsonString(KbenchSettings.JsonOptions) + "\n");
        File.Move(tmp, SettingsPath, overwrite: true);
    }
}

/// <summary>The workspace folder has not been initialized.</summary>
public sealed class WorkspaceNotFoundException(string message) : Exception(message);

/// <summary>settings.json (overridable by environment variables KBENCH_Section__Key, e.g. KBENCH_Vm__Instances=3).</summary>
public sealed class KbenchSettings
{
    /// <summary>JSON options for settings.json (indented, camelCase).</summary>
    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Syzbot crawler settings.</summary>
    public SyzbotSettings Syzbot { get; set; } = new();

    /// <summary>Git URL → local mirror path.</summary>
    public Dictionary<string, string> Mirrors { get; set; } = [];

    /// <summary>Kernel build settings.</summary>
    public BuildSettings Build { get; set; } = new();

    /// <summary>VM settings.</summary>
    public VmSettings Vm { get; set; } = new();

    /// <summary>Statistical crash-resolution verdict (README "Crash-resolution verdicts").</summary>
    public ReproductionSettings Reproduction { get; set; } = new();

    /// <summary>How many times work that fails with an infrastructure error is tried before that error is its final result.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Fills list settings that are empty with their defaults (namespaces: upstream); returns this.</summary>
    public KbenchSettings WithDefaults()
    {
        if (Syzbot.Namespaces.Count == 0)
        {
            Syzbot.Namespaces.Add("upstream");
        }
        Syzbot.Namespaces = [.. Syzbot.Namespaces.Distinct(StringComparer.Ordinal)];
        return this;
    }
}

/// <summary>Syzbot crawler settings.</summary>
public sealed class SyzbotSettings
{
    /// <summary>Dashboard base URL.</summary>
    public string Url { get; set; } = "https://syzkaller.appspot.com";

    /// <summary>Namespaces crawled.</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>Token bucket: requests per period.</summary>
    public int RequestsPerPeriod { get; set; } = 8;

    /// <summary>Token bucket period in seconds.</summary>
    public double PeriodSeconds { get; set; } = 15;

    /// <summary>HTTP attempts per request (1 = no retry) on timeouts, network errors, 429 and 5xx.</summary>
    public int MaxAttempts { get; set; } = 4;

    /// <summary>Base delay of the exponential retry back-off (with jitter; a Retry-After header wins), seconds.</summary>
    public double RetryBaseDelaySeconds { get; set; } = 2;

    /// <summary>Time limit of one HTTP attempt, seconds.</summary>
    public double RequestTimeoutSeconds { get; set; } = 60;

    /// <summary>Cache lifetime of open-bug detail JSON, seconds.</summary>
    public double OpenBugCacheSeconds { get; set; } = 3600;

    /// <summary>Cache lifetime of fixed-bug detail JSON, seconds.</summary>
    public double FixedBugCacheSeconds { get; set; } = 7 * 24 * 3600;
}

/// <summary>Kernel build settings.</summary>
public sealed class BuildSettings
{
    /// <summary>make -j value; 0 = number of cores.</summary>
    public int Jobs { get; set; }

    /// <summary>Time limit of one kernel build, seconds.</summary>
    public double TimeoutSeconds { get; set; } = 3600;

    /// <summary>
    /// ccache directory shared by builds (e.g. by several workspaces on one CI machine); null = <c>work/ccache</c>.
    /// Defaults to the environment variable <c>KBENCH_CCACHE_DIR</c> when set (that default is not written to a new settings.json).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? CcacheDir { get; set; } = Environment.GetEnvironmentVariable("KBENCH_CCACHE_DIR") is { Length: > 0 } d ? d : null;
}

/// <summary>Settings of the statistical crash-resolution verdict (section <c>Reproduction</c>).</summary>
public sealed class ReproductionSettings
{
    /// <summary>Cap of baseline instances: when some but not all of the first <c>Vm:Instances</c> crash, more run up to this; default 20.</summary>
    public int MaxBaselineInstances { get; set; } = 20;

    /// <summary>Cap of patched instances; reached without enough clean runs ⇒ <c>inconclusive</c>; default 20.</summary>
    public int MaxInstances { get; set; } = 20;

    /// <summary>α: a patch is resolved only when (1 − p_low)^clean ≤ α, p_low the baseline rate's lower 95 % bound; default 0.05.</summary>
    public double FalseFixAlpha { get; set; } = 0.05;

    /// <summary>The round options for <see cref="Kernel.Vm.RoundedReproduction"/> with round size <paramref name="roundSize"/>.</summary>
    /// <param name="roundSize">Instances per round (<c>Vm:Instances</c>).</param>
    /// <returns>The options.</returns>
    public Kernel.Vm.RoundOptions ToOptions(int roundSize)
        => new(Math.Max(1, roundSize), Math.Max(Math.Max(1, roundSize), MaxBaselineInstances), Math.Max(1, MaxInstances), FalseFixAlpha is > 0 and < 1 ? FalseFixAlpha : 0.05);
}

/// <summary>VM settings.</summary>
public sealed class VmSettings
{
    /// <summary>Instances per reproduction.</summary>
    public int Instances { get; set; } = 5;

    /// <summary>Instances run at once; 0 = number of cores.</summary>
    public int Parallelism { get; set; }

    /// <summary>Reproducer time limit inside the VM, seconds.</summary>
    public double ReproducerTimeoutSeconds { get; set; } = 60;

    /// <summary>Whole-instance time limit (boot + reproducer + reboot), seconds.</summary>
    public double InstanceTimeoutSeconds { get; set; } = 300;

    /// <summary>Guest memory in MiB.</summary>
    public int MemoryMb { get; set; } = 512;

    /// <summary>Path of syz-execprog/syz-executor folder for syz reproducers; null = unsupported.</summary>
    public string? SyzkallerBin { get; set; }

    /// <summary>"auto" (probe KVM, fall back to TCG), "kvm" or "tcg".</summary>
    public string Accelerator { get; set; } = "auto";
}
