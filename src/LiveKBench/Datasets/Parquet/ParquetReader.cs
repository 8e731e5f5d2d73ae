using System.Buffers.Binary;
using System.Text;

namespace LiveKBench.Datasets.Parquet;

/// <summary>
/// Reads flat Parquet files whose columns are PLAIN encoded and UNCOMPRESSED (no dictionary pages): everything
/// <see cref="ParquetWriter"/> produces, and such files from other writers (v1 and v2 data pages, BOOLEAN, INT32,
/// INT64, DOUBLE, UTF-8 BYTE_ARRAY and INT64 TIMESTAMP columns in MILLIS, MICROS or NANOS).
/// </summary>
public static class ParquetReader
{
    /// <summary>
    /// Reads the Parquet file held in <paramref name="stream"/>. For a seekable stream the file runs from the current
    /// position to the end; a non-seekable stream is first copied into memory.
    /// </summary>
    /// <exception cref="InvalidDataException">The data is not a well-formed Parquet file (bad magic, truncated footer,
    /// lengths or offsets out of range, corrupt Thrift or page data), uses a feature this reader does not support
    /// (compression, dictionary or non-PLAIN encodings, nested or repeated fields, other types), or claims more rows
    /// than <see cref="ParquetReadOptions.MaxRows"/>.</exception>
    public static ParquetTable Read(Stream stream, ParquetReadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= new ParquetReadOptions();
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        return new FileReader(stream, stream.Position, stream.Length - stream.Position, options).Read();
    }

    private sealed record ColumnInfo(ParquetColumn Column, int PhysicalType, long TicksPerUnit, long UnitsPerTick);

    private sealed class FileReader(Stream stream, long baseOffset, long fileLength, ParquetReadOptions options)
    {
        private long _footerStart;

        internal ParquetTable Read()
        {
            if (fileLength < 12)
            {
                throw Invalid($"file is {fileLength} bytes, too short for a Parquet file (at least 12)");
            }
            Span<byte> head = stackalloc byte[4];
            ReadAt(0, head);
            if (!head.SequenceEqual(ParquetFormat.Magic))
            {
                throw Invalid("missing leading magic \"PAR1\"");
            }
            Span<byte> tail = stackalloc byte[8];
            ReadAt(fileLength - 8, tail);
            if (!tail[4..].SequenceEqual(ParquetFormat.Magic))
            {
                throw Invalid(tail[4..].SequenceEqual("PARE"u8)
                    ? "encrypted footers (\"PARE\") are not supported"
                    : "missing trailing magic \"PAR1\"");
            }
            var footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
            if (footerLength <= 0 || footerLength > fileLength - 12)
            {
                throw Invalid($"footer length {footerLength} is out of range for a {fileLength}-byte file");
            }
            _footerStart = fileLength - 8 - footerLength;
            stream.Position = baseOffset + _footerStart;
            var reader = new ThriftCompactReader(stream, footerLength);
            var meta = reader.ReadStruct("FileMetaData");

            var columns = ReadSchema(meta.List(2, "schema"));
            var numRows = meta.I64(3, "num_rows");
            if (numRows < 0 || numRows > options.MaxRows)
            {
                throw Invalid(numRows < 0
                    ? $"num_rows {numRows} is negative"
                    : $"file has {numRows} rows, more than ParquetReadOptions.MaxRows ({options.MaxRows})");
            }
            var rows = new List<object?[]>((int)Math.Min(numRows, 1 << 16));
            foreach (var g in meta.List(4, "row_groups"))
            {
                var rowGroup = g as ThriftStruct ?? throw Invalid("row_groups element is not a struct");
                ReadRowGroup(rowGroup, columns, rows, numRows);
            }
            if (rows.Count != numRows)
            {
                throw Invalid($"num_rows is {numRows} but the row groups hold {rows.Count} rows");
            }
            return new ParquetTable(columns.Select(c => c.Column).ToList(), rows);
        }

