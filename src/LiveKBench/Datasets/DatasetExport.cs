using System.Globalization;
using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Datasets.Parquet;
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
/// DIR/bugs/train-00000-of-00001.parquet       config "bugs", split "train": one row per bug (columns: <see cref="BugColumns"/>)
/// DIR/bugs/train.jsonl                        the same rows as JSON Lines (livekbench-bug/1 documents)
/// DIR/datasets/train-00000-of-00001.parquet   config "datasets": name, description, addedTime, bugIds (JSON list)
/// DIR/datasets/train.jsonl                    the same as JSON Lines
/// </code>
/// Nested lists (crashes, fix commits, reproducers, developer patch) are JSON text columns, as in the original exporter.
/// </summary>
public static class DatasetExport
{
    /// <summary>Columns of the <c>bugs</c> config, in order.</summary>
    public static readonly IReadOnlyList<ParquetColumn> BugColumns =
    [
        new("id", ParquetType.String, Nullable: false),
        new("extid", ParquetType.String),
        new("syzbotId", ParquetType.String),
        new("title", ParquetType.String, Nullable: false),
        new("status", ParquetType.String, Nullable: false),
        new("source", ParquetType.String, Nullable: false),
        new("bundleKey", ParquetType.String),
        new("link", ParquetType.String),
        new("namespace", ParquetType.String),
        new("crashTitle", ParquetType.String),
        new("crashReport", ParquetType.String),
        new("subsystems", ParquetType.String, Nullable: false),
        new("kernelSourceGit", ParquetType.String),
        new("kernelSourceCommit", ParquetType.String),
        new("kernelBase", ParquetType.String),
        new("kernelConfig", ParquetType.String),
        new("configBase", ParquetType.String),
        new("configFragment", ParquetType.String),
        new("architecture", ParquetType.String),
        new("syzkallerCommit", ParquetType.String),
        new("causeCommitHash", ParquetType.String),
        new("causeCommitTitle", ParquetType.String),
        new("parentOfFix", ParquetType.String),
        new("mirrorFixCommit", ParquetType.String),
        new("addedTime", ParquetType.Timestamp, Nullable: false),
        new("reportedTime", ParquetType.Timestamp),
        new("firstCrash", ParquetType.Timestamp),
        new("lastCrash", ParquetType.Timestamp),
        new("fixTime", ParquetType.Timestamp),
        new("closeTime", ParquetType.Timestamp),
        new("metadataJson", ParquetType.String),
        new("crashes", ParquetType.String, Nullable: false),
        new("fixCommits", ParquetType.String, Nullable: false),
        new("reproducers", ParquetType.String, Nullable: false),
        new("developerPatch", ParquetType.String),
        new("fixedTime", ParquetType.Timestamp),
    ];

    /// <summary>Columns of the <c>datasets</c> config.</summary>
    public static readonly IReadOnlyList<ParquetColumn> DatasetColumns =
    [
        new("name", ParquetType.String, Nullable: false),
        new("description", ParquetType.String, Nullable: false),
        new("addedTime", ParquetType.Timestamp, Nullable: false),
        new("bugIds", ParquetType.String, Nullable: false),
    ];

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

