using System.Text.Json;
using LiveKBench.Arena.Stages;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Git;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Kernel;

/// <summary>
/// One prepared scratch location shared by every slow kernel test (mirror, kept build directories, ccache, artifacts):
/// <c>$KBENCH_KERNEL_SCRATCH</c>, else <c>$TMPDIR/kbench-kernel-scratch</c>. Nothing is rebuilt per test; the first test
/// that needs a (commit, config) pays for its full build and later ones build incrementally. ccache lives under the root
/// unless <c>$KBENCH_CCACHE_DIR</c> names one shared with other workspaces (the pipeline tests' workspace in CI).
/// </summary>
public sealed class KernelScratchFixture : IAsyncLifetime
{
    /// <summary>Debian's kernel source tarball.</summary>
    public const string Tarball = "/usr/src/linux-source-6.1.tar.xz";

    private KernelMirror? _mirror;

    /// <summary>Scratch root.</summary>
    public string Root { get; } = Environment.GetEnvironmentVariable("KBENCH_KERNEL_SCRATCH") is { Length: > 0 } root ? root
        : Path.Combine(Path.GetTempPath(), "kbench-kernel-scratch");

    /// <summary>The shared mirror.</summary>
    public KernelMirror Mirror => _mirror ?? throw new InvalidOperationException("fixture not initialised");

    /// <summary>Import commit of the tarball.</summary>
    public string SourceCommit { get; private set; } = "";

    /// <summary>Builder on the shared workspace; kept-dir mode from <c>KBENCH_KEPT_MODE</c> (<c>copy</c>/<c>lock</c>, default lock: no checkout per build).</summary>
    public KernelBuilder Builder { get; private set; } = null!;

    /// <summary>QEMU runner (KVM probed once).</summary>
    public QemuRunner Qemu { get; } = new(new QemuOptions());

    /// <summary>Reproduction runner with the real crash report parser (<see cref="KernelEnvironment.Analyzer"/>).</summary>
    public ReproductionRunner Reproduction { get; private set; } = null!;

    /// <summary>Serialises kernel builds across tests (2 cores: never two builds at once).</summary>
    public SemaphoreSlim BuildGate { get; } = new(1, 1);

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Tarball))
        {
            return;
        }
        Directory.CreateDirectory(Root);
        _mirror = await KernelMirror.FromTarballAsync(Tarball, Path.Combine(Root, "mirror.git"));
        SourceCommit = await _mirror.SourceCommitAsync();
        var mode = string.Equals(Environment.GetEnvironmentVariable("KBENCH_KEPT_MODE"), "copy", StringComparison.OrdinalIgnoreCase) ? KeptDirMode.Copy : KeptDirMode.Lock;
        Builder = new KernelBuilder(_mirror, new KernelBuilderOptions { WorkRoot = Root, KeptDirMode = mode });
        await _mirror.PruneStaleWorktreesAsync(Builder.WorktreesRoot);
        Reproduction = new ReproductionRunner(Qemu, KernelEnvironment.Analyzer, new ReproductionOptions { WorkRoot = Root });
    }

    /// <summary>Skips when the tarball is missing.</summary>
    public void RequireTarball()
    {
        if (_mirror is null)
        {
            Assert.Skip($"{Tarball} not installed (apt-get install linux-source-6.1)");
        }
    }

    /// <summary>Bug commits of a realbugs case (idempotent).</summary>
    public async Task<BugCommits> BugCommitsAsync(string name)
        => await Mirror.CreateBugCommitsAsync(SourceCommit, await File.ReadAllTextAsync(SharedData.Path("realbugs", name, "fix.patch")), name);

    /// <summary>Config of a realbugs case.</summary>
    public static KernelConfigSpec CaseConfig(string name) => KernelConfigSpec.FromFragment(File.ReadAllText(SharedData.Path("realbugs", name, "config.fragment")));

    /// <summary>Builds under <see cref="BuildGate"/>.</summary>
    public async Task<BuildResult> BuildAsync(BuildRequest request, KernelBuilder? builder = null)
    {
        await BuildGate.WaitAsync();
        try
        {
            var r = await (builder ?? Builder).BuildAsync(request);
            Record("build", new { request.Commit, patch = request.Patch?.Length ?? 0, r.Status, r.Reason, r.Seconds, r.MakeSeconds, r.Incremental, r.CompiledFiles, r.Timings });
            return r;
        }
        finally
        {
            BuildGate.Release();
        }
    }

    /// <summary>Appends a measurement line to <c>Root/bench-measurements.jsonl</c> (source of bench/results/kernel-build.md).</summary>
    public void Record(string kind, object data)
    {
        var line = JsonSerializer.Serialize(new { at = DateTimeOffset.UtcNow, kind, data });
        lock (this)
        {
            File.AppendAllText(Path.Combine(Root, "bench-measurements.jsonl"), line + "\n");
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        BuildGate.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>Collection that shares <see cref="KernelScratchFixture"/> and runs its tests one after another.</summary>
[CollectionDefinition(Name)]
public sealed class KernelScratchCollection : ICollectionFixture<KernelScratchFixture>
{
    /// <summary>Collection name.</summary>
    public const string Name = "kernel-scratch";
}
