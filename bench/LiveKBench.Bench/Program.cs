// Benchmarks and measurement tools, run on purpose (see bench/README.md).
using System.Diagnostics;
using System.Text.Json;
using LiveKBench.Bench;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.CrashReports;
using LiveKBench.Kernel.Git;

var mode = args.Length > 0 ? args[0] : "crash-reports";
var dir = args.Length > 1 ? args[1] : Path.Combine("..", "shared", "data", "syzkaller-reports", "linux", "report");
var scratch = Environment.GetEnvironmentVariable("KBENCH_SCRATCH") ?? "/work/kbench-scratch/kernel";
var realbugs = Environment.GetEnvironmentVariable("KBENCH_REALBUGS") ?? Path.Combine("..", "shared", "data", "realbugs");
var json = new JsonSerializerOptions { WriteIndented = true };
switch (mode)
{
    case "mirror":
        {
            var sw = Stopwatch.StartNew();
            var m = await KernelMirror.FromTarballAsync("/usr/src/linux-source-6.1.tar.xz", args.Length > 1 ? args[1] : Path.Combine(scratch, "mirror.git"));
            Console.WriteLine($"mirror {m.Path} commit {await m.SourceCommitAsync()} in {sw.Elapsed.TotalSeconds:F1} s");
            return 0;
        }
    case "build":
        {
            // build <case> <parent|fix> [patch-file]
            var caseDir = Path.Combine(realbugs, args[1]);
            var m = KernelMirror.Open(Path.Combine(scratch, "mirror.git"));
            var commits = await m.CreateBugCommitsAsync(await m.SourceCommitAsync(), await File.ReadAllTextAsync(Path.Combine(caseDir, "fix.patch")), args[1]);
            var commit = args[2] == "fix" ? commits.FixCommit : commits.ParentOfFix;
            var patch = args.Length > 3 ? await File.ReadAllTextAsync(args[3]) : null;
            var b = new KernelBuilder(m, new KernelBuilderOptions { WorkRoot = scratch, KeptDirMode = Environment.GetEnvironmentVariable("KBENCH_KEPT_MODE") == "lock" ? KeptDirMode.Lock : KeptDirMode.Copy });
            var r = await b.BuildAsync(new BuildRequest(commit, KernelConfigSpec.FromFragment(await File.ReadAllTextAsync(Path.Combine(caseDir, "config.fragment"))), patch));
            Console.WriteLine(JsonSerializer.Serialize(r, json));
            return 0;
        }
    case "gym":
        {
            // gym <kbench.dll> <out-dir> [overhead-jobs=100] [throughput-jobs=20] [stage-ms=3000]
            int Arg(int i, int d) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : d;
            return await GymBench.RunAsync(Path.GetFullPath(args[1]), args.Length > 2 ? args[2] : Path.Combine("bench", "results"), Arg(3, 100), Arg(4, 20), Arg(5, 3000));
        }
    case "parse-loop":
        {
            // parse-loop [dir] [passes=200]: Parse every corpus log `passes` times and print the per-core rate; a steady
            // load to attach a profiler to (dotnet-trace collect -- dotnet LiveKBench.Bench.dll parse-loop ...).
            var logs = Directory.GetFiles(dir).Where(f => Path.GetFileName(f).All(char.IsAsciiDigit)).Select(f => CorpusFile.Load(f).Log).ToList();
            var passes = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 200;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var gcs = GC.CollectionCount(0);
            long bytes = 0;
            for (var p = 0; p < passes; p++)
            {
                foreach (var log in logs)
                {
                    _ = CrashReportParser.Parse(log);
                    bytes += log.Length;
                }
            }
            var secs = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            Console.WriteLine($"{bytes / 1048576.0 / secs:F1} MB/s per core ({passes} passes over {logs.Count} logs); "
                + $"allocated {(double)allocated / bytes:F2} bytes per input byte, {GC.CollectionCount(0) - gcs} gen-0 collections");
            return 0;
        }
    case "corpus-check":
        {
            var files = Directory.GetFiles(dir).Where(f => Path.GetFileName(f).All(char.IsAsciiDigit))
                .OrderBy(f => int.Parse(Path.GetFileName(f), System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var fails = 0;
            foreach (var file in files)
            {
                var problems = CorpusCheck.Verify(CorpusFile.Load(file));
                if (problems.Count > 0)
                {
                    fails++;
                    Console.WriteLine($"{Path.GetFileName(file)}: {string.Join("; ", problems)}");
                }
            }
            Console.WriteLine($"passed {files.Count - fails}/{files.Count}");
            return 0;
        }
    case "import":
        {
            // import [results-dir] [sizes...]
            var sizes = args.Length > 2 ? args[2..].Select(a => int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray() : [1000, 5000, 20000];
            ImportBench.Run(realbugs, Path.GetFullPath(Path.Combine(scratch, "..", "import-bench")), args.Length > 1 ? args[1] : Path.Combine("bench", "results"), sizes);
            return 0;
        }
    case "show":
        {
            var f = CorpusFile.Load(dir);
            var rep = CrashReportParser.Parse(f.Log);
            Console.WriteLine(rep?.Text);
            Console.WriteLine($"TITLE={rep?.Title} CORRUPTED={rep?.Corrupted} {rep?.CorruptedReason}");
            return 0;
        }
    case "hostile":
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            void T(string name, byte[] input)
            {
                sw.Restart();
                var r = CrashReportParser.Parse(input);
                var t1 = sw.Elapsed;
                CrashReportParser.ContainsCrash(input);
                var t2 = sw.Elapsed;
                var all = name is "pieces" or "many" ? [] : CrashReportParser.ParseAll(input);
                Console.WriteLine($"{name}: parse {t1.TotalSeconds:F2}s contains {(t2 - t1).TotalSeconds:F2}s all {(sw.Elapsed - t2).TotalSeconds:F2}s ({all.Count}) title={r?.Title}");
            }
            var rnd = new Random(1);
            var rb = new byte[1 << 20];
            rnd.NextBytes(rb);
            T("random", rb);
            var sb = new System.Text.StringBuilder();
            string[] pieces = ["BUG: ", "WARNING: ", "INFO: ", "Call Trace:\n", "RIP: 0010:", "general protection fault", "Kernel panic - not syncing: ",
                "[  1.000000][ T1] ", "\n", " ? ", "+0x1/0x2", "KASAN: ", "in ", "kernel BUG at ", "panic: ", "SYZFAIL:", "\0", "\xff"];
            rnd = new Random(7);
            for (var i = 0; i < 200_000; i++)
            {
                sb.Append(pieces[rnd.Next(pieces.Length)]);
                if (rnd.Next(4) == 0)
                {
                    sb.Append((char)rnd.Next(256));
                }
            }
            T("pieces", System.Text.Encoding.Latin1.GetBytes(sb.ToString()));
            T("nul", new byte[1 << 20]);
            sb.Clear();
            sb.Append("BUG: KASAN: use-after-free in ");
            sb.Append(string.Concat(Enumerable.Repeat("a.", 100_000)));
            sb.Append('\n');
            T("p1", System.Text.Encoding.Latin1.GetBytes(sb.ToString()));
            sb.Clear();
            for (var i = 0; i < 2000; i++)
            {
                sb.Append(new string(' ', 200)).Append("in in in in ").Append(new string('x', 100)).Append('\n');
            }
            T("p2", System.Text.Encoding.Latin1.GetBytes(sb.ToString()));
            T("p3", System.Text.Encoding.Latin1.GetBytes(string.Concat(Enumerable.Repeat(" login: [", 50_000)) + "\n"));
            T("p4", System.Text.Encoding.Latin1.GetBytes("WARNING: " + string.Concat(Enumerable.Repeat(" at a.c:1 ", 50_000)) + "\n"));
            T("p5", System.Text.Encoding.Latin1.GetBytes("INFO: task " + new string(':', 100_000) + " blocked for more than\n"));
            T("p6", System.Text.Encoding.Latin1.GetBytes("Call Trace:\n" + string.Concat(Enumerable.Repeat("[<ffffffff>] ", 50_000)) + "\n"));
            sb.Clear();
            for (var i = 0; i < 2000; i++)
            {
                sb.Append("[  ").Append(i).Append(".000000] WARNING: CPU: 0 PID: 1 at a.c:1 foo").Append(i % 7).Append("+0x1/0x2\n");
            }
            T("many", System.Text.Encoding.Latin1.GetBytes(sb.ToString()));
            return 0;
        }
    case "perfile":
        {
            var logs = Directory.GetFiles(dir).Where(f => Path.GetFileName(f).All(char.IsAsciiDigit)).Select(f => CorpusFile.Load(f).Log).ToList();
            var sw0 = System.Diagnostics.Stopwatch.StartNew();
            CrashReportParser.Parse(logs[0]);
            Console.WriteLine($"first parse (startup): {sw0.Elapsed.TotalSeconds:F2}s");
            foreach (var l in logs)
            {
                CrashReportParser.Parse(l);
            }
            sw0.Restart();
            long n = 0;
            for (var k = 0; k < 3; k++)
            {
                foreach (var l in logs)
                {
                    CrashReportParser.Parse(l);
                    n += l.Length;
                }
            }
            Console.WriteLine($"per-file parse: {n / 1048576.0 / sw0.Elapsed.TotalSeconds:F1} MB/s");
            return 0;
        }
    case "crash-reports":
        return CrashReportsBench.Run(dir, args.Length > 2 ? args[2] : Path.Combine("bench", "results"));
    case "report":
        {
            // summarises <scratch>/bench-measurements.jsonl written by the slow kernel tests
            var file = args.Length > 1 ? args[1] : Path.Combine(scratch, "bench-measurements.jsonl");
            Console.WriteLine("| when (UTC) | kind | details |\n|---|---|---|");
            foreach (var line in File.ReadLines(file))
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                Console.WriteLine($"| {root.GetProperty("at").GetDateTimeOffset():HH:mm:ss} | {root.GetProperty("kind").GetString()} | `{root.GetProperty("data").GetRawText().Replace("|", "/", StringComparison.Ordinal)}` |");
            }
            return 0;
        }
    default:
        Console.Error.WriteLine("usage: LiveKBench.Bench [corpus-check|crash-reports] [corpus-dir] [results-dir] | mirror [path] | build <case> <parent|fix> [patch] | report [jsonl]");
        return 2;
}
