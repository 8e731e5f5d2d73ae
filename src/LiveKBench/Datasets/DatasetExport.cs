using System.Globalization;
using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;

namespace LiveKBench.Datasets;

/// <summary>Counts of a dataset export or import.</summary>
/// <param name="Bugs">Bugs written or read.</param>
/// <param name="Datasets">Datasets written or read.</param>
public sealed record DatasetTransferSummary(int Bugs, int Datasets);

/// <summary>
/// Exports datasets in the Hugging Face dataset layout and imports them back losslessly:
/// <code>
/// DIR/README.md                               dataset card; YAML header declares the configs
/// DIR/bugs/train-00000-of-00001.parquet       config "bugs", split "train": one row per bug (columns: <see cref="BugParquetRow"/>)
/// DIR/bugs/train.jsonl                        the same rows as JSON Lines (livekbench-bug/1 documents)
/// DIR/datasets/train-00000-of-00001.parquet   config "datasets": name, description, addedTime, bugIds (JSON list)
/// DIR/datasets/train.jsonl                    the same as JSON Lines
/// </code>
/// Nested lists (crashes, fix commits, reproducers, developer patch) are JSON text columns, as in the original exporter.
/// </summary>
public static class DatasetExport
{
    private const string ParquetFile = "train-00000-of-00001.parquet";

    /// <summary>Writes the given datasets (null = all) and their bugs to <paramref name="dir"/> (created; existing files replaced).</summary>
    /// <exception cref="DatasetException">Unknown dataset, or none to export.</exception>
    public static DatasetTransferSummary Export(KBenchDbContext db, string dir, IReadOnlyCollection<string>? names)
    {
        var datasets = names is null || names.Count == 0
            ? DatasetService.List(db)
            : [.. names.Select(n => DatasetService.Find(db, n) ?? throw new DatasetException($"no dataset {n}"))];
        if (datasets.Count == 0)
        {
            throw new DatasetException("no dataset to export (create one with `kbench dataset create`)");
        }
        var ids = datasets.SelectMany(d => d.BugIds).Distinct().Order(StringComparer.Ordinal).ToList();
        var bugs = BugRepository.Load(db, ids).Select(BugDocument.From).ToList();
        Directory.CreateDirectory(Path.Combine(dir, "bugs"));
        Directory.CreateDirectory(Path.Combine(dir, "datasets"));

        WriteAtomically(Path.Combine(dir, "bugs", ParquetFile), s => DatasetParquet.Write(s, [.. bugs.Select(BugRow)]));
        WriteAtomically(Path.Combine(dir, "bugs", "train.jsonl"), s => WriteLines(s, bugs.Select(b => b.ToJsonLine())));
        WriteAtomically(Path.Combine(dir, "datasets", ParquetFile), s => DatasetParquet.Write(s, [.. datasets.Select(DatasetRow)]));
        WriteAtomically(Path.Combine(dir, "datasets", "train.jsonl"), s => WriteLines(s, datasets.Select(d => JsonSerializer.Serialize(d, BugDocument.JsonOptions))));
        WriteAtomically(Path.Combine(dir, "README.md"), s =>
        {
            var bytes = Encoding.UTF8.GetBytes(DatasetCard(datasets, bugs.Count));
            s.Write(bytes);
        });
        return new DatasetTransferSummary(bugs.Count, datasets.Count);
    }

    /// <summary>Reads an export folder (Parquet; the JSON Lines copy when a Parquet file is absent) and stores its bugs and datasets in one transaction each.</summary>
    /// <exception cref="DatasetException">The folder is not an export, or its files are corrupt.</exception>
    public static DatasetTransferSummary Import(KBenchDbContext db, string dir)
    {
        var bugs = ReadBugs(dir);
        var datasets = ReadDatasets(dir);
        // All or nothing: the bugs and every dataset in one transaction; any refusal rolls all of it back.
        using var tx = db.Database.BeginTransaction();
        try
        {
            BugRepository.Upsert(db, bugs);
        }
        catch (BugImportException ex)
        {
            throw new DatasetException($"{dir}: {ex.Message}; nothing imported", ex);
        }
        foreach (var d in datasets)
        {
            try
            {
                DatasetService.Save(db, d, replace: true);
            }
            catch (DatasetException ex)
            {
                throw new DatasetException($"{Path.Combine(dir, "datasets")}: {ex.Message}; nothing imported", ex);
            }
        }
        tx.Commit();
        return new DatasetTransferSummary(bugs.Count, datasets.Count);
    }

