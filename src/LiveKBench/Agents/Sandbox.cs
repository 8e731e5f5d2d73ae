using LiveKBench.Infrastructure;

namespace LiveKBench.Agents;

/// <summary>How agent processes (and the built-in agent's bash tool) are isolated.</summary>
public enum RunnerKind
{
    /// <summary>bubblewrap: no network, read-only root, only the tree and the output folder writable (default).</summary>
    Sandbox,

    /// <summary>docker or podman CLI with <c>--network none</c> (image from the agent configuration).</summary>
    Container,

    /// <summary>No isolation (explicit <c>--no-sandbox</c> only).</summary>
    None,
}

/// <summary>What a sandboxed command may see. Paths are absolute host paths.</summary>
/// <param name="Tree">Working tree: bound read-write, and the working directory.</param>
/// <param name="InputDir">Input folder: read-only (everything but the writable binds is read-only).</param>
/// <param name="OutputDir">Output folder: bound read-write; null when the command must not write outputs (bash tool).</param>
/// <param name="HiddenPaths">Host folders replaced by an empty tmpfs (the workspace with its store and mirrors, shared data): the fix must not be readable.</param>
/// <param name="Environment">The complete environment of the command (the host environment is cleared: no API keys leak).</param>
public sealed record SandboxSpec(
    string Tree,
    string InputDir,
    string? OutputDir,
    IReadOnlyList<string> HiddenPaths,
    IReadOnlyDictionary<string, string> Environment);

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

    /// <summary>
    /// bubblewrap arguments (without the program) that run <paramref name="command"/> with no network, a new PID
    /// namespace and session, dying with the parent, <c>/</c> read-only, fresh <c>/tmp</c>, <c>/proc</c>, <c>/dev</c>,
    /// hidden paths over-mounted by tmpfs, then the tree and output folder bound writable, cwd = tree, cleared environment.
    /// </summary>
    public static List<string> BwrapArguments(SandboxSpec spec, IReadOnlyList<string> command)
    {
        var a = new List<string>
        {
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session",
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
        };
        foreach (var hidden in spec.HiddenPaths.Where(Directory.Exists).Distinct())
        {
            a.AddRange(["--tmpfs", hidden]);
        }
        a.AddRange(["--ro-bind", spec.InputDir, spec.InputDir]);
        a.AddRange(["--bind", spec.Tree, spec.Tree]);
        if (spec.OutputDir is not null)
        {
            a.AddRange(["--bind", spec.OutputDir, spec.OutputDir]);
        }
        a.AddRange(["--chdir", spec.Tree, "--clearenv"]);
        foreach (var (k, v) in spec.Environment.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            a.AddRange(["--setenv", k, v]);
        }
        a.Add("--");
        a.AddRange(command);
        return a;
    }

    /// <summary>
    /// docker/podman arguments (without the program): <c>run --rm --network none --name NAME</c>, the tree at
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
            "--volume", $"{spec.Tree}:{ContainerTree}:rw",
            "--volume", $"{spec.InputDir}:{ContainerInput}:ro",
        };
        if (spec.OutputDir is not null)
        {
            a.AddRange(["--volume", $"{spec.OutputDir}:{ContainerOutput}:rw"]);
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
                return ProcessRunner.RunAsync(engine, ContainerArguments(image, name, spec, command), options, cancellationToken);
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
