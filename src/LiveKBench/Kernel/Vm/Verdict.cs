using System.Text;
using System.Text.Json.Serialization;
using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Kernel.Vm;

/// <summary>Verdict of a reproduction attempt (per instance and overall).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReproductionVerdict>))]
public enum ReproductionVerdict
{
    /// <summary>A kernel crash report appeared after the reproducer started.</summary>
    Reproduced,

    /// <summary>Every instance ran the reproducer to its end (or its time limit) with the kernel alive and no crash.</summary>
    NotReproduced,

    /// <summary>The kernel did not build or the patch did not apply / was rejected.</summary>
    CompilationError,

    /// <summary>The kernel never reached user space (panic or hang at boot, no output). Never counts as a fix.</summary>
    BootError,

    /// <summary>Infrastructure failure (QEMU, reproducer compilation, missing syz tools, a VM that hung mid-run).</summary>
    Error,

    /// <summary>
    /// Patched evaluation only: every instance ran clean, but <c>Reproduction:MaxInstances</c> was reached before the clean runs
    /// made a surviving bug unlikely (<see cref="ReproductionStatistics"/>). Never counts as a fix.
    /// </summary>
    Inconclusive,
}

/// <summary>
/// The crash report parser, injected as delegates so this code does not depend on a particular implementation
/// (wire to <c>CrashReportParser.Parse</c> / <c>CrashReportParser.IsSameCrash</c>).
/// </summary>
/// <param name="Parse">Finds the first kernel crash report in console bytes; null when there is none. User-space
/// fault lines (<c>traps: repro[20] general protection fault</c>) must not count.</param>
/// <param name="IsSameCrash">Whether a report is the bug's own crash: (report, bug title, alternative titles).</param>
public sealed record CrashAnalyzer(Func<byte[], CrashReport?> Parse, Func<CrashReport, string, IEnumerable<string>?, bool> IsSameCrash);

/// <summary>Verdict of one VM instance.</summary>
/// <param name="Index">Instance number.</param>
/// <param name="Verdict">Reproduced, NotReproduced, BootError or Error.</param>
/// <param name="Reason">Human-readable explanation.</param>
/// <param name="CrashTitle">Title of the crash report, when there was one (also for a crash at boot).</param>
/// <param name="SameCrash">True when the crash is the bug's own (per <see cref="CrashAnalyzer.IsSameCrash"/>).</param>
/// <param name="ConsolePath">Serial console file.</param>
/// <param name="ReproExitCode">Exit code printed with the end marker (null when not reached).</param>
/// <param name="Seconds">Wall-clock seconds of the instance.</param>
/// <param name="Hang">True when the kernel reached user space (start marker) and then stopped responding until the instance
/// timeout: with a patch applied this is <i>not resolved (hang)</i>, not an infrastructure error.</param>
public sealed record InstanceVerdict(int Index, ReproductionVerdict Verdict, string Reason, string? CrashTitle, bool SameCrash, string ConsolePath, int? ReproExitCode, double Seconds, bool Hang = false);

/// <summary>Result of a reproduction (or a build + reproduction); JSON-serializable.</summary>
/// <param name="Verdict">Overall verdict.</param>
/// <param name="Reason">Why (first crash, boot failure, infrastructure problem).</param>
/// <param name="CrashTitle">Title of the reported crash (the bug's own crash preferred), or null.</param>
/// <param name="SameCrash">True when some instance showed the bug's own crash.</param>
/// <param name="Instances">Per-instance verdicts.</param>
/// <param name="BuildSeconds">Seconds spent building (0 when the kernel came ready-made).</param>
/// <param name="ReproduceSeconds">Seconds spent in reproducer compilation, initramfs and VM runs.</param>
/// <param name="LogPath">Extra log (reproducer compiler output, build log) when relevant, else null.</param>
/// <param name="FalseFixBound">Patched evaluation whose instances all ran clean: (1 − p_low)^clean, the probability that an
/// unfixed bug shows this many clean runs (<see cref="ReproductionStatistics.FalseFixBound"/>); null when something crashed or for a baseline.</param>
/// <param name="Baseline">Baseline (kcache) reproduction only: its reliability over every instance run; else null.</param>
public sealed record ReproductionResult(
    ReproductionVerdict Verdict,
    string Reason,
    string? CrashTitle,
    bool SameCrash,
    IReadOnlyList<InstanceVerdict> Instances,
    double BuildSeconds,
    double ReproduceSeconds,
    string? LogPath = null,
    double? FalseFixBound = null,
    BaselineReliability? Baseline = null)
{
    /// <summary>Number of VM instances run (all rounds).</summary>
    public int InstancesRun => Instances.Count;
}

