namespace LiveKBench.Infrastructure;

/// <summary>Bounded line reading for JSON Lines input: a line longer than the limit is refused before it is held in memory.</summary>
public static class JsonLines
{
    /// <summary>
    /// The lines of <paramref name="stream"/> as raw bytes (without the '\n' and a trailing '\r'), each at most
    /// <paramref name="maxLineBytes"/> bytes. A final line without '\n' is returned too.
    /// </summary>
    /// <param name="stream">The input, read forward once.</param>
    /// <param name="maxLineBytes">Per-line limit in bytes.</param>
    /// <param name="name">Names a line by its 1-based number for the error message (e.g. "file.jsonl:12").</param>
    /// <exception cref="UnsafeInputException">A line is longer than the limit; the message names it.</exception>
    public static IEnumerable<byte[]> ReadLines(Stream stream, long maxLineBytes, Func<int, string> name)
    {
        var buffer = new byte[1 << 16];
        using var line = new MemoryStream();
        var lineNo = 1;
        int n;
        while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            while (start < n)
            {
                var nl = Array.IndexOf(buffer, (byte)'\n', start, n - start);
                var end = nl < 0 ? n : nl;
                if (line.Length + (end - start) > maxLineBytes)
                {
                    throw new UnsafeInputException($"{name(lineNo)}: line longer than the limit of {InputLimits.Describe(maxLineBytes)}");
                }
                line.Write(buffer, start, end - start);
                if (nl < 0)
                {
                    break;
                }
                yield return Take(line);
                lineNo++;
                start = nl + 1;
            }
        }
        if (line.Length > 0)
        {
            yield return Take(line);
        }
    }

    private static byte[] Take(MemoryStream line)
    {
        var bytes = line.ToArray();
        line.SetLength(0);
        var len = bytes.Length > 0 && bytes[^1] == '\r' ? bytes.Length - 1 : bytes.Length;
        return len == bytes.Length ? bytes : bytes[..len];
    }
}
