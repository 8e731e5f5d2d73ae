using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.CrashReports;
using LiveKBench.Kernel.Git;
using LiveKBench.Kernel.Vm;

namespace LiveKBench.Arena.Stages;

/// <summary>
/// The kernel machinery of a workspace, wired from its settings: the kernel mirror, the builder (kept build
/// directories under <c>work/kcache</c>, ccache under <c>work/ccache</c> or settings <c>build.ccacheDir</c> / <c>KBENCH_CCACHE_DIR</c>), QEMU and the reproduction runner with the
/// crash report parser.
/// </summary>
public sealed class KernelEnvironment
{
    /// <summary>Name under which the offline Debian mirror is registered in settings.json "mirrors".</summary>
    public const string DebianMirrorKey = "debian:linux-source-6.1";

    private KernelEnvironment(Workspace workspace, KernelMirror mirror)
    {
        Workspace = workspace;
        Mirror = mirror;
        var s = workspace.Settings;
        Builder = new KernelBuilder(mirror, new KernelBuilderOptions
        {
            WorkRoot = workspace.WorkDir,
            Jobs = s.Build.Jobs > 0 ? s.Build.Jobs : Environment.ProcessorCount,
            BuildTimeout = TimeSpan.FromSeconds(s.Build.TimeoutSeconds),
            // One persistent work tree per kept build directory, used under a lock: a patched build restores it in
            // about a second instead of checking out the whole kernel (measured in bench/results/kernel-build.md).
            KeptDirMode = KeptDirMode.Lock,
            CcacheDir = s.Build.CcacheDir,
        });
        Qemu = new QemuRunner(new QemuOptions
        {
            MemoryMiB = s.Vm.MemoryMb,
            Accelerator = s.Vm.Accelerator switch
            {
                "kvm" => VmAccelerator.Kvm,
                "tcg" => VmAccelerator.Tcg,
                _ => null,
            },
        });
        Reproduction = new ReproductionRunner(Qemu, Analyzer, new ReproductionOptions
        {
            WorkRoot = workspace.WorkDir,
            SyzkallerBinDir = s.Vm.SyzkallerBin,
        });
        Worker = new Gym.GymWorker(Builder, Reproduction);
        Gym = LiveKBench.Gym.GymClients.For(workspace.Configuration, () => Worker, mirror);
    }

    /// <summary>The crash report parser as the VM code consumes it (syzkaller-compatible titles, same-crash test).</summary>
    public static CrashAnalyzer Analyzer { get; } = new(
        bytes => CrashReportParser.Parse(bytes),
        (report, title, alt) => CrashReportParser.IsSameCrash(report, title, alt));

    /// <summary>The workspace.</summary>
    public Workspace Workspace { get; }

    /// <summary>The kernel mirror jobs check commits out of.</summary>
    public KernelMirror Mirror { get; }

    /// <summary>Kernel builder.</summary>
    public KernelBuilder Builder { get; }

    /// <summary>QEMU runner (probes KVM once, falls back to TCG).</summary>
    public QemuRunner Qemu { get; }

    /// <summary>Reproduction runner.</summary>
    public ReproductionRunner Reproduction { get; }

    /// <summary>In-process Gym worker (build, reproduce stages).</summary>
    public Gym.GymWorker Worker { get; }

    /// <summary>Where this workspace's builds and reproductions run: in process (default) or a remote Gym (<c>Gym:Endpoint</c>).</summary>
    public Gym.IGymClient Gym { get; }

    /// <summary>Default location of the offline Debian mirror in a workspace.</summary>
    public static string DebianMirrorPath(Workspace ws) => Path.Combine(ws.MirrorsDir, "linux-source-6.1");

    /// <summary>Opens the workspace's mirror: the Debian mirror when registered, else the first registered one.</summary>
    /// <exception cref="InvalidOperationException">No mirror exists (run `kbench mirror from-tarball`).</exception>
    public static KernelEnvironment Open(Workspace ws)
    {
        var path = ws.Settings.Mirrors.TryGetValue(DebianMirrorKey, out var p) ? p
            : ws.Settings.Mirrors.Values.FirstOrDefault()
            ?? (Directory.Exists(DebianMirrorPath(ws)) ? DebianMirrorPath(ws) : null);
        if (path is null || !Directory.Exists(path))
        {
            throw new InvalidOperationException("no kernel mirror in this workspace (run: kbench mirror from-tarball /usr/src/linux-source-6.1.tar.xz)");
        }
        return new KernelEnvironment(ws, KernelMirror.Open(path));
    }
}