/// <summary>Pure verdict logic over console bytes: unit-testable on stored console logs.</summary>
public static class VerdictCalculator
{
    /// <summary>
    /// Classifies one instance from its console output. A crash report counts as reproduction only after the start
    /// marker; a crash or silence before it is a boot error; no crash and the end marker present is not reproduced;
    /// no crash and no end marker (VM killed at its timeout or stopped) is an error.
    /// </summary>
    /// <param name="console">Raw serial console bytes.</param>
    /// <param name="markers">Start/end markers the init script prints.</param>
    /// <param name="analyzer">Crash report parser.</param>
    /// <param name="bugTitle">The bug's title (for <see cref="InstanceVerdict.SameCrash"/>).</param>
    /// <param name="altTitles">The bug's alternative titles, or null.</param>
    /// <param name="run">Instance facts (index, console path, timeout, seconds); null for a bare console check.</param>
    /// <returns>The instance verdict.</returns>
    public static InstanceVerdict ClassifyInstance(byte[] console, ConsoleMarkers markers, CrashAnalyzer analyzer, string bugTitle, IEnumerable<string>? altTitles, VmInstanceRun? run = null)
    {
        var index = run?.Index ?? 0;
        var path = run?.ConsolePath ?? "";
        var seconds = run?.Seconds ?? 0;
        var start = FindLineStart(console, markers.Start, 0);
        if (start < 0)
        {
            var bootCrash = analyzer.Parse(console);
            var why = bootCrash is not null ? $"kernel crashed before user space: {bootCrash.Title}"
                : console.Length == 0 ? (run is { QemuExitCode: not 0, KilledAtTimeout: false } ? $"no console output; QEMU exited with {run.QemuExitCode}: {run.QemuStderr.Trim()}" : "no console output")
                : run?.KilledAtTimeout == true ? "kernel never reached the start marker before the instance timeout (hang at boot)"
                : "kernel never reached the start marker";
            return new InstanceVerdict(index, ReproductionVerdict.BootError, why, bootCrash?.Title, false, path, null, seconds);
        }
        var after = console.AsSpan(start).ToArray();
        var crash = analyzer.Parse(after);
        var end = FindLineStart(console, markers.End, start);
        int? rc = end >= 0 ? ParseRc(console, end + markers.End.Length) : null;
        if (crash is not null)
        {
            var same = analyzer.IsSameCrash(crash, bugTitle, altTitles);
            return new InstanceVerdict(index, ReproductionVerdict.Reproduced, $"kernel crash: {crash.Title}", crash.Title, same, path, rc, seconds);
        }
        if (end >= 0)
        {
            return new InstanceVerdict(index, ReproductionVerdict.NotReproduced, $"reproducer finished (rc={rc?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}) with no kernel crash", null, false, path, rc, seconds);
        }
        var hang = run?.KilledAtTimeout == true;
        var how = hang ? "kernel reached user space, then stopped responding until the instance timeout (hang)" : "VM stopped before the end marker without a recognised crash report";
        return new InstanceVerdict(index, ReproductionVerdict.Error, how, null, false, path, null, seconds, hang);
    }

