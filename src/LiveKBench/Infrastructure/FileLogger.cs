using Microsoft.Extensions.Logging;

namespace LiveKBench.Infrastructure;

/// <summary>
/// A Microsoft.Extensions.Logging provider that appends one line per message to a file
/// (<c>logs/kbench.log</c>): <c>2026-11-21T00:00:00.000Z INFO category: message</c>. Safe across threads and processes (append mode).
/// </summary>
public sealed class FileLoggerProvider : ILoggerProvider
{
    private readonly StreamWriter _writer;
    private readonly object _lock = new();

    /// <summary>Opens (creates) <paramref name="path"/> for appending.</summary>
    public FileLoggerProvider(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _writer = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete)) { AutoFlush = true };
    }

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new FileLogger(this, categoryName);

    /// <inheritdoc/>
    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
        }
    }

    private void Write(string line)
    {
        lock (_lock)
        {
            try
            {
                _writer.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // logging after shutdown is dropped
            }
        }
    }

    private sealed class FileLogger(FileLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            var level = logLevel switch
            {
                LogLevel.Information => "INFO",
                LogLevel.Warning => "WARN",
                LogLevel.Error => "ERROR",
                LogLevel.Critical => "CRIT",
                _ => logLevel.ToString().ToUpperInvariant(),
            };
            var text = formatter(state, exception);
            if (exception is not null)
            {
                text += " | " + exception.GetType().Name + ": " + exception.Message;
            }
            owner.Write($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} {category}: {text}");
        }
    }
}

/// <summary>Creates the logger factory of a command: logs/kbench.log (Information and up) plus stderr (Warning and up).</summary>
public static class KbenchLogging
{
    /// <summary>Creates a factory writing to <c>logs/kbench.log</c> under <paramref name="workspaceRoot"/> and to stderr.</summary>
    public static ILoggerFactory Create(string? workspaceRoot)
        => LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            b.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(null, LogLevel.Warning);
            b.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.Warning);
            if (workspaceRoot is not null && Directory.Exists(workspaceRoot))
            {
                b.AddProvider(new FileLoggerProvider(Path.Combine(workspaceRoot, "logs", "kbench.log")));
            }
        });
}
