using System.Text;
using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Tests.CrashReports;

/// <summary>
/// Synthetic logs for individual title and corruption rules (crash-reports.md §3.8, §3.10), so that each rule is
/// checked on a report other than the corpus file it was derived from.
/// </summary>
public sealed class RuleTests
{
    private static CrashReport Parse(params string[] lines)
    {
        var rep = CrashReportParser.Parse(Encoding.Latin1.GetBytes(string.Join("\n", lines) + "\n"));
        Assert.NotNull(rep);
        return rep;
    }

    private static readonly string[] KasanHead =
    [
        "BUG: KASAN: use-after-free in foo_read+0x10/0x20",
        "Read of size 8 at addr ffff888000000000 by task a/1",
        "Call Trace:",
        " dump_stack+0x1/0x2",
        " foo_read+0x10/0x20",
        " do_syscall_64+0x1/0x2",
        "Allocated by task 1:",
    ];

    [Fact]
    public void A_stack_marker_followed_only_by_a_register_dump_is_corrupted()
    {
        var rep = Parse([.. KasanHead, "RIP: 0010:bar_write+0x1/0x2", "RSP: 0018:ffff888066e672b8 EFLAGS: 00010082", "RAX: 0 RBX: 0", "RCX: 0"]);
        Assert.Equal("KASAN: use-after-free Read in foo_read", rep.Title);
        Assert.True(rep.Corrupted);
    }

    [Fact]
    public void A_stack_marker_followed_by_a_frame_is_not_corrupted()
    {
        var rep = Parse([.. KasanHead, " kmalloc_trace+0x1/0x2", " bar_alloc+0x1/0x2", " do_syscall_64+0x1/0x2"]);
        Assert.Equal("KASAN: use-after-free Read in foo_read", rep.Title);
        Assert.False(rep.Corrupted);
    }

    [Fact]
    public void Inconsistent_lock_state_falls_back_to_the_call_trace_not_the_registered_at_stack()
    {
        var rep = Parse(
            "WARNING: inconsistent lock state",
            "inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.",
            "a/1 [HC0[0]:SC1[1]:HE1:SE0] takes:",
            "ffff888000000000 (lockname){+.?.}-{2:2}, at: _raw_spin_lock+0x1/0x2",
            "{SOFTIRQ-ON-W} state was registered at:",
            "  lock_acquire+0x1/0x2",
            "  registered_user+0x1/0x2",
            "irq event stamp: 0",
            "stack backtrace:",
            "Call Trace:",
            " dump_stack+0x1/0x2",
            " lock_acquire+0x1/0x2",
            " _raw_spin_lock+0x1/0x2",
            " softirq_user+0x1/0x2",
            " __do_softirq+0x1/0x2");
        Assert.Equal("inconsistent lock state in softirq_user", rep.Title);
        Assert.False(rep.Corrupted);
    }

    [Fact]
    public void Suspicious_rcu_usage_cut_before_its_call_trace_has_no_frame()
    {
        var rep = Parse(
            "WARNING: suspicious RCU usage",
            "6.1.0 #1 Not tainted",
            "-----------------------------",
            "net/core/foo.c:123 suspicious rcu_dereference_check() usage!",
            "",
            "other info that might help us debug this:");
        Assert.Equal("WARNING: suspicious RCU usage in corrupted", rep.Title);
        Assert.True(rep.Corrupted);
    }

    [Fact]
    public void Bad_page_map_is_titled_without_a_frame()
    {
        var rep = Parse(
            "BUG: Bad page map in process a  pte:ffff8801a700ff00 pmd:1a700f067",
            "addr:00000000009ca000 vm_flags:00100073 anon_vma:ffff8801d16f20e0 mapping: (null) index:9ca",
            "Call Trace:",
            " dump_stack+0x1/0x2",
            " print_bad_pte+0x1/0x2",
            " unmap_page_range+0x1/0x2",
            " exit_mmap+0x1/0x2");
        Assert.Equal("BUG: Bad page map", rep.Title);
        Assert.False(rep.Corrupted);
    }

    [Fact]
    public void Uaccess_get_user_and_put_user_helpers_are_skipped()
    {
        var rep = Parse(
            "BUG: memory leak",
            "unreferenced object 0xffff88006b006340 (size 32):",
            "  backtrace:",
            "    [<000000005cb5aa0e>] kmem_cache_alloc+0x1/0x2",
            "    [<000000001da18740>] __get_user_8+0x1/0x2",
            "    [<000000001da18741>] __put_user_4+0x1/0x2",
            "    [<00000000494d4fe2>] foo_ioctl+0x1/0x2",
            "    [<0000000096a3fef4>] do_syscall_64+0x1/0x2");
        Assert.Equal("memory leak in foo_ioctl", rep.Title);
    }

    [Fact]
    public void Memory_leak_skips_every_frame_naming_alloc_kmem_or_slab()
    {
        var rep = Parse(
            "BUG: memory leak",
            "unreferenced object 0xffff88811e4ab800 (size 2048):",
            "  backtrace:",
            "    [<000000004a3a66c0>] __kmalloc+0x161/0x2c0 mm/slab.c:3669",
            "    [<00000000cc5a7d28>] sk_prot_alloc+0xd6/0x170 net/core/sock.c:1602",
            "    [<000000000c449f88>] sk_alloc+0x35/0x2f0 net/core/sock.c:1656",
            "    [<0000000008b99378>] llc_sk_alloc+0x35/0x170 net/llc/llc_conn.c:950",
            "    [<00000000d4e72aed>] llc_ui_create+0x7b/0x140 net/llc/af_llc.c:173",
            "    [<00000000d0bfef06>] __sock_create+0x164/0x250 net/socket.c:1424");
        Assert.Equal("memory leak in llc_ui_create", rep.Title);
    }
}