    /// <summary>
    /// Combines instance verdicts: any reproduced ⇒ <see cref="ReproductionVerdict.Reproduced"/> (title of the bug's own
    /// crash when seen, else of the first crash); else any boot error ⇒ <see cref="ReproductionVerdict.BootError"/>; else any
    /// error ⇒ <see cref="ReproductionVerdict.Error"/>; else <see cref="ReproductionVerdict.NotReproduced"/>.
    /// </summary>
    /// <param name="instances">Per-instance verdicts (at least one).</param>
    /// <param name="buildSeconds">Build seconds to record.</param>
    /// <param name="reproduceSeconds">Reproduction seconds to record.</param>
    /// <returns>The overall result.</returns>
    /// <exception cref="ArgumentException">No instances.</exception>
    public static ReproductionResult Combine(IReadOnlyList<InstanceVerdict> instances, double buildSeconds, double reproduceSeconds)
    {
        if (instances.Count == 0)
        {
            throw new ArgumentException("at least one instance is needed", nameof(instances));
        }
        var crashed = instances.Where(i => i.Verdict == ReproductionVerdict.Reproduced).ToList();
        if (crashed.Count > 0)
        {
            var pick = crashed.FirstOrDefault(i => i.SameCrash) ?? crashed[0];
            return new ReproductionResult(ReproductionVerdict.Reproduced, $"{crashed.Count}/{instances.Count} instances crashed: {pick.CrashTitle}",
                pick.CrashTitle, pick.SameCrash, instances, buildSeconds, reproduceSeconds);
        }
        foreach (var v in new[] { ReproductionVerdict.BootError, ReproductionVerdict.Error })
        {
            var bad = instances.Where(i => i.Verdict == v).ToList();
            if (bad.Count > 0)
            {
                return new ReproductionResult(v, $"{bad.Count}/{instances.Count} instances: {bad[0].Reason}", bad[0].CrashTitle, false, instances, buildSeconds, reproduceSeconds);
            }
        }
        return new ReproductionResult(ReproductionVerdict.NotReproduced, $"{instances.Count}/{instances.Count} instances ran the reproducer with no kernel crash",
            null, false, instances, buildSeconds, reproduceSeconds);
    }

    /// <summary>A result with no instances (compilation error, infrastructure error before any VM ran).</summary>
    /// <param name="verdict">The verdict.</param>
    /// <param name="reason">Why.</param>
    /// <param name="buildSeconds">Build seconds.</param>
    /// <param name="reproduceSeconds">Reproduction seconds.</param>
    /// <param name="logPath">A log to keep (compiler output), or null.</param>
    /// <returns>The result.</returns>
    public static ReproductionResult Without(ReproductionVerdict verdict, string reason, double buildSeconds = 0, double reproduceSeconds = 0, string? logPath = null)
        => new(verdict, reason, null, false, [], buildSeconds, reproduceSeconds, logPath);

    /// <summary>Byte offset of the first line that starts with <paramref name="marker"/> at or after <paramref name="from"/>; -1 when absent.</summary>
    internal static int FindLineStart(byte[] data, string marker, int from)
    {
        var m = Encoding.UTF8.GetBytes(marker);
        var pos = from;
        while (pos <= data.Length - m.Length)
        {
            var i = data.AsSpan(pos).IndexOf(m);
            if (i < 0)
            {
                return -1;
            }
            var at = pos + i;
            if (at == 0 || data[at - 1] == (byte)'\n' || data[at - 1] == (byte)'\r')
            {
                return at;
            }
            pos = at + 1;
        }
        return -1;
    }

    private static int? ParseRc(byte[] data, int from)
    {
        var lineEnd = data.AsSpan(from).IndexOf((byte)'\n');
        var line = Encoding.UTF8.GetString(data, from, lineEnd < 0 ? data.Length - from : lineEnd);
        var k = line.IndexOf("rc=", StringComparison.Ordinal);
        if (k < 0)
        {
            return null;
        }
        var digits = new string(line[(k + 3)..].TakeWhile(char.IsDigit).ToArray());
        return int.TryParse(digits, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}
