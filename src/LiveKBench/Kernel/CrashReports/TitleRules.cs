using System.Text;
using System.Text.RegularExpressions;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>Title post-processing: normalisation, sanitising, frame, type (crash-reports.md §3.11, §3.12).</summary>
internal static class TitleRules
{
    /// <summary>
    /// Title normalisers, applied in order, each until the title stops changing. <c>MayMatch</c> is a cheap necessary
    /// condition for a match (a literal or character the regex needs; checked by a test): when it is false the regex
    /// is not run.
    /// </summary>
    internal static readonly (Regex Re, string Repl, Func<string, bool> MayMatch)[] Normalisers =
    [
        (R(@"syz-executor\.?[0-9]+((/|:)[0-9]+)?"), "syz-executor", t => t.Contains("syz-executor", StringComparison.Ordinal)),
        (R(@"syzkaller[0-9]+((/|:)[0-9]+)?"), "syzkaller", t => t.Contains("syzkaller", StringComparison.Ordinal)),
        (R(@"([^a-zA-Z0-9])(?:0x)?[0-9a-f]{6,}"), "${1}ADDR", HasHexRun6),
        (R(@"([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})"), "IP", t => t.Contains('.')),
        (R(@"(\.[a-zA-Z0-9_]+)(:[0-9]+)+"), "${1}:LINE", t => t.Contains('.') && t.Contains(':')),
        (R(@"([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+/0x[0-9a-z]+"), "${1}", t => t.Contains("+0x", StringComparison.Ordinal)),
        (R(@"CPU#[0-9]+"), "CPU", t => t.Contains("CPU#", StringComparison.Ordinal)),
        (R(@"([^a-zA-Z0-9_])([0-9]+)([^a-zA-Z0-9_]|\z)"), "${1}NUM${3}", HasDigit),
        (R(@"([0-9]+){7,}"), "NUM", HasDigit),
    ];

    private static bool HasDigit(string t) => t.AsSpan().IndexOfAnyInRange('0', '9') >= 0;

    private static bool HasHexRun6(string t)
    {
        var run = 0;
        foreach (var c in t)
        {
            run = char.IsAsciiHexDigitLower(c) ? run + 1 : 0;
            if (run >= 6)
            {
                return true;
            }
        }
        return false;
    }

    private static readonly Regex FrameRe = R(@"^.* in ((?:<[a-zA-Z0-9_: ]+>)?[a-zA-Z0-9_:]+)");

    private static Regex R(string p) => new(p, RegexOptions.CultureInvariant | RegexOptions.Compiled, Rx.Timeout);

    public static string Normalise(string title)
    {
        foreach (var (re, repl, mayMatch) in Normalisers)
        {
            for (var i = 0; i < 100 && mayMatch(title); i++)
            {
                string next;
                try
                {
                    next = re.Replace(title, repl);
                }
                catch (RegexMatchTimeoutException)
                {
                    break;
                }
                if (next == title)
                {
                    break;
                }
                title = next;
            }
        }
        return title;
    }

    /// <summary>Looks at the first 120 chars: tabs to spaces, drops control/non-ASCII, collapses spaces, trims.</summary>
    public static string Sanitise(string title)
    {
        var n = Math.Min(title.Length, 120);
        var sb = new StringBuilder(n);
        var prevSpace = true;
        for (var i = 0; i < n; i++)
        {
            var c = title[i];
            if (c == '\t')
            {
                c = ' ';
            }
            if (c < 0x20 || c >= 0x7f)
            {
                continue;
            }
            if (c == ' ')
            {
                if (prevSpace)
                {
                    continue;
                }
                prevSpace = true;
            }
            else
            {
                prevSpace = false;
            }
            sb.Append(c);
        }
        return sb.ToString().Trim();
    }

    public static string FrameOf(string title)
    {
        var m = Rx.Find(FrameRe, title);
        return m is null ? "" : m.Groups[1].Value;
    }

    private static readonly (string Prefix, string Type)[] TypeTable = BuildTypes();

