using System.Buffers;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>Custom frame extractors (crash-reports.md §3.8).</summary>
internal static class Extractors
{
    /// <summary>
    /// Stall anchors (crash-reports.md §3.8): a frame is an anchor when it contains one of these names; a leading
    /// <c>^</c> means "starts with", a trailing <c>$</c> "is exactly". The last entries spell out
    /// <c>^(sys_)?(socketpair|connect|ioctl)</c>.
    /// </summary>
    internal static readonly string[] StallAnchors =
    [
        "process_one_work", "do_syscall_", "do_fast_syscall_", "sysenter_dispatch", "tracesys_phase2", "el0_svc_handler",
        "invoke_syscall", "ret_fast_syscall", "netif_receive_skb", "do_softirq", "call_timer_fn", "_run_timers",
        "run_timer_softirq", "hrtimer_run", "run_ksoftirqd", "smpboot_thread_fn", "^kthread$", "start_secondary",
        "cpu_startup_entry", "ret_from_fork", "vfs_write", "vfs_read", "vfs_iter_read", "vfs_iter_write", "do_iter_read",
        "do_iter_write", "call_read_iter", "call_write_iter", "new_sync_read", "new_sync_write", "vfs_ioctl", "ksys_ioctl",
        "compat_ioctl", "compat_sys_ioctl", "blkdev_driver_ioctl", "blkdev_ioctl", "^call_read_iter", "^call_write_iter",
        "do_iter_readv_writev", "^call_mmap", "mmap_region", "do_mmap", "do_dentry_open", "vfs_open", "^sock_sendmsg",
        "^sock_recvmsg", "^sock_release", "^__sock_release", "^setsockopt$", "kernel_setsockopt", "sock_common_setsockopt",
        "^listen$", "kernel_listen", "sk_common_release", "^sock_mmap", "^accept$", "kernel_accept", "^sock_do_ioctl",
        "^sock_ioctl", "^compat_sock_ioctl", "^nfnetlink_rcv_msg", "^rtnetlink_rcv_msg", "^netlink_dump",
        "__do_fault", "do_page_fault", "^page_fault$", "__fput", "task_work_run", "exit_to_usermode", "smp_call_function",
        "tasklet_action", "tasklet_hi_action",
        "^socketpair", "^connect", "^ioctl", "^sys_socketpair", "^sys_connect", "^sys_ioctl",
    ];

    // The anchors split by kind. A frame name is one short line, so plain string tests beat one big alternation,
    // which .NET can only try at every character of the name.
    private static readonly SearchValues<string> AnchorInside = SearchValues.Create(
        [.. StallAnchors.Where(a => a[0] != '^' && a[^1] != '$')], StringComparison.Ordinal);
    private static readonly string[] AnchorPrefixes = [.. StallAnchors.Where(a => a[0] == '^' && a[^1] != '$').Select(a => a[1..])];
    private static readonly HashSet<string> AnchorExact = new(StallAnchors.Where(a => a[0] == '^' && a[^1] == '$').Select(a => a[1..^1]), StringComparer.Ordinal);

    /// <summary>True if <paramref name="frame"/> is a stall anchor (see <see cref="StallAnchors"/>).</summary>
    internal static bool IsStallAnchor(string frame)
    {
        if (frame.AsSpan().IndexOfAny(AnchorInside) >= 0 || AnchorExact.Contains(frame))
        {
            return true;
        }
        foreach (var p in AnchorPrefixes)
        {
            if (frame.StartsWith(p, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    public static (string Frame, int Index) Stall(IReadOnlyList<string> frames)
    {
        for (var i = 0; i < frames.Count; i++)
        {
            if (!IsStallAnchor(frames[i]))
            {
                continue;
            }
            if (frames[i].Contains("smp_call_function", StringComparison.Ordinal))
            {
                return ("smp_call_function", i);
            }
            return i == 0 ? (frames[0], 0) : (frames[i - 1], i - 1);
        }
        return ("", -1);
    }

    private static readonly string[] SyncFuncs = ["synchronize_rcu", "synchronize_srcu", "synchronize_net", "synchronize_sched"];
    private static readonly string[] HungSkip =
    [
        "sched", "_lock", "_slowlock", "down", "rwsem", "completion", "kthread", "wait", "synchronize", "context_switch",
        "__switch_to", "cancel_delayed_work", "rcu_barrier",
    ];

    public static (string Frame, int Index) HungTask(IReadOnlyList<string> frames)
    {
        for (var i = 0; i < frames.Count; i++)
        {
            if (frames[i].Contains("rtnl_lock", StringComparison.Ordinal))
            {
                return (frames[i], i);
            }
            foreach (var s in SyncFuncs)
            {
                if (frames[i].Contains(s, StringComparison.Ordinal))
                {
                    return ("synchronize_rcu", i);
                }
            }
        }
        for (var i = 0; i < frames.Count; i++)
        {
            var ok = true;
            foreach (var s in HungSkip)
            {
                if (frames[i].Contains(s, StringComparison.Ordinal))
                {
                    ok = false;
                    break;
                }
            }
            if (ok)
            {
                return (frames[i], i);
            }
        }
        return ("", -1);
    }

    public static (string Frame, int Index) First(IReadOnlyList<string> frames) =>
        frames.Count == 0 ? ("", -1) : (frames[0], 0);
}
