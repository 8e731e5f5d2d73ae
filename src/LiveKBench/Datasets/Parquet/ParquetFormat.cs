using System.Text;

namespace LiveKBench.Datasets.Parquet;

/// <summary>Constants from parquet-format's parquet.thrift and the file layout.</summary>
internal static class ParquetFormat
{
    internal static ReadOnlySpan<byte> Magic => "PAR1"u8;

    internal static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // enum Type
    internal const int TypeBoolean = 0;
    internal const int TypeInt32 = 1;
    internal const int TypeInt64 = 2;
    internal const int TypeDouble = 5;
    internal const int TypeByteArray = 6;

    // enum ConvertedType
    internal const int ConvertedUtf8 = 0;
    internal const int ConvertedEnum = 4;
    internal const int ConvertedTimestampMillis = 9;
    internal const int ConvertedTimestampMicros = 10;
    internal const int ConvertedInt8 = 15;
    internal const int ConvertedInt16 = 16;
    internal const int ConvertedInt32 = 17;
    internal const int ConvertedInt64 = 18;
    internal const int ConvertedJson = 19;

    // enum FieldRepetitionType
    internal const int Required = 0;
    internal const int Optional = 1;

    // enum Encoding
    internal const int EncodingPlain = 0;
    internal const int EncodingPlainDictionary = 2;
    internal const int EncodingRle = 3;
    internal const int EncodingRleDictionary = 8;

    // enum CompressionCodec
    internal const int CodecUncompressed = 0;

    // enum PageType
    internal const int PageData = 0;
    internal const int PageIndex = 1;
    internal const int PageDictionary = 2;
    internal const int PageDataV2 = 3;

    // union LogicalType field ids
    internal const short LogicalString = 1;
    internal const short LogicalEnum = 4;
    internal const short LogicalTimestamp = 8;
    internal const short LogicalInteger = 10;
    internal const short LogicalJson = 12;

    // union TimeUnit field ids
    internal const short UnitMillis = 1;
    internal const short UnitMicros = 2;
    internal const short UnitNanos = 3;

    internal static readonly long UnixEpochTicks = DateTimeOffset.UnixEpoch.UtcTicks;
}

/// <summary>
/// The RLE / bit-packing hybrid encoding (parquet-format Encodings.md) used for definition levels, without the
/// 4-byte length prefix (callers add it for v1 data pages).
/// </summary>
internal static class RleBitPackedHybrid
{
    private const int MaxBitPackedGroups = 63;

    /// <summary>Encodes <paramref name="values"/> (each below 2^bitWidth, bitWidth 1..32).</summary>
    internal static void Encode(ReadOnlySpan<int> values, int bitWidth, Stream output)
    {
        var byteWidth = (bitWidth + 7) / 8;
        var i = 0;
        while (i < values.Length)
        {
            var run = RunLength(values, i);
            if (run >= 8)
            {
                WriteVarint(output, (ulong)run << 1);
                var v = values[i];
                for (var b = 0; b < byteWidth; b++)
                {
                    output.WriteByte((byte)(v >> (8 * b)));
                }
                i += run;
                continue;
            }
            // Bit-pack groups of 8 until a long run starts, the run is full, or the values end (last group zero-padded).
            var start = i;
            var groups = 0;
            do
            {
                groups++;
                i += 8;
            }
            while (groups < MaxBitPackedGroups && i < values.Length && RunLength(values, i) < 8);
            WriteVarint(output, ((ulong)groups << 1) | 1);
            var packed = new byte[groups * bitWidth];
            var end = Math.Min(i, values.Length);
            for (var j = start; j < end; j++)
            {
                var bitPos = (long)(j - start) * bitWidth;
                var v = (uint)values[j];
                for (var bit = 0; bit < bitWidth; bit++, bitPos++)
                {
                    if (((v >> bit) & 1) != 0)
                    {
                        packed[bitPos >> 3] |= (byte)(1 << (int)(bitPos & 7));
                    }
                }
            }
            output.Write(packed);
            i = end;
        }
    }

    /// <summary>Decodes exactly <c>output.Length</c> values; throws <see cref="InvalidDataException"/> if the data ends early.</summary>
    internal static void Decode(ReadOnlySpan<byte> data, int bitWidth, Span<int> output)
    {
        var byteWidth = (bitWidth + 7) / 8;
        var pos = 0;
        var n = 0;
        while (n < output.Length)
        {
            if (pos >= data.Length)
            {
                throw new InvalidDataException($"Parquet: level data ends after {n} of {output.Length} values");
            }
            var header = ReadVarint(data, ref pos);
            var remaining = output.Length - n;
            if ((header & 1) == 0)
            {
                var run = header >> 1;
                if (data.Length - pos < byteWidth)
                {
                    throw new InvalidDataException("Parquet: RLE run value is truncated");
                }
                var value = 0L;
                for (var b = 0; b < byteWidth; b++)
                {
                    value |= (long)data[pos + b] << (8 * b);
                }
                pos += byteWidth;
                if (value >> bitWidth != 0)
                {
                    throw new InvalidDataException($"Parquet: RLE run value {value} does not fit {bitWidth} bits");
                }
                var take = (int)Math.Min(run, (ulong)remaining);
                output.Slice(n, take).Fill((int)value);
                n += take;
            }
            else
            {
                var groups = header >> 1;
                var take = groups >= (ulong)remaining ? remaining : (int)Math.Min(groups * 8, (ulong)remaining);
                var bytesNeeded = ((long)take * bitWidth + 7) / 8;
                if (data.Length - pos < bytesNeeded)
                {
                    throw new InvalidDataException("Parquet: bit-packed run is truncated");
                }
                var packed = data[pos..];
                for (var j = 0; j < take; j++)
                {
                    var bitPos = (long)j * bitWidth;
                    var v = 0;
                    for (var bit = 0; bit < bitWidth; bit++, bitPos++)
                    {
                        v |= ((packed[(int)(bitPos >> 3)] >> (int)(bitPos & 7)) & 1) << bit;
                    }
                    output[n + j] = v;
                }
                n += take;
                var runBytes = groups > int.MaxValue ? long.MaxValue : (long)groups * bitWidth;
                pos += (int)Math.Min(runBytes, data.Length - pos);
            }
        }
    }

    private static int RunLength(ReadOnlySpan<int> values, int start)
    {
        var end = start + 1;
        while (end < values.Length && values[end] == values[start])
        {
            end++;
        }
        return end - start;
    }

    private static void WriteVarint(Stream output, ulong value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        output.WriteByte((byte)value);
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (pos >= data.Length)
            {
                throw new InvalidDataException("Parquet: level run header is truncated");
            }
            var b = data[pos++];
            result |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return result;
            }
        }
        throw new InvalidDataException("Parquet: level run header varint is too long");
    }
}
