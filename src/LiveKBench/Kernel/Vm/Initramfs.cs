using System.IO.Compression;
using System.Text;
using LiveKBench.Infrastructure;

namespace LiveKBench.Kernel.Vm;

/// <summary>Markers the guest init script prints on the serial console.</summary>
/// <param name="Start">Printed when user space is up, just before the reproducer starts.</param>
/// <param name="End">Printed after the reproducer exits or hits its time limit, followed by <c>rc=N</c>.</param>
public sealed record ConsoleMarkers(string Start, string End)
{
    /// <summary>The markers <see cref="Initramfs"/> writes: <c>KBENCH: repro-start</c> / <c>KBENCH: repro-exit</c>.</summary>
    public static ConsoleMarkers Default { get; } = new("KBENCH: repro-start", "KBENCH: repro-exit");

    /// <summary>The markers of the validating shell harness (<c>realbugs/harness/mkinitrd.sh</c>), used in the stored console logs.</summary>
    public static ConsoleMarkers RealbugsHarness { get; } = new("REALBUGS: booted", "REALBUGS: repro-exit");
}

/// <summary>A program to run inside the guest.</summary>
/// <param name="Files">Guest path (absolute, e.g. <c>/repro</c>) → host file to copy there (mode 0755).</param>
/// <param name="Command">Shell command the init script runs under <c>timeout</c>.</param>
public sealed record GuestProgram(IReadOnlyDictionary<string, string> Files, string Command);

/// <summary>
/// Builds a gzip-compressed cpio (newc) initramfs in C#: busybox-static with applet links, an <c>/init</c> script
/// that mounts proc/sys/dev, prints <see cref="ConsoleMarkers.Start"/>, runs the program under <c>timeout</c>,
/// prints <see cref="ConsoleMarkers.End"/> <c>rc=N</c> and calls <c>reboot -f</c> (QEMU runs with <c>-no-reboot</c>, so it exits).
/// Output is deterministic (fixed mtimes, owners and inode numbers).
/// </summary>
public static class Initramfs
{
    private static readonly string[] Applets = ["sh", "mount", "echo", "cat", "reboot", "poweroff", "timeout", "mkdir", "sleep", "ls", "dmesg", "ip", "mknod", "chmod", "readlink", "ln"];

    /// <summary>
    /// Shell lines that create the <c>/dev/char/MAJ:MIN</c> and <c>/dev/block/MAJ:MIN</c> links udev makes in syzbot's
    /// guest images (devtmpfs does not): syzkaller reproducers open character devices by number through them
    /// (<c>syz_open_dev(0xc, major, minor)</c> opens <c>/dev/char/major:minor</c>).
    /// </summary>
    public const string DevNumberLinks =
        "mkdir -p /dev/char /dev/block\n" +
        "for l in /sys/dev/char/* /sys/dev/block/*; do n=$(readlink \"$l\"); n=${n##*/}; d=${l%/*}; " +
        "[ -e \"/dev/$n\" ] && ln -sf \"../$n\" \"/dev/${d##*/}/${l##*/}\"; done 2>/dev/null\n";

    /// <summary>
    /// Shell line that brings the loopback interface up, as the init system of syzbot's guest images does: reproducers
    /// that connect to 127.0.0.1 or ::1 (SCTP, TCP, TIPC over UDP, ...) otherwise fail with ENETUNREACH before reaching
    /// the bug. Failure (no networking in the kernel) is ignored.
    /// </summary>
    public const string LoopbackUp = "ip link set lo up 2>/dev/null\n";

    /// <summary>Writes the init script text.</summary>
    /// <param name="command">Shell command to run (null = none, only markers: a boot probe).</param>
    /// <param name="timeLimit">Time limit of the command (whole seconds, at least 1).</param>
    /// <param name="markers">Markers to print.</param>
    /// <returns>The script.</returns>
    public static string InitScript(string? command, TimeSpan timeLimit, ConsoleMarkers markers)
    {
        var sb = new StringBuilder();
        sb.Append("#!/bin/sh\n");
        sb.Append("mount -t proc proc /proc\nmount -t sysfs sys /sys\nmount -t devtmpfs dev /dev 2>/dev/null\n");
        sb.Append(DevNumberLinks);
        sb.Append(LoopbackUp);
        sb.Append("mkdir -p /tmp && cd /tmp\n");
        sb.Append($"echo \"{markers.Start} uptime=$(cat /proc/uptime)\"\n");
        if (command is not null)
        {
            sb.Append($"/bin/timeout {Math.Max(1, (int)Math.Ceiling(timeLimit.TotalSeconds))} {command}\n");
        }
        else
        {
            sb.Append("true\n");
        }
        sb.Append($"echo \"{markers.End} rc=$? uptime=$(cat /proc/uptime)\"\n");
        sb.Append("reboot -f\n");
        return sb.ToString();
    }

