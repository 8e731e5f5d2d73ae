using System.Text.RegularExpressions;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>
/// The Linux oops table (header, title formats, stack rules), derived from the behavioural notes in
/// shared/reference/crash-reports.md and the expected titles of the public corpus.
/// </summary>
internal static class LinuxOopses
{
    private const string Ws = "[\t\n\v\f\r ]";
    public const string RiscvStart = @"^ *status: [0-9a-f]{16} badaddr: [0-9a-f]{16} cause: [0-9a-f]{16}";
    private const string CallTraceRe = @"Call (?:T|t)race:|Backtrace:";

    private static readonly string[] RipLiterals = ["IP", "pc ", "PC is at", "ELR is at"];

    /// <summary>The call-trace marker part, shared by the formats (guarded by its literals).</summary>
    private static readonly Regex CallTrace = Rx.Guard(Rx.C(CallTraceRe), "Call Trace:", "Call trace:", "Backtrace:");

    /// <summary>Lockdep's "at: func+0x.." part, shared by the formats (guarded by its literal).</summary>
    private static readonly Regex LockAt = Rx.Guard(Rx.C(@"at: (?:{{PC}} +)?{{FUNC}}"), "at: ");

    private static readonly Regex RipLineRe = Rx.Guard(Rx.C(
        @"(?:IP|NIP|pc |PC is at|ELR is at):? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|(?:[0-9]+:)?0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\[\< *\(null\)\>\] +\(null\)|[0-9]+: +\(null\))"), RipLiterals);

    /// <summary>
    /// Frame lines: "[&lt;pc&gt;] func+0x1/0x2", "func+0x1/0x2", ARM "(func) from (func+..)". These are what the corruption
    /// check (crash-reports.md §3.10) accepts as a stack frame: a register dump's <c>RIP:</c> line is not one, so a stack
    /// marker followed only by a register dump is "no frames in a stack trace".
    /// </summary>
    public static readonly Regex[] FrameRes =
    [
        Rx.Compiled(@"^ *(?:{{PC}} ){0,2}{{FUNC}}"),
        Rx.Guard(Rx.C(@"^ *{{PC}} ?\(([a-zA-Z0-9_]+)(?:\.[a-zA-Z0-9_.]*)?\) from {{PC}} ?\({{FUNC}}"), " from "),
        Rx.Guard(Rx.C(@"LR is at {{FUNC}}"), "LR is at "),
        Rx.Guard(Rx.C(@"PC is at {{FUNC}}"), "PC is at "),
        Rx.Guard(Rx.C(@"^ *(?:{{PC}} )?\[<[0-9a-f]+>\] \(?{{FUNC}}"), "[<"),
        Rx.Guard(Rx.C(@"^ *\[<[0-9a-f]+>\] {{FUNC}}"), "[<"),
    ];

    /// <summary>
    /// The frame regexes of a STACK part (§3.8): <see cref="FrameRes"/> plus the RIP/PC line, so that an interrupted
    /// function (<c>RIP: 0010:smp_call_function_single+..</c> after <c>apic_timer_interrupt</c>) is a candidate frame.
    /// </summary>
    public static readonly Regex[] StackFrameRes = [.. FrameRes, RipLineRe];

    /// <summary>
    /// Lines that start a new stack, each with a literal that every match of its pattern contains (the literal lets
    /// the per-line check skip the regex for the many lines that cannot match; <c>StackStartTests</c> checks each pair).
    /// </summary>
    public static readonly (string Literal, Regex Re)[] StackStarts =
    [
        ("race:", Rx.C(@"Call (?:T|t)race:")),
        ("Allocated:", Rx.C(@"Allocated:")),
        ("Allocated by task ", Rx.C(@"Allocated by task [0-9]+:")),
        ("Freed:", Rx.C(@"Freed:")),
        ("Freed by task ", Rx.C(@"Freed by task [0-9]+:")),
        ("Last potentially related work creation:", Rx.C(@"Last potentially related work creation:")),
        ("Second to last potentially related work creation:", Rx.C(@"Second to last potentially related work creation:")),
        ("The buggy address belongs to", Rx.C(@"The buggy address belongs to")),
        ("Memory state around the buggy address", Rx.C(@"Memory state around the buggy address")),
        ("backtrace", Rx.C(@"(?:^|[^k] )backtrace(?: \(crc [0-9a-f]+\))?:")),
        ("Backtrace:", Rx.C(@"Backtrace:")),
        ("Uninit was stored to memory at", Rx.C(@"Uninit was stored to memory at")),
        ("Exception stack", Rx.C(@"Exception stack")),
        ("status: ", Rx.C(RiscvStart)),
    ];

    /// <summary>The stack-start regexes of <see cref="StackStarts"/>, in order.</summary>
    public static readonly Regex[] StackStartRes = [.. StackStarts.Select(s => s.Re)];

