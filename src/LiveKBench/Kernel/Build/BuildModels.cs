using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;

namespace LiveKBench.Kernel.Build;

/// <summary>
/// The kernel configuration of a build: either a complete <c>.config</c> (<see cref="FullConfig"/>) or a
/// <c>scripts/config</c> argument list (<see cref="Fragment"/>, e.g. <c>-e KASAN -d SLOB</c>) applied over
/// <c>make tinyconfig</c>, followed by <c>make olddefconfig</c> twice. Exactly one must be set.
/// </summary>
public sealed record KernelConfigSpec
{
    /// <summary>A complete <c>.config</c> text, or null.</summary>
    public string? FullConfig { get; init; }

    /// <summary><c>scripts/config</c> arguments (whitespace/newline separated) applied over tinyconfig, or null.</summary>
    public string? Fragment { get; init; }

    /// <summary>A configuration from a <c>scripts/config</c> fragment over tinyconfig.</summary>
    public static KernelConfigSpec FromFragment(string fragment) => new() { Fragment = fragment };

    /// <summary>A configuration from a complete <c>.config</c>.</summary>
    public static KernelConfigSpec FromFull(string config) => new() { FullConfig = config };

    /// <summary>Lower-case hex SHA-256 of the kind and text (CRLF normalised): the config part of the kcache key.</summary>
    /// <exception cref="InvalidOperationException">Neither or both of the two forms are set.</exception>
    [JsonIgnore]
    public string Hash
    {
        get
        {
            Validate();
            var s = FullConfig is not null ? "full\n" + FullConfig : "fragment\n" + Fragment;
            return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s.Replace("\r\n", "\n", StringComparison.Ordinal))));
        }
    }

    /// <summary>Throws unless exactly one form is set.</summary>
    /// <exception cref="InvalidOperationException">Neither or both are set.</exception>
    public void Validate()
    {
        if ((FullConfig is null) == (Fragment is null))
        {
            throw new InvalidOperationException("exactly one of FullConfig and Fragment must be set");
        }
    }
}

/// <summary>What to build.</summary>
/// <param name="Commit">Commit (hash or ref) in the mirror: the base commit.</param>
/// <param name="Config">Kernel configuration.</param>
/// <param name="Patch">Unified diff applied on top (<c>-p1</c>); null or empty = build the commit as is.</param>
public sealed record BuildRequest(string Commit, KernelConfigSpec Config, string? Patch = null);

/// <summary>Outcome class of a build.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BuildStatus>))]
public enum BuildStatus
{
    /// <summary>bzImage built.</summary>
    Success,

    /// <summary>The patch was rejected, did not apply, or the kernel did not compile (the patch's fault).</summary>
    CompilationError,

    /// <summary>Infrastructure failure (git, disk, timeout, missing tool): not the patch's fault.</summary>
    Error,
}

/// <summary>One stored artifact, addressed by content.</summary>
/// <param name="Sha256">Lower-case hex SHA-256 of the content.</param>
/// <param name="Path">Absolute path in the artifact store (<c>artifacts/sha256/&lt;2 hex&gt;/&lt;hash&gt;</c>).</param>
/// <param name="Bytes">Size in bytes.</param>
public sealed record ArtifactRef(string Sha256, string Path, long Bytes);

/// <summary>Artifacts of a successful build.</summary>
/// <param name="BzImage">arch/x86/boot/bzImage.</param>
/// <param name="Vmlinux">vmlinux (symbols, for crash symbolisation).</param>
/// <param name="Config">The final <c>.config</c>.</param>
public sealed record BuildArtifacts(ArtifactRef BzImage, ArtifactRef Vmlinux, ArtifactRef Config);

