using System.Diagnostics;
using System.Text;

namespace LiveKBench.Infrastructure;

/// <summary>
/// The outcome of one external process run by <see cref="ProcessRunner"/>.
/// </summary>
/// <param name="FileName">The program that was started.</param>
/// <param name="Arguments">Its arguments, as passed (no shell quoting).</param>
/// <param name="ExitCode">Exit code; -1 when the process was killed at its timeout or on cancellation.</param>
/// <param name="StandardOutput">Everything written to stdout (decoded as UTF-8, invalid bytes replaced), possibly truncated at <see cref="ProcessOptions.MaxCapturedBytes"/>.</param>
/// <param name="StandardError">Everything written to stderr, same rules.</param>
/// <param name="TimedOut">True when the process (and its process group) was killed because the timeout elapsed.</param>
/// <param name="Elapsed">Wall-clock duration.</param>
public sealed record ProcessResult(
    string FileName,
    IReadOnlyList<string> Arguments,
    int ExitCode,
    string StandardOutput,
    string StandardError,
    bool TimedOut,
    TimeSpan Elapsed)
{
    /// <summary>True when the process exited by itself with code 0.</summary>
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>The command line for messages: program and arguments joined by spaces.</summary>
    public string CommandLine => FileName + (Arguments.Count == 0 ? "" : " " + string.Join(' ', Arguments));

    /// <summary>Last <paramref name="maxChars"/> characters of stderr (or stdout when stderr is empty), for error messages.</summary>
    public string Tail(int maxChars = 2000)
    {
        var text = string.IsNullOrWhiteSpace(StandardError) ? StandardOutput : StandardError;
        return text.Length <= maxChars ? text : text[^maxChars..];
    }

    /// <summary>Throws <see cref="ExternalProcessException"/> unless the run succeeded; returns this result otherwise.</summary>
    /// <exception cref="ExternalProcessException">The process timed out or exited non-zero.</exception>
    public ProcessResult EnsureSuccess()
    {
        if (Succeeded)
        {
            return this;
        }
        var why = TimedOut ? $"timed out after {Elapsed.TotalSeconds:F0} s" : $"exited with code {ExitCode}";
        throw new ExternalProcessException($"{CommandLine} {why}: {Tail().Trim()}", this);
    }
}

/// <summary>An external process failed (non-zero exit or timeout). <see cref="Result"/> keeps its output.</summary>
public sealed class ExternalProcessException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ExternalProcessException(string message, ProcessResult result) : base(message) => Result = result;

    /// <summary>The failed run, with its captured output.</summary>
    public ProcessResult Result { get; }
}

/// <summary>Options for <see cref="ProcessRunner.RunAsync(string, IEnumerable{string}, ProcessOptions?, CancellationToken)"/>.</summary>
public sealed record ProcessOptions
{
    /// <summary>Working directory; null = current directory.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>Time limit; the whole process group is killed when it elapses. Default 10 minutes.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Extra environment variables (a null value removes the variable).</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>Bytes written to stdin, then stdin is closed. Null = stdin closed at once.</summary>
    public byte[]? StandardInput { get; init; }

    /// <summary>Maximum characters kept per stream in memory (the rest is dropped, with a note). Default 16 MiB.</summary>
    public int MaxCapturedBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>When set, stdout and stderr are also appended, interleaved as they arrive, to this file (kept even on timeout or kill).</summary>
    public string? LogFile { get; init; }
}

/// <summary>
/// Runs external programs (git, make, gcc, qemu, ctags, bwrap) with a timeout and captured output.
/// Every child is started in its own process group through <c>setsid</c> when available, so a timeout
/// or cancellation kills the whole tree (make's compilers, QEMU's helpers).
/// </summary>
public static class ProcessRunner
{
    private static readonly Lazy<string?> SetsidPath = new(() => FindOnPath("setsid"));

