using System.Diagnostics;
using System.Globalization;
using System.Text;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Datasets;

namespace LiveKBench.Bench;

/// <summary>
/// `bugs import` at 1,000 / 5,000 / 20,000 bugs (copies of the real bundles under distinct ids, each with its own
/// developer patch text), through the same path as the CLI: a JSON Lines file read by <see cref="BugRepository.ParseJsonLines"/>
/// and stored by <see cref="BugRepository.Upsert"/> into a fresh SQLite store. During the 20,000 import a second connection
/// saves a dataset (what `dataset create` does) and the time it waited is recorded.
/// </summary>
public static class ImportBench
{
    /// <summary>Runs the benchmark and writes <c>import.md</c> to <paramref name="resultsDir"/>.</summary>
    public static void Run(string realbugs, string scratch, string resultsDir, int[] sizes)
    {
        Directory.CreateDirectory(scratch);
        var seeds = BugImport.ReadInput(realbugs, new DateTime(2026, 12, 5, 0, 0, 0, DateTimeKind.Utc));
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# bugs import: time and memory by size\n\nMeasured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average at start {File.ReadAllText("/proc/loadavg").Trim()} (2 cores shared with other work).\n");
        md.Append(CultureInfo.InvariantCulture, $"Input: copies of the {seeds.Count} real bundles in ../shared/data/realbugs under distinct ids, as one JSON Lines file; fresh store per size; batch size {BugRepository.BatchSize} (staged import: one short write transaction per batch, then one final swap).\n\n");
        md.Append("| bugs | JSONL MB | read s | store s | total s | s per 1,000 | peak working set MB (process, so far) | dataset create during import: waited s |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        var totals = new Dictionary<int, double>();
        foreach (var n in sizes)
        {
            var dir = Path.Combine(scratch, $"import-{n}");
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, true);
            }
            Directory.CreateDirectory(dir);
            var jsonl = Path.Combine(dir, "bugs.jsonl");
            using (var w = new StreamWriter(jsonl, false, new UTF8Encoding(false)))
            {
                for (var i = 0; i < n; i++)
                {
                    var s = seeds[i % seeds.Count];
                    var id = i.ToString("x20", CultureInfo.InvariantCulture);
                    var doc = s with
                    {
                        Id = id,
                        Extid = id,
                        BundleKey = s.BundleKey is null ? null : $"{s.BundleKey}-{i}",
                        Title = $"{s.Title} #{i}",
                        DeveloperPatch = s.DeveloperPatch is { } dp ? dp with { Patch = dp.Patch is null ? null : dp.Patch + $"// copy {i}\n" } : null,
                    };
                    w.Write(doc.ToJsonLine());
                    w.Write('\n');
                }
            }
            var dbPath = Path.Combine(dir, "kbench.db");
            using (var pre = StoreFactory.Open(dbPath))
            {
                // one bug stored before the import: the dataset created during the import names it (an empty dataset is refused)
                var s0 = seeds[0];
                BugRepository.Upsert(pre, [s0 with { Id = "before-import", Extid = "before-import", BundleKey = s0.BundleKey is null ? null : s0.BundleKey + "-pre" }]);
            }
            GC.Collect();
            var sw = Stopwatch.StartNew();
            var docs = BugRepository.ParseJsonLines(jsonl);
            var read = sw.Elapsed.TotalSeconds;
            double? waited = null;
            Task? concurrent = null;
            if (n == sizes.Max())
            {
                concurrent = Task.Run(async () =>
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(2, read + 1)));
                    using var other = StoreFactory.Open(dbPath);
                    var t = Stopwatch.StartNew();
                    DatasetService.Save(other, new DatasetDocument { Name = "during-import", AddedTime = DateTime.UtcNow, BugIds = ["before-import"] }, replace: true);
                    waited = t.Elapsed.TotalSeconds;
                });
            }
            sw.Restart();
            ImportSummary summary;
            using (var db = StoreFactory.Open(dbPath))
            {
                summary = BugRepository.Upsert(db, docs);
            }
            var store = sw.Elapsed.TotalSeconds;
            concurrent?.Wait();
            if (summary.Added != n)
            {
                throw new InvalidOperationException($"expected {n} added, got {summary}");
            }
            totals[n] = read + store;
            var peak = Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0;
            md.Append(CultureInfo.InvariantCulture, $"| {n:N0} | {new FileInfo(jsonl).Length / 1048576.0:F1} | {read:F2} | {store:F2} | {read + store:F2} | {(read + store) / n * 1000:F2} | {peak:F0} | {(waited is { } ws ? ws.ToString("F2", CultureInfo.InvariantCulture) : "-")} |\n");
            Console.WriteLine($"{n}: read {read:F2} s, store {store:F2} s, peak {peak:F0} MB, dataset create waited {waited?.ToString("F2", CultureInfo.InvariantCulture) ?? "-"} s");
            Directory.Delete(dir, true);
        }
        if (totals.Count >= 2)
        {
            var lo = totals.Keys.Min();
            var hi = totals.Keys.Max();
            md.Append(CultureInfo.InvariantCulture, $"\nTime ratio {hi:N0}/{lo:N0} bugs: {totals[hi] / totals[lo]:F1}x for {hi / (double)lo:F0}x the bugs (linear = {hi / (double)lo:F0}x; quadratic would be {Math.Pow(hi / (double)lo, 2):F0}x).\n");
        }
        Directory.CreateDirectory(resultsDir);
        File.WriteAllText(Path.Combine(resultsDir, "import.md"), md.ToString());
        Console.Write(md);
    }
}