    /// <summary>Reads the <c>bugs</c> config of an export folder.</summary>
    /// <exception cref="DatasetException">Missing or corrupt.</exception>
    public static List<BugDocument> ReadBugs(string dir)
    {
        var parquet = Path.Combine(dir, "bugs", ParquetFile);
        var jsonl = Path.Combine(dir, "bugs", "train.jsonl");
        try
        {
            if (File.Exists(parquet))
            {
                using var s = File.OpenRead(parquet);
                return [.. DatasetParquet.Read<BugParquetRow>(s).Select(BugFromRow)];
            }
            if (File.Exists(jsonl))
            {
                return BugRepository.ParseJsonLines(jsonl);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or BugImportException or FormatException or IOException)
        {
            throw new DatasetException($"{dir}: cannot read the bugs config: {ex.Message}", ex);
        }
        throw new DatasetException($"{dir}: not a dataset export (no bugs/{ParquetFile} or bugs/train.jsonl)");
    }

    private static List<DatasetDocument> ReadDatasets(string dir)
    {
        var parquet = Path.Combine(dir, "datasets", ParquetFile);
        var jsonl = Path.Combine(dir, "datasets", "train.jsonl");
        try
        {
            if (File.Exists(parquet))
            {
                using var s = File.OpenRead(parquet);
                return [.. DatasetParquet.Read<DatasetParquetRow>(s).Select(r => new DatasetDocument
                {
                    Name = r.Name,
                    Description = r.Description,
                    AddedTime = Utc(r.AddedTime),
                    BugIds = JsonSerializer.Deserialize<List<string>>(r.BugIds) ?? [],
                })];
            }
            if (File.Exists(jsonl))
            {
                return ReadDatasetLines(jsonl);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or InvalidCastException or IOException or BugImportException)
        {
            throw new DatasetException($"{dir}: cannot read the datasets config: {ex.Message}", ex);
        }
        return [];
    }

    /// <summary>The datasets JSON Lines file: bounded lines, strict UTF-8; a null, malformed or nameless line is refused with its number.</summary>
    private static List<DatasetDocument> ReadDatasetLines(string path)
    {
        var list = new List<DatasetDocument>();
        SafeFile.CheckRegular(path, followLinks: true);
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        var lineNo = 0;
        foreach (var bytes in JsonLines.ReadLines(fs, InputLimits.JsonLineBytes, n => $"{path}:{n}"))
        {
            lineNo++;
            var line = SafeFile.DecodeUtf8(bytes, $"{path}:{lineNo}");
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            DatasetDocument? d;
            try
            {
                d = JsonSerializer.Deserialize<DatasetDocument>(line, BugDocument.JsonOptions);
            }
            catch (JsonException ex)
            {
                throw new BugImportException($"{path}:{lineNo}: not a dataset document: {ex.Message}", ex);
            }
            if (d is null || string.IsNullOrWhiteSpace(d.Name) || d.BugIds is null || d.BugIds.Any(id => id is null))
            {
                throw new BugImportException($"{path}:{lineNo}: not a dataset document (needs \"name\" and \"bugIds\", a list of bug ids)");
            }
            list.Add(d);
        }
        return list;
    }

    private static BugParquetRow BugRow(BugDocument b) => new()
    {
        Id = b.Id,
        Extid = b.Extid,
        SyzbotId = b.SyzbotId,
        Title = b.Title,
        Status = EnumText.ToText(b.Status),
        Source = EnumText.ToText(b.Source),
        BundleKey = b.BundleKey,
        Link = b.Link,
        Namespace = b.Namespace,
        CrashTitle = b.CrashTitle,
        CrashReport = b.CrashReport,
        Subsystems = Json(b.Subsystems),
        KernelSourceGit = b.KernelSourceGit,
        KernelSourceCommit = b.KernelSourceCommit,
        KernelBase = b.KernelBase,
        KernelConfig = b.KernelConfig,
        ConfigBase = b.ConfigBase,
        ConfigFragment = b.ConfigFragment,
        Architecture = b.Architecture,
        SyzkallerCommit = b.SyzkallerCommit,
        CauseCommitHash = b.CauseCommitHash,
        CauseCommitTitle = b.CauseCommitTitle,
        ParentOfFix = b.ParentOfFix,
        MirrorFixCommit = b.MirrorFixCommit,
        AddedTime = Utc(b.AddedTime),
        ReportedTime = Utc(b.ReportedTime),
        FirstCrash = Utc(b.FirstCrash),
        LastCrash = Utc(b.LastCrash),
        FixTime = Utc(b.FixTime),
        CloseTime = Utc(b.CloseTime),
        MetadataJson = b.MetadataJson,
        Crashes = Json(b.Crashes),
        FixCommits = Json(b.FixCommits),
        Reproducers = Json(b.Reproducers),
        DeveloperPatch = b.DeveloperPatch is null ? null : Json(b.DeveloperPatch),
        FixedTime = Utc(b.DeveloperPatch?.FixedTime),
    };

    private static BugDocument BugFromRow(BugParquetRow r)
    {
        T J<T>(string? json) => JsonSerializer.Deserialize<T>(json ?? "null", BugDocument.JsonOptions)!;
        return new BugDocument
        {
            Id = r.Id,
            Extid = r.Extid,
            SyzbotId = r.SyzbotId,
            Title = r.Title,
            Status = EnumText.Parse<BugStatus>(r.Status),
            Source = EnumText.Parse<BugSource>(r.Source),
            BundleKey = r.BundleKey,
            Link = r.Link,
            Namespace = r.Namespace,
            CrashTitle = r.CrashTitle,
            CrashReport = r.CrashReport,
            Subsystems = J<List<string>>(r.Subsystems),
            KernelSourceGit = r.KernelSourceGit,
            KernelSourceCommit = r.KernelSourceCommit,
            KernelBase = r.KernelBase,
            KernelConfig = r.KernelConfig,
            ConfigBase = r.ConfigBase,
            ConfigFragment = r.ConfigFragment,
            Architecture = r.Architecture,
            SyzkallerCommit = r.SyzkallerCommit,
            CauseCommitHash = r.CauseCommitHash,
            CauseCommitTitle = r.CauseCommitTitle,
            ParentOfFix = r.ParentOfFix,
            MirrorFixCommit = r.MirrorFixCommit,
            AddedTime = Utc(r.AddedTime),
            ReportedTime = Utc(r.ReportedTime),
            FirstCrash = Utc(r.FirstCrash),
            LastCrash = Utc(r.LastCrash),
            FixTime = Utc(r.FixTime),
            CloseTime = Utc(r.CloseTime),
            MetadataJson = r.MetadataJson,
            Crashes = J<List<CrashDocument>>(r.Crashes),
            FixCommits = J<List<FixCommitDocument>>(r.FixCommits),
            Reproducers = J<List<ReproducerDocument>>(r.Reproducers),
            DeveloperPatch = r.DeveloperPatch is null ? null : J<DeveloperPatchDocument>(r.DeveloperPatch),
        };
    }

    private static DatasetParquetRow DatasetRow(DatasetDocument d) => new() { Name = d.Name, Description = d.Description, AddedTime = Utc(d.AddedTime), BugIds = Json(d.BugIds) };

    private static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc);

    private static DateTime? Utc(DateTime? t) => t is { } v ? Utc(v) : null;

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, BugDocument.JsonOptions);

