using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Serialization;
using LiveKBench.Infrastructure;

namespace LiveKBench.Kernel.Vm;

/// <summary>QEMU accelerator.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VmAccelerator>))]
public enum VmAccelerator
{
    /// <summary>Hardware virtualisation through /dev/kvm.</summary>
    Kvm,

    /// <summary>Software emulation (slow, always available).</summary>
    Tcg,
}

/// <summary>Settings of <see cref="QemuRunner"/>.</summary>
public sealed record QemuOptions
{
    /// <summary>QEMU binary; default <c>qemu-system-x86_64</c>.</summary>
    public string QemuPath { get; init; } = "qemu-system-x86_64";

    /// <summary>Guest memory in MiB; default 512.</summary>
    public int MemoryMiB { get; init; } = 512;

    /// <summary>Guest CPUs; default 1.</summary>
    public int Cpus { get; init; } = 1;

    /// <summary>
    /// Kernel command line; default <c>console=ttyS0 oops=panic panic=-1</c>: an oops panics, as on syzbot's instances, and
    /// the panic reboots at once, so QEMU exits instead of idling until the instance timeout when the oops left a lock
    /// held (KASAN reports and WARNINGs do not panic).
    /// </summary>
    public string KernelCommandLine { get; init; } = "console=ttyS0 oops=panic panic=-1";

    /// <summary>Force an accelerator instead of probing; null = probe KVM once, else TCG.</summary>
    public VmAccelerator? Accelerator { get; init; }

    /// <summary>Time limit of the KVM probe boot; default 30 s (a hanging /dev/kvm is treated as unusable).</summary>
    public TimeSpan KvmProbeTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>What happened to one QEMU instance (raw facts; the verdict is computed by <see cref="VerdictCalculator"/>).</summary>
/// <param name="Index">Instance number, from 0.</param>
/// <param name="ConsolePath">Serial console file of this instance.</param>
/// <param name="Accelerator">Accelerator used.</param>
/// <param name="KilledAtTimeout">True when QEMU was killed at the instance time limit.</param>
/// <param name="QemuExitCode">QEMU's exit code (-1 when killed).</param>
/// <param name="QemuStderr">QEMU's own stderr (last 2000 characters), for infrastructure errors.</param>
/// <param name="Seconds">Wall-clock seconds of the instance.</param>
public sealed record VmInstanceRun(int Index, string ConsolePath, VmAccelerator Accelerator, bool KilledAtTimeout, int QemuExitCode, string QemuStderr, double Seconds);

/// <summary>
/// Boots kernels in QEMU with an initramfs (<c>-kernel/-initrd</c>, serial console to a file per instance,
/// <c>-no-reboot</c>), N instances with bounded parallelism, each killed at its time limit.
/// KVM is probed once per runner with a short boot (a hanging <c>/dev/kvm</c> falls back to TCG).
/// </summary>
/// <param name="options">QEMU settings.</param>
public sealed class QemuRunner(QemuOptions options)
{
    private readonly Lock _probeLock = new();
    private Task<VmAccelerator>? _probe;

    /// <summary>The settings in use.</summary>
    public QemuOptions Options { get; } = options;

    /// <summary>Result of the KVM probe when one ran (null before).</summary>
    public VmAccelerator? ProbedAccelerator => _probe is { IsCompletedSuccessfully: true } p ? p.Result : null;

    /// <summary>
    /// The accelerator to use: <see cref="QemuOptions.Accelerator"/> if set; otherwise KVM when <c>/dev/kvm</c> exists
    /// and a probe boot of <paramref name="bzImage"/> reaches user space within <see cref="QemuOptions.KvmProbeTimeout"/>,
    /// else TCG. The answer is cached in this runner.
    /// </summary>
    /// <param name="bzImage">A kernel to boot for the probe.</param>
    /// <param name="workDir">Folder for the probe initramfs and console.</param>
    /// <param name="cancellationToken">Cancels the probe.</param>
    /// <returns>The accelerator.</returns>
    public async Task<VmAccelerator> GetAcceleratorAsync(string bzImage, string workDir, CancellationToken cancellationToken = default)
    {
        if (Options.Accelerator is { } forced)
        {
            return forced;
        }
        Task<VmAccelerator> probe;
        lock (_probeLock)
        {
            if (_probe is null || _probe.IsFaulted || _probe.IsCanceled)
            {
                _probe = ProbeAsync(bzImage, workDir, cancellationToken);
            }
            probe = _probe;
        }
        return await probe.ConfigureAwait(false);
    }