    private static (string, string)[] BuildTypes()
    {
        var t = new List<(string, string)>();
        void Add(string type, params string[] prefixes)
        {
            foreach (var p in prefixes)
            {
                t.Add((p, type));
            }
        }
        Add("KFENCE-USE-AFTER-FREE-WRITE", "KFENCE: use-after-free write");
        Add("KFENCE-USE-AFTER-FREE-READ", "KFENCE: use-after-free read", "KFENCE: use-after-free");
        Add("KFENCE-WRITE", "KFENCE: invalid write", "KFENCE: out-of-bounds write");
        Add("KFENCE-READ", "KFENCE: invalid read", "KFENCE: out-of-bounds read", "KFENCE: out-of-bounds");
        Add("KFENCE-MEMORY-CORRUPTION", "KFENCE: memory corruption");
        Add("KFENCE-INVALID-FREE", "KFENCE: invalid free");
        Add("KMSAN-UNINIT-VALUE", "KMSAN: uninit-value");
        Add("KMSAN-USE-AFTER-FREE-READ", "KMSAN: kernel-infoleak-after-free", "KMSAN: kernel-usb-infoleak-after-free", "KMSAN: use-after-free");
        Add("KMSAN-INFO-LEAK", "KMSAN: kernel-infoleak", "KMSAN: kernel-usb-infoleak");
        Add("KASAN-NULL-POINTER-DEREFERENCE-WRITE", "KASAN: null-ptr-deref Write");
        Add("KASAN-NULL-POINTER-DEREFERENCE-READ", "KASAN: null-ptr-deref Read");
        Add("NULL-POINTER-DEREFERENCE", "BUG: unable to handle kernel NULL pointer dereference in");
        Add("KASAN-WRITE", "KASAN: global-out-of-bounds Write", "KASAN: out-of-bounds Write", "KASAN: slab-out-of-bounds Write",
            "KASAN: stack-out-of-bounds Write", "KASAN: user-memory-access Write", "KASAN: vmalloc-out-of-bounds Write", "KASAN: wild-memory-access Write");
        Add("KASAN-READ", "KASAN: global-out-of-bounds Read", "KASAN: invalid-access Read", "KASAN: out-of-bounds Read",
            "KASAN: slab-out-of-bounds Read", "KASAN: slab-out-of-bounds", "KASAN: stack-out-of-bounds Read", "KASAN: stack-out-of-bounds",
            "KASAN: unknown-crash Read", "KASAN: user-memory-access Read", "KASAN: vmalloc-out-of-bounds Read", "KASAN: wild-memory-access Read",
            "KASAN: wild-memory-access");
        Add("KASAN-INVALID-FREE", "KASAN: double-free or invalid-free", "KASAN: invalid-free");
        Add("KASAN-USE-AFTER-FREE-WRITE", "KASAN: slab-use-after-free Write", "KASAN: use-after-free Write");
        Add("KASAN-USE-AFTER-FREE-READ", "KASAN: slab-use-after-free Read", "KASAN: use-after-free Read", "KASAN: use-after-free");
        Add("MEMORY_SAFETY_BUG", "BUG: corrupted list", "BUG: unable to handle kernel paging request");
        Add("REFCOUNT_WARNING", "WARNING: refcount bug");
        Add("MEMORY_SAFETY_UBSAN", "UBSAN: array-index-out-of-bounds");
        Add("KCSAN-DATARACE", "KCSAN: data-race");
        Add("KCSAN-ASSERT", "KCSAN: assert: race in");
        Add("LOCKDEP", "BUG: bad unlock balance in", "BUG: held lock freed in", "BUG: rwlock", "BUG: spinlock", "BUG: still has locks held in",
            "BUG: using", "WARNING: bad unlock balance in", "WARNING: held lock freed in", "WARNING: lock held",
            "WARNING: locking bug in", "WARNING: nested lock was not taken in", "WARNING: still has locks held in",
            "WARNING: suspicious RCU usage in", "inconsistent lock state in", "possible deadlock in");
        Add("ATOMIC_SLEEP", "BUG: scheduling while atomic in", "BUG: sleeping function called from invalid context in");
        Add("LEAK", "memory leak in");
        Add("BUG", "BUG: bad usercopy in", "kernel BUG");
        Add("WARNING", "WARNING in");
        Add("", "BUG: stack guard page was hit in", "WARNING: corrupted", "WARNING: kernel stack frame pointer has bad value", "WARNING: kernel stack regs has bad");
        Add("HANG", "BUG: soft lockup in", "INFO: rcu detected stall in", "INFO: task can't die in", "INFO: task hung in");
        Add("DoS", "Alignment trap in", "BUG: Object already free", "Internal error in", "PANIC: double fault", "Unhandled fault in",
            "VFS: Busy inodes after unmount (use-after-free)", "VFS: Close: file count is zero (use-after-free)", "divide error in",
            "general protection fault in", "go runtime error", "int3 in", "invalid opcode in", "kernel panic:", "kernel stack overflow",
            "panic:", "rust_kernel panicked", "stack segment fault in", "trusty:", "unregister_netdevice: waiting for DEV to become free");
        Add("NO_OUTPUT", "no output from test machine");
        Add("REBOOT", "unexpected kernel reboot");
        Add("SYZ_FAILURE", "SYZFAIL", "SYZFATAL:");
        Add("WARNING", "WARNING:");
        Add("", "BUG:", "INFO:");
        Add("KASAN-UNKNOWN", "KASAN:");
        Add("KFENCE-UNKNOWN", "KFENCE:");
        Add("KMSAN-UNKNOWN", "KMSAN:");
        Add("KCSAN-UNKNOWN", "KCSAN:");
        Add("UBSAN", "UBSAN:");
        return [.. t];
    }

    /// <summary>Crash type from the final title; "" means UNKNOWN.</summary>
    public static string TitleToType(string title)
    {
        foreach (var (prefix, type) in TypeTable)
        {
            if (title.StartsWith(prefix, StringComparison.Ordinal))
            {
                return type;
            }
        }
        return "";
    }
}
