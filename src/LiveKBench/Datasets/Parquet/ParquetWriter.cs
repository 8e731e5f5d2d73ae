using System.Buffers.Binary;
using System.Text;

namespace LiveKBench.Datasets.Parquet;

/// <summary>
/// Writes flat tables as Apache Parquet files: PLAIN-encoded, UNCOMPRESSED, dictionary-free v1 data pages,
/// definition levels (RLE/bit-packing hybrid) for nullable columns, and a Thrift Compact Protocol footer.
/// </summary>
public static class ParquetWriter
{
    /// <summary>Writes <paramref name="table"/> to <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">A value does not match its column's type, or a required column holds a null.</exception>
    public static void Write(Stream stream, ParquetTable table, ParquetWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        Write(stream, table.Columns, table.Rows, options);
    }

    /// <summary>
    /// Writes a Parquet file to <paramref name="stream"/> (from its current position; it need not be seekable).
    /// Rows are consumed once and buffered one row group at a time.
    /// </summary>
    /// <param name="stream">Destination.</param>
    /// <param name="columns">The schema.</param>
    /// <param name="rows">The rows; each has one value per column, <see langword="null"/> or of the column's CLR type
    /// (<see cref="ParquetType"/>). Int64 columns also accept int/short/byte/uint/ushort/sbyte, Int32 columns
    /// short/byte/ushort/sbyte, Double columns float, Timestamp columns <see cref="DateTime"/> (Local is converted to
    /// UTC, Unspecified is taken as UTC). Timestamps are truncated to whole microseconds.</param>
    /// <param name="options">Row group and page sizing; defaults when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The schema is invalid, a row has the wrong length, a value does not match its
    /// column's type, a required column holds a null, or a string is not valid UTF-16.</exception>
    public static void Write(Stream stream, IReadOnlyList<ParquetColumn> columns, IEnumerable<IReadOnlyList<object?>> rows, ParquetWriteOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        options ??= new ParquetWriteOptions();
        if (options.RowGroupSize <= 0)
        {
            throw new ArgumentException("RowGroupSize must be positive", nameof(options));
        }
        if (options.PageSize <= 0)
        {
            throw new ArgumentException("PageSize must be positive", nameof(options));
        }
        ParquetSchemaValidation.Validate(columns);

        var output = new CountingStream(stream);
        output.Write(ParquetFormat.Magic);
        var rowGroups = new List<RowGroupInfo>();
        long totalRows = 0;
        var buffer = new List<IReadOnlyList<object?>>();
        foreach (var row in rows)
        {
            if (row is null || row.Count != columns.Count)
            {
                throw new ArgumentException($"row {totalRows} must have exactly {columns.Count} values", nameof(rows));
            }
            buffer.Add(row);
            totalRows++;
            if (buffer.Count == options.RowGroupSize)
            {
                rowGroups.Add(WriteRowGroup(output, columns, buffer, totalRows - buffer.Count, options));
                buffer.Clear();
            }
        }
        if (buffer.Count > 0)
        {
            rowGroups.Add(WriteRowGroup(output, columns, buffer, totalRows - buffer.Count, options));
        }

        var footer = EncodeFileMetaData(columns, totalRows, rowGroups, options.CreatedBy);
        output.Write(footer);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, footer.Length);
        output.Write(length);
        output.Write(ParquetFormat.Magic);
        stream.Flush();
    }

    private sealed record ChunkInfo(long DataPageOffset, long Size, long NumValues, long NullCount);

    private sealed record RowGroupInfo(IReadOnlyList<ChunkInfo> Chunks, long NumRows);

    private static RowGroupInfo WriteRowGroup(CountingStream output, IReadOnlyList<ParquetColumn> columns, List<IReadOnlyList<object?>> rows, long firstRow, ParquetWriteOptions options)
    {
        var chunks = new List<ChunkInfo>(columns.Count);
        for (var c = 0; c < columns.Count; c++)
        {
            var column = columns[c];
            var start = output.Position;
            long nulls = 0;
            var pageStart = 0;
            var levels = new List<int>();
            var values = new MemoryStream();
            var booleans = new List<bool>();
            for (var r = 0; r < rows.Count; r++)
            {
                var value = rows[r][c];
                if (value is null)
                {
                    if (!column.Nullable)
                    {
                        throw new ArgumentException($"row {firstRow + r}: required column '{column.Name}' holds null", nameof(rows));
                    }
                    nulls++;
                    levels.Add(0);
                }
                else
                {
                    levels.Add(1);
                    EncodePlain(column, value, values, booleans, firstRow + r);
                }
                if (values.Length >= options.PageSize || r == rows.Count - 1)
                {
                    WritePage(output, column, levels, values, booleans, r + 1 - pageStart);
                    pageStart = r + 1;
                    levels.Clear();
                    values.SetLength(0);
                    booleans.Clear();
                }
            }
            chunks.Add(new ChunkInfo(start, output.Position - start, rows.Count, nulls));
        }
        return new RowGroupInfo(chunks, rows.Count);
    }

    private static void EncodePlain(ParquetColumn column, object value, MemoryStream values, List<bool> booleans, long row)
    {
        Span<byte> b = stackalloc byte[8];
        switch (column.Type)
        {
            case ParquetType.String:
                {
                    if (value is not string s)
                    {
                        throw Mismatch(column, value, row);
                    }
                    byte[] bytes;
                    try
                    {
                        bytes = ParquetFormat.StrictUtf8.GetBytes(s);
                    }
                    catch (EncoderFallbackException e)
                    {
                        throw new ArgumentException($"row {row}, column '{column.Name}': string is not valid UTF-16 (lone surrogate)", e);
                    }
                    BinaryPrimitives.WriteInt32LittleEndian(b, bytes.Length);
                    values.Write(b[..4]);
                    values.Write(bytes);
                    break;
                }
            case ParquetType.Int64:
                {
                    long v = value switch
                    {
                        long l => l,
                        int i => i,
                        uint u => u,
                        short s => s,
                        ushort us => us,
                        byte by => by,
                        sbyte sb => sb,
                        _ => throw Mismatch(column, value, row),
                    };
                    BinaryPrimitives.WriteInt64LittleEndian(b, v);
                    values.Write(b);
                    break;
                }
            case ParquetType.Int32:
                {
                    int v = value switch
                    {
                        int i => i,
                        short s => s,
                        ushort us => us,
                        byte by => by,
                        sbyte sb => sb,
                        _ => throw Mismatch(column, value, row),
                    };
                    BinaryPrimitives.WriteInt32LittleEndian(b, v);
                    values.Write(b[..4]);
                    break;
                }
            case ParquetType.Double:
                {
                    double v = value switch
                    {
                        double d => d,
                        float f => f,
                        _ => throw Mismatch(column, value, row),
                    };
                    BinaryPrimitives.WriteDoubleLittleEndian(b, v);
                    values.Write(b);
                    break;
                }
            case ParquetType.Boolean:
                booleans.Add(value is bool flag ? flag : throw Mismatch(column, value, row));
                break;
            case ParquetType.Timestamp:
                {
                    long utcTicks = value switch
                    {
                        DateTimeOffset dto => dto.UtcTicks,
                        DateTime { Kind: DateTimeKind.Local } dt => dt.ToUniversalTime().Ticks,
                        DateTime dt => dt.Ticks,
                        _ => throw Mismatch(column, value, row),
                    };
                    var micros = Math.DivRem(utcTicks - ParquetFormat.UnixEpochTicks, 10, out var rem);
                    if (rem < 0)
                    {
                        micros--; // floor: truncate toward the past
                    }
                    BinaryPrimitives.WriteInt64LittleEndian(b, micros);
                    values.Write(b);
                    break;
                }
            default:
                throw new ArgumentException($"column '{column.Name}' has unknown type {column.Type}");
        }
    }

    private static ArgumentException Mismatch(ParquetColumn column, object value, long row) =>
        new($"row {row}, column '{column.Name}': a {column.Type} column cannot hold a value of type {value.GetType().Name}");

    private static void WritePage(CountingStream output, ParquetColumn column, List<int> levels, MemoryStream values, List<bool> booleans, int numValues)
    {
        var page = new MemoryStream();
        if (column.Nullable)
        {
            var encoded = new MemoryStream();
            RleBitPackedHybrid.Encode(levels.ToArray(), 1, encoded);
            Span<byte> prefix = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(prefix, checked((int)encoded.Length));
            page.Write(prefix);
            encoded.Position = 0;
            encoded.CopyTo(page);
        }
        if (column.Type == ParquetType.Boolean)
        {
            var packed = new byte[(booleans.Count + 7) / 8];
            for (var i = 0; i < booleans.Count; i++)
            {
                if (booleans[i])
                {
                    packed[i >> 3] |= (byte)(1 << (i & 7));
                }
            }
            page.Write(packed);
        }
        else
        {
            values.Position = 0;
            values.CopyTo(page);
        }
        if (page.Length > int.MaxValue)
        {
            throw new ArgumentException($"column '{column.Name}': a single data page would exceed 2 GiB");
        }
        var pageSize = (int)page.Length;

        var header = new ThriftCompactWriter();
        header.BeginStruct();
        header.FieldI32(1, ParquetFormat.PageData);             // type
        header.FieldI32(2, pageSize);                           // uncompressed_page_size
        header.FieldI32(3, pageSize);                           // compressed_page_size
        header.BeginStructField(5);                             // data_page_header
        header.FieldI32(1, numValues);                          // num_values (including nulls)
        header.FieldI32(2, ParquetFormat.EncodingPlain);        // encoding
        header.FieldI32(3, ParquetFormat.EncodingRle);          // definition_level_encoding
        header.FieldI32(4, ParquetFormat.EncodingRle);          // repetition_level_encoding
        header.EndStruct();
        header.EndStruct();
        output.Write(header.ToArray());
        page.Position = 0;
        output.CopyFrom(page);
    }

    private static byte[] EncodeFileMetaData(IReadOnlyList<ParquetColumn> columns, long numRows, List<RowGroupInfo> rowGroups, string createdBy)
    {
        var w = new ThriftCompactWriter();
        w.BeginStruct();
        w.FieldI32(1, 1); // version
        w.BeginListField(2, ThriftType.Struct, columns.Count + 1); // schema
        w.BeginStruct();
        w.FieldString(4, "schema"); // name
        w.FieldI32(5, columns.Count); // num_children
        w.EndStruct();
        foreach (var column in columns)
        {
            w.BeginStruct();
            w.FieldI32(1, PhysicalType(column.Type)); // type
            w.FieldI32(3, column.Nullable ? ParquetFormat.Optional : ParquetFormat.Required); // repetition_type
            w.FieldString(4, column.Name); // name
            switch (column.Type)
            {
                case ParquetType.String:
                    w.FieldI32(6, ParquetFormat.ConvertedUtf8); // converted_type
                    w.BeginStructField(10); // logicalType
                    w.BeginStructField(ParquetFormat.LogicalString); // STRING: StringType {}
                    w.EndStruct();
                    w.EndStruct();
                    break;
                case ParquetType.Timestamp:
                    w.FieldI32(6, ParquetFormat.ConvertedTimestampMicros); // converted_type
                    w.BeginStructField(10); // logicalType
                    w.BeginStructField(ParquetFormat.LogicalTimestamp); // TIMESTAMP: TimestampType
                    w.FieldBool(1, true); // isAdjustedToUTC
                    w.BeginStructField(2); // unit: TimeUnit
                    w.BeginStructField(ParquetFormat.UnitMicros); // MICROS: MicroSeconds {}
                    w.EndStruct();
                    w.EndStruct();
                    w.EndStruct();
                    w.EndStruct();
                    break;
                default:
                    break;
            }
            w.EndStruct();
        }
        w.FieldI64(3, numRows); // num_rows
        w.BeginListField(4, ThriftType.Struct, rowGroups.Count); // row_groups
        for (var g = 0; g < rowGroups.Count; g++)
        {
            var rg = rowGroups[g];
            w.BeginStruct();
            w.BeginListField(1, ThriftType.Struct, columns.Count); // columns
            long total = 0;
            for (var c = 0; c < columns.Count; c++)
            {
                var chunk = rg.Chunks[c];
                total += chunk.Size;
                w.BeginStruct(); // ColumnChunk
                w.FieldI64(2, 0); // file_offset (deprecated; 0 = no ColumnMetaData outside the footer)
                w.BeginStructField(3); // meta_data: ColumnMetaData
                w.FieldI32(1, PhysicalType(columns[c].Type)); // type
                w.BeginListField(2, ThriftType.I32, 2); // encodings
                w.ListI32(ParquetFormat.EncodingPlain);
                w.ListI32(ParquetFormat.EncodingRle);
                w.BeginListField(3, ThriftType.Binary, 1); // path_in_schema
                w.ListString(columns[c].Name);
                w.FieldI32(4, ParquetFormat.CodecUncompressed); // codec
                w.FieldI64(5, chunk.NumValues); // num_values
                w.FieldI64(6, chunk.Size); // total_uncompressed_size
                w.FieldI64(7, chunk.Size); // total_compressed_size
                w.FieldI64(9, chunk.DataPageOffset); // data_page_offset
                w.BeginStructField(12); // statistics
                w.FieldI64(3, chunk.NullCount); // null_count
                w.EndStruct();
                w.EndStruct();
                w.EndStruct();
            }
            w.FieldI64(2, total); // total_byte_size
            w.FieldI64(3, rg.NumRows); // num_rows
            w.FieldI64(5, rg.Chunks.Count > 0 ? rg.Chunks[0].DataPageOffset : 4); // file_offset
            w.FieldI64(6, total); // total_compressed_size
            if (g <= short.MaxValue)
            {
                w.FieldI16(7, (short)g); // ordinal
            }
            w.EndStruct();
        }
        w.FieldString(6, createdBy); // created_by
        w.EndStruct();
        return w.ToArray();
    }

    internal static int PhysicalType(ParquetType type) => type switch
    {
        ParquetType.String => ParquetFormat.TypeByteArray,
        ParquetType.Int64 or ParquetType.Timestamp => ParquetFormat.TypeInt64,
        ParquetType.Int32 => ParquetFormat.TypeInt32,
        ParquetType.Double => ParquetFormat.TypeDouble,
        ParquetType.Boolean => ParquetFormat.TypeBoolean,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "unknown column type"),
    };

    /// <summary>Forwards writes and counts bytes, so file offsets are known without seeking.</summary>
    private sealed class CountingStream(Stream inner)
    {
        internal long Position { get; private set; }

        internal void Write(ReadOnlySpan<byte> bytes)
        {
            inner.Write(bytes);
            Position += bytes.Length;
        }

        internal void CopyFrom(MemoryStream source)
        {
            var length = source.Length - source.Position;
            source.CopyTo(inner);
            Position += length;
        }
    }
}