    /// <summary>Creates the initramfs file.</summary>
    /// <param name="outputPath">Where to write the <c>.cpio.gz</c>.</param>
    /// <param name="program">Program and its files; null = boot probe (markers only).</param>
    /// <param name="timeLimit">Time limit of the program inside the guest.</param>
    /// <param name="markers">Markers; null = <see cref="ConsoleMarkers.Default"/>.</param>
    /// <param name="busyboxPath">Static busybox; default <c>/bin/busybox</c>.</param>
    /// <exception cref="FileNotFoundException">busybox or a program file is missing.</exception>
    public static void Create(string outputPath, GuestProgram? program, TimeSpan timeLimit, ConsoleMarkers? markers = null, string busyboxPath = "/bin/busybox")
    {
        markers ??= ConsoleMarkers.Default;
        if (!File.Exists(busyboxPath))
        {
            throw new FileNotFoundException("static busybox not found (install busybox-static)", busyboxPath);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outputPath))!);
        var tmp = outputPath + ".tmp";
        using (var fs = File.Create(tmp))
        using (var gz = new GZipStream(fs, CompressionLevel.Fastest))
        {
            var w = new CpioWriter(gz);
            foreach (var d in new[] { "bin", "dev", "proc", "sys", "tmp", "root" })
            {
                w.Directory(d);
            }
            w.File("bin/busybox", File.ReadAllBytes(busyboxPath), 0x1ED);
            foreach (var a in Applets)
            {
                w.Symlink("bin/" + a, "busybox");
            }
            w.File("init", Encoding.UTF8.GetBytes(InitScript(program?.Command, timeLimit, markers)), 0x1ED);
            if (program is not null)
            {
                foreach (var (guest, host) in program.Files.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    w.File(guest.TrimStart('/'), File.ReadAllBytes(host), 0x1ED);
                }
            }
            w.Trailer();
        }
        File.Move(tmp, outputPath, overwrite: true);
    }

    /// <summary>
    /// Compiles a C reproducer with <c>gcc -static -pthread -O1</c> (as syzkaller's csource builder does, statically).
    /// The source is read as C whatever its file name (<c>-x c</c>): a Gym worker keeps downloaded inputs under their hash.
    /// </summary>
    /// <param name="source">The C file.</param>
    /// <param name="output">The binary to write.</param>
    /// <param name="logPath">Compiler output is written here.</param>
    /// <param name="cancellationToken">Cancels the compiler.</param>
    /// <returns>Null on success, else the compiler's error output.</returns>
    /// <exception cref="ExternalProcessException">gcc is not installed.</exception>
    public static async Task<string?> CompileReproducerAsync(string source, string output, string logPath, CancellationToken cancellationToken = default)
    {
        var r = await ProcessRunner.RunAsync("gcc", ["-static", "-pthread", "-O1", "-w", "-o", output, "-x", "c", source],
            new ProcessOptions { Timeout = TimeSpan.FromMinutes(3), LogFile = logPath }, cancellationToken).ConfigureAwait(false);
        return r.Succeeded ? null : (r.TimedOut ? "gcc timed out" : r.Tail(3000).Trim());
    }

    private sealed class CpioWriter(Stream s)
    {
        private int _ino = 1;

        public void Directory(string name) => Entry(name, 0x4000 | 0x1ED, [], 2);

        public void File(string name, byte[] data, int mode) => Entry(name, 0x8000 | mode, data, 1);

        public void Symlink(string name, string target) => Entry(name, 0xA000 | 0x1FF, Encoding.UTF8.GetBytes(target), 1);

        public void Trailer() => Entry("TRAILER!!!", 0, [], 1, ino: 0);

        private void Entry(string name, int mode, byte[] data, int nlink, int? ino = null)
        {
            var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
            var header = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"070701{ino ?? _ino++:X8}{mode:X8}{0:X8}{0:X8}{nlink:X8}{0:X8}{data.Length:X8}{0:X8}{0:X8}{0:X8}{0:X8}{nameBytes.Length:X8}{0:X8}");
            var h = Encoding.ASCII.GetBytes(header);
            s.Write(h);
            s.Write(nameBytes);
            Pad(h.Length + nameBytes.Length);
            s.Write(data);
            Pad(data.Length);
        }

        private void Pad(int n)
        {
            var p = (4 - (n % 4)) % 4;
            for (var i = 0; i < p; i++)
            {
                s.WriteByte(0);
            }
        }
    }
}