    private async Task<VmAccelerator> ProbeAsync(string bzImage, string workDir, CancellationToken cancellationToken)
    {
        if (!File.Exists("/dev/kvm"))
        {
            return VmAccelerator.Tcg;
        }
        Directory.CreateDirectory(workDir);
        var initrd = Path.Combine(workDir, "kvm-probe.cpio.gz");
        Initramfs.Create(initrd, null, TimeSpan.FromSeconds(1));
        var console = Path.Combine(workDir, "kvm-probe.console.txt");
        var run = await RunInstanceAsync(0, bzImage, initrd, console, Options.KvmProbeTimeout, VmAccelerator.Kvm, cancellationToken).ConfigureAwait(false);
        var text = File.Exists(console) ? await File.ReadAllTextAsync(console, cancellationToken).ConfigureAwait(false) : "";
        return !run.KilledAtTimeout && text.Contains(ConsoleMarkers.Default.Start, StringComparison.Ordinal) ? VmAccelerator.Kvm : VmAccelerator.Tcg;
    }

    /// <summary>Boots one instance and waits until QEMU exits or is killed at <paramref name="timeout"/>.</summary>
    /// <param name="index">Instance number (for the result).</param>
    /// <param name="bzImage">Kernel image.</param>
    /// <param name="initramfs">Initramfs (<c>.cpio.gz</c>).</param>
    /// <param name="consolePath">Serial console output file (overwritten).</param>
    /// <param name="timeout">Wall-clock limit of the instance.</param>
    /// <param name="accelerator">KVM or TCG.</param>
    /// <param name="cancellationToken">Cancels (kills) the instance.</param>
    /// <returns>Raw facts of the run.</returns>
    /// <exception cref="ExternalProcessException">QEMU is not installed.</exception>
    public async Task<VmInstanceRun> RunInstanceAsync(int index, string bzImage, string initramfs, string consolePath, TimeSpan timeout, VmAccelerator accelerator, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(consolePath))!);
        File.Delete(consolePath);
        var args = new List<string>
        {
            "-accel", accelerator == VmAccelerator.Kvm ? "kvm" : "tcg",
            "-m", Options.MemoryMiB.ToString(CultureInfo.InvariantCulture),
            "-smp", Options.Cpus.ToString(CultureInfo.InvariantCulture),
            "-display", "none", "-monitor", "none", "-no-reboot",
            "-serial", "file:" + Path.GetFullPath(consolePath),
            "-kernel", bzImage, "-initrd", initramfs,
            "-append", Options.KernelCommandLine,
        };
        if (accelerator == VmAccelerator.Kvm)
        {
            args.AddRange(["-cpu", "host"]);
        }
        var sw = Stopwatch.StartNew();
        var r = await ProcessRunner.RunAsync(Options.QemuPath, args, new ProcessOptions { Timeout = timeout }, cancellationToken).ConfigureAwait(false);
        return new VmInstanceRun(index, Path.GetFullPath(consolePath), accelerator, r.TimedOut, r.ExitCode, r.Tail(2000), sw.Elapsed.TotalSeconds);
    }

    /// <summary>Runs <paramref name="count"/> instances of the same kernel and initramfs, at most <paramref name="parallelism"/> at a time.</summary>
    /// <param name="bzImage">Kernel image.</param>
    /// <param name="initramfs">Initramfs.</param>
    /// <param name="outputDir">Consoles go to <c>console-&lt;i&gt;.txt</c> here.</param>
    /// <param name="count">Number of instances (at least 1).</param>
    /// <param name="parallelism">Maximum concurrent instances (at least 1).</param>
    /// <param name="timeout">Wall-clock limit per instance.</param>
    /// <param name="accelerator">KVM or TCG.</param>
    /// <param name="cancellationToken">Cancels (kills) all instances.</param>
    /// <returns>One entry per instance, ordered by index.</returns>
    /// <exception cref="ExternalProcessException">QEMU is not installed.</exception>
    public async Task<IReadOnlyList<VmInstanceRun>> RunInstancesAsync(string bzImage, string initramfs, string outputDir, int count, int parallelism, TimeSpan timeout, VmAccelerator accelerator, CancellationToken cancellationToken = default)
    {
        using var gate = new SemaphoreSlim(Math.Max(1, parallelism));
        var tasks = Enumerable.Range(0, Math.Max(1, count)).Select(async i =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await RunInstanceAsync(i, bzImage, initramfs, Path.Combine(outputDir, $"console-{i}.txt"), timeout, accelerator, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }
}
