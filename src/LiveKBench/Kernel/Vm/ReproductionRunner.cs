using System.Diagnostics;
using System.Text.Json.Serialization;

namespace LiveKBench.Kernel.Vm;

/// <summary>Kind of reproducer.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReproducerKind>))]
public enum ReproducerKind
{
    /// <summary>A C program (compiled on the host with <c>gcc -static -pthread</c>).</summary>
    C,

    /// <summary>A syz program (needs syz-execprog and syz-executor).</summary>
    Syz,
}

/// <summary>What to reproduce on which kernel.</summary>
/// <param name="BzImagePath">Kernel image to boot.</param>
/// <param name="ReproducerPath">The reproducer file (C source or syz program).</param>
/// <param name="Kind">C or syz.</param>
/// <param name="BugTitle">The bug's title, to decide whether a crash is the bug's own.</param>
/// <param name="AltTitles">Alternative titles of the bug, or null.</param>
/// <param name="Instances">Number of VM instances; default 5.</param>
/// <param name="Parallelism">Maximum concurrent instances; null = number of cores.</param>
/// <param name="ReproTimeLimitSeconds">Time limit of the reproducer inside the guest, seconds; default 60.</param>
/// <param name="InstanceTimeoutSeconds">Wall-clock limit per VM instance, seconds (boot + reproducer + reboot); default 300.</param>
public sealed record ReproduceRequest(
    string BzImagePath,
    string ReproducerPath,
    ReproducerKind Kind,
    string BugTitle,
    IReadOnlyList<string>? AltTitles = null,
    int Instances = 5,
    int? Parallelism = null,
    double ReproTimeLimitSeconds = 60,
    double InstanceTimeoutSeconds = 300);

/// <summary>Settings of <see cref="ReproductionRunner"/>.</summary>
public sealed record ReproductionOptions
{
    /// <summary>Folder for run folders (reproducer binary, initramfs, consoles): <c>WorkRoot/runs/&lt;id&gt;</c>.</summary>
    public required string WorkRoot { get; init; }

    /// <summary>Folder with <c>syz-execprog</c> and <c>syz-executor</c> (linux/amd64), or null: syz reproducers then give <see cref="ReproductionVerdict.Error"/>.</summary>
    public string? SyzkallerBinDir { get; init; }

    /// <summary>Static busybox; default <c>/bin/busybox</c>.</summary>
    public string BusyboxPath { get; init; } = "/bin/busybox";

    /// <summary>Markers the init script prints.</summary>
    public ConsoleMarkers Markers { get; init; } = ConsoleMarkers.Default;
}

/// <summary>
/// Runs a reproducer against a built kernel: compiles it (C), packs an initramfs, boots N QEMU instances and computes
/// the verdict from their consoles with the injected <see cref="CrashAnalyzer"/>.
/// </summary>
/// <param name="qemu">VM runner.</param>
/// <param name="analyzer">Crash report parser delegates.</param>
/// <param name="options">Workspace and tools.</param>
public sealed class ReproductionRunner(QemuRunner qemu, CrashAnalyzer analyzer, ReproductionOptions options)
{
    /// <summary>The settings in use.</summary>
    public ReproductionOptions Options { get; } = options;

    /// <summary>Runs the reproduction.</summary>
    /// <param name="request">Kernel, reproducer, instances and limits.</param>
    /// <param name="cancellationToken">Cancels (kills every VM).</param>
    /// <returns>The verdict with per-instance details; failures are reported in it, not thrown.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<ReproductionResult> RunAsync(ReproduceRequest request, CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        var runDir = Path.Combine(Options.WorkRoot, "runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(runDir);
        try
        {
            if (!File.Exists(request.BzImagePath))
            {
                return VerdictCalculator.Without(ReproductionVerdict.Error, $"kernel image {request.BzImagePath} not found");
            }
            if (!File.Exists(request.ReproducerPath))
            {
                return VerdictCalculator.Without(ReproductionVerdict.Error, $"reproducer {request.ReproducerPath} not found");
            }
            GuestProgram program;
            if (request.Kind == ReproducerKind.C)
            {
                var bin = Path.Combine(runDir, "repro");
                var log = Path.Combine(runDir, "repro-compile.log");
                if (await Initramfs.CompileReproducerAsync(request.ReproducerPath, bin, log, cancellationToken).ConfigureAwait(false) is { } compileError)
                {
                    return VerdictCalculator.Without(ReproductionVerdict.Error, "reproducer does not compile: " + compileError, 0, sw.Elapsed.TotalSeconds, log);
                }
                program = new GuestProgram(new Dictionary<string, string> { ["/repro"] = bin }, "/repro");
            }
            else
            {
                var dir = Options.SyzkallerBinDir;
                if (dir is null || !File.Exists(Path.Combine(dir, "syz-execprog")) || !File.Exists(Path.Combine(dir, "syz-executor")))
                {
                    return VerdictCalculator.Without(ReproductionVerdict.Error,
                        "syz reproducer needs syz-execprog and syz-executor: set ReproductionOptions.SyzkallerBinDir" + (dir is null ? "" : $" ({dir} lacks them)"));
                }
                program = new GuestProgram(new Dictionary<string, string>
                {
                    ["/syz-execprog"] = Path.Combine(dir, "syz-execprog"),
                    ["/syz-executor"] = Path.Combine(dir, "syz-executor"),
                    ["/repro.syz"] = request.ReproducerPath,
                }, "/syz-execprog -executor=/syz-executor -repeat=0 -procs=1 -cover=0 -sandbox=none /repro.syz");
            }
            var initrd = Path.Combine(runDir, "initramfs.cpio.gz");
            Initramfs.Create(initrd, program, TimeSpan.FromSeconds(request.ReproTimeLimitSeconds), Options.Markers, Options.BusyboxPath);
            var accel = await qemu.GetAcceleratorAsync(request.BzImagePath, runDir, cancellationToken).ConfigureAwait(false);
            var runs = await qemu.RunInstancesAsync(request.BzImagePath, initrd, runDir, request.Instances, request.Parallelism ?? Environment.ProcessorCount,
                TimeSpan.FromSeconds(request.InstanceTimeoutSeconds), accel, cancellationToken).ConfigureAwait(false);
            var verdicts = new List<InstanceVerdict>();
            foreach (var run in runs)
            {
                var bytes = File.Exists(run.ConsolePath) ? await File.ReadAllBytesAsync(run.ConsolePath, cancellationToken).ConfigureAwait(false) : [];
                verdicts.Add(VerdictCalculator.ClassifyInstance(bytes, Options.Markers, analyzer, request.BugTitle, request.AltTitles, run));
            }
            return VerdictCalculator.Combine(verdicts, 0, sw.Elapsed.TotalSeconds);
        }
        catch (Exception ex) when (ex is Infrastructure.ExternalProcessException or IOException or UnauthorizedAccessException)
        {
            return VerdictCalculator.Without(ReproductionVerdict.Error, ex.Message, 0, sw.Elapsed.TotalSeconds);
        }
    }
}