        private static List<ColumnInfo> ReadSchema(List<object> schema)
        {
            if (schema.Count == 0 || schema[0] is not ThriftStruct root)
            {
                throw Invalid("schema is empty");
            }
            var children = root.OptI32(5, "num_children") ?? 0;
            if (children <= 0 || children != schema.Count - 1)
            {
                throw Invalid($"root has {children} children but the schema lists {schema.Count - 1} further elements (nested schemas are not supported)");
            }
            var result = new List<ColumnInfo>(children);
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 1; i < schema.Count; i++)
            {
                var e = schema[i] as ThriftStruct ?? throw Invalid("schema element is not a struct");
                var name = e.String(4, "name");
                if ((e.OptI32(5, "num_children") ?? 0) > 0 || !e.Has(1))
                {
                    throw Invalid($"column '{name}' is a group; nested schemas are not supported");
                }
                if (name.Length == 0 || !names.Add(name))
                {
                    throw Invalid($"column name '{name}' is empty or duplicated");
                }
                var repetition = e.OptI32(3, "repetition_type") ?? throw Invalid($"column '{name}' has no repetition_type");
                if (repetition is not (ParquetFormat.Required or ParquetFormat.Optional))
                {
                    throw Invalid($"column '{name}' has repetition {repetition}; repeated fields are not supported");
                }
                result.Add(Describe(e, name, repetition == ParquetFormat.Optional));
            }
            return result;
        }

        private static ColumnInfo Describe(ThriftStruct e, string name, bool nullable)
        {
            var physical = e.I32(1, "type");
            var converted = e.OptI32(6, "converted_type");
            var logical = e.OptStruct(10, "logicalType");
            bool Logical(short id) => logical is not null && logical.Has(id);
            bool NoLogical() => logical is null || logical.Fields.Count == 0;
            ColumnInfo Make(ParquetType type, long ticksPerUnit = 1, long unitsPerTick = 1) =>
                new(new ParquetColumn(name, type, nullable), physical, ticksPerUnit, unitsPerTick);

            switch (physical)
            {
                case ParquetFormat.TypeBoolean when NoLogical() && converted is null:
                    return Make(ParquetType.Boolean);
                case ParquetFormat.TypeDouble when NoLogical() && converted is null:
                    return Make(ParquetType.Double);
                case ParquetFormat.TypeByteArray when Logical(ParquetFormat.LogicalString) || Logical(ParquetFormat.LogicalEnum) || Logical(ParquetFormat.LogicalJson)
                    || (NoLogical() && converted is ParquetFormat.ConvertedUtf8 or ParquetFormat.ConvertedEnum or ParquetFormat.ConvertedJson):
                    return Make(ParquetType.String);
                case ParquetFormat.TypeInt32 when NoLogical() ? converted is null or ParquetFormat.ConvertedInt8 or ParquetFormat.ConvertedInt16 or ParquetFormat.ConvertedInt32
                                                              : IsSignedInteger(logical!, 32):
                    return Make(ParquetType.Int32);
                case ParquetFormat.TypeInt64 when Logical(ParquetFormat.LogicalTimestamp):
                    {
                        var unit = logical!.Struct(ParquetFormat.LogicalTimestamp, "TIMESTAMP").Struct(2, "unit");
                        return unit.Has(ParquetFormat.UnitMillis) ? Make(ParquetType.Timestamp, ticksPerUnit: TimeSpan.TicksPerMillisecond)
                            : unit.Has(ParquetFormat.UnitMicros) ? Make(ParquetType.Timestamp, ticksPerUnit: TimeSpan.TicksPerMicrosecond)
                            : unit.Has(ParquetFormat.UnitNanos) ? Make(ParquetType.Timestamp, unitsPerTick: 100)
                            : throw Invalid($"column '{name}' has an unknown timestamp unit");
                    }
                case ParquetFormat.TypeInt64 when NoLogical() && converted == ParquetFormat.ConvertedTimestampMillis:
                    return Make(ParquetType.Timestamp, ticksPerUnit: TimeSpan.TicksPerMillisecond);
                case ParquetFormat.TypeInt64 when NoLogical() && converted == ParquetFormat.ConvertedTimestampMicros:
                    return Make(ParquetType.Timestamp, ticksPerUnit: TimeSpan.TicksPerMicrosecond);
                case ParquetFormat.TypeInt64 when NoLogical() ? converted is null or ParquetFormat.ConvertedInt64 : IsSignedInteger(logical!, 64):
                    return Make(ParquetType.Int64);
                default:
                    throw Invalid($"column '{name}' has physical type {physical} with converted type {converted?.ToString() ?? "none"} "
                        + $"and logical type {(logical is null ? "none" : string.Join(",", logical.Fields.Keys))}, which this reader does not support");
            }
        }

