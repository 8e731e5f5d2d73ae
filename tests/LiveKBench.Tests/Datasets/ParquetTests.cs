using System.Buffers.Binary;
using System.Text;
using LiveKBench.Datasets.Parquet;

namespace LiveKBench.Tests.Datasets;

public sealed class ParquetTests
{
    private static readonly ParquetColumn[] AllTypes =
    [
        new("s", ParquetType.String),
        new("i64", ParquetType.Int64),
        new("i32", ParquetType.Int32),
        new("d", ParquetType.Double),
        new("b", ParquetType.Boolean),
        new("ts", ParquetType.Timestamp),
        new("s_req", ParquetType.String, Nullable: false),
        new("i64_req", ParquetType.Int64, Nullable: false),
        new("i32_req", ParquetType.Int32, Nullable: false),
        new("d_req", ParquetType.Double, Nullable: false),
        new("b_req", ParquetType.Boolean, Nullable: false),
        new("ts_req", ParquetType.Timestamp, Nullable: false),
    ];

    private static byte[] WriteBytes(IReadOnlyList<ParquetColumn> columns, IReadOnlyList<object?[]> rows, ParquetWriteOptions? options = null)
    {
        using var ms = new MemoryStream();
        ParquetWriter.Write(ms, columns, rows, options);
        return ms.ToArray();
    }

    private static ParquetTable ReadBytes(byte[] bytes, ParquetReadOptions? options = null)
    {
        using var ms = new MemoryStream(bytes);
        return ParquetReader.Read(ms, options);
    }

    private static ParquetTable RoundTrip(IReadOnlyList<ParquetColumn> columns, IReadOnlyList<object?[]> rows, ParquetWriteOptions? options = null)
    {
        var table = ReadBytes(WriteBytes(columns, rows, options));
        Assert.Equal(columns, table.Columns);
        Assert.Equal(rows.Count, table.Rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            Assert.Equal(rows[r], table.Rows[r]);
        }
        return table;
    }

    private static DateTimeOffset Ts(long unixMicros) => new(DateTimeOffset.UnixEpoch.UtcTicks + unixMicros * 10, TimeSpan.Zero);

    private static object?[] FullRow(string s, long i64, int i32, double d, bool b, DateTimeOffset ts) => [s, i64, i32, d, b, ts, s, i64, i32, d, b, ts];

    [Fact]
    public void RoundTrip_EveryType_WithNullsAndEdgeValues()
    {
        List<object?[]> rows =
        [
            FullRow("hello", 1L, 1, 1.5, true, Ts(1_700_000_000_123_456)),
            [null, null, null, null, null, null, "", 0L, 0, 0.0, false, Ts(0)],
            FullRow("", long.MinValue, int.MinValue, double.NegativeInfinity, false, Ts(-1)),
            FullRow("Grüße, мир, 日本語 🚀👩‍💻", long.MaxValue, int.MaxValue, double.NaN, true, Ts(-62_135_596_800_000_000)),
            FullRow("tab\tnewline\n\0nul", -42L, -7, -0.0, true, Ts(253_402_300_799_999_999)),
            [null, 5L, null, 2.25, null, Ts(5), "x", 6L, 7, double.Epsilon, true, Ts(7)],
        ];
        var table = RoundTrip(AllTypes, rows);
        Assert.True(double.IsNegative((double)table.Rows[4][3]!)); // -0.0 survives bit-exactly
        Assert.Equal(TimeSpan.Zero, ((DateTimeOffset)table.Rows[0][5]!).Offset);
    }

    [Fact]
    public void RoundTrip_AlternatingAndLongNullRuns()
    {
        var columns = new ParquetColumn[] { new("v", ParquetType.Int64), new("s", ParquetType.String) };
        var rows = new List<object?[]>();
        for (var i = 0; i < 1000; i++)
        {
            var isNull = i < 100 ? i % 2 == 0 : i < 300 || (i % 7 == 3);
            rows.Add(isNull ? [null, null] : [(long)i, i.ToString()]);
        }
        RoundTrip(columns, rows);
    }

    [Fact]
    public void RoundTrip_LargeStrings()
    {
        var big = string.Concat(Enumerable.Repeat("0123456789abcdef", 65_536)); // 1 MiB
        var bigEmoji = string.Concat(Enumerable.Repeat("é🚀", 100_000));
        var columns = new ParquetColumn[] { new("s", ParquetType.String), new("n", ParquetType.Int32, Nullable: false) };
        RoundTrip(columns, [[big, 1], [null, 2], [bigEmoji, 3], ["small", 4], [big + "!", 5]]);
    }

