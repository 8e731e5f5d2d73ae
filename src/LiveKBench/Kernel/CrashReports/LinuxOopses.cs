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
        "__sanitizer", "__asan", "kasan", "hwasan", "__msan", "kmsan", "kcsan", "__tsan", "tsan_", "__ubsan", "ubsan_",
        "check_memory_region", "check_heap_object", "check_object", "read_word_at_a_time", "(?:read|write)_once",
        "print_address_description", "^panic$", "invalid_op", "report_bug", "fixup_bug", "print_report", "print_usage_bug",
        "do_error", "^handle_bug", "^exc_invalid_op", "^asm_exc_invalid_op", "_trap", "show_stack", "dump_stack", "walk_stack",
        "dump_backtrace", "warn_slowpath", "warn_alloc", "warn_bogus", "__warn", "debug_object", "timer_is_static_object",
        "work_is_static_object", "__might_fault", "print_unlock", "imbalance_bug", "lockdep", "bh_enable", "bh_disable",
        "perf_trace", "lock_acquire", "lock_release", "lock_class", "mark_lock", "(?:reacquire|mark)_held_locks",
        "raw_spin_rq", "spin_lock", "spin_trylock", "spin_unlock", "read_lock", "read_trylock", "write_lock",
        "write_trylock", "read_unlock", "write_unlock", "^down$", "down_read", "down_write", "down_trylock", "up_read",
        "up_write", "^mutex_", "^__mutex_", "^rt_mutex_", "owner_on_cpu", "osq_lock", "osq_unlock",
        "atomic(?:64)?_(?:dec|inc|read|set|or|xor|and|add|sub|fetch|xchg|cmpxchg|try)",
        "(?:set|clear|change|test)_bit", "__wake_up", "^sysvec_", "^asm_sysvec_",
        "alloc_page", "k?v?(?:m|z|c)alloc", "krealloc", "kmem_cache", "allocate_slab", "^slab_", "^__slab_",
        "^memcpy", "^memcmp", "^memset", "^memchr", "^memmove", "^strcmp", "^strncmp", "^strlen", "^strnlen", "^strchr",
        "^strsep", "^strncpy", "^strscpy", "^strlcat", "^strlcpy", "^strncat", "^strcat", "^strcpy", "^strstr", "^kstrdup",
        "^csum_partial_copy", "^copy_to_user", "^copy_from_user", "^_copy_to_user", "^_copy_from_user", "^__copy_to_user",
        "^__copy_from_user", "get_user", "put_user", "^copyin", "^copyout", "^copy_user_", "^raw_copy_", "^check_object_size", "^usercopy_",
        "^refcount_", "^kref_", "^kobject_put", "^list_", "^__list_", "^hlist_", "^rb_", "^__rb_",
        "^_?_?dev_printk", "^_?_?printk", "^vprintk", "^_?_?pr_", "^_?_?dev_(?:err|warn|notice|info|emerg|alert|crit)",
        "^_?netdev_(?:err|warn|info|printk)", "^__dynamic_pr_debug",
        "^kfree", "^kvfree", "^__kfree", "^free_object", "^vfree", "^__vunmap", "^kzfree",
        "^__wait_for_common", "^wait_for_completion", "^__flush_work", "^flush_work", "^__cancel_work",
        "^queue_work", "^__queue_work", "^queue_delayed_work", "^mod_timer", "^__mod_timer", "^add_timer", "^del_timer",
        "^rcu_barrier", "apic_timer_interrupt",
        "^preempt_schedule", "^__schedule", "^schedule$", "^schedule_timeout", "^io_schedule", "^irq_exit", "^__local_bh",
        "^_?_?local_irq", "^_?_?raw_", "^trace_hardirqs", "^lockref_", "^__might_sleep", "^___might_sleep",
        "^might_sleep", "^__cant_sleep", "^rcu_lock_", "^rcu_read_", "^__rcu_read_", "^__virt_addr_valid",
        "^__phys_addr", "^page_to_", "^virt_to_", "^_find_next",
        "^skb_put", "^skb_push", "^skb_pull", "^skb_over_panic", "^skb_under_panic", "^skb_panic",
        "^__netdev_alloc_skb", "^__napi_alloc_skb", "^netdev_alloc_skb",
        "^sock_kmalloc", "^sock_kfree", "^kmalloc", "^__kmalloc", "^kmem_", "^kzalloc", "^kcalloc", "^vmalloc",
        "^__vmalloc", "^vzalloc", "^kvmalloc", "^kvzalloc", "^kmemdup", "^memdup_user", "^strndup_user", "^__kmemdup",
        "^__get_free_pages", "^get_zeroed_page", "^__alloc_pages", "^alloc_pages", "^folio_alloc", "^__folio_alloc",
        "^ida_", "^idr_", "^xa_", "^__xa_", "^do_tag_check_fault", "^do_mem_abort", "^el1_", "^el1h_", "^vscnprintf", "^vsprintf", "^dev_vprintk", "^pointer$", "^format_decode", "^copy_from_iter", "^_copy_from_iter", "panic", "assert", "fortify", "print_tainted", "^complete$", "ref_tracker", "do_read_cache_folio", "^read_cache_page", "^pagecache_get_page", "^find_or_create_page", "^grab_cache_page_write_begin", "^filemap_alloc_folio", "^__filemap_get_folio", "alloc_frozen_pages", "^string$", "hex_string", "^strnstr", "^finish_wait", "^prepare_to_wait", "^usb_kill_urb", "^kthread_stop", "^sysfs_remove", "^iput$", "hex_dump", "^rhashtable_lookup", "^__memset", "^__memmove", "^__memcpy", "__do_kernel_fault", "__x86_indirect_thunk", "^klist_", "^device_unregister", "try_to_grab_pending", "^drain_workqueue", "^lock_timer_base", "^vsnprintf", "^snprintf", "^sprintf", "^scnprintf", "_nlink$", "^cancel_work", "^cancel_delayed_work", "^flush_(?:delayed_)?work", "^flush_workqueue", "^__seqprop", "folio_unlock", "^unlock_page", "^kobject_del", "^device_del", "^device_add", "^device_remove_file", "^destroy_workqueue", "rq_lock", "^unregister_netdevice", "^rollback_registered", "^logic_(?:in|out)", "^crc32", "^__crc32", "^dput$", "^fast_dput", "^mark_buffer_dirty", "^post_alloc_hook", "^get_page_from_freelist", "^usb_start_wait_urb", "^usb_control_msg", "^usb_bulk_msg", "^usb_interrupt_msg", "^dpm_sysfs_", "^i2c_del_adapter", "^hwrng_unregister",
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

    private static StackSpec RcuStallStack() => new() { Parts = RcuParts, Extractor = Extractors.Stall, ExtraSkip = ["^run_timer_softirq"] };

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

    private static readonly Regex?[] RcuParts =
    [
        Rx.C(@"apic_timer_interrupt|Exception stack|el1h_64_irq"), null,
    ];

    /// <summary>
    /// KMSAN uninit-value in the crypto API: a cipher, hash or RNG consumes whatever bytes it is handed, so the report
    /// names the first caller outside the crypto API entry points (<c>crypto_*</c>), the algorithm-type wrappers
    /// (<c>cipher_*</c>, <c>rng_*</c>) and the algorithm implementations (<c>aes*</c>, <c>drbg_*</c>). Derived from
    /// corpus file 751 (aes_encrypt … rng_setkey skipped, <c>alg_setkey</c> named), the only corpus report with a
    /// crypto frame on top.
    /// </summary>
    private static readonly string[] KmsanCryptoSkip = ["^crypto_", "^cipher_", "^rng_", "^aes", "^drbg_"];

    private static readonly string[] KasanSkip = ["slab_", "kfree", "vunmap", "vfree", "^__put_page", "^put_page"];

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
                    F(@"BUG: KASAN: ([a-z\-]+) in {{FUNC}}(?:.*\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9]+)",
                        "KASAN: %[1]v %[3]v in %[4]v",
                        new StackSpec { Parts = [Rx.C(@"BUG: KASAN: (?:[a-z\-]+) in {{FUNC}}"), CallTrace, null], ExtraSkip = ["^__put_page", "^put_page"] },
                        alt: ["bad-access in %[4]v"]),
                    F(@"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}",
                        "KASAN: invalid-free in %[2]v",
                        new StackSpec { Parts = [Rx.C(@"BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}"), CallTrace, null], ExtraSkip = KasanSkip },
                        alt: ["invalid-free in %[2]v"]),
                    F(@"BUG: KASAN: ([a-z\-]+) on address(?:.*\n)+?.*(Read|Write) of size ([0-9]+)", "KASAN: %[1]v %[2]v"),
                    F(@"BUG: KASAN: (.*)", "KASAN: %[1]v", noStack: true, corrupted: true),
                    F(@"BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}", "KMSAN: kernel-usb-infoleak in %[2]v",
                        new StackSpec { Parts = [null, Rx.C(@"(Local variable .* created at:|Uninit was created at:)"), null], ExtraSkip = ["usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg", "^__alloc_skb", "^alloc_skb"] },
                        alt: ["KMSAN origin in %[3]v"]),
                    F(@"BUG: KMSAN: ([a-z\-]+) in {{FUNC}}", "KMSAN: %[1]v in %[3]v",
                        new StackSpec { Parts = [null, Rx.C(@"(Local variable .* created at:|Uninit was created at:)"), null], ExtraSkip = ["^copy_to_user", "^_copy_to_user", "_copy_to_iter", "^copy_to_iter", "^copyout", "^instrument_", "^kmsan_", "^__alloc_skb", "^alloc_skb", .. KmsanCryptoSkip] },
                        alt: ["bad-access in %[3]v"]),
                    F(@"BUG: KCSAN: data-race in", "KCSAN: data-race in %[1]v / %[2]v",
                        new StackSpec { Parts = [Rx.C(@"(?:read|write|read-write)(?: \(marked\))? to 0x[0-9a-f]+ of [0-9]+ bytes by (?:task|interrupt) [0-9]* ?on cpu [0-9]+:"), null, Rx.C(@"(?:read|write|read-write)(?: \(marked\))? to 0x[0-9a-f]+ of [0-9]+ bytes by (?:task|interrupt) [0-9]* ?on cpu [0-9]+:"), null] }, noStack: true),
                    F(@"BUG: KCSAN: assert: race in", "KCSAN: assert: race in %[1]v",
                        new StackSpec { Parts = [Rx.C(@"(?:read|write|assert no accesses|assert no writes).* on cpu [0-9]+:"), null] }, noStack: true),
                    F(@"BUG: KFENCE: (use-after-free|out-of-bounds|invalid) (read|write) in {{FUNC}}", "KFENCE: %[1]v %[2]v in %[4]v",
                        new StackSpec { Parts = [Rx.C(@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), null] }, alt: ["bad-access in %[4]v"], noStack: true),
                    F(@"BUG: KFENCE: invalid free in {{FUNC}}", "KFENCE: invalid free in %[2]v",
                        new StackSpec { Parts = [Rx.C(@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), null], ExtraSkip = KasanSkip }, alt: ["invalid-free in %[2]v"], noStack: true),
                    F(@"BUG: KFENCE: memory corruption in {{FUNC}}", "KFENCE: memory corruption in %[2]v",
                        new StackSpec { Parts = [Rx.C(@"BUG: KFENCE: (?:[a-z\- ]+) in {{FUNC}}"), null], ExtraSkip = KasanSkip }, noStack: true),
                    F(@"BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access on read)",
                        "BUG: unable to handle kernel paging request in %[1]v", RipStack(), alt: ["bad-access in %[1]v"]),
                    F(@"BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference, address)",
                        "BUG: unable to handle kernel NULL pointer dereference in %[1]v", RipStack(), alt: ["bad-access in %[1]v"]),
                    F(@"BUG: unable to handle kernel", "BUG: unable to handle kernel", noStack: true, corrupted: true),
                    F(@"BUG: (spinlock [a-z ]+|rwlock [a-z ]+|spinlock lockup suspected) on CPU", "BUG: %[1]v in %[2]v", TraceStack("^spin_", "^_raw_spin", "^do_raw_spin", "^rwlock", "^do_raw_", "spin_bug", "spin_dump")),
                    F(@"BUG: soft lockup", "BUG: soft lockup in %[1]v", StallStack(RipRe, CallTrace, null), alt: ["stall in %[1]v"]),
                    F(@"BUG: .*still has locks held!", "BUG: still has locks held in %[1]v", LockAtStack()),
                    F(@"BUG: lock held when returning to user space", "BUG: lock held when returning to user space in %[1]v",
                        LockAtStack(), noStack: true),
                    F(@"BUG: bad unlock balance detected!", "BUG: bad unlock balance in %[1]v",
                        new StackSpec { Parts = [Rx.C(@"is trying to release lock.*at:"), Rx.C(@"{{PC}} +{{FUNC}}|^ *{{FUNC}}"), CallTrace, null] }),
                    F(@"BUG: held lock freed!", "BUG: held lock freed in %[1]v", LockAtStack()),
                    F(@"BUG: Bad rss-counter state", "BUG: Bad rss-counter state", noStack: true),
                    F(@"BUG: non-zero nr_ptes on freeing mm", "BUG: non-zero nr_ptes on freeing mm", noStack: true),
                    F(@"BUG: non-zero nr_pmds on freeing mm", "BUG: non-zero nr_pmds on freeing mm", noStack: true),
                    F(@"BUG: Dentry .* still in use \([0-9]+\) \[(unmount) of ([^\]]+)\]", "BUG: Dentry still in use in %[1]v",
                        noStack: true, alt: ["BUG: Dentry still in use [%[1]v of %[2]v]"]),
                    F(@"BUG: Bad page state in process", "BUG: Bad page state in %[1]v", new StackSpec { Parts = [Rx.C(@"page last allocated"), null], ExtraSkip = ["free_pages", "free_unref_page", "__free_page", "free_page", "bad_page", "put_page", "release_pages", "folio"] }),
                    F(@"BUG: Bad page map in process", "BUG: Bad page map"),
                    F(@"BUG: workqueue lockup", "BUG: workqueue lockup", noStack: true),
                    F(@"BUG: sleeping function called from invalid context at (.*)", "BUG: sleeping function called from invalid context in %[2]v", TraceStack()),
                    F(@"BUG: using __this_cpu_([a-z_]+)\(\) in preemptible", "BUG: using __this_cpu_%[1]v() in preemptible code in %[2]v", TraceStack("check_preemption_disabled", "__this_cpu_preempt_check")),
                    F(@"BUG: using smp_processor_id\(\) in preemptible", "BUG: using smp_processor_id() in preemptible code in %[1]v", TraceStack("check_preemption_disabled", "debug_smp_processor_id")),
                    F(@"BUG: workqueue leaked lock or atomic", "BUG: workqueue leaked lock or atomic in %[1]v",
                        new StackSpec { Parts = [Rx.C(@"last function: ([a-zA-Z0-9_]+)")] }),
                    F(@"BUG: memory leak", "memory leak in %[1]v",
                        new StackSpec { Parts = [Rx.C(@"backtrace(?: \(crc [0-9a-f]+\))?:"), null], ExtraSkip = ["alloc", "kmem", "slab", "^create_object", "^radix_tree_", "mmap_region", "^do_mmap", "^vm_mmap", "^vm_brk", "^do_syscall", "^entry_SYSCALL", "^kobject_", "^__do_sys", "^__x64_sys", "^__se_sys", "^kvasprintf", "^kasprintf", "^kobject_set_name", "^dev_set_name", "^kstrdup", "^kstrndup", "^ktime", "^krealloc", "^__krealloc"] }),
                    F(@"BUG: .*stack guard page was hit at", "BUG: stack guard page was hit in %[1]v", StallStack(RipRe, CallTrace, null), alt: ["stack-overflow in %[1]v"]),
                    F(@"BUG: Invalid wait context", "WARNING: locking bug in %[1]v", TraceStack()),
                    F(@"BUG: scheduling while atomic", "BUG: scheduling while atomic in %[1]v", TraceStack("^schedule", "^__schedule", "schedule_debug", "^preempt_schedule", "^io_schedule", "do_nanosleep", "^hrtimer_nanosleep", "^__cond_resched", "^_cond_resched")),
                    F(@"BUG: MAX_LOCKDEP", "BUG: MAX_LOCKDEP", noStack: true),
                    F(@"BUG:" + Ws + "*(?:\n|\\z)", "BUG: corrupted", noStack: true, corrupted: true),
                ],
                Suppressions =
                [
                    Rx.C(@"BUG: KASAN: bad-access in x86_64_start_kernel"),
                    Rx.C(@"BUG: KASAN: slab-out-of-bounds in quarantine_put"),
                    Rx.C(@"ODEBUG:"),
                    Rx.C(@"ODEBUG disabled"),
                ],
            },
            new()
            {
                Header = "WARNING:",
                Formats =
                [
                    F(@"WARNING: .*lib/debugobjects\.c", "WARNING: ODEBUG bug in %[1]v",
                        new StackSpec { Parts = [RipRe, CallTrace, null], Parts2 = CallTraceStack, ExtraSkip = ["debug_", "__debug_", "timer_", "^kfree", "__free_", "^free_", "slab_", "kmem_cache_free", "cancel_", "destroy_", "^__init_work", "^init_timer", "^hrtimer_", "^__hrtimer", "^put_", "^__put"] }),
                    F(@"WARNING: .*mm/usercopy\.c", "WARNING: bad usercopy in %[1]v", WarnStack("usercopy", "__check_object_size", "check_object_size")),
                    F(@"WARNING: .*lib/kobject\.c", "WARNING: kobject bug in %[1]v", WarnStack("kobject_", "^kobj_")),
                    F(@"WARNING: .*fs/proc/generic\.c", "WARNING: proc registration bug in %[1]v", WarnStack("proc_")),
                    F(@"WARNING: .*lib/refcount\.c", "WARNING: refcount bug in %[1]v", WarnStack("refcount", "^kobject_", "^put_", "^get_")),
                    F(@"WARNING: .*kernel/locking/lockdep\.c.*lock_", "WARNING: locking bug in %[1]v", WarnStack("lockdep_", "^lock_", "__lock_", "^release_sock", "^lock_sock", "^check_", "^validate_", "^look_up_lock_class", "^register_lock_class", "^hlock_", "^__lock_acquire")),
                    F(@"WARNING: .*mm/(?:slab_common|util)\.c.* (?:kmalloc|krealloc|__kmalloc|kvmalloc|kmalloc_slab)", "WARNING: kmalloc bug in %[1]v",
                        WarnStack("^kmalloc", "^__kmalloc", "^kvmalloc", "^kvzalloc", "^kzalloc", "^kcalloc", "^krealloc", "^__alloc_pages", "^alloc_pages", "^__get_free", "^kmemdup", "^memdup", "^vmemdup", "^kvcalloc", "kmalloc_slab", "^folio_alloc")),
                    F(@"WARNING: .*mm/vmalloc\.c.*__vmalloc_node", "WARNING: zero-size vmalloc in %[1]v", WarnStack("^vmalloc", "^__vmalloc", "^vzalloc", "^kvmalloc", "^kvzalloc", "^kvcalloc")),
                    F(@"WARNING: .* at {{SRC}} usb_submit_urb", "WARNING in %[2]v/usb_submit_urb", WarnStack("usb_submit_urb", "usb_start_wait_urb", "usb_bulk_msg", "usb_interrupt_msg", "usb_control_msg")),
                    F(@"WARNING: .* at {{SRC}} {{FUNC}}", "WARNING in %[3]v", WarnStack()),
                    F(@"WARNING: (?:\[.*\] )?{{SRC}} at ([a-zA-Z0-9_]+)(?:\.[a-zA-Z0-9_.]+)?(?:\+0x[0-9a-f]+/0x[0-9a-f]+)?, CPU", "WARNING in %[3]v", WarnStack()),
                    F(@"WARNING: possible circular locking dependency detected", "possible deadlock in %[1]v", LockdepStack()),
                    F(@"WARNING: possible irq lock inversion dependency detected", "possible deadlock in %[1]v", LockdepStack()),
                    F(@"WARNING: .*-safe -> .*-unsafe lock order detected", "possible deadlock in %[1]v", IrqSafeStack()),
                    F(@"WARNING: possible recursive locking detected", "possible deadlock in %[1]v", LockdepStack()),
                    F(@"WARNING: inconsistent lock state", "inconsistent lock state in %[1]v",
                        InconsistentLockStack()),
                    F(@"WARNING: suspicious RCU usage", "WARNING: suspicious RCU usage in %[2]v",
                        RcuUsageStack(), report: @"WARNING: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
                    F(@"WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value", "WARNING: kernel stack regs has bad '%[1]v' value", noStack: true),
                    F(@"WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad value", "WARNING: kernel stack regs has bad value", noStack: true),
                    F(@"WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value", "WARNING: kernel stack frame pointer has bad value", noStack: true),
                    F(@"WARNING: bad unlock balance detected!", "WARNING: bad unlock balance in %[1]v",
                        new StackSpec { Parts = [Rx.C(@"is trying to release lock.*at:"), Rx.C(@"{{PC}} +{{FUNC}}|^ *{{FUNC}}"), CallTrace, null] }),
                    F(@"WARNING: held lock freed!", "WARNING: held lock freed in %[1]v", LockAtStack()),
                    F(@"WARNING: kernel stack (?:regs|frame pointer) at .* has bad", "WARNING: kernel stack regs has bad value", noStack: true),
                    F(@"WARNING: .*still has locks held!", "WARNING: still has locks held in %[1]v", LockAtStack()),
                    F(@"WARNING: lock held when returning to user space", "WARNING: lock held when returning to user space in %[1]v",
                        LockAtStack(), noStack: true),
                    F(@"WARNING: Nested lock was not taken", "WARNING: nested lock was not taken in %[1]v", TraceStack()),
                    F(@"WARNING:" + Ws + "*(?:\n|\\z)", "WARNING: corrupted", noStack: true, corrupted: true),
                ],
                Suppressions =
                [
                    Rx.C(@"WARNING: /etc/ssh/moduli does not exist, using fixed modulus"),
                    Rx.C(@"WARNING: workqueue cpumask: online intersect > possible intersect"),
                    Rx.C(@"WARNING: [Tt]he mand mount option"),
                    Rx.C(@"WARNING: Unsupported flag value\(s\) of 0x%x in DT_FLAGS_1"),
                    Rx.C(@"WARNING: Unprivileged eBPF is enabled with eIBRS"),
                    Rx.C(@"WARNING: fbcon: Driver '(.*)' missed to adjust virtual screen size"),
                    Rx.C(@"WARNING: See https.* for mitigation options\."),
                    Rx.C(@"WARNING: kernel not compiled with CPU_SRSO"),
                    Rx.C(@"EXT4-[Ff][Ss](?: \(.*\))?:"),
                    Rx.C(@"WARNING: mmu_notifier"),
                    Rx.C(@"(?i)WARNING: .* uses wireless extensions"),
                    Rx.C(@"[A-Za-z0-9_]WARNING:"),
                ],
            },
            new()
            {
                Header = "INFO:",
                Formats =
                [
                    F(@"INFO: possible circular locking dependency detected", "possible deadlock in %[1]v", LockdepStack()),
                    F(@"INFO: possible irq lock inversion dependency detected", "possible deadlock in %[1]v", LockdepStack()),
                    F(@"INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected", "possible deadlock in %[1]v", IrqSafeStack()),
                    F(@"INFO: possible recursive locking detected", "possible deadlock in %[1]v", LockdepStack()),
                    F(@"INFO: inconsistent lock state", "inconsistent lock state in %[1]v",
                        InconsistentLockStack()),
                    F(@"INFO: rcu_(?:preempt|sched|bh) (?:self-)?detected(?: expedited)? stall", "INFO: rcu detected stall in %[1]v",
                        RcuStallStack(), alt: ["stall in %[1]v"]),
                    F(@"INFO: rcu_(?:preempt|sched|bh) detected stall on CPU", "INFO: rcu detected stall in %[1]v",
                        RcuStallStack(), alt: ["stall in %[1]v"]),
                    F(@"INFO: rcu_(?:preempt|sched|bh)_state detected stalls? on CPU", "INFO: rcu detected stall in %[1]v",
                        RcuStallStack(), alt: ["stall in %[1]v"]),
                    F(@"INFO: rcu_(?:preempt|sched|bh|tasks) detected stalls", "INFO: rcu detected stall in %[1]v",
                        RcuStallStack(), alt: ["stall in %[1]v"]),
                    F(@"INFO: task {{TASK}}:[0-9]+ blocked(?: in I/O wait)? for more than [0-9]+ seconds", "INFO: task hung in %[1]v",
                        new StackSpec { Parts = CallTraceStack, Extractor = Extractors.HungTask }, alt: ["hang in %[1]v"]),
                    F(@"INFO: task {{TASK}}:[0-9]+ can't die for more than [0-9]+ seconds", "INFO: task can't die in %[1]v",
                        new StackSpec { Parts = CallTraceStack, Extractor = Extractors.HungTask }, alt: ["hang in %[1]v"]),
                    F(@"INFO: trying to register non-static key", "INFO: trying to register non-static key in %[1]v", TraceStack("^register_lock_class", "^__lock_acquire", "^lock_acquire", "^assign_lock_key")),
                    F(@"INFO: suspicious RCU usage", "INFO: suspicious RCU usage in %[2]v",
                        RcuUsageStack(), report: @"INFO: suspicious RCU usage(?:.*\n)+?.*?{{SRC}}"),
                    F(@"INFO: (Freed|Allocated) in (.*)", "INFO: %[1]v in %[2]v", noStack: true, corrupted: true),
                    F(@"INFO:" + Ws + "*(?:\n|\\z)", "INFO: corrupted", noStack: true, corrupted: true),
                ],
                Suppressions =
                [
                    Rx.C(@"INFO: lockdep is turned off"),
                    Rx.C(@"INFO: Stall ended before state dump start"),
                    Rx.C(@"INFO: NMI handler .* took too long"),
                    Rx.C(@"[A-Za-z0-9_]INFO:"),
                    Rx.C(@"INFO:[a-z]"),
                    Rx.C(@"INFO: recovery required on readonly filesystem"),
                    Rx.C(@"(?:ext4|EXT4-fs|ocfs2|OCFS2|xfs|XFS).*INFO:"),
                    Rx.C(@"INFO: Object .* @ .* from"),
                    Rx.C(@"INFO: Slab .* objects=.* used=.* fp=.* flags="),
                    Rx.C(@"INFO: task .* blocked for more than .* seconds.*syz-executor.*\(dead\)"),
                    Rx.C(@"INFO: Slab 0x"),
                    Rx.C(@"INFO: 0x[0-9a-f]+-0x[0-9a-f]+\. First byte"),
                ],
            },
            G("Unable to handle kernel",
                F(@"Unable to handle kernel (paging request|NULL pointer dereference|access to user memory|execute from non-executable memory|write to read-only memory)",
                    "BUG: unable to handle kernel %[1]v in %[2]v", RipStack(), alt: ["bad-access in %[2]v"])),
            new()
            {
                Header = "general protection fault",
                Formats = [F(@"general protection fault.*:", "general protection fault in %[1]v", RipStack(), alt: ["bad-access in %[1]v"])],
                // A user-space fault reported by the kernel's trap handler ("traps: prog[pid] general protection fault ip:...").
                Suppressions = [Rx.C(@"general protection fault ip:[0-9a-f]+ sp:")],
            },
            G("stack segment: ",
                F(@"stack segment: ", "stack segment fault in %[1]v", RipStack())),
            new()
            {
                Header = "Kernel panic",
                Formats =
                [
                    F(@"Kernel panic - not syncing: Attempted to kill init!", "kernel panic: Attempted to kill init!", noStack: true),
                    F(@"Kernel panic - not syncing: Couldn't open N_TTY ldisc", "kernel panic: Couldn't open N_TTY ldisc"),
                    F(@"Kernel panic - not syncing: panic_on_warn set", "kernel panic: panic_on_warn set", noStack: true, corrupted: true),
                    F(@"Kernel panic - not syncing: Fatal exception", "kernel panic: Fatal exception", noStack: true, corrupted: true),
                    F(@"Kernel panic - not syncing: hung_task: blocked tasks", "kernel panic: hung_task: blocked tasks", noStack: true, corrupted: true),
                    F(@"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}", "kernel panic: stack is corrupted in %[1]v", noStack: true),
                    F(@"Kernel panic - not syncing: corrupted stack end detected inside scheduler", "kernel panic: corrupted stack end in %[1]v",
                        new StackSpec { Parts = CallTraceStack, Extractor = Extractors.Stall, ExtraSkip = ["schedule", "retint_kernel"] }, alt: ["stack-overflow in %[1]v"]),
                    F(@"Kernel panic - not syncing: kernel stack overflow", "kernel stack overflow in %[1]v",
                        new StackSpec { Parts = CallTraceStack, Extractor = Extractors.Stall }, alt: ["stack-overflow in %[1]v"]),
                    F(@"Kernel panic - not syncing: (.*)", "kernel panic: %[1]v", noStack: true),
                ],
            },
            G("PANIC: double fault",
                F(@"PANIC: double fault", "PANIC: double fault in %[1]v", new StackSpec { Parts = [RipRe] })),
            new()
            {
                Header = "kernel BUG",
                Formats =
                [
                    F(@"kernel BUG at mm/usercopy\.c", "BUG: bad usercopy in %[1]v", new StackSpec { Parts = [RipRe, CallTrace, null], ExtraSkip = ["usercopy", "__check_object_size", "check_object_size"] }),
                    F(@"kernel BUG at lib/list_debug\.c", "BUG: corrupted list in %[1]v", new StackSpec { Parts = RipCallTrace(), ExtraSkip = ["^__list_", "^list_", "^hlist_", "^__hlist_"] }, alt: ["bad-access in %[1]v"]),
                    F(@"kernel BUG at (?:.*)", "kernel BUG in %[1]v", RipStack()),
                    F(@"kernel BUG", "kernel BUG in %[1]v", RipStack()),
                ],
                Suppressions = [Rx.C(@"kernel BUG at [a-zA-Z0-9_/.]*lib/list_debug\.c.*\n.*list_add corruption. next->prev should be prev")],
            },
            G("Kernel BUG",
                F(@"Kernel BUG (.*)", "kernel BUG in %[2]v", RipStack())),
            G("BUG kmalloc-",
                F(@"BUG kmalloc-.*: Object already free", "BUG: Object already free", noStack: true)),
            G("divide error:",
                F(@"divide error: ", "divide error in %[1]v", RipStack())),
            G("invalid opcode:",
                F(@"invalid opcode: ", "invalid opcode in %[1]v", RipStack())),
            new()
            {
                Header = "UBSAN:",
                Formats =
                [
                    F(@"UBSAN: array-index-out-of-bounds in", "UBSAN: array-index-out-of-bounds in %[1]v", TraceStack("^ubsan", "^__ubsan"),
                        alt: ["bad-access in %[1]v"]),
                    F(@"UBSAN: Undefined behaviour in", "UBSAN: undefined-behaviour in %[1]v", TraceStack("^ubsan", "^__ubsan")),
                    F(@"UBSAN: ([a-zA-Z0-9-]+) in", "UBSAN: %[1]v in %[2]v", TraceStack("^ubsan", "^__ubsan")),
                ],
            },
            G("VFS: Close: file count is 0",
                F(@"VFS: Close: file count is 0", "VFS: Close: file count is zero (use-after-free)", noStack: true)),
            G("VFS: Busy inodes after unmount",
                F(@"VFS: Busy inodes after unmount", "VFS: Busy inodes after unmount (use-after-free)", noStack: true)),
            G("Booting the kernel.",
                F(@"Booting the kernel\.", "unexpected kernel reboot", noStack: true)).Suppress(@"'.*Booting the kernel"),
            G("unregister_netdevice: waiting for",
                F(@"unregister_netdevice: waiting for (?:.*) to become free", "unregister_netdevice: waiting for DEV to become free", noStack: true)),
            new()
            {
                Header = "trusty: panic",
                Formats =
                [
                    F(@"trusty: panic (?:.*?): (?:DEBUG )?ASSERT FAILED at \(.*?\): (.+)", "trusty: ASSERT FAILED: %[1]v", noStack: true),
                    F(@"trusty: panic (?:.*?): (?:DEBUG )?ASSERT FAILED", "trusty: ASSERT FAILED:", noStack: true, corrupted: true),
                    F(@"trusty: panic (?:.*?): ([^\n]+)", "trusty: panic: %[1]v", noStack: true),
                ],
            },
            G("Internal error:",
                F(@"Internal error:", "Internal error in %[1]v", RipStack(), alt: ["bad-access in %[1]v"])),
            G("Unhandled fault:",
                F(@"Unhandled fault:", "Unhandled fault in %[1]v", RipStack(), alt: ["bad-access in %[1]v"])),
            G("Alignment trap:",
                F(@"Alignment trap:", "Alignment trap in %[1]v", RipStack())),
            G("int3:",
                F(@"int3: ", "int3 in %[1]v", RipStack())),
            G("Bad mode in ",
                F(@"Bad mode in ", "kernel panic: bad mode", noStack: true)),
            G("rust_kernel: panicked",
                F(@"rust_kernel: panicked at [^\n]*?\n(?:.*\n)*?.*?(?:\[ *[CT][0-9]+\] )?([a-z][^\n]*?)\n", "%[1]v in %[2]v", RipStack("^rust_begin_unwind", "^rust_helper_", "^core::panicking", "^__rust", "panic", "^<core::"))),
            // syzkaller / Go failures.
            new()
            {
                Header = "fatal error:",
                Formats = [F(@"fatal error:", "go runtime error", noStack: true)],
                // Kernel messages that merely contain "fatal error:" (ALSA sequencer) are not Go runtime failures.
                Suppressions = [Rx.C(@"^.+fatal error:"), Rx.C(@"ALSA"), Rx.C(@"fatal error: cannot create timer")],
            },
            G("SYZFAIL:",
                F(@"SYZFAIL:(.*)", "SYZFAIL:%[1]v", noStack: true)),
            G("SYZFATAL:",
                F(@"SYZFATAL:(.*)()", "SYZFATAL:%[1]v", noStack: true, alt: ["SYZFATAL%[2]v"])),
            new()
            {
                Header = "panic:",
                Formats = [F(@"panic: (.*)", "panic: %[1]v", noStack: true)],
                Suppressions = [Rx.C(@"^.+panic:")],
            },
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

    private static StackSpec LockdepStack() => new()
    {
        Parts = [LockAt, LockAt, CallTrace, null],
        ExtraSkip = ["^lock_sock", "^release_sock", "^lock_", "^__lock_", "flush_workqueue", "^start_flush_work", "^__flush_work"],
    };

    /// <summary>Safe -> unsafe lock order: the guilty site is where the lock became irq-safe; older truncated reports fall back to the lockdep "at:" lines.</summary>
    private static StackSpec IrqSafeStack()
    {
        var lockdep = LockdepStack();
        return new()
        {
            Parts = [Rx.C(@"which became \S+-irq-safe at:"), null],
            Parts2 = lockdep.Parts,
            ExtraSkip = lockdep.ExtraSkip,
        };
    }

    /// <summary>
    /// Suspicious RCU usage: the frame is the first interesting call-trace function. The source location the report regex
    /// captures (%[1]v) is not a frame: a report cut before its call trace is titled "in corrupted" (corpus 91).
    /// </summary>
    private static StackSpec RcuUsageStack() => new()
    {
        Parts = CallTraceStack,
        ExtraSkip = ["rcu", "kmem", "slab"],
    };

    /// <summary>
    /// Inconsistent lock state: the function on the "takes:" lock's <c>at:</c> line, else the first interesting frame of
    /// the call trace (the inconsistent acquisition itself). The "state was registered at:" stack between them describes
    /// an earlier, consistent use of the lock, so it is passed over.
    /// </summary>
    private static StackSpec InconsistentLockStack() => new()
    {
        Parts = [Rx.C(@"takes:"), LockAt, CallTrace, null],
    };

    private static StackSpec LockAtStack() => new()
    {
        Parts = [LockAt, CallTrace, null],
    };

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