    /// <summary>The literal of <see cref="CorruptedLines"/>: a line without it is never a corrupting line.</summary>
    public const string CorruptedLineLiteral = "should_fail";

    public static readonly Regex[] CorruptedLines =
    [
        Rx.C(@"^ *(?:{{PC}} )?should_fail(?:slab|_usercopy|_alloc_page)?(?:\.|\+)0x"),
    ];

    /// <summary>Frames that never make a good title (sanitizers, printing, locking, allocation, generic helpers).</summary>
    public static readonly string[] GlobalSkip =
    [
        "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan_setup_watchpoint",
        "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time",
        "(read|write)_once_.*nocheck", "print_address_description", "panic", "invalid_op", "report_bug", "fixup_bug",
        "print_report", "print_usage_bug", "do_error", "_trap$|do_trap", "show_stack", "dump_stack", "walk_stack",
        "dump_backtrace", "warn_slowpath", "warn_alloc", "warn_bogus", "__warn", "alloc_page", "k?v?(?:m|z|c)alloc",
        "krealloc", "kmem_cache", "allocate_slab", "__alloc_frozen_pages_noprof", "folio_(?:alloc|unlock)",
        "filemap_alloc_folio", "__filemap_get_folio", "find_or_create_page", "do_read_cache_folio",
        "read_cache_page", "pagecache_get_page", "grab_cache_page_write_begin", "slab_", "debug_object",
        "timer_is_static_object", "work_is_static_object", "__might_fault", "print_unlock", "imbalance_bug",
        "lockdep", "bh_enable", "bh_disable", "perf_trace", "lock_acquire", "lock_release", "lock_class",
        "mark_lock", "(reacquire|mark)_held_locks", "raw_spin_rq", "spin_lock", "spin_trylock", "spin_unlock",
        "read_lock", "read_trylock", "write_lock", "write_trylock", "read_unlock", "write_unlock", "^down$",
        "down_read", "down_write", "down_read_trylock", "down_write_trylock", "down_trylock", "up_read", "up_write",
        "^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
        "atomic(64)?_(dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)", "(set|clear|change|test)_bit",
        "__wake_up", "^refcount_", "^kref_", "ref_tracker", "seqprop_assert", "memcpy", "memcmp", "memset", "memchr",
        "memmove", "memdup", "strcmp", "strncmp", "strcpy", "strlcpy", "strncpy", "strscpy", "strlen", "strstr",
        "strnstr", "strnlen", "strchr", "strdup", "strndup", "copy_to_user", "copy_from_user", "copy_to_iter",
        "copy_from_iter", "copy_page_to_iter", "copy_page_from_iter", "copy_folio_to_iter", "^copyin$", "^copyout$",
        "put_user", "get_user", "might_fault", "might_sleep", "list_add", "list_del", "list_replace", "list_move",
        "list_splice", "^rb_", "^__rb_", "_indirect_thunk_", "string", "pointer", "snprintf", "scnprintf",
        "kasprintf", "kvasprintf", "printk", "va_format", "dev_info", "dev_notice", "dev_warn", "dev_err",
        "dev_alert", "dev_crit", "dev_emerg", "program_check_exception", "program_check_common", "del_timer",
        "flush_work", "__cancel_work_timer", "cancel_work_sync", "try_to_grab_pending", "flush_workqueue",
        "drain_workqueue", "destroy_workqueue", "queue_work", "finish_wait", "kthread_stop", "kobject_",
        "add_uevent_var", "get_device_parent", "device_add", "device_del", "device_unregister", "device_destroy",
        "device_release", "devres_release_all", "hwrng_unregister", "i2c_del_adapter", "__unregister_client",
        "device_for_each_child", "rollback_registered", "unregister_netdev", "sysfs_remove", "device_remove_file",
        "tty_unregister_device", "dummy_urb_enqueue", "usb_kill_urb", "usb_kill_anchored_urbs", "usb_control_msg",
        "usb_hcd_submit_urb", "usb_submit_urb", "^complete$", "wait_for_completion", "^kv?free$", "kfree_skb",
        "readb$", "readw$", "readl$", "readq$", "writeb$", "writew$", "writel$", "writeq$", "logic_in", "logic_out",
        "^crc\\d+", "crc_itu_t", "__might_resched", "assertfail", "^iput$", "^iput_final$", "^ihold$",
        "hex_dump_to_buffer", "print_hex_dump", "^klist_", "(trace|lockdep)_(hard|soft)irq", "^(un)?lock_page",
        "stack_trace_consume_entry", "arch_stack_walk", "stack_trace_save", "insert_work", "__queue_delayed_work",
        "queue_delayed_work_on", "ida_free", "do_(kernel|translation)_fault", "do_mem_abort", "el1_abort",
        "el1h_64_sync(?:_handler)?", "print_tainted", "xas_(?:start|load|find)", "find_lock_entries",
        "truncate_inode_pages_range", "__phys_addr", "__fortify_report", "cleanup_srcu_struct", "rhashtable_lookup",
        "extract_(user|iter)_to_sg", "drop_nlink", "^get_taint$", "^put_device$", "lock_timer_base",
        "__timer_delete_sync", "sk_stop_timer_sync", "__mod_timer", "fast_dput", "dput", "mark_buffer_dirty",
    ];

