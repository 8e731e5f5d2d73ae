using System.CommandLine;

namespace LiveKBench.Cli;

/// <summary>Options shared by every command.</summary>
internal static class CliOptions
{
    /// <summary>--workspace DIR (default $KBENCH_WORKSPACE, else ./workspace); recursive, so every subcommand takes it.</summary>
    public static readonly Option<string?> Workspace = new("--workspace", "-w")
    {
        Description = "Workspace folder (default: $KBENCH_WORKSPACE, else ./workspace)",
        Recursive = true,
    };

    /// <summary>Creates a --json flag for a listing/show command.</summary>
    public static Option<bool> Json() => new("--json") { Description = "Print JSON (one document, or JSON Lines for streams)" };

    /// <summary>The workspace folder chosen for this invocation, as an absolute path.</summary>
    public static string ResolveWorkspace(ParseResult parse)
    {
        var dir = parse.GetValue(Workspace);
        if (string.IsNullOrWhiteSpace(dir))
        {
            dir = Environment.GetEnvironmentVariable("KBENCH_WORKSPACE");
        }
        if (string.IsNullOrWhiteSpace(dir))
        {
            dir = "workspace";
        }
        return Path.GetFullPath(dir);
    }
}

/// <summary>Exit codes documented in --help.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int WorkFailed = 1;
    public const int BadUsage = 2;
}

/// <summary>Thrown by command handlers for bad usage (exit code 2) with a message for the user.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>Runs the parsed command line and maps errors to exit codes.</summary>
internal static class CliHost
{
    public static async Task<int> RunAsync(RootCommand root, string[] args)
    {
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await Console.Error.WriteLineAsync($"kbench: {error.Message}");
            }
            await Console.Error.WriteLineAsync("Try 'kbench --help'.");
            return ExitCodes.BadUsage;
        }
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }, cts.Token);
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"kbench: {ex.Message}");
            return ExitCodes.BadUsage;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("kbench: cancelled");
            return ExitCodes.WorkFailed;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await Console.Error.WriteLineAsync($"kbench: {ex.Message}");
            return ExitCodes.WorkFailed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }
}
