using System.Text.Json.Serialization;
using LiveKBench.Arena.Bugs;
using LiveKBench.Datasets;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;

namespace LiveKBench.Tests.Datasets;

/// <summary>Dataset export files read and written through Parquet.Net.</summary>
public sealed class ParquetTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "kbench-parquet-" + Guid.NewGuid().ToString("N")[..10]);

    public ParquetTests() => Directory.CreateDirectory(_dir);

    [Fact]
    public async Task Export_written_by_another_tool_with_snappy_and_dictionary_encoding_imports()
    {
        // Export the real bugs, then rewrite the bugs file the way another tool would: low-level Parquet.Net writer,
        // Snappy, and a dictionary-encoded status column (every row "fixed").
        var source = Workspace.Init(Path.Combine(_dir, "a"));
        List<BugDocument> expected;
        using (var db = source.OpenStore())
        {
            BugRepository.Upsert(db, BugImport.ReadInput(SharedData.Path("realbugs"), new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc)));
            DatasetService.Create(db, "real", "three real bugs", db.Bugs.Select(b => b.Id).ToList(), new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc));
            DatasetExport.Export(db, Path.Combine(_dir, "x"), null);
            expected = [.. BugRepository.Load(db).Select(BugDocument.From)];
        }
        var file = Path.Combine(_dir, "x", "bugs", "train-00000-of-00001.parquet");
        List<BugParquetRow> rows;
        await using (var s = File.OpenRead(file))
        {
            rows = [.. (await ParquetSerializer.DeserializeAsync<BugParquetRow>(s)).Data];
        }
        await RewriteWithLowLevelWriter(file, rows);
        Assert.Contains("SNAPPY", await ColumnCodecs(file));
        var statusEncodings = await ColumnEncodings(file, "status");
        Assert.True(
            statusEncodings.Contains(Parquet.Meta.Encoding.RLE_DICTIONARY) || statusEncodings.Contains(Parquet.Meta.Encoding.PLAIN_DICTIONARY),
            "status column encodings: " + string.Join(", ", statusEncodings));
        File.Delete(Path.Combine(_dir, "x", "bugs", "train.jsonl"));

        var read = DatasetExport.ReadBugs(Path.Combine(_dir, "x"));
        Assert.Equal(expected.Select(b => b.ToJsonLine()), read.Select(b => b.ToJsonLine()));
    }

    [Fact]
    public async Task Renamed_column_is_an_error_naming_the_missing_column()
    {
        var dir = Path.Combine(_dir, "y");
        Directory.CreateDirectory(Path.Combine(dir, "bugs"));
        var file = Path.Combine(dir, "bugs", "train-00000-of-00001.parquet");
        await using (var s = File.Create(file))
        {
            await ParquetSerializer.SerializeAsync(new[] { new RenamedTitleRow { Id = "b1", Name = "t" } }, s);
        }
        var ex = Assert.Throws<DatasetException>(() => DatasetExport.ReadBugs(dir));
        Assert.Contains("missing columns 'extid', 'syzbotId', 'title', 'status'", ex.Message);
        Assert.Contains("the file has: id, name", ex.Message);
    }

    [Fact]
    public void Truncated_file_is_a_clear_error()
    {
        var dir = Path.Combine(_dir, "z");
        Directory.CreateDirectory(Path.Combine(dir, "bugs"));
        File.WriteAllBytes(Path.Combine(dir, "bugs", "train-00000-of-00001.parquet"), "PAR1 not really"u8.ToArray());
        var ex = Assert.Throws<DatasetException>(() => DatasetExport.ReadBugs(dir));
        Assert.Contains("cannot read the bugs config", ex.Message);
    }

    private static async Task RewriteWithLowLevelWriter(string file, List<BugParquetRow> rows)
    {
        var props = typeof(BugParquetRow).GetProperties();
        var fields = props.Select(p =>
        {
            var name = ((JsonPropertyNameAttribute)p.GetCustomAttributes(typeof(JsonPropertyNameAttribute), false)[0]).Name;
            return p.PropertyType == typeof(string)
                ? (DataField)new DataField<string>(name, true)
                : new DateTimeDataField(name, DateTimeFormat.Timestamp, true, DateTimeTimeUnit.Micros, p.PropertyType == typeof(DateTime?));
        }).ToArray();
        var schema = new ParquetSchema(fields);
        var options = new ParquetOptions { CompressionMethod = CompressionMethod.Snappy, DictionaryEncodingThreshold = 0.9 };
        foreach (var f in fields.Where(f => f.Name is "status" or "source"))
        {
            options.ColumnEncodingHints[f.Name] = EncodingHint.Dictionary;
        }
        await using var s = File.Create(file);
        await using var writer = await ParquetWriter.CreateAsync(schema, s, options);
        using var group = writer.CreateRowGroup();
        for (var i = 0; i < props.Length; i++)
        {
            var p = props[i];
            if (p.PropertyType == typeof(string))
            {
                await group.WriteAsync(fields[i], rows.Select(r => (string)p.GetValue(r)!).ToArray());
            }
            else
            {
                if (p.PropertyType == typeof(DateTime))
                {
                    await group.WriteAsync<DateTime>(fields[i], rows.Select(r => (DateTime)p.GetValue(r)!).ToArray().AsMemory());
                }
                else
                {
                    await group.WriteAsync<DateTime>(fields[i], rows.Select(r => (DateTime?)p.GetValue(r)).ToArray().AsMemory());
                }
            }
        }
    }

    private static async Task<List<string>> ColumnCodecs(string file)
    {
        await using var s = File.OpenRead(file);
        await using var reader = await ParquetReader.CreateAsync(s);
        return [.. reader.Metadata!.RowGroups.SelectMany(g => g.Columns).Select(c => c.MetaData!.Codec.ToString())];
    }

    private static async Task<List<Parquet.Meta.Encoding>> ColumnEncodings(string file, string column)
    {
        await using var s = File.OpenRead(file);
        await using var reader = await ParquetReader.CreateAsync(s);
        return [.. reader.Metadata!.RowGroups.SelectMany(g => g.Columns).Where(c => c.MetaData!.PathInSchema[^1] == column).SelectMany(c => c.MetaData!.Encodings)];
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>A bugs file whose <c>title</c> column was renamed to <c>name</c> and whose other columns are gone.</summary>
    public sealed class RenamedTitleRow
    {
        [JsonPropertyName("id")]
        public string Id { get; set; } = "";

        [JsonPropertyName("name")]
        public string Name { get; set; } = "";
    }
}