        private static bool IsSignedInteger(ThriftStruct logical, int maxBits)
        {
            var integer = logical.OptStruct(ParquetFormat.LogicalInteger, "INTEGER");
            if (integer is null)
            {
                return false;
            }
            var bits = integer.Fields.TryGetValue(1, out var b) && b is long l ? l : 0;
            return integer.OptBool(2, "isSigned") == true && bits is 8 or 16 or 32 or 64 && bits <= maxBits;
        }

        private void ReadRowGroup(ThriftStruct rowGroup, List<ColumnInfo> columns, List<object?[]> rows, long fileRows)
        {
            var numRows = rowGroup.I64(3, "num_rows");
            if (numRows < 0 || numRows > fileRows - rows.Count)
            {
                throw Invalid($"row group num_rows {numRows} is out of range (file num_rows {fileRows}, {rows.Count} rows already read)");
            }
            var chunks = rowGroup.List(1, "columns");
            if (chunks.Count != columns.Count)
            {
                throw Invalid($"row group has {chunks.Count} column chunks for {columns.Count} columns");
            }
            var count = (int)numRows;
            var values = new object?[columns.Count][];
            for (var c = 0; c < columns.Count; c++)
            {
                var chunk = chunks[c] as ThriftStruct ?? throw Invalid("column chunk is not a struct");
                if (chunk.OptString(1, "file_path") is not null)
                {
                    throw Invalid("column chunks in external files (file_path) are not supported");
                }
                values[c] = ReadColumnChunk(chunk.OptStruct(3, "meta_data") ?? throw Invalid("column chunk has no meta_data"), columns[c], count);
            }
            for (var r = 0; r < count; r++)
            {
                var row = new object?[columns.Count];
                for (var c = 0; c < columns.Count; c++)
                {
                    row[c] = values[c][r];
                }
                rows.Add(row);
            }
        }

