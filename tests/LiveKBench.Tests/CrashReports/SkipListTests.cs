using System.Text;
using System.Text.RegularExpressions;
using LiveKBench.Kernel.CrashReports;

namespace LiveKBench.Tests.CrashReports;

/// <summary>
/// The frame skip vocabulary of crash-report-catalogue.md (§3.7 global list plus each format's own list), one table per
/// format family. Each case is a report whose header lines are printed as the kernel prints them (most are taken from
/// the syzkaller corpus) and whose stack starts with functions the catalogue skips; the title must name the first frame
/// that is not skipped.
/// </summary>
public sealed class SkipListTests
{
    private static readonly Regex Prefix = new(@"^\[ *[0-9.]+\](?:\[ *[CT][0-9]+\])? ", RegexOptions.CultureInvariant);

    /// <summary>Parses the lines as one console of one task: every line gets the same timestamp and task context.</summary>
    private static CrashReport Parse(IEnumerable<string> lines)
    {
        var text = string.Join("\n", lines.Select(l => Prefix.Replace(l, "[  100.000000][ T4270] "))) + "\n";
        var rep = CrashReportParser.Parse(Encoding.Latin1.GetBytes(text));
        Assert.NotNull(rep);
        return rep;
    }

    private static IEnumerable<string> Frames(IEnumerable<string> names) =>
        names.Select(n => "[  100.000000][ T4270]  " + n + "+0x1d1/0x1e0");

    private static readonly string[] Tail =
    [
        "[  100.000000][ T4270]  do_syscall_64+0xcd/0x250",
        "[  100.000000][ T4270]  entry_SYSCALL_64_after_hwframe+0x77/0x7f",
    ];

    /// <summary>Global skips: the first frames are skipped functions, the expected frame follows them.</summary>
    public static TheoryData<string, string> GlobalSkips() => new()
    {
        { "kobject_release,kobject_put,device_destroy", "usbdev_remove" },
        { "usb_kill_anchored_urbs,usb_kill_urb", "hdpvr_disconnect" },
        { "crc16,crc_itu_t", "ext4_group_desc_csum" },
        { "xas_start,xas_load,find_lock_entries,truncate_inode_pages_range", "ext4_evict_inode" },
        { "copy_page_to_iter,copy_folio_to_iter", "filemap_read" },
        { "cleanup_srcu_struct", "kvm_destroy_vm" },
        { "__might_resched,__might_fault,_copy_to_user", "sock_ioctl" },
        { "memcpy,strscpy,seq_string_show", "tun_chr_ioctl" },
        { "__kasan_check_read,kmsan_report,dump_stack_lvl", "nfc_llcp_recv" },
        { "mutex_lock_nested,__mutex_lock,_raw_spin_lock_irqsave,lock_acquire", "hci_dev_do_close" },
        { "kfree,kvfree,put_device,iput", "fuse_release" },
        { "atomic_fetch_add,test_and_set_bit,refcount_inc,kref_get", "tcp_connect" },
        { "__do_kernel_fault,do_translation_fault,do_mem_abort,el1_abort,el1h_64_sync_handler", "binder_release" },
    };

    [Theory]
    [MemberData(nameof(GlobalSkips))]
    public void Sleeping_function_title_names_the_first_frame_the_global_list_does_not_skip(string skipped, string expected)
    {
        // "BUG: sleeping function called from invalid context" takes its frame from the call trace with no skip of its own.
        var rep = Parse([
            "[  130.789977] BUG: sleeping function called from invalid context at mm/slab.h:420",
            "[  130.789977] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 4270, name: syz-executor",
            "[  130.789977] Call Trace:",
            "[  130.789977]  <TASK>",
            .. Frames(skipped.Split(',')),
            .. Frames([expected]),
            .. Tail,
        ]);
        Assert.Equal("BUG: sleeping function called from invalid context in " + expected, rep.Title);
    }

