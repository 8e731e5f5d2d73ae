using System.Buffers.Binary;
using System.Text;

namespace LiveKBench.Datasets.Parquet;

/// <summary>Thrift Compact Protocol type ids (thrift doc/specs/thrift-compact-protocol.md).</summary>
internal static class ThriftType
{
    internal const byte Stop = 0;
    internal const byte BoolTrue = 1;
    internal const byte BoolFalse = 2;
    internal const byte Byte = 3;
    internal const byte I16 = 4;
    internal const byte I32 = 5;
    internal const byte I64 = 6;
    internal const byte Double = 7;
    internal const byte Binary = 8;
    internal const byte List = 9;
    internal const byte Set = 10;
    internal const byte Map = 11;
    internal const byte Struct = 12;
}

/// <summary>
/// Minimal Thrift Compact Protocol encoder: structs with delta-encoded field headers, zigzag varint integers,
/// length-prefixed binaries and lists. The caller writes fields in the order it wants; ids may go in any order.
/// </summary>
internal sealed class ThriftCompactWriter
{
    private readonly List<byte> _buffer = [];
    private readonly Stack<short> _outerIds = new();
    private short _lastId;

    internal byte[] ToArray() => _buffer.ToArray();

    /// <summary>Starts a top-level struct or a struct element of a list (no field header).</summary>
    internal void BeginStruct()
    {
        _outerIds.Push(_lastId);
        _lastId = 0;
    }

    /// <summary>Starts a struct-valued field.</summary>
    internal void BeginStructField(short id)
    {
        FieldHeader(id, ThriftType.Struct);
        BeginStruct();
    }

    /// <summary>Writes the stop byte of the current struct and returns to the enclosing one.</summary>
    internal void EndStruct()
    {
        _buffer.Add(ThriftType.Stop);
        _lastId = _outerIds.Pop();
    }

    internal void FieldBool(short id, bool value) => FieldHeader(id, value ? ThriftType.BoolTrue : ThriftType.BoolFalse);

    internal void FieldI16(short id, short value)
    {
        FieldHeader(id, ThriftType.I16);
        WriteVarint(ZigZag(value));
    }

    internal void FieldI32(short id, int value)
    {
        FieldHeader(id, ThriftType.I32);
        WriteVarint(ZigZag(value));
    }

    internal void FieldI64(short id, long value)
    {
        FieldHeader(id, ThriftType.I64);
        WriteVarint(ZigZag(value));
    }

    internal void FieldString(short id, string value)
    {
        FieldHeader(id, ThriftType.Binary);
        WriteBinary(Encoding.UTF8.GetBytes(value));
    }

    /// <summary>Writes a list-valued field header; then write <paramref name="count"/> elements with the List* methods.</summary>
    internal void BeginListField(short id, byte elementType, int count)
    {
        FieldHeader(id, ThriftType.List);
        if (count < 15)
        {
            _buffer.Add((byte)((count << 4) | elementType));
        }
        else
        {
            _buffer.Add((byte)(0xF0 | elementType));
            WriteVarint((ulong)count);
        }
    }

    internal void ListI32(int value) => WriteVarint(ZigZag(value));

    internal void ListString(string value) => WriteBinary(Encoding.UTF8.GetBytes(value));

    private void FieldHeader(short id, byte type)
    {
        var delta = id - _lastId;
        if (delta is > 0 and <= 15)
        {
            _buffer.Add((byte)((delta << 4) | type));
        }
        else
        {
            _buffer.Add(type);
            WriteVarint(ZigZag(id));
        }
        _lastId = id;
    }

    private void WriteBinary(byte[] bytes)
    {
        WriteVarint((ulong)bytes.Length);
        _buffer.AddRange(bytes);
    }

    private static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer.Add((byte)(value | 0x80));
            value >>= 7;
        }
        _buffer.Add((byte)value);
    }
}

/// <summary>A decoded Thrift struct: field id to value (long, bool, double, byte[], List&lt;object&gt; or ThriftStruct).</summary>
internal sealed class ThriftStruct(string name)
{
    internal Dictionary<short, object> Fields { get; } = [];

    internal string Name { get; } = name;

    internal bool Has(short id) => Fields.ContainsKey(id);

    internal long I64(short id, string field) => Get<long>(id, field);

    internal long? OptI64(short id, string field) => Fields.ContainsKey(id) ? Get<long>(id, field) : null;

    internal int I32(short id, string field) => ToI32(Get<long>(id, field), field);

    internal int? OptI32(short id, string field) => Fields.ContainsKey(id) ? ToI32(Get<long>(id, field), field) : null;

    internal bool? OptBool(short id, string field) => Fields.ContainsKey(id) ? Get<bool>(id, field) : null;

    internal string String(short id, string field)
    {
        var bytes = Get<byte[]>(id, field);
        try
        {
            return ParquetFormat.StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"Parquet: {Name}.{field} is not valid UTF-8", e);
        }
    }

    internal string? OptString(short id, string field) => Fields.ContainsKey(id) ? String(id, field) : null;

    internal ThriftStruct Struct(short id, string field) => Get<ThriftStruct>(id, field);

    internal ThriftStruct? OptStruct(short id, string field) => Fields.ContainsKey(id) ? Get<ThriftStruct>(id, field) : null;

    internal List<object> List(short id, string field) => Get<List<object>>(id, field);

    private T Get<T>(short id, string field)
    {
        if (!Fields.TryGetValue(id, out var value))
        {
            throw new InvalidDataException($"Parquet: required field {Name}.{field} (id {id}) is missing");
        }
        if (value is not T typed)
        {
            throw new InvalidDataException($"Parquet: field {Name}.{field} (id {id}) has the wrong Thrift type");
        }
        return typed;
    }

    private int ToI32(long value, string field) => value is >= int.MinValue and <= int.MaxValue
        ? (int)value
        : throw new InvalidDataException($"Parquet: field {Name}.{field} is out of the i32 range");
}

