using System.Runtime.InteropServices;
using System.Text;

namespace LiveKBench.Infrastructure;

/// <summary>An input file cannot be read safely: not a regular file, a symbolic link, too large, or not UTF-8. The message names the file.</summary>
public sealed class UnsafeInputException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// Reads untrusted input files: only regular files, never through a symbolic link when asked, with a bounded
/// read (at most the limit plus one byte is read, whatever the file claims) and strict UTF-8 decoding
/// (invalid bytes are refused, never replaced by U+FFFD). A leading UTF-8 byte-order mark is dropped.
/// </summary>
public static partial class SafeFile
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int TypeMask = 0xF000;
    private const int TypeRegular = 0x8000;
    private const int TypeDirectory = 0x4000;
    private const int TypeSymlink = 0xA000;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The kind of a path without following a final symbolic link.</summary>
    public enum Kind
    {
        /// <summary>Nothing at the path.</summary>
        Missing,

        /// <summary>A regular file.</summary>
        Regular,

        /// <summary>A directory.</summary>
        Directory,

        /// <summary>A symbolic link.</summary>
        SymbolicLink,

        /// <summary>A device, FIFO or socket.</summary>
        Other,
    }

    /// <summary>What is at <paramref name="path"/> (lstat semantics: a final symbolic link is reported, not followed).</summary>
    public static Kind KindOf(string path) => Stat(path, followLinks: false, out _);

    /// <summary>
    /// Reads <paramref name="path"/> as UTF-8 text of at most <paramref name="maxBytes"/> bytes. With
    /// <paramref name="followLinks"/> false a symbolic link is refused.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxBytes">Size limit in bytes (see <see cref="InputLimits"/>).</param>
    /// <param name="followLinks">Whether the path may be a symbolic link (to a regular file).</param>
    /// <exception cref="UnsafeInputException">Missing, not a regular file, a symbolic link (when not allowed), larger than the limit, unreadable or not UTF-8.</exception>
    public static string ReadText(string path, long maxBytes, bool followLinks = false)
    {
        var bytes = ReadBytes(path, maxBytes, followLinks);
        return DecodeUtf8(bytes, path);
    }

    /// <summary>As <see cref="ReadText"/> but returns the bytes undecoded.</summary>
    /// <exception cref="UnsafeInputException">Missing, not a regular file, a symbolic link (when not allowed), larger than the limit or unreadable.</exception>
    public static byte[] ReadBytes(string path, long maxBytes, bool followLinks = false)
    {
        CheckRegular(path, followLinks, maxBytes);
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            using var ms = new MemoryStream();
            var buffer = new byte[81920];
            long total = 0;
            int n;
            while ((n = fs.Read(buffer, 0, (int)Math.Min(buffer.Length, maxBytes + 1 - total))) > 0)
            {
                total += n;
                if (total > maxBytes)
                {
                    throw new UnsafeInputException($"{path}: larger than the limit of {InputLimits.Describe(maxBytes)}");
                }
                ms.Write(buffer, 0, n);
            }
            return ms.ToArray();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && ex is not UnsafeInputException)
        {
            throw new UnsafeInputException($"{path}: cannot read: {ex.Message}", ex);
        }
    }

    /// <summary>Refuses anything but a regular file (and a symbolic link unless <paramref name="followLinks"/>), and a file whose size is above <paramref name="maxBytes"/>.</summary>
    /// <exception cref="UnsafeInputException">The reason, naming the path.</exception>
    public static void CheckRegular(string path, bool followLinks, long maxBytes = long.MaxValue)
    {
        var kind = Stat(path, followLinks: false, out var size);
        if (kind == Kind.SymbolicLink)
        {
            if (!followLinks)
            {
                throw new UnsafeInputException($"{path}: is a symbolic link (refused: input files must be regular files)");
            }
            kind = Stat(path, followLinks: true, out size);
        }
        switch (kind)
        {
            case Kind.Missing:
                throw new UnsafeInputException($"{path}: no such file");
            case Kind.Directory:
                throw new UnsafeInputException($"{path}: is a directory, not a file");
            case Kind.Other or Kind.SymbolicLink:
                throw new UnsafeInputException($"{path}: not a regular file (a device, FIFO or socket is refused)");
        }
        if (size > maxBytes)
        {
            throw new UnsafeInputException($"{path}: {size} bytes, larger than the limit of {InputLimits.Describe(maxBytes)}");
        }
    }

    /// <summary>Decodes strict UTF-8 (a leading byte-order mark dropped).</summary>
    /// <exception cref="UnsafeInputException">Invalid UTF-8; the message names <paramref name="name"/> and the byte offset.</exception>
    public static string DecodeUtf8(ReadOnlySpan<byte> bytes, string name)
    {
        var start = bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? 3 : 0;
        try
        {
            return StrictUtf8.GetString(bytes[start..]);
        }
        catch (DecoderFallbackException ex)
        {
            throw new UnsafeInputException($"{name}: not valid UTF-8 (byte offset {start + Math.Max(0, ex.Index)}); refused rather than altered", ex);
        }
    }

    private static unsafe Kind Stat(string path, bool followLinks, out long size)
    {
        size = 0;
        var buf = stackalloc byte[256];
        if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType | StatxSize, buf) != 0)
        {
            return Kind.Missing;
        }
        var mode = *(ushort*)(buf + 28);
        size = *(long*)(buf + 40);
        return (mode & TypeMask) switch
        {
            TypeRegular => Kind.Regular,
            TypeDirectory => Kind.Directory,
            TypeSymlink => Kind.SymbolicLink,
            _ => Kind.Other,
        };
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int Statx(int dirfd, string path, int flags, uint mask, byte* statxBuffer);
}
