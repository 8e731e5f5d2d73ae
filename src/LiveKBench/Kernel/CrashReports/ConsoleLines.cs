using System.Buffers;
using System.Text;

namespace LiveKBench.Kernel.CrashReports;

/// <summary>Byte-level console line helpers: prefix/context parsing, stripping, fast needle search.</summary>
internal static class ConsoleLines
{
    private static readonly byte[] Dropped1 = "** "u8.ToArray();
    private static readonly byte[] DroppedTail = " printk messages dropped ** "u8.ToArray();
    private static readonly byte[] Login = " login: "u8.ToArray();

    /// <summary>
    /// Parses the console prefix. Returns false when the line has no timestamp (context "").
    /// On success, <paramref name="ctxStart"/>/<paramref name="ctxLen"/> give the caller id ("[ T12]"), length 0 for "console".
    /// </summary>
    public static bool ParseContext(ReadOnlySpan<byte> line, out int ctxStart, out int ctxLen)
    {
        ctxStart = 0;
        ctxLen = 0;
        var p0 = 0;
        if (line.StartsWith(Dropped1))
        {
            var i = 3;
            var d = i;
            while (i < line.Length && IsDigit(line[i]))
            {
                i++;
            }
            if (i > d && line[i..].StartsWith(DroppedTail))
            {
                p0 = i + DroppedTail.Length;
            }
        }
        // Greedy "(?:.* login: )?": try the last " login: " first, then earlier ones, then none.
        var rest = line[p0..];
        var idx = rest.LastIndexOf(Login);
        while (idx >= 0)
        {
            if (TryStamp(line, p0 + idx + Login.Length, out ctxStart, out ctxLen))
            {
                return true;
            }
            idx = rest[..idx].LastIndexOf(Login);
        }
        return TryStamp(line, p0, out ctxStart, out ctxLen);
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool TryStamp(ReadOnlySpan<byte> s, int p, out int ctxStart, out int ctxLen)
    {
        ctxStart = 0;
        ctxLen = 0;
        if (p < s.Length && s[p] == '<')
        {
            var q = p + 1;
            while (q < s.Length && IsDigit(s[q]))
            {
                q++;
            }
            if (q > p + 1 && q < s.Length && s[q] == '>')
            {
                p = q + 1;
            }
            else
            {
                return false;
            }
        }
        if (p >= s.Length || s[p] != '[')
        {
            return false;
        }
        p++;
        while (p < s.Length && s[p] == ' ')
        {
            p++;
        }
        var d = p;
        while (p < s.Length && IsDigit(s[p]))
        {
            p++;
        }
        if (p == d || p >= s.Length || s[p] != '.')
        {
            return false;
        }
        p++;
        d = p;
        while (p < s.Length && IsDigit(s[p]))
        {
            p++;
        }
        if (p == d || p >= s.Length || s[p] != ']')
        {
            return false;
        }
        p++;
        // Optional caller id "[ *(C|T)[0-9]+]" followed by a space.
        if (p < s.Length && s[p] == '[')
        {
            var q = p + 1;
            while (q < s.Length && s[q] == ' ')
            {
                q++;
            }
            if (q < s.Length && (s[q] == 'C' || s[q] == 'T'))
            {
                q++;
                var dd = q;
                while (q < s.Length && IsDigit(s[q]))
                {
                    q++;
                }
                if (q > dd && q + 1 < s.Length && s[q] == ']' && s[q + 1] == ' ')
                {
                    ctxStart = p;
                    ctxLen = q + 1 - p;
                    return true;
                }
            }
        }
        return p < s.Length && s[p] == ' ';
    }

    /// <summary>Strip the console prefix (only for lines with a context). Returns the stripped text and questionable flag.</summary>
    public static string Strip(ReadOnlySpan<byte> line, bool hasContext, out bool questionable)
    {
        var (start, length) = StripRange(line, hasContext, out questionable);
        return Latin1(line.Slice(start, length));
    }

    /// <summary>As <see cref="Strip"/>, but returns the stripped text's (start, length) within <paramref name="line"/>.</summary>
    public static (int Start, int Length) StripRange(ReadOnlySpan<byte> line, bool hasContext, out bool questionable)
    {
        questionable = false;
        if (!hasContext)
        {
            return (0, line.Length);
        }
        var cut = FirstStampEnd(line);
        var from = cut >= 0 ? cut + 2 : 0;
        var rest = line[from..];
        var q = rest.IndexOf(" ? "u8);
        if (q >= 0 && rest.IndexOf("<EOI>"u8) < 0)
        {
            questionable = true;
            return (from + q + 2, rest.Length - q - 2);
        }
        if (rest.EndsWith(" (unreliable)"u8))
        {
            questionable = true;
            return (from, rest.Length - 13);
        }
        return (from, rest.Length);
    }

    /// <summary>Index of the first "] " (normally the end of the timestamp, a few bytes in), or -1.</summary>
    private static int FirstStampEnd(ReadOnlySpan<byte> line)
    {
        // A short scalar look at the start beats a vectorised search's set-up on the usual short prefix.
        var head = Math.Min(line.Length - 1, 40);
        for (var i = 0; i < head; i++)
        {
            if (line[i] == ']' && line[i + 1] == ' ')
            {
                return i;
            }
        }
        if (head < 0 || line.Length - 1 <= head)
        {
            return -1;
        }
        var rest = line[head..].IndexOf("] "u8);
        return rest < 0 ? -1 : head + rest;
    }

    [ThreadStatic]
    private static char[]? latin1Buffer;

    /// <summary>Appends bytes to <paramref name="sb"/> as Latin-1 characters (one char per byte), without a string.</summary>
    public static void AppendLatin1(StringBuilder sb, ReadOnlySpan<byte> bytes)
    {
        var chars = latin1Buffer ??= new char[1024];
        while (bytes.Length > 0)
        {
            var n = Math.Min(bytes.Length, chars.Length);
            var written = Encoding.Latin1.GetChars(bytes[..n], chars);
            sb.Append(chars, 0, written);
            bytes = bytes[n..];
        }
    }

    public static string Latin1(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    /// <summary>End of the line starting at <paramref name="pos"/> (index of '\n' or length).</summary>
    public static int LineEnd(ReadOnlySpan<byte> buf, int pos)
    {
        var i = buf[pos..].IndexOf((byte)'\n');
        return i < 0 ? buf.Length : pos + i;
    }

    public static int LineStart(ReadOnlySpan<byte> buf, int pos)
    {
        var i = buf[..pos].LastIndexOf((byte)'\n');
        return i + 1;
    }
}

/// <summary>Finds the next occurrence of any of a set of ASCII needles in a byte buffer, in chunks (SIMD multi-string search).</summary>
internal sealed class NeedleScanner
{
    private const int Chunk = 1 << 16;
    private readonly SearchValues<string> values;
    private readonly int overlap;

    public NeedleScanner(IEnumerable<string> needles)
    {
        var list = needles.Distinct().ToArray();
        values = SearchValues.Create(list, StringComparison.Ordinal);
        overlap = list.Max(n => n.Length);
    }

    /// <summary>Position of the first needle occurrence at or after <paramref name="from"/>, or -1.</summary>
    /// <remarks>Chunks start small and double, so callers that ask for the next hit many times in a row decode only what they need.</remarks>
    public int Next(ReadOnlySpan<byte> buf, int from)
    {
        var scratch = ArrayPool<char>.Shared.Rent(Chunk + overlap);
        try
        {
            var pos = from;
            var chunk = 1024;
            while (pos < buf.Length)
            {
                var len = Math.Min(chunk + overlap, buf.Length - pos);
                var chars = scratch.AsSpan(0, len);
                Encoding.Latin1.GetChars(buf.Slice(pos, len), chars);
                var i = chars.IndexOfAny(values);
                if (i >= 0)
                {
                    return pos + i;
                }
                if (pos + len >= buf.Length)
                {
                    return -1;
                }
                pos += chunk;
                chunk = Math.Min(chunk * 2, Chunk);
            }
            return -1;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(scratch);
        }
    }
}