    /// <summary>BUG: family: KASAN, KMSAN, memory leak, preemptible, scheduling while atomic, spinlock.</summary>
    public static TheoryData<string[], string, string> BugFamily() => new()
    {
        {
            ["[   50.583499] BUG: KASAN: use-after-free in memcpy+0xfb/0x120", "[   50.583499] Read of size 8 at addr ffff88002db3cf50 by task syz/1", "[   50.583499] Call Trace:"],
            "dump_stack_lvl,print_report,kasan_report,__asan_memcpy,memcpy", "KASAN: use-after-free Read in aead_recvmsg"
        },
        {
            ["[  322.962139] BUG: KASAN: double-free or invalid-free in kfree+0x1a3/0x1d0", "[  322.962139] Call Trace:"],
            "kasan_report_invalid_free,slab_free_freelist_hook,kfree,vfree", "KASAN: invalid-free in tipc_bearer_stop"
        },
        {
            ["[  100.000000][ T4270] BUG: KMSAN: uninit-value in aes_encrypt+0x15cc/0x1db0", "[  100.000000][ T4270]  aes_encrypt+0x15cc/0x1db0"],
            "crypto_cipher_encrypt_one,cipher_crypt_one,drbg_kcapi_sym,rng_setkey,crypto_rng_reset", "KMSAN: uninit-value in alg_setkey"
        },
        {
            ["[  100.000000] BUG: memory leak", "[  100.000000] unreferenced object 0xffff888112a6d880 (size 64):", "[  100.000000]   backtrace (crc 1c2a4f5e):"],
            "kmemleak_alloc,slab_post_alloc_hook,__kmalloc_cache_noprof,kstrdup,kvasprintf,idr_get_next", "memory leak in nf_tables_newtable"
        },
        {
            ["[  100.000000] BUG: using smp_processor_id() in preemptible [00000000] code: syz-executor/4270", "[  100.000000] Call Trace:"],
            "dump_stack_lvl,check_preemption_disabled,debug_smp_processor_id,this_cpu_read", "BUG: using smp_processor_id() in preemptible code in kvm_arch_vcpu_load"
        },
        {
            ["[  100.000000] BUG: scheduling while atomic: syz-executor/4270/0x00000002", "[  100.000000] Call Trace:"],
            "__schedule_bug,__schedule,schedule,schedule_timeout", "BUG: scheduling while atomic in rds_send_xmit"
        },
        {
            ["[  100.000000] BUG: spinlock recursion on CPU#0, syz-executor/4270", "[  100.000000] Call Trace:"],
            "spin_dump,do_raw_spin_lock,_raw_spin_lock_bh,queued_write_unlock", "BUG: spinlock recursion in l2tp_tunnel_closeall"
        },
    };

    [Theory]
    [MemberData(nameof(BugFamily))]
    public void Bug_family_title_names_the_first_frame_not_skipped(string[] head, string skipped, string expected)
    {
        var frame = expected[(expected.LastIndexOf(' ') + 1)..];
        var rep = Parse([.. head, .. Frames(skipped.Split(',')), .. Frames([frame]), .. Tail]);
        Assert.Equal(expected, rep.Title);
    }

    /// <summary>WARNING: family: the RIP frame, then the call trace, minus the format's own skips.</summary>
    public static TheoryData<string, string, string, string> WarningFamily() => new()
    {
        { "WARNING: CPU: 0 PID: 4270 at lib/refcount.c:28 refcount_warn_saturate+0x1d1/0x1e0", "refcount_warn_saturate", "kobject_put,refcount_dec_and_test", "WARNING: refcount bug in sock_close" },
        { "WARNING: CPU: 1 PID: 12 at lib/debugobjects.c:514 debug_print_object+0x1a0/0x1e0", "debug_print_object", "debug_check_no_obj_freed,__call_rcu_common,hrtimer_cancel,percpu_free", "WARNING: ODEBUG bug in sk_destruct" },
        { "WARNING: CPU: 0 PID: 12 at drivers/usb/core/urb.c:477 usb_submit_urb+0x119a/0x13c0", "usb_submit_urb", "usb_start_wait_urb,usb_control_msg", "WARNING in hdpvr_probe/usb_submit_urb" },
        { "WARNING: CPU: 1 PID: 6519 at mm/util.c:595 kvmalloc_node+0x13d/0x1a0", "kvmalloc_node", "__kmalloc_node,krealloc,kmem_cache_alloc,slab_alloc", "WARNING: kmalloc bug in bpf_map_area_alloc" },
        { "WARNING: CPU: 0 PID: 4270 at net/core/dev.c:1234 xas_find+0x13d/0x1a0", "xas_find", "xas_load,xas_start", "WARNING in filemap_get_entry" },
    };

    [Theory]
    [MemberData(nameof(WarningFamily))]
    public void Warning_family_title_names_the_first_frame_not_skipped(string header, string rip, string skipped, string expected)
    {
        var frame = expected[(expected.LastIndexOf(' ') + 1)..].Split('/')[0];
        var rep = Parse([
            "[  348.001333][ T4270] " + header,
            "[  348.025522][ T4270] Modules linked in:",
            "[  348.025522][ T4270] RIP: 0010:" + rip + "+0x1d1/0x1e0",
            "[  348.025522][ T4270] Call Trace:",
            .. Frames(skipped.Split(',')),
            .. Frames([frame]),
            .. Tail,
        ]);
        Assert.Equal(expected, rep.Title);
    }

