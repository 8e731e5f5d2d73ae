using LiveKBench.Infrastructure;

namespace LiveKBench.Agents;

/// <summary>How agent processes (and the built-in agent's bash tool) are isolated.</summary>
public enum RunnerKind
{
    /// <summary>bubblewrap (default): an allow-listed read-only root, unprivileged user namespace, no capabilities, no network;
    /// only the tree, the output folder and a private /tmp writable.</summary>
    Sandbox,

    /// <summary>docker or podman CLI with <c>--network none</c>, uid 65534, no capabilities, read-only root (image from the agent configuration).</summary>
    Container,

    /// <summary>No isolation (explicit <c>--no-sandbox</c> only).</summary>
    None,
}

/// <summary>What a sandboxed command may see. Paths are absolute host paths.</summary>
/// <param name="Tree">Working tree: bound read-write, and the working directory.</param>
/// <param name="InputDir">Input folder: bound read-only.</param>
/// <param name="OutputDir">Output folder: bound read-write; null when the command must not write outputs (bash tool).</param>
/// <param name="HiddenPaths">Host folders that must stay invisible (the workspace with its store and mirrors, shared
/// data). The root is an allow-list, so these are never bound; one that lies inside an allowed system folder (e.g.
/// under <c>/usr</c>) is covered by an empty tmpfs.</param>
/// <param name="Environment">The complete environment of the command (the host environment is cleared: no API keys leak).</param>
/// <param name="UnixSocket">Optional host Unix socket (e.g. a model proxy) bound at <see cref="Sandbox.SandboxSocket"/>;
/// the only way out of the sandbox's empty network namespace.</param>
public sealed record SandboxSpec(
    string Tree,
    string InputDir,
    string? OutputDir,
    IReadOnlyList<string> HiddenPaths,
    IReadOnlyDictionary<string, string> Environment,
    string? UnixSocket = null)
{
    /// <summary>Further host folders bound into the sandbox (e.g. an installed npm agent read-only, its home read-write);
    /// the sandbox path must lie under <c>/opt</c>, <c>/tmp</c> or <c>/run</c> (outside the allow-listed system folders).</summary>
    public IReadOnlyList<SandboxBind> ExtraBinds { get; init; } = [];
}

/// <summary>One extra bind mount of <see cref="SandboxSpec.ExtraBinds"/>.</summary>
/// <param name="HostPath">Absolute host folder.</param>
/// <param name="SandboxPath">Where it appears inside.</param>
/// <param name="ReadOnly">Bound read-only.</param>
public sealed record SandboxBind(string HostPath, string SandboxPath, bool ReadOnly);

/// <summary>Builds and runs isolated command lines (bubblewrap or docker/podman) through <see cref="ProcessRunner"/>.</summary>
public static class Sandbox
{
    /// <summary>Container paths of the three kEnv folders.</summary>
    public const string ContainerTree = "/kenv/tree";

    /// <summary>Container input folder.</summary>
    public const string ContainerInput = "/kenv/input";

    /// <summary>Container output folder.</summary>
    public const string ContainerOutput = "/kenv/output";