        private object?[] ReadColumnChunk(ThriftStruct meta, ColumnInfo info, int numRows)
        {
            var name = info.Column.Name;
            if (meta.I32(1, "type") != info.PhysicalType)
            {
                throw Invalid($"column '{name}': chunk type does not match the schema");
            }
            var path = meta.List(3, "path_in_schema");
            if (path.Count != 1 || path[0] is not byte[] p || !p.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(name)))
            {
                throw Invalid($"column '{name}': path_in_schema does not match the schema");
            }
            var codec = meta.I32(4, "codec");
            if (codec != ParquetFormat.CodecUncompressed)
            {
                throw Invalid($"column '{name}': compression codec {codec} is not supported (only UNCOMPRESSED)");
            }
            var numValues = meta.I64(5, "num_values");
            if (numValues != numRows)
            {
                throw Invalid($"column '{name}': num_values {numValues} differs from the row group's {numRows} rows");
            }
            var size = meta.I64(7, "total_compressed_size");
            var start = meta.I64(9, "data_page_offset");
            var dictionary = meta.OptI64(11, "dictionary_page_offset");
            if (dictionary is > 0 && dictionary < start)
            {
                start = dictionary.Value;
            }
            if (start < 4 || size < 0 || size > _footerStart - start)
            {
                throw Invalid($"column '{name}': chunk at offset {start} with size {size} lies outside the data region [4, {_footerStart})");
            }
            var end = start + size;
            var result = new object?[numRows];
            var filled = 0;
            var pos = start;
            while (filled < numRows)
            {
                if (pos >= end)
                {
                    throw Invalid($"column '{name}': chunk ends after {filled} of {numRows} values");
                }
                stream.Position = baseOffset + pos;
                var headerReader = new ThriftCompactReader(stream, end - pos);
                var header = headerReader.ReadStruct("PageHeader");
                pos += headerReader.Consumed;
                var pageType = header.I32(1, "type");
                var pageSize = header.I32(3, "compressed_page_size");
                if (pageSize < 0 || pageSize > end - pos)
                {
                    throw Invalid($"column '{name}': page size {pageSize} exceeds the {end - pos} bytes left in the chunk");
                }
                var page = new byte[pageSize];
                ReadAt(pos, page);
                pos += pageSize;
                switch (pageType)
                {
                    case ParquetFormat.PageData:
                        filled += DecodeV1(header.Struct(5, "data_page_header"), page, info, result, filled);
                        break;
                    case ParquetFormat.PageDataV2:
                        filled += DecodeV2(header.Struct(8, "data_page_header_v2"), page, info, result, filled);
                        break;
                    case ParquetFormat.PageDictionary:
                        throw Invalid($"column '{name}': dictionary encoding is not supported");
                    default:
                        break; // index pages and unknown page types carry no values
                }
            }
            return result;
        }

        private static int DecodeV1(ThriftStruct h, byte[] page, ColumnInfo info, object?[] result, int offset)
        {
            var numValues = CheckCount(h.I32(1, "num_values"), result.Length - offset, info);
            CheckEncoding(h.I32(2, "encoding"), info);
            var data = page.AsSpan();
            var levels = new int[numValues];
            if (info.Column.Nullable)
            {
                var levelEncoding = h.I32(3, "definition_level_encoding");
                if (levelEncoding != ParquetFormat.EncodingRle)
                {
                    throw Invalid($"column '{info.Column.Name}': definition level encoding {levelEncoding} is not supported (only RLE)");
                }
                if (data.Length < 4)
                {
                    throw Invalid($"column '{info.Column.Name}': page too short for the definition level length");
                }
                var length = BinaryPrimitives.ReadInt32LittleEndian(data);
                if (length < 0 || length > data.Length - 4)
                {
                    throw Invalid($"column '{info.Column.Name}': definition level length {length} exceeds the page");
                }
                RleBitPackedHybrid.Decode(data.Slice(4, length), 1, levels);
                data = data[(4 + length)..];
            }
            else
            {
                levels.AsSpan().Fill(1);
            }
            DecodeValues(data, levels, info, result, offset);
            return numValues;
        }

        private static int DecodeV2(ThriftStruct h, byte[] page, ColumnInfo info, object?[] result, int offset)
        {
            var numValues = CheckCount(h.I32(1, "num_values"), result.Length - offset, info);
            CheckEncoding(h.I32(4, "encoding"), info);
            var defLength = h.I32(5, "definition_levels_byte_length");
            var repLength = h.I32(6, "repetition_levels_byte_length");
            if (defLength < 0 || repLength < 0 || (long)defLength + repLength > page.Length)
            {
                throw Invalid($"column '{info.Column.Name}': level lengths exceed the page");
            }
            var levels = new int[numValues];
            if (info.Column.Nullable)
            {
                RleBitPackedHybrid.Decode(page.AsSpan(repLength, defLength), 1, levels);
            }
            else
            {
                levels.AsSpan().Fill(1);
            }
            DecodeValues(page.AsSpan(repLength + defLength), levels, info, result, offset);
            return numValues;
        }

        private static int CheckCount(int numValues, int room, ColumnInfo info) => numValues >= 0 && numValues <= room
            ? numValues
            : throw Invalid($"column '{info.Column.Name}': page num_values {numValues} is out of range ({room} values left in the row group)");

        private static void CheckEncoding(int encoding, ColumnInfo info)
        {
            if (encoding != ParquetFormat.EncodingPlain)
            {
                throw Invalid($"column '{info.Column.Name}': value encoding {encoding} is not supported (only PLAIN"
                    + (encoding is ParquetFormat.EncodingPlainDictionary or ParquetFormat.EncodingRleDictionary ? "; dictionary encoding is not supported)" : ")"));
            }
        }

        private static void DecodeValues(ReadOnlySpan<byte> data, int[] levels, ColumnInfo info, object?[] result, int offset)
        {
            var pos = 0;
            var bit = 0;
            var name = info.Column.Name;
            for (var i = 0; i < levels.Length; i++)
            {
                if (levels[i] == 0)
                {
                    result[offset + i] = null;
                    continue;
                }
                switch (info.Column.Type)
                {
                    case ParquetType.Boolean:
                        if (bit >> 3 >= data.Length)
                        {
                            throw Invalid($"column '{name}': boolean values end early");
                        }
                        result[offset + i] = ((data[bit >> 3] >> (bit & 7)) & 1) != 0;
                        bit++;
                        break;
                    case ParquetType.Int32:
                        result[offset + i] = BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4, name));
                        break;
                    case ParquetType.Int64:
                        result[offset + i] = BinaryPrimitives.ReadInt64LittleEndian(Take(data, ref pos, 8, name));
                        break;
                    case ParquetType.Double:
                        result[offset + i] = BinaryPrimitives.ReadDoubleLittleEndian(Take(data, ref pos, 8, name));
                        break;
                    case ParquetType.Timestamp:
                        result[offset + i] = ToTimestamp(BinaryPrimitives.ReadInt64LittleEndian(Take(data, ref pos, 8, name)), info);
                        break;
                    case ParquetType.String:
                        {
                            var length = BinaryPrimitives.ReadInt32LittleEndian(Take(data, ref pos, 4, name));
                            if (length < 0)
                            {
                                throw Invalid($"column '{name}': negative string length {length}");
                            }
                            try
                            {
                                result[offset + i] = ParquetFormat.StrictUtf8.GetString(Take(data, ref pos, length, name));
                            }
                            catch (DecoderFallbackException e)
                            {
                                throw new InvalidDataException($"Parquet: column '{name}': string value is not valid UTF-8", e);
                            }
                            break;
                        }
                    default:
                        throw Invalid($"column '{name}': unsupported type");
                }
            }
        }

        private static ReadOnlySpan<byte> Take(ReadOnlySpan<byte> data, ref int pos, int count, string name)
        {
            if (count > data.Length - pos)
            {
                throw Invalid($"column '{name}': value data ends early (needs {count} bytes at {pos}, page has {data.Length})");
            }
            var slice = data.Slice(pos, count);
            pos += count;
            return slice;
        }

        private static DateTimeOffset ToTimestamp(long value, ColumnInfo info)
        {
            long ticks;
            try
            {
                ticks = checked((info.UnitsPerTick == 1 ? value * info.TicksPerUnit : Math.DivRem(value, info.UnitsPerTick, out var rem) - (rem < 0 ? 1 : 0)) + ParquetFormat.UnixEpochTicks);
            }
            catch (OverflowException)
            {
                ticks = -1;
            }
            if (ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks)
            {
                throw Invalid($"column '{info.Column.Name}': timestamp {value} is outside the DateTimeOffset range");
            }
            return new DateTimeOffset(ticks, TimeSpan.Zero);
        }

        private void ReadAt(long offset, Span<byte> buffer)
        {
            stream.Position = baseOffset + offset;
            try
            {
                stream.ReadExactly(buffer);
            }
            catch (EndOfStreamException e)
            {
                throw new InvalidDataException("Parquet: unexpected end of stream", e);
            }
        }

        private static InvalidDataException Invalid(string message) => new("Parquet: " + message);
    }
}