    private static readonly Regex?[] CallTraceStack = [CallTrace, null];
    private static readonly Regex RipRe = RipLineRe;


    private static Regex?[] RipCallTrace() => [RipRe, CallTrace, null];

    private static StackSpec RipStack(params string[] skip) => new() { Parts = RipCallTrace(), Parts2 = CallTraceStack, ExtraSkip = skip };

    private static StackSpec TraceStack(params string[] skip) => new() { Parts = CallTraceStack, ExtraSkip = skip };

    private static readonly string WarnPart = @"(?:" + RipRe + @"|--- interrupt: [0-9a-f]+ at {{FUNC}})";


    private static StackSpec WarnStack(params string[] skip) => new()
    {
        Parts = [Rx.Guard(Rx.C(WarnPart), [.. RipLiterals, "--- interrupt: "]), null],
        Parts2 = CallTraceStack,
        ExtraSkip = skip,
    };

    private static StackSpec StallStack(params Regex?[] parts) => new() { Parts = parts, Extractor = Extractors.Stall };


    private static OopsFormat F(string title, string fmt, StackSpec? stack = null, string[]? alt = null, string? report = null, bool noStack = false, bool corrupted = false) => new()
    {
        Title = Rx.C(title),
        TitleLiteral = Rx.LeadingLiteral(Rx.Expand(title)),
        Report = report is null ? null : Rx.C(report),
        Fmt = fmt,
        Alt = alt ?? [],
        Stack = stack,
        NoStackTrace = noStack,
        Corrupted = corrupted,
    };


    private static readonly Regex KasanPart = Rx.C(@"BUG: KASAN: (?:[a-z\-]+) in {{FUNC}}");
    private static readonly Regex KasanFreePart = Rx.C(@"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}");
    private static readonly Regex KmsanOrigin = Rx.C(@"(Local variable .* created at:|Uninit was created at:)");
    private static readonly Regex KfencePart = Rx.C(@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}");
    private static readonly Regex PcFunc = Rx.C(@"{{PC}} +{{FUNC}}");

    private static StackSpec Spec(Regex?[] parts, params string[] skip) => new() { Parts = parts, ExtraSkip = skip };

    public static readonly OopsGroup[] Groups = Build();