    /// <summary>The base environment of sandboxed commands: PATH, HOME=/tmp, LANG, no pagers.</summary>
    public static Dictionary<string, string> BaseEnvironment() => new()
    {
        ["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        ["HOME"] = "/tmp",
        ["LANG"] = "C.UTF-8",
        ["TERM"] = "dumb",
        ["PAGER"] = "cat",
        ["GIT_PAGER"] = "cat",
        ["GIT_CONFIG_NOSYSTEM"] = "1",
    };

    /// <summary>The uid and gid the agent runs as inside the sandbox and the container (nobody/nogroup).</summary>
    public const int AgentUid = 65534;

    /// <summary>Where <see cref="SandboxSpec.UnixSocket"/> appears inside the sandbox.</summary>
    public const string SandboxSocket = "/run/kenv/agent.sock";

    /// <summary>
    /// System folders bound read-only (when present): the toolchain and libraries. On merged-/usr systems
    /// <c>/bin</c>, <c>/sbin</c>, <c>/lib*</c> are symbolic links and are recreated as such.
    /// </summary>
    public static readonly IReadOnlyList<string> SystemFolders = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

    /// <summary>
    /// The minimal <c>/etc</c>: account names (no shadow), the dynamic linker's cache, the alternatives links
    /// (<c>cc</c>, <c>awk</c>, ...), name-service switch, hosts and time zone. Bound read-only when present.
    /// </summary>
    public static readonly IReadOnlyList<string> EtcFiles =
        ["/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/hosts", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime"];

    /// <summary>
    /// Folders inside the allowed system folders that are covered by an empty tmpfs: kernel sources installed by
    /// packages (Debian's <c>/usr/src/linux-source-*.tar.xz</c> is the fixed tree of every bug based on it) and package
    /// documentation (Debian's kernel changelogs list the titles of backported fixes).
    /// </summary>
    public static readonly IReadOnlyList<string> MaskedSystemFolders = ["/usr/src", "/usr/local/src", "/usr/share/doc"];

    /// <summary>
    /// bubblewrap arguments (without the program). The root is an allow-list: an empty tmpfs with only
    /// <see cref="SystemFolders"/> and <see cref="EtcFiles"/> read-only (<see cref="MaskedSystemFolders"/> and hidden
    /// paths under them covered), fresh <c>/dev</c>, <c>/proc</c> and <c>/tmp</c>, the input folder read-only, the tree
    /// and the output folder read-write, the socket if any. The command runs in new user, network, PID, IPC, UTS and
    /// cgroup namespaces as uid/gid <see cref="AgentUid"/> with every capability dropped, no_new_privs (bwrap always
    /// sets it), no further user namespaces (<c>--disable-userns</c>), its own session, dying with the parent; cwd = tree;
    /// environment cleared and set to <see cref="SandboxSpec.Environment"/>.
    /// </summary>
    public static List<string> BwrapArguments(SandboxSpec spec, IReadOnlyList<string> command)
    {
        var uid = AgentUid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var a = new List<string>
        {
            "--unshare-user", "--uid", uid, "--gid", uid, "--disable-userns",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "kenv", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
        };
        foreach (var dir in SystemFolders)
        {
            var info = new DirectoryInfo(dir);
            if (info.LinkTarget is { } target)
            {
                a.AddRange(["--symlink", target, dir]);
            }
            else if (info.Exists)
            {
                a.AddRange(["--ro-bind", dir, dir]);
            }
        }
        foreach (var etc in EtcFiles)
        {
            a.AddRange(["--ro-bind-try", etc, etc]);
        }
        a.AddRange(["--symlink", "../proc/self/mounts", "/etc/mtab", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]);
        var allowed = SystemFolders.Concat(EtcFiles).Where(p => new DirectoryInfo(p).LinkTarget is null).ToList();
        bool Under(string path, string folder) => path == folder || path.StartsWith(folder.TrimEnd('/') + "/", StringComparison.Ordinal);
        var masked = MaskedSystemFolders.Concat(spec.HiddenPaths.Select(Path.GetFullPath))
            .Where(p => allowed.Any(f => Under(p, f)) && Directory.Exists(p))
            .Distinct(StringComparer.Ordinal);
        foreach (var m in masked)
        {
            a.AddRange(["--tmpfs", m]);
        }
        a.AddRange(["--ro-bind", spec.InputDir, spec.InputDir]);
        a.AddRange(["--bind", spec.Tree, spec.Tree]);
        if (spec.OutputDir is not null)
        {
            a.AddRange(["--bind", spec.OutputDir, spec.OutputDir]);
        }
        if (spec.UnixSocket is not null)
        {
            a.AddRange(["--dir", Path.GetDirectoryName(SandboxSocket)!, "--bind", spec.UnixSocket, SandboxSocket]);
        }
        foreach (var b in spec.ExtraBinds)
        {
            a.AddRange([b.ReadOnly ? "--ro-bind" : "--bind", b.HostPath, b.SandboxPath]);
        }
        a.AddRange(["--remount-ro", "/", "--chdir", spec.Tree, "--clearenv"]);
        foreach (var (k, v) in spec.Environment.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            a.AddRange(["--setenv", k, v]);
        }
        a.Add("--");
        a.AddRange(command);
        return a;
    }

    /// <summary>
    /// docker/podman arguments (without the program): <c>run --rm --network none --name NAME --security-opt
    /// no-new-privileges --user 65534:65534 --cap-drop ALL --read-only --tmpfs /tmp --ipc private</c>, the tree at
    /// <see cref="ContainerTree"/> (rw), input at <see cref="ContainerInput"/> (ro), output at <see cref="ContainerOutput"/> (rw),
    /// <c>--workdir</c> the tree, one <c>--env</c> per variable of <paramref name="spec"/> (KENV_* paths rewritten to the
    /// container paths), the image, then <paramref name="command"/> (empty = the image's default command).
    /// </summary>
    public static List<string> ContainerArguments(string image, string name, SandboxSpec spec, IReadOnlyList<string> command)
    {
        var env = new Dictionary<string, string>(spec.Environment, StringComparer.Ordinal)
        {
            [Kenv.TreeVar] = ContainerTree,
            [Kenv.InputDirVar] = ContainerInput,
            [Kenv.OutputDirVar] = ContainerOutput,
        };
        var a = new List<string>
        {
            "run", "--rm", "--network", "none", "--name", name, "--security-opt", "no-new-privileges",
            "--user", $"{AgentUid}:{AgentUid}", "--cap-drop", "ALL", "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev",
            "--ipc", "private", "--volume", $"{spec.Tree}:{ContainerTree}:rw",
            "--volume", $"{spec.InputDir}:{ContainerInput}:ro",
        };
        if (spec.OutputDir is not null)
        {
            a.AddRange(["--volume", $"{spec.OutputDir}:{ContainerOutput}:rw"]);
        }
        if (spec.UnixSocket is not null)
        {
            a.AddRange(["--volume", $"{spec.UnixSocket}:{SandboxSocket}:rw"]);
        }
        a.AddRange(["--workdir", ContainerTree]);
        foreach (var (k, v) in env.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            a.AddRange(["--env", $"{k}={v}"]);
        }
        a.Add(image);
        a.AddRange(command);
        return a;
    }

    /// <summary>
    /// Gives the tree and output folder to <see cref="AgentUid"/> (<c>chown -R -h</c>, once: skipped when the tree
    /// already belongs to it) so the container's non-root user can write them, then runs the engine.
    /// </summary>
    private static async Task<ProcessResult> RunContainerAsync(string engine, List<string> args, SandboxSpec spec, ProcessOptions options, CancellationToken ct)
    {
        var owner = await ProcessRunner.RunCheckedAsync("stat", ["-c", "%u", spec.Tree], new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) }, ct).ConfigureAwait(false);
        if (owner.StandardOutput.Trim() != AgentUid.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            var owned = $"{AgentUid}:{AgentUid}";
            await ProcessRunner.RunCheckedAsync("chown", ["-R", "-h", owned, spec.Tree, .. spec.OutputDir is null ? Array.Empty<string>() : [spec.OutputDir]], new ProcessOptions { Timeout = TimeSpan.FromMinutes(10) }, ct).ConfigureAwait(false);
        }
        return await ProcessRunner.RunAsync(engine, args, options, ct).ConfigureAwait(false);
    }