        WriteAtomically(Path.Combine(dir, "bugs", ParquetFile), s => ParquetWriter.Write(s, new ParquetTable(BugColumns, [.. bugs.Select(BugRow)])));
        WriteAtomically(Path.Combine(dir, "bugs", "train.jsonl"), s => WriteLines(s, bugs.Select(b => b.ToJsonLine())));
        WriteAtomically(Path.Combine(dir, "datasets", ParquetFile), s => ParquetWriter.Write(s, new ParquetTable(DatasetColumns, [.. datasets.Select(DatasetRow)])));
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
                var table = ParquetReader.Read(s);
                return [.. table.Rows.Select(r => BugFromRow(table, r))];
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
                var t = ParquetReader.Read(s);
                return [.. t.Rows.Select(r => new DatasetDocument
                {
                    Name = (string)r[t.IndexOf("name")]!,
                    Description = (string)r[t.IndexOf("description")]!,
                    AddedTime = ((DateTimeOffset)r[t.IndexOf("addedTime")]!).UtcDateTime,
                    BugIds = JsonSerializer.Deserialize<List<string>>((string)r[t.IndexOf("bugIds")]!) ?? [],
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

    private static object?[] BugRow(BugDocument b) =>
    [
        b.Id, b.Extid, b.SyzbotId, b.Title, EnumText.ToText(b.Status), EnumText.ToText(b.Source), b.BundleKey, b.Link, b.Namespace,
        b.CrashTitle, b.CrashReport, Json(b.Subsystems), b.KernelSourceGit, b.KernelSourceCommit, b.KernelBase, b.KernelConfig,
        b.ConfigBase, b.ConfigFragment, b.Architecture, b.SyzkallerCommit, b.CauseCommitHash, b.CauseCommitTitle, b.ParentOfFix,
        b.MirrorFixCommit, Ts(b.AddedTime), Ts(b.ReportedTime), Ts(b.FirstCrash), Ts(b.LastCrash), Ts(b.FixTime), Ts(b.CloseTime),
        b.MetadataJson, Json(b.Crashes), Json(b.FixCommits), Json(b.Reproducers), b.DeveloperPatch is null ? null : Json(b.DeveloperPatch),
        Ts(b.DeveloperPatch?.FixedTime),
    ];

    private static BugDocument BugFromRow(ParquetTable t, object?[] r)
    {
        string? S(string name) => (string?)r[t.IndexOf(name)];
        DateTime? T(string name) => r[t.IndexOf(name)] is DateTimeOffset o ? o.UtcDateTime : null;
        T2 J<T2>(string name) => JsonSerializer.Deserialize<T2>(S(name) ?? "null", BugDocument.JsonOptions)!;
        return new BugDocument
        {
            Id = S("id")!,
            Extid = S("extid"),
            SyzbotId = S("syzbotId"),
            Title = S("title")!,
            Status = EnumText.Parse<BugStatus>(S("status")!),
            Source = EnumText.Parse<BugSource>(S("source")!),
            BundleKey = S("bundleKey"),
            Link = S("link"),
            Namespace = S("namespace"),
            CrashTitle = S("crashTitle"),
            CrashReport = S("crashReport"),
            Subsystems = J<List<string>>("subsystems"),
            KernelSourceGit = S("kernelSourceGit"),
            KernelSourceCommit = S("kernelSourceCommit"),
            KernelBase = S("kernelBase"),
            KernelConfig = S("kernelConfig"),
            ConfigBase = S("configBase"),
            ConfigFragment = S("configFragment"),
            Architecture = S("architecture"),
            SyzkallerCommit = S("syzkallerCommit"),
            CauseCommitHash = S("causeCommitHash"),
            CauseCommitTitle = S("causeCommitTitle"),
            ParentOfFix = S("parentOfFix"),
            MirrorFixCommit = S("mirrorFixCommit"),
            AddedTime = T("addedTime") ?? throw new FormatException("addedTime is null"),
            ReportedTime = T("reportedTime"),
            FirstCrash = T("firstCrash"),
            LastCrash = T("lastCrash"),
            FixTime = T("fixTime"),
            CloseTime = T("closeTime"),
            MetadataJson = S("metadataJson"),
            Crashes = J<List<CrashDocument>>("crashes"),
            FixCommits = J<List<FixCommitDocument>>("fixCommits"),
            Reproducers = J<List<ReproducerDocument>>("reproducers"),
            DeveloperPatch = S("developerPatch") is null ? null : J<DeveloperPatchDocument>("developerPatch"),
        };
    }

    private static object?[] DatasetRow(DatasetDocument d) => [d.Name, d.Description, Ts(d.AddedTime), Json(d.BugIds)];

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, BugDocument.JsonOptions);

    private static DateTimeOffset? Ts(DateTime? t) => t is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;

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
