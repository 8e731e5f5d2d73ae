using LiveKBench.Bench;
using LiveKBench.Kernel.CrashReports;

var mode = args.Length > 0 ? args[0] : "crash-reports";
var dir = args.Length > 1 ? args[1] : Path.Combine("..", "shared", "data", "syzkaller-reports", "linux", "report");
switch (mode)
{
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
    default:
        Console.Error.WriteLine("usage: LiveKBench.Bench [corpus-check|crash-reports] [corpus-dir] [results-dir]");
        return 2;
}
