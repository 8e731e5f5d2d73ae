using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LiveKBench.Agents;

/// <summary>
/// Host-side access to files an agent could have written (its output folder, its tree) without trusting them: no
/// symbolic link is ever followed (the last component is opened with <c>O_NOFOLLOW</c>, whole paths are resolved with
/// <c>realpath(3)</c> and checked against their root), only regular files are read, reads are capped, and writes
/// first remove whatever the agent left at the name and then create a new file with <c>O_CREAT|O_EXCL</c>.
/// </summary>
public static partial class HostFiles
{
    private const int ELOOP = 40;
    private const int ENOENT = 2;
    private const int ORdOnly = 0;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;

    // O_NOFOLLOW differs between Linux architectures (asm-generic: 0400000; arm/arm64: 0100000).
    private static int ONoFollow => RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x8000 : 0x20000;

    /// <summary>
    /// Reads at most <paramref name="maxBytes"/> bytes of the regular file <paramref name="path"/> without following a
    /// symbolic link at its last component.
    /// </summary>
    /// <param name="path">File path (its parent folders must be harness-owned, i.e. not writable by the agent).</param>
    /// <param name="maxBytes">Byte limit.</param>
    /// <param name="truncated">True when the file is longer than <paramref name="maxBytes"/> (only the head is returned).</param>
    /// <returns>The bytes read.</returns>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">A symbolic link, a folder, a FIFO, a socket or a device.</exception>
    public static byte[] ReadBytes(string path, long maxBytes, out bool truncated)
    {
        using var handle = OpenNoFollow(path);
        using var fs = new FileStream(handle, FileAccess.Read, 1);
        var buffer = new MemoryStream();
        var chunk = new byte[81920];
        truncated = false;
        while (true)
        {
            var want = (int)Math.Min(chunk.Length, maxBytes + 1 - buffer.Length);
            if (want <= 0)
            {
                truncated = true;
                break;
            }
            var n = fs.Read(chunk, 0, want);
            if (n == 0)
            {
                break;
            }
            buffer.Write(chunk, 0, n);
        }
        if (buffer.Length > maxBytes)
        {
            truncated = true;
            buffer.SetLength(maxBytes);
        }
        return buffer.ToArray();
    }

    /// <summary>Reads a whole UTF-8 text file of at most <paramref name="maxBytes"/> bytes (see <see cref="ReadBytes"/>).</summary>
    /// <exception cref="FileNotFoundException">Nothing at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Not a regular file (e.g. a symbolic link), or larger than <paramref name="maxBytes"/>.</exception>
    public static string ReadText(string path, long maxBytes)
    {
        var bytes = ReadBytes(path, maxBytes, out var truncated);
        if (truncated)
        {
            throw new InvalidDataException($"{Path.GetFileName(path)} is larger than {maxBytes} bytes");
        }
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// Copies the agent-written file <paramref name="source"/> to the harness-owned <paramref name="destination"/>
    /// (replaced), at most <paramref name="maxBytes"/> bytes. A missing, linked or non-regular source yields an empty
    /// destination.
    /// </summary>
    /// <returns>Null when copied whole; otherwise why it was truncated or not copied (for the harness log).</returns>
    public static string? CopyOut(string source, string destination, long maxBytes)
    {
        string? problem = null;
        byte[] bytes;
        try
        {
            bytes = ReadBytes(source, maxBytes, out var truncated);
            if (truncated)
            {
                problem = $"{Path.GetFileName(source)} cut at {maxBytes} bytes";
            }
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            bytes = [];
            problem = $"{Path.GetFileName(source)} not copied: {ex.Message}";
        }
        WriteNew(destination, bytes);
        return problem;
    }

    /// <summary>
    /// Replaces whatever is at <paramref name="path"/> (a file, a symbolic link (the link itself, never its target), a
    /// folder) by a new regular file holding <paramref name="text"/> (UTF-8), created with <c>O_CREAT|O_EXCL</c>.
    /// </summary>
    public static void WriteNew(string path, string text) => WriteNew(path, Encoding.UTF8.GetBytes(text));

    /// <summary>Byte version of <see cref="WriteNew(string, string)"/>.</summary>
    public static void WriteNew(string path, byte[] bytes)
    {
        Remove(path);
        using var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        fs.Write(bytes);
    }

    /// <summary>Appends a line to a harness-owned log file (never one in the agent's output folder).</summary>
    public static void AppendLog(string path, string line) => File.AppendAllText(path, line.EndsWith('\n') ? line : line + "\n");

    /// <summary>Removes the entry at <paramref name="path"/> without following links (nothing when absent).</summary>
    public static void Remove(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null && Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (info.Exists || info.LinkTarget is not null)
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Resolves <paramref name="path"/> (relative to <paramref name="root"/>, or absolute) with every symbolic link of
    /// every component followed (<c>realpath(3)</c>) and returns it only when the result lies inside the real
    /// <paramref name="root"/>; null when it escapes, does not exist or is empty.
    /// </summary>
    public static string? ResolveInside(string root, string? path)
    {
        if (string.IsNullOrWhiteSpace(path) || path.Contains('\0'))
        {
            return null;
        }
        var realRoot = RealPath(root);
        if (realRoot is null)
        {
            return null;
        }
        var full = Path.IsPathRooted(path) ? path : Path.Combine(root, path);
        var real = RealPath(full);
        if (real is null)
        {
            return null;
        }
        var prefix = realRoot.TrimEnd('/') + "/";
        return real.StartsWith(prefix, StringComparison.Ordinal) ? real : null;
    }

    /// <summary>realpath(3) of <paramref name="path"/>; null when a component does not exist or cannot be resolved.</summary>
    public static string? RealPath(string path)
    {
        var p = NativeRealPath(path, IntPtr.Zero);
        if (p == IntPtr.Zero)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            NativeFree(p);
        }
    }

    private static SafeFileHandle OpenNoFollow(string path)
    {
        var fd = NativeOpen(path, ORdOnly | ONoFollow | ONonBlock | OCloExec, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw errno switch
            {
                ELOOP => new InvalidDataException($"{path} is a symbolic link; not followed"),
                ENOENT => new FileNotFoundException($"{path} does not exist", path),
                _ => new IOException($"cannot open {path}: errno {errno}"),
            };
        }
        var handle = new SafeFileHandle(fd, ownsHandle: true);
        // The descriptor was opened without following links; refuse anything that is not a plain file.
        if (handle.IsInvalid || Directory.Exists(path) || !IsRegular(handle))
        {
            handle.Dispose();
            throw new InvalidDataException($"{path} is not a regular file");
        }
        return handle;
    }

    private static bool IsRegular(SafeFileHandle handle)
    {
        try
        {
            using var probe = new FileStream(new SafeFileHandle(handle.DangerousGetHandle(), ownsHandle: false), FileAccess.Read, 1);
            return probe.CanSeek;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int NativeOpen(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void NativeFree(IntPtr p);
}