    [Fact]
    public void RoundTrip_ZeroRows_KeepsSchema()
    {
        var bytes = WriteBytes(AllTypes, []);
        var table = ReadBytes(bytes);
        Assert.Equal(AllTypes, table.Columns);
        Assert.Empty(table.Rows);
    }

    [Fact]
    public void RoundTrip_100kRows_UsesSeveralRowGroups()
    {
        var rows = new List<object?[]>(100_000);
        for (var i = 0; i < 100_000; i++)
        {
            rows.Add(i % 13 == 0
                ? [null, null, null, null, null, null, "r", (long)i, i, i * 0.5, i % 2 == 0, Ts(i)]
                : FullRow($"row {i}", i * 1_000_000_007L, -i, i / 3.0, i % 3 == 0, Ts(1_600_000_000_000_000 + i)));
        }
        var bytes = WriteBytes(AllTypes, rows);
        var table = ReadBytes(bytes);
        Assert.Equal(rows.Count, table.Rows.Count);
        for (var r = 0; r < rows.Count; r++)
        {
            Assert.Equal(rows[r], table.Rows[r]);
        }
        var meta = ReadFooter(bytes);
        Assert.Equal(2, meta.List(4, "row_groups").Count); // 65,536 + 34,464
        Assert.Equal(100_000L, meta.I64(3, "num_rows"));
    }

    [Fact]
    public void RoundTrip_SmallPagesAndRowGroups()
    {
        var rows = new List<object?[]>();
        for (var i = 0; i < 300; i++)
        {
            rows.Add(i % 5 == 0 ? [null, null, null, null, null, null, "", 0L, 0, 0.0, false, Ts(0)] : FullRow(new string('x', i % 40), i, i, i, i % 2 == 1, Ts(i)));
        }
        RoundTrip(AllTypes, rows, new ParquetWriteOptions { RowGroupSize = 7, PageSize = 16 });
    }

