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