/// <summary>Result of <see cref="KernelBuilder.BuildAsync"/>; JSON-serializable.</summary>
/// <param name="Status">Success, compilation error or infrastructure error.</param>
/// <param name="Reason">Why it failed (first compiler errors, patch rejection, exception); null on success.</param>
/// <param name="Commit">The resolved 40-hex base commit (null when it could not be resolved).</param>
/// <param name="ConfigHash">SHA-256 of the config spec.</param>
/// <param name="Artifacts">Stored artifacts; null unless <see cref="BuildStatus.Success"/>.</param>
/// <param name="BuildLog">The build log in the artifact store (also kept on failure when one was written).</param>
/// <param name="Seconds">Wall-clock seconds of the whole build job (checkout, patch, make, store).</param>
/// <param name="MakeSeconds">Seconds spent in <c>make bzImage</c> for the requested tree (patched build when a patch was given).</param>
/// <param name="Incremental">True when make started from a kept build directory (kcache hit).</param>
/// <param name="CompiledFiles">Number of <c>CC</c> lines in the log of the requested build (how much was recompiled).</param>
/// <param name="Timings">Seconds per phase (checkout, mtimes, seed, copy, patch, make, store), for benchmarks.</param>
public sealed record BuildResult(
    BuildStatus Status,
    string? Reason,
    string? Commit,
    string ConfigHash,
    BuildArtifacts? Artifacts,
    ArtifactRef? BuildLog,
    double Seconds,
    double MakeSeconds,
    bool Incremental,
    int CompiledFiles,
    IReadOnlyDictionary<string, double> Timings);

/// <summary>How patched builds share the kept build directory of one (commit, config).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<KeptDirMode>))]
public enum KeptDirMode
{
    /// <summary>Copy the kept directory (<c>cp -a --reflink=auto</c>) per build; builds of one base run in parallel.</summary>
    Copy,

    /// <summary>
    /// Builds of one (commit, config) take an exclusive lock and use one persistent work tree (<c>&lt;entry&gt;.src</c>, no
    /// checkout per build; restored with <c>git reset --hard</c> + <c>git clean</c>) into which the kept directory is moved
    /// and moved back; files the previous patch touched are re-touched so they rebuild.
    /// </summary>
    Lock,
}

/// <summary>Settings of <see cref="KernelBuilder"/>.</summary>
public sealed record KernelBuilderOptions
{
    /// <summary>Workspace folder: holds <c>worktrees/</c>, <c>kcache/</c>, <c>ccache/</c>, <c>artifacts/</c>, <c>logs/</c>.</summary>
    public required string WorkRoot { get; init; }

    /// <summary>make -j value; default = number of cores.</summary>
    public int Jobs { get; init; } = Environment.ProcessorCount;

    /// <summary>Time limit of one <c>make bzImage</c>; default 60 minutes.</summary>
    public TimeSpan BuildTimeout { get; init; } = TimeSpan.FromMinutes(60);

    /// <summary>Time limit of each configuration step (tinyconfig, scripts/config, olddefconfig); default 5 minutes.</summary>
    public TimeSpan ConfigTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How concurrent patched builds share a kept build directory; default <see cref="KeptDirMode.Copy"/>.</summary>
    public KeptDirMode KeptDirMode { get; init; } = KeptDirMode.Copy;

    /// <summary>
    /// ccache directory; null = <c>WorkRoot/ccache</c>. Defaults to the environment variable <c>KBENCH_CCACHE_DIR</c> when set,
    /// so builders of different workspaces on one machine (kernel tests, pipeline tests) share one cache.
    /// </summary>
    public string? CcacheDir { get; init; } = Environment.GetEnvironmentVariable("KBENCH_CCACHE_DIR") is { Length: > 0 } d ? d : null;

    /// <summary>Compile through ccache (CCACHE_DIR = <see cref="CcacheDir"/>); default true when ccache is installed.</summary>
    public bool UseCcache { get; init; } = Infrastructure.ProcessRunner.FindOnPath("ccache") is not null;

    /// <summary>
    /// Run make inside bubblewrap with the work tree bind-mounted at one fixed path (<c>WorkRoot/src</c>), so every build of
    /// every job sees the same absolute paths: the tools/objtool part of a kept build directory (which records absolute
    /// paths) stays valid in a new work tree, ccache hits across jobs, and outputs do not embed job paths. Default true when
    /// <c>bwrap</c> is installed.
    /// </summary>
    public bool StableSourcePath { get; init; } = Infrastructure.ProcessRunner.FindOnPath("bwrap") is not null;

    /// <summary>Maximum patch size in characters; default <see cref="PatchSanitizer.DefaultMaxChars"/>.</summary>
    public int MaxPatchChars { get; init; } = PatchSanitizer.DefaultMaxChars;
}