    /// <summary>Finds an executable on PATH; null when absent.</summary>
    public static string? FindOnPath(string name)
    {
        if (name.Contains('/'))
        {
            return File.Exists(name) ? name : null;
        }
        foreach (var dir in (System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            var candidate = Path.Combine(dir.Length == 0 ? "." : dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/> and waits for it, its timeout, or cancellation.</summary>
    /// <returns>The result; never throws for a non-zero exit (call <see cref="ProcessResult.EnsureSuccess"/>).</returns>
    /// <exception cref="ExternalProcessException">The program could not be started (not installed).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the process group was killed first.</exception>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        ProcessOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new ProcessOptions();
        var args = arguments.ToList();
        var psi = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? "",
            StandardOutputEncoding = new UTF8Encoding(false, false),
            StandardErrorEncoding = new UTF8Encoding(false, false),
        };
        var useSetsid = SetsidPath.Value is not null;
        if (useSetsid)
        {
            psi.FileName = SetsidPath.Value!;
            psi.ArgumentList.Add("--wait");
            psi.ArgumentList.Add(fileName);
        }
        else
        {
            psi.FileName = fileName;
        }
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (options.Environment is not null)
        {
            foreach (var (k, v) in options.Environment)
            {
                if (v is null)
                {
                    psi.Environment.Remove(k);
                }
                else
                {
                    psi.Environment[k] = v;
                }
            }
        }

        var stdout = new CappedBuffer(options.MaxCapturedBytes);
        var stderr = new CappedBuffer(options.MaxCapturedBytes);
        StreamWriter? log = null;
        if (options.LogFile is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.LogFile))!);
            log = new StreamWriter(new FileStream(options.LogFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite), new UTF8Encoding(false)) { AutoFlush = true };
        }
        var logLock = new object();
        using var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { return; }
            stdout.AppendLine(e.Data);
            if (log is not null) { lock (logLock) { log.WriteLine(e.Data); } }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) { return; }
            stderr.AppendLine(e.Data);
            if (log is not null) { lock (logLock) { log.WriteLine(e.Data); } }
        };
        var started = Stopwatch.StartNew();
        try
        {
            if (!process.Start())
            {
                throw new InvalidOperationException("Process.Start returned false");
            }
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            log?.Dispose();
            var failed = new ProcessResult(fileName, args, -1, "", ex.Message, false, started.Elapsed);
            throw new ExternalProcessException($"could not start {fileName}: {ex.Message} (is it installed?)", failed);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            if (options.StandardInput is not null)
            {
                await process.StandardInput.BaseStream.WriteAsync(options.StandardInput, cancellationToken).ConfigureAwait(false);
            }
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // the child closed stdin early; its output still tells what happened
        }

        var timedOut = false;
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(options.Timeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            timedOut = !cancellationToken.IsCancellationRequested;
            KillTree(process, useSetsid);
            try
            {
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // it ignored SIGKILL for 10 s (uninterruptible sleep); report what we have
            }
            if (!timedOut)
            {
                log?.Dispose();
                throw;
            }
        }
        // WaitForExitAsync returns after the async readers drain.
        var exit = timedOut ? -1 : process.ExitCode;
        if (timedOut && log is not null)
        {
            lock (logLock) { log.WriteLine($"[kbench] killed after timeout of {options.Timeout.TotalSeconds:F0} s"); }
        }
        log?.Dispose();
        return new ProcessResult(fileName, args, exit, stdout.ToString(), stderr.ToString(), timedOut, started.Elapsed);
    }

    /// <summary>Runs a program and throws unless it exits 0 within its timeout.</summary>
    /// <exception cref="ExternalProcessException">Non-zero exit, timeout, or the program is missing.</exception>
    public static async Task<ProcessResult> RunCheckedAsync(
        string fileName,
        IEnumerable<string> arguments,
        ProcessOptions? options = null,
        CancellationToken cancellationToken = default)
        => (await RunAsync(fileName, arguments, options, cancellationToken).ConfigureAwait(false)).EnsureSuccess();

    private static void KillTree(Process process, bool ownGroup)
    {
        try
        {
            if (ownGroup && !process.HasExited)
            {
                // setsid made the child a session and group leader: signal the whole group.
                _ = Posix.Kill(-process.Id, 9);
            }
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }

    private sealed class CappedBuffer(int cap)
    {
        private readonly StringBuilder _sb = new();
        private bool _truncated;

        public void AppendLine(string line)
        {
            lock (_sb)
            {
                if (_sb.Length + line.Length + 1 > cap)
                {
                    _truncated = true;
                    return;
                }
                _sb.Append(line).Append('\n');
            }
        }

        public override string ToString()
        {
            lock (_sb)
            {
                return _truncated ? _sb + "[kbench] output truncated\n" : _sb.ToString();
            }
        }
    }
}

/// <summary>The few POSIX calls .NET does not expose.</summary>
internal static partial class Posix
{
    /// <summary>kill(2): send <paramref name="signal"/> to a process (or, with a negative id, a process group).</summary>
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
