using System.Diagnostics;
using System.Text.Json;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Git;

var scratch = Environment.GetEnvironmentVariable("KBENCH_SCRATCH") ?? "/work/kbench-scratch/kernel";
var realbugs = Environment.GetEnvironmentVariable("KBENCH_REALBUGS") ?? "/work/shared/data/realbugs";
var json = new JsonSerializerOptions { WriteIndented = true };
switch (args.FirstOrDefault())
{
    case "mirror":
        {
            var sw = Stopwatch.StartNew();
            var m = await KernelMirror.FromTarballAsync("/usr/src/linux-source-6.1.tar.xz", args.Length > 1 ? args[1] : Path.Combine(scratch, "mirror.git"));
            Console.WriteLine($"mirror {m.Path} commit {await m.SourceCommitAsync()} in {sw.Elapsed.TotalSeconds:F1} s");
            break;
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
            break;
        }
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
            break;
        }
    default:
        Console.Error.WriteLine("usage: bench mirror [path] | build <case> <parent|fix> [patch] | report [jsonl]");
        return 2;
}
return 0;