    /// <summary>INFO: family and lockdep: suspicious RCU usage, non-static key, inconsistent lock state, circular locking.</summary>
    public static TheoryData<string[], string, string> InfoFamily() => new()
    {
        {
            ["[  100.000000] WARNING: suspicious RCU usage", "[  100.000000] 6.1.0-syzkaller #0 Not tainted", "[  100.000000] net/core/dev.c:1234 suspicious rcu_dereference_check() usage!", "[  100.000000] Call Trace:"],
            "lockdep_rcu_suspicious,rcu_read_lock_held,kmem_cache_alloc_node", "WARNING: suspicious RCU usage in dev_get_by_index"
        },
        {
            ["[  100.000000] INFO: trying to register non-static key.", "[  100.000000] Call Trace:"],
            "register_lock_class,__lock_acquire,lock_acquire,_raw_spin_lock_irqsave,stack_trace_save", "INFO: trying to register non-static key in mwifiex_unregister_dev"
        },
        {
            ["[  100.000000] WARNING: inconsistent lock state", "[  100.000000] inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.", "[  100.000000] syz/4270 [HC0[0]:SC1[1]:HE1:SE0] takes:", "[  100.000000] ffff88801e2e0c18 (&sk->sk_lock){+.?.}-{2:2}, at: sk_clone_lock+0x1d1/0x1e0", "[  100.000000] Call Trace:"],
            "lock_acquire,_raw_spin_lock,mark_lock", "inconsistent lock state in tcp_v4_rcv"
        },
        {
            ["[  100.000000] WARNING: possible circular locking dependency detected", "[  100.000000] syz-executor/4270 is trying to acquire lock:", "[  100.000000] ffff88801e2e0c18 (wq_completion){+.+.}-{0:0}, at: flush_workqueue+0x1d1/0x1e0", "[  100.000000] but task is already holding lock:", "[  100.000000] ffff88801e2e0c20 (&dev->mutex){+.+.}-{3:3}, at: drain_workqueue+0x1d1/0x1e0", "[  100.000000] which lock already depends on the new lock.", "[  100.000000] -> #1 (&dev->mutex){+.+.}-{3:3}:"],
            "lock_acquire,__mutex_lock,mutex_lock_nested", "possible deadlock in nbd_ioctl"
        },
    };

    [Theory]
    [MemberData(nameof(InfoFamily))]
    public void Info_and_lockdep_title_names_the_first_frame_not_skipped(string[] head, string skipped, string expected)
    {
        var frame = expected[(expected.LastIndexOf(' ') + 1)..];
        var rep = Parse([.. head, .. Frames(skipped.Split(',')), .. Frames([frame]), .. Tail]);
        Assert.Equal(expected, rep.Title);
    }

    /// <summary>The other headers: GPF (RIP frame skipped, so the call trace), kernel BUG, UBSAN, stack-protector panic.</summary>
    public static TheoryData<string[], string, string> OtherHeaders() => new()
    {
        {
            ["[  100.000000] general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN", "[  100.000000] RIP: 0010:strlen+0x1d/0xa0", "[  100.000000] Call Trace:"],
            "strnlen,strscpy", "general protection fault in drm_legacy_newctx"
        },
        {
            ["[   55.290728] kernel BUG at net/core/skbuff.c:84!", "[   55.290728] RIP: 0010:skb_panic+0x1d/0xa0", "[   55.290728] Call Trace:"],
            "skb_put,skb_push", "kernel BUG in ip6_output"
        },
        {
            ["[  100.000000] UBSAN: shift-out-of-bounds in net/core/dev.c:1234:5", "[  100.000000] Call Trace:"],
            "dump_stack_lvl,ubsan_epilogue,__ubsan_handle_shift_out_of_bounds,check_shl_overflow", "UBSAN: shift-out-of-bounds in hfs_bnode_read"
        },
        {
            ["[  100.000000] Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: ffffffff8a1b2c3d", "[  100.000000] Call Trace:"],
            "dump_stack_lvl,panic,__stack_chk_fail", "kernel panic: stack is corrupted in nfc_genl_dump_ses"
        },
    };

    [Theory]
    [MemberData(nameof(OtherHeaders))]
    public void Other_headers_title_names_the_first_frame_not_skipped(string[] head, string skipped, string expected)
    {
        var frame = expected[(expected.LastIndexOf(' ') + 1)..];
        var rep = Parse([.. head, .. Frames(skipped.Split(',')), .. Frames([frame]), .. Tail]);
        Assert.Equal(expected, rep.Title);
    }

    [Fact]
    public void Kmsan_does_not_skip_a_function_merely_named_aes_when_it_is_not_an_encrypt_entry()
    {
        // The catalogue skips "_encrypt$" and the crypto API prefixes, not every "aes*" function.
        var rep = Parse([
            "[  100.000000][ T4270] BUG: KMSAN: uninit-value in aes_expandkey+0x15cc/0x1db0",
            .. Frames(["aes_expandkey", "crypto_aes_set_key"]),
            .. Tail,
        ]);
        Assert.Equal("KMSAN: uninit-value in aes_expandkey", rep.Title);
    }
}
