using System.Text.Json.Serialization;
using Parquet;
using Parquet.Serialization;
using Parquet.Serialization.Attributes;

namespace LiveKBench.Datasets;

/// <summary>
/// Reads and writes the Parquet files of a dataset export with Parquet.Net: Snappy-compressed, dictionary-encoded where
/// it pays, timestamps as INT64 microseconds since the Unix epoch with the logical type TIMESTAMP(isAdjustedToUTC=true).
/// Reading accepts every codec and encoding Parquet.Net reads (uncompressed, Snappy, Gzip, ZSTD, LZ4, Brotli; plain,
/// dictionary, delta), so a dataset rewritten by another tool (e.g. the Hugging Face <c>datasets</c> library) reads too.
/// </summary>
public static class DatasetParquet
{
    /// <summary>Writes <paramref name="rows"/> as one Parquet file to <paramref name="stream"/> (left open).</summary>
    /// <typeparam name="T">A row type whose public properties are the columns (names from <see cref="JsonPropertyNameAttribute"/>).</typeparam>
    public static void Write<T>(Stream stream, IReadOnlyList<T> rows)
        where T : new()
    {
        var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy };
        ParquetSerializer.SerializeAsync(rows, stream, options).GetAwaiter().GetResult();
    }

    /// <summary>Reads every row of a Parquet file into <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">The row type; every column it names must be in the file (extra file columns are ignored).</typeparam>
    /// <exception cref="InvalidDataException">Not a Parquet file, corrupt, or a column of <typeparamref name="T"/> is missing
    /// (the message names the missing columns and the columns the file has).</exception>
    public static List<T> Read<T>(Stream stream)
        where T : class, new()
    {
        var expected = typeof(T).GetProperties()
            .Select(p => p.GetCustomAttributes(typeof(JsonPropertyNameAttribute), false).OfType<JsonPropertyNameAttribute>().FirstOrDefault()?.Name ?? p.Name)
            .ToList();
        try
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.GetBuffer().AsMemory(0, (int)copy.Length);
            var schema = ParquetReader.ReadSchemaAsync(new MemoryStream(bytes.ToArray(), writable: false)).GetAwaiter().GetResult();
            var present = schema.DataFields.Select(f => f.Name).ToList();
            var missing = expected.Where(e => !present.Contains(e, StringComparer.Ordinal)).ToList();
            if (missing.Count > 0)
            {
                throw new InvalidDataException(
                    $"missing column{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing.Select(m => $"'{m}'"))} (the file has: {string.Join(", ", present)})");
            }
            var result = ParquetSerializer.DeserializeAsync<T>(new MemoryStream(bytes.ToArray(), writable: false)).GetAwaiter().GetResult();
            return [.. result.Data];
        }
        catch (Exception ex) when (ex is not InvalidDataException and not OutOfMemoryException)
        {
            throw new InvalidDataException($"not a readable Parquet file: {ex.Message}", ex);
        }
    }
}

/// <summary>One row of the <c>bugs</c> config of a dataset export; nested lists are JSON text (livekbench-bug/1 shapes).</summary>
public sealed class BugParquetRow
{
    /// <summary>Bug id (extid for syzbot bugs).</summary>
    [JsonPropertyName("id")] public string Id { get; set; } = "";

    /// <summary>syzbot extid.</summary>
    [JsonPropertyName("extid")] public string? Extid { get; set; }

    /// <summary>syzbot bug id.</summary>
    [JsonPropertyName("syzbotId")] public string? SyzbotId { get; set; }

    /// <summary>Bug title.</summary>
    [JsonPropertyName("title")] public string Title { get; set; } = "";

    /// <summary>Status as text (e.g. <c>fixed</c>).</summary>
    [JsonPropertyName("status")] public string Status { get; set; } = "";

    /// <summary>Source as text (e.g. <c>bundle</c>).</summary>
    [JsonPropertyName("source")] public string Source { get; set; } = "";

    /// <summary>Bundle folder name.</summary>
    [JsonPropertyName("bundleKey")] public string? BundleKey { get; set; }

    /// <summary>syzbot link.</summary>
    [JsonPropertyName("link")] public string? Link { get; set; }

    /// <summary>syzbot namespace.</summary>
    [JsonPropertyName("namespace")] public string? Namespace { get; set; }

    /// <summary>Crash title.</summary>
    [JsonPropertyName("crashTitle")] public string? CrashTitle { get; set; }

