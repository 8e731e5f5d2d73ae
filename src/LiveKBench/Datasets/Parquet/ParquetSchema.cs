namespace LiveKBench.Datasets.Parquet;

/// <summary>The column types this Parquet implementation supports, with their physical and logical encodings.</summary>
public enum ParquetType
{
    /// <summary>UTF-8 text: physical BYTE_ARRAY, logical type STRING, converted type UTF8. CLR value <see cref="string"/>.</summary>
    String,

    /// <summary>Signed 64-bit integer: physical INT64. CLR value <see cref="long"/>.</summary>
    Int64,

    /// <summary>Signed 32-bit integer: physical INT32. CLR value <see cref="int"/>.</summary>
    Int32,

    /// <summary>IEEE 754 double: physical DOUBLE. CLR value <see cref="double"/>.</summary>
    Double,

    /// <summary>Boolean: physical BOOLEAN (bit-packed). CLR value <see cref="bool"/>.</summary>
    Boolean,

    /// <summary>
    /// Instant in time: physical INT64, logical TIMESTAMP(isAdjustedToUTC=true, MICROS), converted type TIMESTAMP_MICROS.
    /// CLR value <see cref="DateTimeOffset"/> (read back with offset zero; precision is one microsecond).
    /// </summary>
    Timestamp,
}

/// <summary>One column of a flat Parquet schema.</summary>
/// <param name="Name">Column name (non-empty, unique within the schema).</param>
/// <param name="Type">Value type of the column.</param>
/// <param name="Nullable">True for an OPTIONAL column (nulls allowed, definition levels written); false for REQUIRED.</param>
public sealed record ParquetColumn(string Name, ParquetType Type, bool Nullable = true);

/// <summary>
/// A flat table: a schema of named columns plus rows. Each row is an array with one value per column, in schema
/// order; a value is <see langword="null"/> or of the CLR type documented on <see cref="ParquetType"/>.
/// </summary>
public sealed class ParquetTable
{
    /// <summary>Creates a table; checks that column names are non-empty and unique and that every row has one value per column.</summary>
    /// <exception cref="ArgumentException">The schema or a row is malformed.</exception>
    public ParquetTable(IReadOnlyList<ParquetColumn> columns, IReadOnlyList<object?[]> rows)
    {
        ArgumentNullException.ThrowIfNull(columns);
        ArgumentNullException.ThrowIfNull(rows);
        ParquetSchemaValidation.Validate(columns);
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r] is null || rows[r].Length != columns.Count)
            {
                throw new ArgumentException($"row {r} must have exactly {columns.Count} values", nameof(rows));
            }
        }
        Columns = columns;
        Rows = rows;
    }

    /// <summary>The schema, in column order.</summary>
    public IReadOnlyList<ParquetColumn> Columns { get; }

    /// <summary>The rows; each has <see cref="Columns"/>.Count values.</summary>
    public IReadOnlyList<object?[]> Rows { get; }

    /// <summary>Index of the column with the given name (ordinal comparison), or -1 when there is none.</summary>
    public int IndexOf(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (string.Equals(Columns[i].Name, name, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }
}

/// <summary>Options for <see cref="ParquetWriter"/>.</summary>
public sealed record ParquetWriteOptions
{
    /// <summary>Maximum rows per row group (default 65,536). Must be positive.</summary>
    public int RowGroupSize { get; init; } = 65_536;

    /// <summary>
    /// Target size in bytes of a data page's encoded values (default 1 MiB): a column chunk is split into several
    /// data pages once this is exceeded. Must be positive.
    /// </summary>
    public int PageSize { get; init; } = 1 << 20;

    /// <summary>Value of FileMetaData.created_by (default "LiveKBench").</summary>
    public string CreatedBy { get; init; } = "LiveKBench";
}

/// <summary>Options for <see cref="ParquetReader"/>.</summary>
public sealed record ParquetReadOptions
{
    /// <summary>
    /// Largest number of rows the reader accepts (default 16,777,216). Run-length encoded nulls let a tiny file claim
    /// billions of rows; this bound keeps memory proportional to what the caller is willing to hold.
    /// </summary>
    public long MaxRows { get; init; } = 1 << 24;
}

internal static class ParquetSchemaValidation
{
    internal static void Validate(IReadOnlyList<ParquetColumn> columns)
    {
        if (columns.Count == 0)
        {
            throw new ArgumentException("a Parquet schema needs at least one column", nameof(columns));
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < columns.Count; i++)
        {
            var c = columns[i] ?? throw new ArgumentException($"column {i} is null", nameof(columns));
            if (string.IsNullOrEmpty(c.Name))
            {
                throw new ArgumentException($"column {i} has an empty name", nameof(columns));
            }
            if (!Enum.IsDefined(c.Type))
            {
                throw new ArgumentException($"column '{c.Name}' has unknown type {(int)c.Type}", nameof(columns));
            }
            if (!names.Add(c.Name))
            {
                throw new ArgumentException($"duplicate column name '{c.Name}'", nameof(columns));
            }
        }
    }
}
