using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Events;

namespace LiveKBench.Infrastructure;

/// <summary>
/// The logging of every command: Microsoft.Extensions.Logging with warnings and errors on stderr, and Serilog's rolling
/// file sink writing <c>logs/kbench.log</c> in the workspace — one line per message,
/// <c>2026-11-21T00:00:00.000+00:00 INF category: message {scopes}</c>; the file rolls over at
/// <see cref="FileSizeLimitBytes"/> (<c>kbench_001.log</c>, …) and the newest <see cref="RetainedFiles"/> files are kept.
/// Several processes may write the same file (shared mode).
/// </summary>
public static class KbenchLogging
{
    /// <summary>Size at which <c>kbench.log</c> rolls over to a new file, bytes (10 MiB).</summary>
    public const long FileSizeLimitBytes = 10L * 1024 * 1024;

    /// <summary>Number of log files kept (the current one included).</summary>
    public const int RetainedFiles = 10;

    /// <summary>Creates a factory writing to <c>logs/kbench.log</c> under <paramref name="workspaceRoot"/> (when that folder exists) and to stderr.</summary>
    /// <param name="workspaceRoot">Workspace root; null = stderr only.</param>
    /// <param name="fileSizeLimitBytes">Roll-over size of the log file, bytes; null = <see cref="FileSizeLimitBytes"/>.</param>
    /// <returns>The factory; disposing it flushes and closes the file.</returns>
    public static ILoggerFactory Create(string? workspaceRoot, long? fileSizeLimitBytes = null)
        => LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            b.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(null, LogLevel.Warning);
            b.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
            if (workspaceRoot is not null && Directory.Exists(workspaceRoot))
            {
                var file = new LoggerConfiguration()
                    .MinimumLevel.Information()
                    .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
                    .WriteTo.File(
                        Path.Combine(workspaceRoot, "logs", "kbench.log"),
                        outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} {Level:u3} {SourceContext}: {Message:lj} {Scope}{NewLine}{Exception}",
                        fileSizeLimitBytes: fileSizeLimitBytes ?? FileSizeLimitBytes,
                        rollOnFileSizeLimit: true,
                        retainedFileCountLimit: RetainedFiles,
                        shared: true,
                        formatProvider: System.Globalization.CultureInfo.InvariantCulture)
                    .CreateLogger();
                b.AddSerilog(file, dispose: true);
            }
        });
}
