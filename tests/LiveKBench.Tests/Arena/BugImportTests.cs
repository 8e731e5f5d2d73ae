using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Datasets;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Tests.Arena;

public sealed class BugImportTests : IDisposable
{
    private readonly TempDir _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private Workspace NewWorkspace(string name = "ws") => Workspace.Init(_tmp[name]);

    private static List<BugDocument> RealBugs() => BugImport.ReadInput(SharedData.Path("realbugs"), new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc));

    [Fact]
    public void Realbugs_folder_imports_every_case_with_its_metadata()
    {
        var docs = RealBugs();
        var expected = Directory.GetDirectories(SharedData.Path("realbugs")).Where(d => File.Exists(Path.Combine(d, "bug.json"))).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(expected, docs.Select(d => d.BundleKey).Order().ToList());
        Assert.DoesNotContain("harness", docs.Select(d => d.BundleKey)); // no bug.json: skipped

        var ws = NewWorkspace();
        using var db = ws.OpenStore();
        var summary = BugRepository.Upsert(db, docs);
        Assert.Equal(new ImportSummary(docs.Count, 0, 0), summary);

        var unix = BugRepository.Find(db, "unix_shutdown")!;
        Assert.Equal("cd7ceee0d3b5892f07af", unix.Id);
        Assert.Equal("BUG: unable to handle kernel NULL pointer dereference in unix_shutdown", unix.Title);
        Assert.Equal(BugStatus.Fixed, unix.Status);
        Assert.Equal("x86_64", unix.Architecture);
        Assert.Equal("tinyconfig", unix.ConfigBase);
        Assert.Contains("-e KASAN", unix.ConfigFragment);
        Assert.Equal(File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "repro.c")), Assert.Single(unix.Reproducers).Text);
        Assert.Equal("d359902d5c357b280e7a0862bb8a1ba56b3fc197", Assert.Single(unix.FixCommits).Hash);
        Assert.Equal(File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "fix.patch")), unix.DeveloperPatch!.Patch!.Content);

        // cap_convert_nscap is known to syzbot only by its 40-hex bug id.
        var cap = BugRepository.Find(db, "cap_convert_nscap")!;
        Assert.Equal("7c17e17da1e764a4db88b33fb408531edef3c5a0", cap.Id);
        Assert.Null(cap.Extid);
    }

    private string CopyBundle(string caseName, string to)
    {
        var dst = _tmp[to];
        Directory.CreateDirectory(dst);
        foreach (var f in Directory.GetFiles(SharedData.Path("realbugs", caseName)))
        {
            File.Copy(f, Path.Combine(dst, Path.GetFileName(f)));
        }
        return dst;
    }

    [Fact]
    public void A_bundle_crash_report_is_its_own_crash_cut_from_the_buggy_console()
    {
        var unix = RealBugs().Single(d => d.BundleKey == "unix_shutdown");
        var report = unix.CrashReport;
        Assert.NotNull(report);
        // The report section of the console as syzkaller's pkg/report extracts it (the oops and its call trace, with the
        // kernel lines just before it), not the whole boot log.
        Assert.Contains("BUG: kernel NULL pointer dereference, address: 0000000000000000", report);
        Assert.Contains("Call Trace:", report);
        Assert.Contains("unix_shutdown", report);
        Assert.DoesNotContain("SeaBIOS", report);
        Assert.True(report.Length < File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "console-buggy.txt")).Length);
    }

    [Fact]
    public void A_bundle_whose_console_shows_no_crash_or_another_crash_gets_no_crash_report()
    {
        // The fixed kernel's console: no crash at all.
        var clean = CopyBundle("unix_shutdown", "clean");
        File.Copy(SharedData.Path("realbugs", "unix_shutdown", "console-fixed.txt"), Path.Combine(clean, "console-buggy.txt"), overwrite: true);
        Assert.Null(BugBundleReader.Read(clean, DateTime.UtcNow).CrashReport);

        // Another bug's crash (add_del_if) is not this bug's report.
        var other = CopyBundle("unix_shutdown", "other");
        File.Copy(SharedData.Path("realbugs", "bridge_add_del_if", "console-buggy.txt"), Path.Combine(other, "console-buggy.txt"), overwrite: true);
        Assert.Null(BugBundleReader.Read(other, DateTime.UtcNow).CrashReport);
    }

    [Fact]
    public void A_bundle_report_file_and_subsystems_are_taken_as_given()
    {
        var dir = CopyBundle("unix_shutdown", "named");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "bug.json")))!.AsObject();
        json["report"] = "report.txt";
        json["subsystems"] = new System.Text.Json.Nodes.JsonArray("net", "af_unix", "net");
        File.WriteAllText(Path.Combine(dir, "bug.json"), json.ToJsonString());
        File.WriteAllText(Path.Combine(dir, "report.txt"), "syzbot's own report text\n");
        var doc = BugBundleReader.Read(dir, DateTime.UtcNow);
        Assert.Equal("syzbot's own report text\n", doc.CrashReport);
        Assert.Equal(["net", "af_unix"], doc.Subsystems);

        // One "subsystem" string; a report file outside the bundle is refused like every other bundle file.
        json.Remove("subsystems");
        json["subsystem"] = "net/unix";
        json["report"] = "../report.txt";
        File.WriteAllText(Path.Combine(dir, "bug.json"), json.ToJsonString());
        var ex = Assert.Throws<BugImportException>(() => BugBundleReader.Read(dir, DateTime.UtcNow));
        Assert.Contains("must stay inside the bundle folder", ex.Message);
        json.Remove("report");
        File.WriteAllText(Path.Combine(dir, "bug.json"), json.ToJsonString());
        Assert.Equal(["net/unix"], BugBundleReader.Read(dir, DateTime.UtcNow).Subsystems);
    }

    /// <summary>The repository's real-bug dataset (data/linux-6.1): every case is a complete bundle on the one shared config.</summary>
    [Fact]
    public void Linux61_dataset_cases_are_complete_bundles_on_one_config()
    {
        var root = Path.Combine(SharedData.RepoRoot, "data", "linux-6.1");
        var shared = File.ReadAllText(Path.Combine(root, "config.fragment"));
        var docs = BugImport.ReadInput(root, DateTime.UtcNow);
        Assert.NotEmpty(docs);
        Assert.Equal(docs.Count, docs.Select(d => d.Id).Distinct().Count());
        foreach (var d in docs)
        {
            var dir = Path.Combine(root, d.BundleKey!);
            Assert.Equal(shared, d.ConfigFragment);
            Assert.NotNull(d.Extid);
            Assert.Equal(ReproducerKind.C, Assert.Single(d.Reproducers).Kind);
            Assert.False(string.IsNullOrWhiteSpace(d.DeveloperPatch?.Patch), d.BundleKey);
            Assert.NotEmpty(d.Subsystems);
            // The buggy console holds the bug's own crash (which becomes the agents' crash report); the fixed one none.
            Assert.False(string.IsNullOrEmpty(d.CrashReport), $"{d.BundleKey}: no own crash in console-buggy.txt");
            Assert.Null(LiveKBench.Kernel.CrashReports.CrashReportParser.ParseFile(Path.Combine(dir, "console-fixed.txt")));
            foreach (var f in new[] { "repro.c", "fix.patch", "notes.md", "upstream-fix.txt" })
            {
                Assert.True(File.Exists(Path.Combine(dir, f)), $"{d.BundleKey}: {f} missing");
            }
        }
    }

    /// <summary>A .list file names bundle folders relative to itself; a line naming no bundle is refused with file:line.</summary>
    [Fact]
    public void A_list_file_imports_exactly_the_bundles_it_names()
    {
        var dir = Directory.CreateTempSubdirectory("kbench-list-").FullName;
        try
        {
            var all = RealBugs();
            Assert.True(all.Count >= 2);
            var realbugs = SharedData.Path("realbugs");
            var listPath = Path.Combine(dir, "pick.list");
            File.WriteAllText(listPath, $"# two of the real bugs\n\n{Path.GetRelativePath(dir, Path.Combine(realbugs, all[1].BundleKey!))}\n  {Path.Combine(realbugs, all[0].BundleKey!)}  \n");
            var docs = BugImport.ReadInput(listPath, DateTime.UtcNow);
            Assert.Equal([all[1].Id, all[0].Id], docs.Select(d => d.Id).ToList());

            File.AppendAllText(listPath, Path.Combine(realbugs, all[1].BundleKey!) + "\n");
            var twice = Assert.Throws<BugImportException>(() => BugImport.ReadInput(listPath, DateTime.UtcNow));
            Assert.Contains("pick.list:5:", twice.Message);
            Assert.Contains("named twice (first on line 3)", twice.Message);

            File.WriteAllText(listPath, $"# two of the real bugs\n\n{Path.Combine(realbugs, all[1].BundleKey!)}\n{Path.Combine(realbugs, all[0].BundleKey!)}\nno-such-case\n");
            var ex = Assert.Throws<BugImportException>(() => BugImport.ReadInput(listPath, DateTime.UtcNow));
            Assert.Contains("pick.list:5: no-such-case is not a bug bundle folder", ex.Message);

            File.WriteAllText(listPath, "# nothing\n");
            Assert.Throws<BugImportException>(() => BugImport.ReadInput(listPath, DateTime.UtcNow));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Importing_twice_changes_nothing()
    {
        var ws = NewWorkspace();
        using var db = ws.OpenStore();
        BugRepository.Upsert(db, RealBugs());
        var before = BugRepository.Load(db).Select(b => BugDocument.From(b).ToJsonLine()).ToList();
        // Re-read with a later clock: the first addedTime must survive.
        var again = BugImport.ReadInput(SharedData.Path("realbugs"), new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var summary = BugRepository.Upsert(db, again);
        Assert.Equal(0, summary.Added);
        Assert.Equal(0, summary.Updated);
        Assert.Equal(again.Count, summary.Unchanged);
        db.ChangeTracker.Clear();
        Assert.Equal(before, BugRepository.Load(db).Select(b => BugDocument.From(b).ToJsonLine()).ToList());
        Assert.Equal(again.Count, db.Patches.Count());
    }

    [Fact]
    public void Export_then_import_into_a_new_workspace_gives_identical_documents()
    {
        var a = NewWorkspace("a");
        var b = NewWorkspace("b");
        using var dbA = a.OpenStore();
        BugRepository.Upsert(dbA, RealBugs());
        var file = _tmp["bugs.jsonl"];
        using (var w = new StreamWriter(file))
        {
            BugRepository.ExportJsonLines(dbA, w);
        }
        using var dbB = b.OpenStore();
        BugRepository.Upsert(dbB, BugImport.ReadInput(file, DateTime.UtcNow));
        Assert.Equal(
            BugRepository.Load(dbA).Select(x => BugDocument.From(x).ToJsonLine()),
            BugRepository.Load(dbB).Select(x => BugDocument.From(x).ToJsonLine()));
    }

    [Fact]
    public void Corrupt_jsonl_line_names_the_line_and_imports_nothing()
    {
        var ws = NewWorkspace();
        using var db = ws.OpenStore();
        BugRepository.Upsert(db, RealBugs());
        var lines = BugRepository.Load(db).Select(x => (BugDocument.From(x) with { Id = "copy-" + x.Id }).ToJsonLine()).ToList();
        lines.Insert(2, "{\"schema\":\"livekbench-bug/1\",\"id\":\"x\",\"title\":"); // truncated line 3
        var file = _tmp["bad.jsonl"];
        File.WriteAllLines(file, lines);
        var ex = Assert.Throws<BugImportException>(() => BugImport.ReadInput(file, DateTime.UtcNow));
        Assert.Contains("bad.jsonl:3:", ex.Message);
        Assert.Equal(3, db.Bugs.Count());

        // Garbage bytes (not UTF-8 JSON at all) also name the line.
        File.WriteAllBytes(file, [0xff, 0xfe, 0x00, 0x41, (byte)'\n']);
        Assert.Contains(":1:", Assert.Throws<BugImportException>(() => BugImport.ReadInput(file, DateTime.UtcNow)).Message);
    }

    [Fact]
    public void Bundle_missing_a_required_file_names_the_file()
    {
        var src = SharedData.Path("realbugs", "unix_shutdown");
        var copy = _tmp["bundles/unix_shutdown"];
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(src))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }
        File.Delete(Path.Combine(copy, "repro.c"));
        var ex = Assert.Throws<BugImportException>(() => BugImport.ReadInput(_tmp["bundles"], DateTime.UtcNow));
        Assert.Contains("repro.c", ex.Message);
        Assert.Contains("missing", ex.Message);

        File.WriteAllText(Path.Combine(copy, "bug.json"), "{ not json");
        Assert.Contains("bug.json", Assert.Throws<BugImportException>(() => BugImport.ReadInput(_tmp["bundles"], DateTime.UtcNow)).Message);
    }

    [Fact]
    public void Bundle_with_a_path_leaving_the_folder_is_refused()
    {
        var copy = _tmp["evil"];
        Directory.CreateDirectory(copy);
        File.WriteAllText(Path.Combine(copy, "bug.json"), """
            {"title":"t","status":"fixed","syzbot":{"extid":"0123456789abcdef0123"},
             "config":{"base":"tinyconfig","fragment":"../../../../etc/passwd"},"reproducers":{"c":"repro.c"}}
            """);
        var ex = Assert.Throws<BugImportException>(() => BugImport.ReadInput(copy, DateTime.UtcNow));
        Assert.Contains("inside the bundle folder", ex.Message);
    }

    [Fact]
    public void Dataset_export_and_import_round_trip_losslessly()
    {
        var a = NewWorkspace("a");
        var b = NewWorkspace("b");
        using var dbA = a.OpenStore();
        var docs = RealBugs();
        BugRepository.Upsert(dbA, docs);
        DatasetService.Create(dbA, "real", "the real bugs", docs.Select(d => d.Id), Clock.UtcNow());
        DatasetService.Create(dbA, "one", "", [docs[0].Id], Clock.UtcNow());
        var dir = _tmp["export"];
        var written = DatasetExport.Export(dbA, dir, null);
        Assert.Equal(new DatasetTransferSummary(docs.Count, 2), written);
        Assert.True(File.Exists(Path.Combine(dir, "bugs", "train-00000-of-00001.parquet")));
        Assert.StartsWith("---\nconfigs:\n- config_name: bugs", File.ReadAllText(Path.Combine(dir, "README.md")));

        // The Parquet file alone must carry everything (JSON Lines copy removed).
        File.Delete(Path.Combine(dir, "bugs", "train.jsonl"));
        using var dbB = b.OpenStore();
        DatasetExport.Import(dbB, dir);
        Assert.Equal(
            BugRepository.Load(dbA).Select(x => BugDocument.From(x).ToJsonLine()),
            BugRepository.Load(dbB).Select(x => BugDocument.From(x).ToJsonLine()));
        Assert.Equal(JsonSerializer.Serialize(DatasetService.List(dbA)), JsonSerializer.Serialize(DatasetService.List(dbB)));
    }

    [Fact]
    public void Dataset_of_an_unknown_bug_is_refused()
    {
        var ws = NewWorkspace();
        using var db = ws.OpenStore();
        Assert.Contains("no bug nope", Assert.Throws<DatasetException>(() => DatasetService.Create(db, "x", "", ["nope"], DateTime.UtcNow)).Message);
        Assert.Equal(0, db.Datasets.Count());
    }

    [Fact]
    public void Failed_rows_keep_attempts_and_reason_and_dates_come_back_as_utc()
    {
        var ws = NewWorkspace();
        using (var db = ws.OpenStore())
        {
            BugRepository.Upsert(db, RealBugs());
            db.KcacheEntries.Add(new KcacheEntry
            {
                BugId = "cd7ceee0d3b5892f07af",
                Status = WorkStatus.Failed,
                Attempts = 2,
                FailureReason = "build timed out",
                AddedTime = new DateTime(2026, 5, 1, 12, 0, 0, DateTimeKind.Utc),
                UpdatedTime = new DateTime(2026, 5, 1, 12, 0, 0, DateTimeKind.Utc),
                Verdict = Verdict.NotReproduced,
            });
            db.SaveChanges();
        }
        using (var db = ws.OpenStore())
        {
            var k = db.KcacheEntries.Single();
            Assert.Equal(2, k.Attempts);
            Assert.Equal("build timed out", k.FailureReason);
            Assert.Equal(DateTimeKind.Utc, k.AddedTime.Kind);
            // Enumerations are stored as their standard camelCase names.
            var conn = db.Database.GetDbConnection();
            using var cmd = conn.CreateCommand();
            cmd.CommandText = "SELECT Verdict || ',' || Status FROM KcacheEntries";
            Assert.Equal("notReproduced,failed", cmd.ExecuteScalar());
            // Time windows compare as date-times.
            Assert.Equal(1, db.KcacheEntries.Count(x => x.AddedTime > new DateTime(2026, 4, 30, 0, 0, 0, DateTimeKind.Utc)));
        }
    }
}
