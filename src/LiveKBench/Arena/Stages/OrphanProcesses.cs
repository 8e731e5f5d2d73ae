using System.Globalization;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Arena.Stages;

/// <summary>
/// Finds and kills processes a killed kbench left behind (QEMU instances, make, compilers): processes whose command
/// line names the workspace's work folder and that no live .NET process (a kbench) is an ancestor of. Linux only
/// (reads /proc); elsewhere it does nothing.
/// </summary>
public static class OrphanProcesses
{
    /// <summary>Kills the orphans of <paramref name="workDir"/>; returns their process ids.</summary>
    public static IReadOnlyList<int> KillOrphans(string workDir, ILogger log)
    {
        if (!Directory.Exists("/proc"))
        {
            return [];
        }
        var me = Environment.ProcessId;
        var killed = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == me)
            {
                continue;
            }
            var cmdline = Read($"/proc/{pid}/cmdline")?.Replace('\0', ' ');
            if (cmdline is null || !cmdline.Contains(workDir, StringComparison.Ordinal) || HasDotnetAncestor(pid))
            {
                continue;
            }
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: true);
                killed.Add(pid);
                log.LogWarning("killed orphaned process {Pid} left by a killed run: {Cmd}", pid, cmdline.Length > 200 ? cmdline[..200] : cmdline);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // already gone
            }
        }
        return killed;
    }

    private static bool HasDotnetAncestor(int pid)
    {
        for (var depth = 0; depth < 64 && pid > 1; depth++)
        {
            var stat = Read($"/proc/{pid}/stat");
            if (stat is null)
            {
                return false;
            }
            var close = stat.LastIndexOf(')');
            var name = stat[(stat.IndexOf('(') + 1)..close];
            if (depth > 0 && (name is "dotnet" or "kbench" || name.StartsWith("LiveKBench", StringComparison.Ordinal)))
            {
                return true;
            }
            var fields = stat[(close + 2)..].Split(' ');
            if (!int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out pid))
            {
                return false;
            }
        }
        return false;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
