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
    case "crash-reports":
        return CrashReportsBench.Run(dir, args.Length > 2 ? args[2] : Path.Combine("bench", "results"));
    default:
        Console.Error.WriteLine("usage: LiveKBench.Bench [corpus-check|crash-reports] [corpus-dir] [results-dir]");
        return 2;
}