    [Fact]
    public void Write_TimestampConversions()
    {
        var columns = new ParquetColumn[] { new("t", ParquetType.Timestamp) };
        var utc = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc).AddTicks(1234567);
        var offset = new DateTimeOffset(2024, 5, 6, 9, 8, 9, TimeSpan.FromHours(2)).AddTicks(1234567);
        var table = ReadBytes(WriteBytes(columns, [[utc], [DateTime.SpecifyKind(utc, DateTimeKind.Unspecified)], [offset], [Ts(-1).AddTicks(5)]]));
        var expected = new DateTimeOffset(utc.AddTicks(-7), TimeSpan.Zero); // truncated to whole microseconds
        Assert.Equal(expected, table.Rows[0][0]);
        Assert.Equal(expected, table.Rows[1][0]);
        Assert.Equal(expected, table.Rows[2][0]);
        Assert.Equal(Ts(-1), table.Rows[3][0]); // floor, not toward zero
    }

    [Fact]
    public void ReadAndWrite_NonSeekableStreams()
    {
        var columns = new ParquetColumn[] { new("a", ParquetType.Int32) };
        using var sink = new MemoryStream();
        using (var forwardOnly = new ForwardOnlyStream(sink))
        {
            ParquetWriter.Write(forwardOnly, columns, [[1], [null], [3]]);
        }
        using var source = new ForwardOnlyStream(new MemoryStream(sink.ToArray()));
        var table = ParquetReader.Read(source);
        Assert.Equal([1, null, 3], table.Rows.Select(r => r[0]));
    }

    [Fact]
    public void ReadAndWrite_FromNonZeroStreamPosition()
    {
        using var ms = new MemoryStream();
        ms.Write("0123456789"u8);
        ParquetWriter.Write(ms, [new ParquetColumn("a", ParquetType.String)], [["x"], [null]]);
        ms.Position = 10;
        var table = ParquetReader.Read(ms);
        Assert.Equal(["x", null], table.Rows.Select(r => r[0]));
    }

    // Hand-computed: schema { required int32 a }, one row a = 7.
    [Fact]
    public void TinyFile_MatchesHandComputedBytes()
    {
        var bytes = WriteBytes([new ParquetColumn("a", ParquetType.Int32, Nullable: false)], [[7]]);
        var expected = Hex(
            "50 41 52 31" // PAR1
                          // PageHeader: type=DATA_PAGE(0), uncompressed=4, compressed=4, data_page_header{num_values=1, PLAIN, RLE, RLE}
            + "15 00 15 08 15 08 2C 15 02 15 00 15 06 15 06 00 00"
            + "07 00 00 00" // PLAIN int32 7
                            // FileMetaData
            + "15 02" // 1: version = 1
            + "19 2C" // 2: schema, list<struct> of 2
            + "48 06 73 63 68 65 6D 61 15 02 00" // root: name "schema", num_children 1
            + "15 02 25 00 18 01 61 00" // leaf: type INT32, repetition REQUIRED, name "a"
            + "16 02" // 3: num_rows = 1
            + "19 1C" // 4: row_groups, list<struct> of 1
            + "19 1C" //   RowGroup 1: columns, list<struct> of 1
            + "26 00 1C" //     ColumnChunk 2: file_offset 0, 3: meta_data {
            + "15 02 19 25 00 06 19 18 01 61 15 00 16 02 16 2A 16 2A 26 08" // type, encodings [PLAIN,RLE], path ["a"], codec 0, num_values 1, sizes 21, data_page_offset 4
            + "3C 36 00 00" //       12: statistics { 3: null_count 0 }
            + "00 00" //     end meta_data, end ColumnChunk
            + "16 2A 16 02 26 08 16 2A 14 00 00" //   total_byte_size 21, num_rows 1, file_offset 4, total_compressed_size 21, ordinal 0
            + "28 0A 4C 69 76 65 4B 42 65 6E 63 68" // 6: created_by "LiveKBench"
            + "00"
            + "52 00 00 00" // footer length 82
            + "50 41 52 31");
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(bytes));
        Assert.Equal(115, bytes.Length);
        Assert.Equal(82, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8)));
    }

    // Hand-computed: schema { optional string s }, rows "hi", null.
    [Fact]
    public void NullableStringPage_MatchesHandComputedBytes()
    {
        var bytes = WriteBytes([new ParquetColumn("s", ParquetType.String)], [["hi"], [null]]);
        var expectedChunk = Hex(
            "15 00 15 18 15 18 2C 15 04 15 00 15 06 15 06 00 00" // PageHeader: page size 12, num_values 2
            + "02 00 00 00" // definition levels byte length 2
            + "03 01" // bit-packed run of 1 group (header (1<<1)|1), levels 1,0 -> 0b01
            + "02 00 00 00 68 69"); // PLAIN byte array "hi"
        Assert.Equal(Convert.ToHexString(expectedChunk), Convert.ToHexString(bytes.AsSpan(4, expectedChunk.Length)));
        var schemaLeaf = Hex("15 0C 25 02 18 01 73 25 00 4C 1C 00 00 00"); // 1: type BYTE_ARRAY, 3: OPTIONAL, 4: "s", 6: converted UTF8, 10: logicalType{ 1: STRING{} }
        Assert.Contains(Convert.ToHexString(schemaLeaf), Convert.ToHexString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void TimestampSchema_HasLogicalTypeAndConvertedType()
    {
        var bytes = WriteBytes([new ParquetColumn("t", ParquetType.Timestamp, Nullable: false)], [[Ts(1)]]);
        // type INT64, REQUIRED, "t", converted TIMESTAMP_MICROS(10), logicalType{ 8: TIMESTAMP{ 1: true, 2: unit{ 2: MICROS{} } } }
        var leaf = Hex("15 04 25 00 18 01 74 25 14 4C 8C 11 1C 2C 00 00 00 00 00");
        Assert.Contains(Convert.ToHexString(leaf), Convert.ToHexString(bytes), StringComparison.Ordinal);
    }

    [Fact]
    public void RleHybrid_RoundTripsAndUsesRleForLongRuns()
    {
        using (var ms = new MemoryStream())
        {
            RleBitPackedHybrid.Encode(Enumerable.Repeat(1, 10).ToArray(), 1, ms);
            Assert.Equal("1401", Convert.ToHexString(ms.ToArray())); // RLE run: header 10<<1, value 1
        }
        var random = new Random(1234);
        for (var trial = 0; trial < 200; trial++)
        {
            var values = new int[random.Next(0, 3000)];
            var i = 0;
            while (i < values.Length)
            {
                var run = random.Next(1, random.Next(2) == 0 ? 5 : 200);
                var v = random.Next(2);
                for (var k = 0; k < run && i < values.Length; k++)
                {
                    values[i++] = v;
                }
            }
            using var ms = new MemoryStream();
            RleBitPackedHybrid.Encode(values, 1, ms);
            var decoded = new int[values.Length];
            RleBitPackedHybrid.Decode(ms.ToArray(), 1, decoded);
            Assert.Equal(values, decoded);
        }
    }

    [Fact]
    public void Write_RejectsBadInput()
    {
        var columns = new ParquetColumn[] { new("a", ParquetType.Int32, Nullable: false) };
        Assert.Throws<ArgumentException>(() => WriteBytes(columns, [[null]]));
        Assert.Throws<ArgumentException>(() => WriteBytes(columns, [["1"]]));
        Assert.Throws<ArgumentException>(() => WriteBytes(columns, [[1L]]));
        Assert.Throws<ArgumentException>(() => WriteBytes(columns, [[1, 2]]));
        Assert.Throws<ArgumentException>(() => WriteBytes([new("a", ParquetType.Int32), new("a", ParquetType.String)], []));
        Assert.Throws<ArgumentException>(() => WriteBytes([], []));
        Assert.Throws<ArgumentException>(() => WriteBytes([new("s", ParquetType.String)], [["\ud800"]]));
    }

    public static TheoryData<string, byte[], string> GarbageInputs()
    {
        var good = WriteBytes([new ParquetColumn("a", ParquetType.Int32, Nullable: false)], [[7]]);
        var badHead = (byte[])good.Clone();
        badHead[0] = (byte)'X';
        var badTail = (byte[])good.Clone();
        badTail[^1] = (byte)'X';
        var hugeFooter = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(hugeFooter.AsSpan(hugeFooter.Length - 8), int.MaxValue);
        var negativeFooter = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(negativeFooter.AsSpan(negativeFooter.Length - 8), -5);
        var zeroFooter = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(zeroFooter.AsSpan(zeroFooter.Length - 8), 0);
        var junkFooter = (byte[])good.Clone();
        junkFooter.AsSpan(25, 82).Fill(0xFF);
        var hugeList = (byte[])good.Clone();
        // Footer starts at 25: "15 02" (version), 27: "19" (schema list field), 28: list header. Make it
        // "size in a varint" (0xFC) followed by a varint of about 4 billion elements.
        hugeList[28] = 0xFC;
        new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0x0F }.CopyTo(hugeList, 29);
        return new TheoryData<string, byte[], string>
        {
            { "empty", [], "too short" },
            { "text", Encoding.ASCII.GetBytes("hello, world, this is not parquet"), "leading magic" },
            { "magic only", Encoding.ASCII.GetBytes("PAR1PAR1"), "too short" },
            { "bad leading magic", badHead, "leading magic" },
            { "bad trailing magic", badTail, "trailing magic" },
            { "footer length int.MaxValue", hugeFooter, "footer length 2147483647 is out of range" },
            { "negative footer length", negativeFooter, "footer length -5" },
            { "zero footer length", zeroFooter, "footer length 0" },
            { "footer of 0xFF bytes", junkFooter, "Thrift" },
            { "list size beyond footer", hugeList, "list size 4294967295" },
            { "truncated", good[..60], "trailing magic" },
        };
    }

    [Theory]
    [MemberData(nameof(GarbageInputs))]
    public void Read_Garbage_ThrowsInvalidDataException(string what, byte[] bytes, string messagePart)
    {
        var e = Assert.Throws<InvalidDataException>(() => ReadBytes(bytes));
        Assert.StartsWith("Parquet:", e.Message, StringComparison.Ordinal);
        Assert.True(e.Message.Contains(messagePart, StringComparison.Ordinal), $"{what}: unexpected message '{e.Message}'");
    }

    [Fact]
    public void Read_EveryTruncationAndByteCorruption_ThrowsOnlyInvalidDataException()
    {
        var good = WriteBytes(AllTypes, [FullRow("x", 1, 2, 3, true, Ts(4)), [null, null, null, null, null, null, "y", 5L, 6, 7.0, false, Ts(8)]]);
        for (var length = 0; length < good.Length; length++)
        {
            var cut = good[..length];
            Assert.Throws<InvalidDataException>(() => ReadBytes(cut));
        }
        var random = new Random(42);
        for (var i = 0; i < good.Length; i++)
        {
            foreach (var value in new[] { (byte)0x00, (byte)0xFF, (byte)random.Next(256), (byte)(good[i] ^ 0x01) })
            {
                var corrupt = (byte[])good.Clone();
                corrupt[i] = value;
                try
                {
                    ReadBytes(corrupt);
                }
                catch (InvalidDataException)
                {
                }
            }
        }
    }

    [Fact]
    public void Read_ClaimedRowCountAboveLimit_Throws()
    {
        var bytes = WriteBytes([new ParquetColumn("a", ParquetType.Int32)], [[1], [2], [3]]);
        Assert.Throws<InvalidDataException>(() => ReadBytes(bytes, new ParquetReadOptions { MaxRows = 2 }));
        Assert.Equal(3, ReadBytes(bytes, new ParquetReadOptions { MaxRows = 3 }).Rows.Count);
    }

    [Fact]
    public void Read_HugeRunLengthInTinyFile_IsBoundedByMaxRows()
    {
        // A well-formed file of under 200 bytes whose single optional column claims int.MaxValue nulls via one RLE run.
        var bytes = BuildSingleNullRunFile(int.MaxValue);
        Assert.True(bytes.Length < 200);
        var e = Assert.Throws<InvalidDataException>(() => ReadBytes(bytes));
        Assert.Contains("MaxRows", e.Message, StringComparison.Ordinal);

        // The same construction with a small count reads fine, which shows the file itself is valid.
        var small = ReadBytes(BuildSingleNullRunFile(1000));
        Assert.Equal(1000, small.Rows.Count);
        Assert.All(small.Rows, r => Assert.Null(r[0]));
    }

    private static byte[] BuildSingleNullRunFile(int count)
    {
        var run = (ulong)count << 1;
        var varint = new List<byte>();
        while (run >= 0x80)
        {
            varint.Add((byte)(run | 0x80));
            run >>= 7;
        }
        varint.Add((byte)run);
        varint.Add(0); // run value 0 = null
        var page = new byte[4 + varint.Count];
        BinaryPrimitives.WriteInt32LittleEndian(page, varint.Count);
        varint.CopyTo(page, 4);

        var header = new ThriftCompactWriter();
        header.BeginStruct();
        header.FieldI32(1, 0);
        header.FieldI32(2, page.Length);
        header.FieldI32(3, page.Length);
        header.BeginStructField(5);
        header.FieldI32(1, count);
        header.FieldI32(2, 0);
        header.FieldI32(3, 3);
        header.FieldI32(4, 3);
        header.EndStruct();
        header.EndStruct();
        var headerBytes = header.ToArray();
        var chunkSize = headerBytes.Length + page.Length;

        var meta = new ThriftCompactWriter();
        meta.BeginStruct();
        meta.FieldI32(1, 1);
        meta.BeginListField(2, ThriftType.Struct, 2);
        meta.BeginStruct();
        meta.FieldString(4, "schema");
        meta.FieldI32(5, 1);
        meta.EndStruct();
        meta.BeginStruct();
        meta.FieldI32(1, 1);
        meta.FieldI32(3, 1);
        meta.FieldString(4, "a");
        meta.EndStruct();
        meta.FieldI64(3, count);
        meta.BeginListField(4, ThriftType.Struct, 1);
        meta.BeginStruct();
        meta.BeginListField(1, ThriftType.Struct, 1);
        meta.BeginStruct();
        meta.FieldI64(2, 0);
        meta.BeginStructField(3);
        meta.FieldI32(1, 1);
        meta.BeginListField(2, ThriftType.I32, 1);
        meta.ListI32(0);
        meta.BeginListField(3, ThriftType.Binary, 1);
        meta.ListString("a");
        meta.FieldI32(4, 0);
        meta.FieldI64(5, count);
        meta.FieldI64(6, chunkSize);
        meta.FieldI64(7, chunkSize);
        meta.FieldI64(9, 4);
        meta.EndStruct();
        meta.EndStruct();
        meta.FieldI64(2, chunkSize);
        meta.FieldI64(3, count);
        meta.EndStruct();
        meta.EndStruct();
        var metaBytes = meta.ToArray();

        using var file = new MemoryStream();
        file.Write("PAR1"u8);
        file.Write(headerBytes);
        file.Write(page);
        file.Write(metaBytes);
        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, metaBytes.Length);
        file.Write(length);
        file.Write("PAR1"u8);
        return file.ToArray();
    }

    private static ThriftStruct ReadFooter(byte[] bytes)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(bytes.Length - 8));
        using var ms = new MemoryStream(bytes, bytes.Length - 8 - length, length);
        return new ThriftCompactReader(ms, length).ReadStruct("FileMetaData");
    }

    private static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", "", StringComparison.Ordinal));

    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