    /// <summary>Crash report text.</summary>
    [JsonPropertyName("crashReport")] public string? CrashReport { get; set; }

    /// <summary>Subsystems, JSON list.</summary>
    [JsonPropertyName("subsystems")] public string Subsystems { get; set; } = "[]";

    /// <summary>Kernel git URL.</summary>
    [JsonPropertyName("kernelSourceGit")] public string? KernelSourceGit { get; set; }

    /// <summary>Kernel commit.</summary>
    [JsonPropertyName("kernelSourceCommit")] public string? KernelSourceCommit { get; set; }

    /// <summary>Kernel base.</summary>
    [JsonPropertyName("kernelBase")] public string? KernelBase { get; set; }

    /// <summary>Kernel .config text.</summary>
    [JsonPropertyName("kernelConfig")] public string? KernelConfig { get; set; }

    /// <summary>Config base.</summary>
    [JsonPropertyName("configBase")] public string? ConfigBase { get; set; }

    /// <summary>Config fragment.</summary>
    [JsonPropertyName("configFragment")] public string? ConfigFragment { get; set; }

    /// <summary>Architecture.</summary>
    [JsonPropertyName("architecture")] public string? Architecture { get; set; }

    /// <summary>syzkaller commit.</summary>
    [JsonPropertyName("syzkallerCommit")] public string? SyzkallerCommit { get; set; }

    /// <summary>Cause commit hash.</summary>
    [JsonPropertyName("causeCommitHash")] public string? CauseCommitHash { get; set; }

    /// <summary>Cause commit title.</summary>
    [JsonPropertyName("causeCommitTitle")] public string? CauseCommitTitle { get; set; }

    /// <summary>ParentOfFix commit.</summary>
    [JsonPropertyName("parentOfFix")] public string? ParentOfFix { get; set; }

    /// <summary>FixCommit in the mirror.</summary>
    [JsonPropertyName("mirrorFixCommit")] public string? MirrorFixCommit { get; set; }

    /// <summary>When the bug was added (UTC).</summary>
    [JsonPropertyName("addedTime"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime AddedTime { get; set; }

    /// <summary>When it was reported (UTC).</summary>
    [JsonPropertyName("reportedTime"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime? ReportedTime { get; set; }

    /// <summary>First crash (UTC).</summary>
    [JsonPropertyName("firstCrash"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime? FirstCrash { get; set; }

    /// <summary>Last crash (UTC).</summary>
    [JsonPropertyName("lastCrash"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime? LastCrash { get; set; }

    /// <summary>Fix time (UTC).</summary>
    [JsonPropertyName("fixTime"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime? FixTime { get; set; }

    /// <summary>Close time (UTC).</summary>
    [JsonPropertyName("closeTime"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime? CloseTime { get; set; }

    /// <summary>Extra metadata, JSON.</summary>
    [JsonPropertyName("metadataJson")] public string? MetadataJson { get; set; }

    /// <summary>Crashes, JSON list.</summary>
    [JsonPropertyName("crashes")] public string Crashes { get; set; } = "[]";

    /// <summary>Fix commits, JSON list.</summary>
    [JsonPropertyName("fixCommits")] public string FixCommits { get; set; } = "[]";

    /// <summary>Reproducers, JSON list.</summary>
    [JsonPropertyName("reproducers")] public string Reproducers { get; set; } = "[]";

    /// <summary>Developer patch, JSON object.</summary>
    [JsonPropertyName("developerPatch")] public string? DeveloperPatch { get; set; }

    /// <summary>When the developer fix landed (UTC).</summary>
    [JsonPropertyName("fixedTime"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime? FixedTime { get; set; }
}

/// <summary>One row of the <c>datasets</c> config of a dataset export.</summary>
public sealed class DatasetParquetRow
{
    /// <summary>Dataset name.</summary>
    [JsonPropertyName("name")] public string Name { get; set; } = "";

    /// <summary>Description.</summary>
    [JsonPropertyName("description")] public string Description { get; set; } = "";

    /// <summary>When it was created (UTC).</summary>
    [JsonPropertyName("addedTime"), ParquetTimestamp(ParquetTimestampResolution.Microseconds, true, true)] public DateTime AddedTime { get; set; }

    /// <summary>Member bug ids, JSON list.</summary>
    [JsonPropertyName("bugIds")] public string BugIds { get; set; } = "[]";
}