/// <summary>
/// Bounded Thrift Compact Protocol decoder over a stream: it never consumes more than <c>limit</c> bytes, validates
/// every length and count against the bytes left, and limits nesting depth, so corrupt input cannot cause large
/// allocations or deep recursion. All problems surface as <see cref="InvalidDataException"/>.
/// </summary>
internal sealed class ThriftCompactReader(Stream stream, long limit)
{
    private const int MaxDepth = 32;

    internal long Consumed { get; private set; }

    private long Remaining => limit - Consumed;

    internal ThriftStruct ReadStruct(string name) => ReadStruct(name, 0);

    private ThriftStruct ReadStruct(string name, int depth)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException("Parquet: Thrift structures are nested too deeply");
        }
        var result = new ThriftStruct(name);
        short lastId = 0;
        while (true)
        {
            var header = ReadByte();
            if (header == ThriftType.Stop)
            {
                return result;
            }
            var type = (byte)(header & 0x0F);
            var delta = header >> 4;
            short id;
            if (delta != 0)
            {
                id = (short)(lastId + delta);
            }
            else
            {
                var raw = ReadZigZag();
                if (raw is < short.MinValue or > short.MaxValue)
                {
                    throw new InvalidDataException("Parquet: Thrift field id out of range");
                }
                id = (short)raw;
            }
            lastId = id;
            object value = type switch
            {
                ThriftType.BoolTrue => true,
                ThriftType.BoolFalse => false,
                _ => ReadValue(type, depth),
            };
            result.Fields[id] = value;
        }
    }

    private object ReadValue(byte type, int depth)
    {
        switch (type)
        {
            case ThriftType.Byte:
                return (long)(sbyte)ReadByte();
            case ThriftType.I16:
            case ThriftType.I32:
            case ThriftType.I64:
                return ReadZigZag();
            case ThriftType.Double:
                {
                    Span<byte> b = stackalloc byte[8];
                    ReadExactly(b);
                    return BinaryPrimitives.ReadDoubleLittleEndian(b);
                }
            case ThriftType.Binary:
                {
                    var length = ReadVarint();
                    if (length > (ulong)Remaining)
                    {
                        throw new InvalidDataException($"Parquet: Thrift binary length {length} exceeds the {Remaining} bytes left");
                    }
                    var bytes = new byte[(int)length];
                    ReadExactly(bytes);
                    return bytes;
                }
            case ThriftType.List:
            case ThriftType.Set:
                {
                    var header = ReadByte();
                    var elementType = (byte)(header & 0x0F);
                    ulong count = (ulong)(header >> 4);
                    if (count == 15)
                    {
                        count = ReadVarint();
                    }
                    // Every element takes at least one byte, so a count above the bytes left is corrupt.
                    if (count > (ulong)Remaining)
                    {
                        throw new InvalidDataException($"Parquet: Thrift list size {count} exceeds the {Remaining} bytes left");
                    }
                    var list = new List<object>((int)count);
                    for (ulong i = 0; i < count; i++)
                    {
                        list.Add(elementType switch
                        {
                            ThriftType.BoolTrue or ThriftType.BoolFalse => ReadByte() == 1,
                            _ => ReadValue(elementType, depth + 1),
                        });
                    }
                    return list;
                }
            case ThriftType.Map:
                {
                    var count = ReadVarint();
                    if (count == 0)
                    {
                        return new List<object>();
                    }
                    if (count > (ulong)Remaining)
                    {
                        throw new InvalidDataException($"Parquet: Thrift map size {count} exceeds the {Remaining} bytes left");
                    }
                    var types = ReadByte();
                    var keyType = (byte)(types >> 4);
                    var valueType = (byte)(types & 0x0F);
                    for (ulong i = 0; i < count; i++)
                    {
                        _ = keyType is ThriftType.BoolTrue or ThriftType.BoolFalse ? ReadByte() : ReadValue(keyType, depth + 1);
                        _ = valueType is ThriftType.BoolTrue or ThriftType.BoolFalse ? ReadByte() : ReadValue(valueType, depth + 1);
                    }
                    // Parquet metadata has no maps; the contents are skipped.
                    return new List<object>();
                }
            case ThriftType.Struct:
                return ReadStruct("struct", depth + 1);
            default:
                throw new InvalidDataException($"Parquet: unknown Thrift compact type {type}");
        }
    }

    private byte ReadByte()
    {
        if (Remaining <= 0)
        {
            throw new InvalidDataException("Parquet: Thrift structure is truncated");
        }
        var b = stream.ReadByte();
        if (b < 0)
        {
            throw new InvalidDataException("Parquet: Thrift structure is truncated (end of stream)");
        }
        Consumed++;
        return (byte)b;
    }

    private void ReadExactly(Span<byte> buffer)
    {
        if (buffer.Length > Remaining)
        {
            throw new InvalidDataException("Parquet: Thrift structure is truncated");
        }
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("Parquet: Thrift structure is truncated (end of stream)", e);
        }
        Consumed += buffer.Length;
    }

    private ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = ReadByte();
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        throw new InvalidDataException("Parquet: Thrift varint is longer than 10 bytes");
    }

    private long ReadZigZag()
    {
        var v = ReadVarint();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }
}