    /// <summary>The container engine on PATH: podman first, then docker; null when neither is installed.</summary>
    public static string? FindContainerEngine() => ProcessRunner.FindOnPath("podman") ?? ProcessRunner.FindOnPath("docker");

    /// <summary>
    /// Runs <paramref name="command"/> isolated as <paramref name="runner"/> says, with a wall-clock <paramref name="timeout"/>
    /// (the whole process group is killed when it elapses).
    /// </summary>
    /// <param name="runner">Isolation.</param>
    /// <param name="spec">Folders and environment.</param>
    /// <param name="command">Program and arguments as seen inside the sandbox.</param>
    /// <param name="timeout">Wall-clock limit.</param>
    /// <param name="image">Container image (Container only).</param>
    /// <param name="logFile">When set, output is also appended there.</param>
    /// <param name="maxCapturedChars">Characters kept per stream.</param>
    /// <param name="cancellationToken">Cancels (kills) the run.</param>
    /// <exception cref="ExternalProcessException">bwrap or the container engine is not installed.</exception>
    /// <exception cref="ArgumentException">Container runner without an image.</exception>
    public static Task<ProcessResult> RunAsync(
        RunnerKind runner,
        SandboxSpec spec,
        IReadOnlyList<string> command,
        TimeSpan timeout,
        string? image = null,
        string? logFile = null,
        int maxCapturedChars = 16 * 1024 * 1024,
        CancellationToken cancellationToken = default)
    {
        var options = new ProcessOptions { Timeout = timeout, LogFile = logFile, MaxCapturedBytes = maxCapturedChars, WorkingDirectory = spec.Tree };
        switch (runner)
        {
            case RunnerKind.Sandbox:
                var bwrap = ProcessRunner.FindOnPath("bwrap") ?? throw new ExternalProcessException("bubblewrap (bwrap) is not installed; use --no-sandbox explicitly to run unsandboxed", new ProcessResult("bwrap", [], -1, "", "not installed", false, TimeSpan.Zero));
                return ProcessRunner.RunAsync(bwrap, BwrapArguments(spec, command), options, cancellationToken);
            case RunnerKind.Container:
                if (string.IsNullOrWhiteSpace(image))
                {
                    throw new ArgumentException("the container runner needs an image in the agent configuration", nameof(image));
                }
                var engine = FindContainerEngine() ?? throw new ExternalProcessException("neither podman nor docker is installed", new ProcessResult("docker", [], -1, "", "not installed", false, TimeSpan.Zero));
                var name = "kenv-" + Guid.NewGuid().ToString("N")[..12];
                return RunContainerAsync(engine, ContainerArguments(image, name, spec, command), spec, options, cancellationToken);
            default:
                var env = new Dictionary<string, string?>();
                foreach (var (k, v) in spec.Environment)
                {
                    env[k] = v;
                }
                return ProcessRunner.RunAsync(command[0], command.Skip(1), options with { Environment = env }, cancellationToken);
        }
    }
}