    private static OopsGroup[] Build()
    {
        var groups = new List<OopsGroup>
        {
            new()
            {
                Header = "BUG:",
                Formats =
                [
                    F(@"BUG: KASAN:", "KASAN: %[1]v %[3]v in %[4]v",
                        Spec([KasanPart, CallTrace, null], "kernel_fault", "tag_check", "mem_abort", "^el1_", "^el1h_"),
                        alt: ["bad-access in %[4]v"],
                        report: @"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)"),
                    F(@"BUG: KASAN:", "KASAN: invalid-free in %[2]v",
                        Spec([KasanFreePart, CallTrace, null], "slab_", "kfree", "vunmap", "vfree"),
                        alt: ["invalid-free in %[2]v"],
                        report: @"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}"),
                    F(@"BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+)", "KASAN: %[1]v %[2]v"),
                    F(@"BUG: KASAN: (.*)", "KASAN: %[1]v", corrupted: true),
                    F(@"BUG: KMSAN: kernel-usb-infoleak", "KMSAN: kernel-usb-infoleak in %[2]v",
                        Spec([null, KmsanOrigin, null], "alloc_skb", "usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg"),
                        alt: ["KMSAN origin in %[3]v"], report: @"BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}", noStack: true),
                    F(@"BUG: KMSAN:", "KMSAN: %[1]v in %[3]v",
                        Spec([null, KmsanOrigin, null], "alloc_skb", "netlink_ack", "netlink_rcv_skb", "_encrypt$", "^(?:crypto|cipher|drbg|rng)_"),
                        alt: ["bad-access in %[3]v"], report: @"BUG: KMSAN: ([a-z\-]+) in {{FUNC}}", noStack: true),
                    F(@"BUG: KCSAN: data-race", "KCSAN: %[1]v", report: @"BUG: KCSAN: (.*)", noStack: true),
                    F(@"BUG: KCSAN:", "KCSAN: %[1]v", report: @"BUG: KCSAN: (.*)", noStack: true),
                    F(@"BUG: KFENCE: (use-after-free|out-of-bounds) (read|write) in {{FUNC}}", "KFENCE: %[1]v %[2]v in %[4]v",
                        Spec([KfencePart, null]), alt: ["bad-access in %[4]v"]),
                    F(@"BUG: KFENCE: invalid free in {{FUNC}}", "KFENCE: invalid free in %[2]v",
                        Spec([KfencePart, null]), alt: ["invalid-free in %[2]v"], noStack: true),
                    F(@"BUG: KFENCE: invalid (read|write) in {{FUNC}}", "KFENCE: invalid %[1]v in %[3]v",
                        Spec([KfencePart, null]), alt: ["bad-access in %[3]v"]),
                    F(@"BUG: KFENCE: memory corruption in {{FUNC}}", "KFENCE: memory corruption in %[2]v",
                        Spec([KfencePart, null]), noStack: true),
                    F(@"BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)",
                        "BUG: unable to handle kernel paging request in %[1]v", RipStack(), alt: ["bad-access in %[1]v"]),
                    F(@"BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)",
                        "BUG: unable to handle kernel NULL pointer dereference in %[1]v", RipStack(), alt: ["bad-access in %[1]v"]),
                    F(@"BUG: (?:unable to handle kernel|Unable to handle kernel)", "BUG: unable to handle kernel", corrupted: true),
                    F(@"BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|cpu recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)",
                        "BUG: %[1]v %[2]v in %[3]v", TraceStack("spin_", "_lock", "_unlock")),
                    F(@"BUG: soft lockup", "BUG: soft lockup in %[1]v", StallStack(RipRe, CallTrace, null), alt: ["stall in %[1]v"]),
                    F(@"BUG: .*still has locks held!", "BUG: still has locks held in %[1]v",
                        report: @"BUG: .*still has locks held!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
                    F(@"BUG: scheduling while atomic", "BUG: scheduling while atomic in %[1]v", TraceStack("schedule")),
                    F(@"BUG: lock held when returning to user space", "BUG: lock held when returning to user space in %[1]v",
                        report: @"BUG: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}", noStack: true),
                    F(@"BUG: bad unlock balance detected!", "BUG: bad unlock balance in %[1]v", Spec([PcFunc, CallTrace, null])),
                    F(@"BUG: held lock freed!", "BUG: held lock freed in %[1]v", report: @"BUG: held lock freed!(?:.*\n)+?.*{{PC}} +{{FUNC}}"),
                    F(@"BUG: Bad rss-counter state", "BUG: Bad rss-counter state", noStack: true),
                    F(@"BUG: non-zero nr_ptes on freeing mm", "BUG: non-zero nr_ptes on freeing mm", noStack: true),
                    F(@"BUG: non-zero nr_pmds on freeing mm", "BUG: non-zero nr_pmds on freeing mm", noStack: true),
                    F(@"BUG: Dentry .* still in use", "BUG: Dentry still in use in %[1]v",
                        alt: ["BUG: Dentry still in use [%[1]v of %[2]v]"], report: @"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]"),
                    F(@"BUG: Bad page (state|cache)", "BUG: Bad page %[1]v in %[2]v",
                        Spec([Rx.C(@"page last allocated"), null], "(free|put|get|update|release)_page", "free_unref", "^_*folio", "truncate_inode_pages", "page_frag_free", "alloc", "vmap", "page_owner")),
                    F(@"BUG: Bad page map", "BUG: Bad page map"),
                    F(@"BUG: workqueue lockup", "BUG: workqueue lockup", noStack: true),
                    F(@"BUG: sleeping function called from invalid context at (.*)", "BUG: sleeping function called from invalid context in %[2]v", TraceStack()),
                    F(@"BUG: using ([a-z_]+)\(\) in preemptible", "BUG: using %[1]v() in preemptible code in %[2]v",
                        TraceStack("dump_stack", "preemption", "preempt", "debug_", "processor_id", "this_cpu")),
                    F(@"BUG: workqueue leaked lock or atomic", "BUG: workqueue leaked lock or atomic in %[1]v",
                        report: @"BUG: workqueue leaked lock or atomic(?:.*\n)+?.*last function: ([a-zA-Z0-9_]+)\n", noStack: true),
                    F(@"BUG: memory leak", "memory leak in %[1]v",
                        Spec([Rx.C(@"backtrace(?: \(crc [[:xdigit:]]*\))?:"), null], "kmemleak", "mmap", "kmem", "slab", "alloc", "create_object", "idr_get", "list_lru_init", "kasprintf", "kvasprintf", "pcpu_create", "strdup", "strndup", "memdup")),
                    F(@"BUG: .*stack guard page was hit at", "BUG: stack guard page was hit in %[1]v", StallStack(RipRe, CallTrace, null), alt: ["stack-overflow in %[1]v"]),
                    F(@"BUG: Invalid wait context", "WARNING: locking bug in %[1]v", TraceStack("lock_sock", "release_sock")),
                    F(@"BUG:" + Ws + "*(?:\n|\\z)", "BUG: corrupted", corrupted: true),
                ],
                Suppressions =
                [
                    Rx.C(@"ODEBUG:"),
                    Rx.C(@"Boot_DEBUG:"),
                    Rx.C(@"xlog_status:"),
                    Rx.C(@"DEBUG:"),
                    Rx.C(@"BUG: no syscalls can create resource"),
                ],
            },
            new()
            {
                Header = "WARNING:",
                Formats =
                [
                    F(@"WARNING: .*lib/debugobjects\.c.* (?:debug_print|debug_check|at)", "WARNING: ODEBUG bug in %[1]v",
                        WarnStack("debug_", "rcu", "hrtimer_", "timer_", "work_", "percpu_", "vunmap", "vfree", "__free_", "debug_check", "kobject_")),
                    F(@"WARNING: .*mm/usercopy\.c.* (?:usercopy_warn|at)", "WARNING: bad usercopy in %[1]v", WarnStack("usercopy", "__check")),
                    F(@"WARNING: .*lib/kobject\.c.* (?:kobject_|at)", "WARNING: kobject bug in %[1]v", WarnStack("kobject_")),
                    F(@"WARNING: .*fs/proc/generic\.c.* (?:proc_register|at)", "WARNING: proc registration bug in %[1]v", WarnStack("proc_")),
                    F(@"WARNING: .*lib/refcount\.c.* (?:refcount_|at)", "WARNING: refcount bug in %[1]v", WarnStack("refcount", "kobject_")),
                    F(@"WARNING: .*kernel/locking/lockdep\.c.*lock_", "WARNING: locking bug in %[1]v", WarnStack("lock_sock", "release_sock")),
                    F(@"WARNING: .*still has locks held!", "WARNING: still has locks held in %[1]v",
                        report: @"WARNING: .*still has locks held!(?:.*\n)+?.*at: {{FUNC}}"),
                    F(@"WARNING: Nested lock was not taken", "WARNING: nested lock was not taken in %[1]v", WarnStack()),
                    F(@"WARNING: lock held when returning to user space", "WARNING: lock held when returning to user space in %[1]v",
                        report: @"WARNING: lock held when returning to user space(?:.*\n)+?.*leaving the kernel with locks still held(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}", noStack: true),
                    F(@"WARNING: .*mm/.*\.c.* k?.?malloc", "WARNING: kmalloc bug in %[1]v", WarnStack("kmalloc", "krealloc", "slab", "kmem")),
                    F(@"WARNING: .*mm/vmalloc.c.*__vmalloc_node", "WARNING: zero-size vmalloc in %[1]v", WarnStack()),
                    F(@"WARNING: .* usb_submit_urb", "WARNING in %[1]v/usb_submit_urb",
                        WarnStack("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg")),
                    F(@"WARNING: {{SRC}} at 0x\d+, CPU#\d+", "WARNING in %[2]v", WarnStack()),
                    F(@"WARNING: .* at {{SRC}} {{FUNC}}", "WARNING in %[3]v", WarnStack()),
                    F(@"WARNING: {{SRC}} at {{FUNC}}", "WARNING in %[3]v", WarnStack()),
                    F(@"WARNING: \[.*\] {{SRC}} at {{FUNC}}.*", "WARNING in %[3]v", WarnStack()),
                    F(@"WARNING: possible circular locking dependency detected", "possible deadlock in %[1]v",
                        Spec([LockAt, LockAt, null], "process_one_work", "flush_workqueue", "drain_workqueue", "destroy_workqueue"),
                        report: @"WARNING: possible circular locking dependency detected(?:.*\n)+?.*is trying to acquire lock"),
                    F(@"WARNING: possible irq lock inversion dependency detected", "possible deadlock in %[1]v",
                        report: @"WARNING: possible irq lock inversion dependency detected(?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),
                    F(@"WARNING: .*-safe -> .*-unsafe lock order detected", "possible deadlock in %[1]v",
                        Spec([Rx.C(@"which became (?:.*) at:"), null])),
                    F(@"WARNING: possible recursive locking detected", "possible deadlock in %[1]v",
                        report: @"WARNING: possible recursive locking detected(?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),
                    F(@"WARNING: inconsistent lock state", "inconsistent lock state in %[2]v", TraceStack(),
                        report: @"WARNING: inconsistent lock state(?:.*\n)+?.*takes(?:.*\n)+?.*at: (?:{{PC}} +)?{{FUNC}}"),
                    F(@"WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage in %[2]v", TraceStack("rcu", "kmem", "slab"),
                        report: @"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
                    F(@"WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value", "WARNING: kernel stack regs has bad '%[1]v' value", noStack: true),
                    F(@"WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value", "WARNING: kernel stack frame pointer has bad value", noStack: true),
                    F(@"WARNING: bad unlock balance detected!", "WARNING: bad unlock balance in %[1]v", Spec([PcFunc, CallTrace, null])),
                    F(@"WARNING: held lock freed!", "WARNING: held lock freed in %[1]v",
                        report: @"WARNING: held lock freed!(?:.*\n)+?.*at:(?: {{PC}})? +{{FUNC}}"),
                    F(@"WARNING: kernel stack regs .* has bad 'bp' value", "WARNING: kernel stack regs has bad value", noStack: true),
                    F(@"WARNING: kernel stack frame pointer .* has bad value", "WARNING: kernel stack regs has bad value", noStack: true),
                    F(@"WARNING:" + Ws + "*(?:\n|\\z)", "WARNING: corrupted", corrupted: true),
                ],
                Suppressions =
                [
                    Rx.C(@"WARNING: /etc/ssh/moduli does not exist, using fixed modulus"),
                    Rx.C(@"WARNING: workqueue cpumask: online intersect > possible intersect"),
                    Rx.C(@"WARNING: [Tt]he mand mount option"),
                    Rx.C(@"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1"),
                    Rx.C(@"WARNING: Unprivileged eBPF is enabled with eIBRS"),
                    Rx.C(@"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size (\((?:\d+)x(?:\d+) vs\. (?:\d+)x(?:\d+)\))"),
                    Rx.C(@"WARNING: See https.* for mitigation options\."),
                    Rx.C(@"WARNING: kernel not compiled with CPU_SRSO"),
                    Rx.C(@"EXT4-[Ff][Ss](?: \(.*\))?:"),
                    Rx.C(@"(?i)warning: .* uses (deprecated v2 capabilities|wireless extensions)"),
                    Rx.C(@"XFS \(\w+\): WARNING"),
                ],
            },
            new()
            {
                Header = "INFO:",
                Formats =
                [
                    F(@"INFO: possible circular locking dependency detected", "possible deadlock in %[1]v",
                        report: @"INFO: possible circular locking dependency detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),
                    F(@"INFO: possible irq lock inversion dependency detected", "possible deadlock in %[1]v",
                        report: @"INFO: possible irq lock inversion dependency detected \](?:.*\n)+?.*just changed the state of lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),
                    F(@"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected", "possible deadlock in %[1]v",
                        report: @"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \](?:.*\n)+?.*is trying to acquire(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),
                    F(@"INFO: possible recursive locking detected", "possible deadlock in %[1]v",
                        report: @"INFO: possible recursive locking detected \](?:.*\n)+?.*is trying to acquire lock(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),
                    F(@"INFO: inconsistent lock state", "inconsistent lock state in %[1]v",
                        report: @"INFO: inconsistent lock state \](?:.*\n)+?.*takes(?:.*\n)+?.*at: {{PC}} +{{FUNC}}"),
                    F(@"INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall", "INFO: rcu detected stall in %[1]v",
                        new StackSpec
                        {
                            Parts = [Rx.C(@"apic_timer_interrupt"), RipRe, null],
                            Parts2 = [Rx.C(@"(?:apic_timer_interrupt|Exception stack|el1h_64_irq)"), null],
                            ExtraSkip = ["apic_timer_interrupt", "rcu"],
                            Extractor = Extractors.Stall,
                        },
                        alt: ["stall in %[1]v"]),
                    F(@"INFO: trying to register non-static key", "INFO: trying to register non-static key in %[1]v", TraceStack("stack", "lock", "IRQ")),
                    F(@"INFO: suspicious RCU usage", "INFO: suspicious RCU usage in %[2]v", TraceStack("rcu", "kmem", "slab"),
                        report: @"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
                    F(@"INFO: task {{TASK}} blocked (?:in I/O wait )?for more than [0-9]+ seconds", "INFO: task hung in %[1]v",
                        new StackSpec { Parts = CallTraceStack, Extractor = Extractors.HungTask }, alt: ["hang in %[1]v"]),
                    F(@"INFO: task {{TASK}} can't die for more than .* seconds", "INFO: task can't die in %[1]v", TraceStack("schedule"),
                        alt: ["hang in %[1]v"]),
                    F(@"INFO: (Freed|Allocated) in (.*)", "INFO: %[1]v in %[2]v", corrupted: true),
                    F(@"INFO:" + Ws + "*(?:\n|\\z)", "INFO: corrupted", corrupted: true),
                ],
                Suppressions =
                [
                    Rx.C(@"INFO: lockdep is turned off"),
                    Rx.C(@"INFO: Stall ended before state dump start"),
                    Rx.C(@"INFO: NMI handler"),
                    Rx.C(@"INFO: recovery required on readonly filesystem"),
                    Rx.C(@"(handler|interrupt).*took too long"),
                    Rx.C(@"INFO: sys_.* is not present in /proc/kallsyms"),
                    Rx.C(@"INFO: no syscalls can create resource"),
                    Rx.C(@"rmt_storage:INFO:"),
                    Rx.C(@"_INFO:"),
                ],
            },
            G("Unable to handle kernel",
                F(@"Unable to handle kernel (paging request|NULL pointer dereference|access to user memory)",
                    "BUG: unable to handle kernel %[1]v in %[2]v", RipStack(), alt: ["bad-access in %[2]v"])),
            G("general protection fault",
                F(@"general protection fault.*:", "general protection fault in %[1]v", RipStack(), alt: ["bad-access in %[1]v"]))
                // User-space traps: the catalogue's form names the faulting file ("… error:0 in libc.so[…]"); a static
                // binary's trap line ends at "error:N" ("traps: repro[20] general protection fault ip:… sp:… error:0"),
                // seen on a real VM console (realbugs unix_shutdown, console-fixed-userspace-segv-noise.txt). A kernel GPF
                // never prints "ip:… sp:…" on its header line.
                .Suppress(@"general protection fault .* error:\d+ in ", @"general protection fault ip:[0-9a-f]+ sp:[0-9a-f]+ error:"),
            G("stack segment: ",
                F(@"stack segment: ", "stack segment fault in %[1]v", RipStack())),
            G("Kernel panic",
                F(@"Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in %[1]v",
                    report: @"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}", noStack: true),
                F(@"Kernel panic - not syncing: stack-protector:", "kernel panic: stack is corrupted in %[1]v", TraceStack("stack_chk"),
                    report: @"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+"),
                F(@"Kernel panic - not syncing: corrupted stack end", "kernel panic: corrupted stack end in %[1]v",
                    new StackSpec { Parts = CallTraceStack, Extractor = Extractors.Stall, ExtraSkip = ["schedule", "retint_kernel"] },
                    alt: ["stack-overflow in %[1]v"], report: @"Kernel panic - not syncing: corrupted stack end detected inside scheduler"),
                F(@"Kernel panic - not syncing: kernel stack overflow", "kernel stack overflow in %[1]v",
                    new StackSpec { Parts = CallTraceStack, Extractor = Extractors.Stall, ExtraSkip = ["bad_stack"] }, alt: ["stack-overflow in %[1]v"]),
                F(@"Kernel panic - not syncing: Attempted to kill init!", "kernel panic: Attempted to kill init!"),
                F(@"Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+", "kernel panic: Couldn't open N_TTY ldisc"),
                F(@"Kernel panic - not syncing: Fatal exception", "kernel panic: Fatal exception", corrupted: true),
                F(@"Kernel panic - not syncing: panic_on_warn set", "kernel panic: panic_on_warn set", corrupted: true),
                F(@"Kernel panic - not syncing: hung_task: blocked tasks", "kernel panic: hung_task: blocked tasks", corrupted: true),
                F(@"Kernel panic - not syncing: (.*)", "kernel panic: %[1]v", noStack: true)),
            G("PANIC: double fault",
                F(@"PANIC: double fault", "PANIC: double fault in %[1]v", Spec([RipRe]))),
            G("rust_kernel: panicked",
                F(@"rust_kernel: panicked", "%[1]v in %[2]v", TraceStack(Regex.Escape("__rustc::rust_begin_unwind")),
                    report: @"rust_kernel: panicked at [^\n]*?\n(.+?)\n")),
            G("kernel BUG",
                F(@"kernel BUG at mm/usercopy\.c", "BUG: bad usercopy in %[1]v", TraceStack("usercopy", "__check")),
                F(@"kernel BUG at lib/list_debug\.c", "BUG: corrupted list in %[1]v", TraceStack(), alt: ["bad-access in %[1]v"]),
                F(@"kernel BUG at (.*)", "kernel BUG in %[2]v", RipStack("^skb_"))),
            G("Kernel BUG",
                F(@"Kernel BUG (.*)", "kernel BUG %[1]v")),
            G("BUG kmalloc-",
                F(@"BUG kmalloc-.*: Object already free", "BUG: Object already free")),
            G("divide error:",
                F(@"divide error:", "divide error in %[1]v", Spec([RipRe]))),
            G("divide_error:",
                F(@"divide_error:", "divide error in %[1]v", Spec([RipRe]))),
            G("invalid opcode:",
                F(@"invalid opcode:", "invalid opcode in %[1]v", Spec([RipRe]))),
            G("int3:",
                F(@"int3:", "int3 in %[1]v", RipStack())),
            G("UBSAN:",
                F(@"UBSAN:", "UBSAN: undefined-behaviour in %[1]v", TraceStack("ubsan", "overflow"), report: @"UBSAN: Undefined behaviour in"),
                F(@"UBSAN: array-index-out-of-bounds in", "UBSAN: array-index-out-of-bounds in %[1]v", TraceStack("ubsan", "overflow"),
                    alt: ["bad-access in %[1]v"]),
                F(@"UBSAN:", "UBSAN: %[1]v in %[2]v", TraceStack("ubsan", "overflow"), report: @"UBSAN: (.*?) in")),
            G("Booting the kernel.",
                F(@"^Booting the kernel", "unexpected kernel reboot", noStack: true))
                .Suppress(@"Parsing ELF|Decompressing Linux|Unknown parameter '"),
            G("unregister_netdevice: waiting for",
                F(@"unregister_netdevice: waiting for", "unregister_netdevice: waiting for DEV to become free", noStack: true)),
            G("VFS: Close: file count is 0",
                F(@"VFS: Close: file count is 0", "VFS: Close: file count is zero (use-after-free)", noStack: true)),
            G("VFS: Busy inodes after unmount",
                F(@"VFS: Busy inodes after unmount", "VFS: Busy inodes after unmount (use-after-free)", noStack: true)),
            G("Internal error:",
                F(@"Internal error:", "Internal error in %[1]v", RipStack(), alt: ["bad-access in %[1]v"])),
            G("Unhandled fault:",
                F(@"Unhandled fault:", "Unhandled fault in %[1]v", RipStack(), alt: ["bad-access in %[1]v"])),
            G("Alignment trap:",
                F(@"Alignment trap:", "Alignment trap in %[1]v", RipStack())),
            G("trusty: panic",
                F(@"trusty: panic.* ASSERT FAILED", "trusty: ASSERT FAILED: %[1]v",
                    report: @"trusty: panic \(.*?\):(?: DEBUG)? ASSERT FAILED at \(.*?\): (.+)", noStack: true),
                F(@"trusty: panic.* ASSERT FAILED.*: *(.*)", "trusty: ASSERT FAILED: %[1]v", corrupted: true),
                F(@"trusty: panic", "trusty: panic: %[1]v", report: @"trusty: panic \(.*?\): (.+)", noStack: true)),
            // syzkaller / Go failures, after the Linux groups.
            G("fatal error:",
                F(@"fatal error:", "go runtime error", noStack: true))
                .Suppress(@"ALSA", @"fatal error: cannot create timer"),
            G("SYZFAIL:",
                F(@"SYZFAIL:(.*)", "SYZFAIL:%[1]v", noStack: true)),
            G("SYZFATAL:",
                F(@"SYZFATAL:(.*)()", "SYZFATAL:%[1]v", noStack: true, alt: ["SYZFATAL%[2]v"])),
            G("panic:",
                F(@"panic: Sentry detected .* stuck task", "panic: Sentry detected stuck tasks", noStack: true),
                F(@"panic:(.*)", "panic:%[1]v", noStack: true))
                .Suppress(@"_panic:", @"xlog_status:", @"ddb\.onpanic:", @"evtlog_status:"),
        };
        foreach (var g in groups)
        {
            g.Init();
            foreach (var f in g.Formats)
            {
                foreach (var st in new[] { f.Stack })
                {
                    if (st is null)
                    {
                        continue;
                    }
                    st.ExtraSkipRe = st.ExtraSkip.Length == 0 ? null : new Regex(string.Join("|", st.ExtraSkip), RegexOptions.CultureInvariant | RegexOptions.Compiled, Rx.Timeout);
                }
            }
        }
        return [.. groups];
    }

    private static OopsGroup G(string header, params OopsFormat[] formats) => new() { Header = header, Formats = formats };

    /// <summary>Lines where a second report starts but which do not count as one (§3.4).</summary>
    public static readonly string[] ReportStartIgnores =
    [
        "invalid opcode: 0000", "Kernel panic - not syncing", "unregister_netdevice: waiting for", "PANIC: double fault", "Internal error:",
    ];

    /// <summary>Info messages that carry a stack and so end the title window (§3.4).</summary>
    public static readonly string[] InfoWithStack =
    [
        "vmalloc: allocation failure:", "FAULT_INJECTION: forcing a failure", "FAULT_FLAG_ALLOW_RETRY missing",
    ];

    public static readonly string[] StripPrefixes =
    [
        "SYSC_", "SyS_", "__x64_", "__ia32_", "__arm64_", "__riscv_", "____sys_", "___sys_", "__sys_", "__se_",
        "__se_sys_", "__do_sys_", "compat_SYSC_", "compat_SyS_", "ksys_",
    ];
}