    private static void WriteLines(Stream s, IEnumerable<string> lines)
    {
        using var w = new StreamWriter(s, new UTF8Encoding(false), leaveOpen: true);
        foreach (var l in lines)
        {
            w.Write(l);
            w.Write('\n');
        }
    }

    private static void WriteAtomically(string path, Action<Stream> write)
    {
        var tmp = path + ".tmp";
        using (var s = File.Create(tmp))
        {
            write(s);
        }
        File.Move(tmp, path, overwrite: true);
    }

    private static string DatasetCard(IReadOnlyList<DatasetDocument> datasets, int bugCount)
    {
        var sb = new StringBuilder();
        sb.Append("---\nconfigs:\n- config_name: bugs\n  data_files:\n  - split: train\n    path: bugs/train-*.parquet\n");
        sb.Append("- config_name: datasets\n  data_files:\n  - split: train\n    path: datasets/train-*.parquet\nlicense: other\ntags:\n- linux-kernel\n- syzbot\n- livekbench\n---\n\n");
        sb.Append("# LiveKBench bug dataset export\n\n");
        sb.Append(CultureInfo.InvariantCulture, $"{bugCount} bugs in {datasets.Count} dataset(s): {string.Join(", ", datasets.Select(d => $"`{d.Name}` ({d.BugIds.Count} bugs)"))}.\n\n");
        sb.Append("Written by `kbench dataset export`; read back with `kbench dataset import DIR`. ");
        sb.Append("Config `bugs` holds one row per bug (nested lists as JSON text columns), config `datasets` the dataset names and member bug ids. ");
        sb.Append("Each config is also given as JSON Lines (`train.jsonl`).\n");
        return sb.ToString();
    }
}
