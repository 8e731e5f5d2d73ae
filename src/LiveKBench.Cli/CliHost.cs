using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;

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

    /// <summary>Stopped by Ctrl-C (SIGINT): 128 + 2, as a shell reports a process ended by SIGINT.</summary>
    public const int Interrupted = 130;

    /// <summary>A command abandoned 2 s after SIGTERM: 128 + 15.</summary>
    public const int Terminated = 143;
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
            return await ReportParseErrorsAsync(root, parse, args);
        }
        using var cts = new CancellationTokenSource();
        // Ctrl-C (SIGINT) and SIGTERM cancel the command's token. We handle them here rather than through System.CommandLine
        // (ProcessTerminationTimeout = null): its handler blocks until the command ends, so whether a flag set by a second
        // handler was seen before the command returned depended on the order the handlers ran in. A command that has not
        // stopped 2 s after the signal is abandoned, as System.CommandLine did: exit 130 for SIGINT, 143 for SIGTERM.
        // After SIGINT the exit code is 130 whatever the command returned; after SIGTERM it is the command's own.
        var signal = 0;
        var forced = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext ctx)
        {
            ctx.Cancel = true;
            var code = ctx.Signal == PosixSignal.SIGINT ? ExitCodes.Interrupted : ExitCodes.Terminated;
            Interlocked.CompareExchange(ref signal, code, 0);
            cts.Cancel();
            _ = Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None).ContinueWith(_ => forced.TrySetResult(code), TaskScheduler.Default);
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        int code;
        try
        {
            var invoke = parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, cts.Token);
            var first = await Task.WhenAny(invoke, forced.Task);
            code = await first;
        }
        catch (UsageException ex)
        {
            await Console.Error.WriteLineAsync($"kbench: {ex.Message}");
            code = ExitCodes.BadUsage;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("kbench: cancelled");
            code = ExitCodes.WorkFailed;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await Console.Error.WriteLineAsync($"kbench: {ex.Message}");
            code = ExitCodes.WorkFailed;
        }
        return Volatile.Read(ref signal) == ExitCodes.Interrupted ? ExitCodes.Interrupted : code;
    }

    /// <summary>
    /// Bad usage (exit 2). A command group given without its subcommand (a bare <c>kbench</c>, <c>kbench bugs</c>) prints
    /// its help; otherwise the errors, System.CommandLine's typo suggestions for unmatched tokens ("did you mean"), and a
    /// pointer to --help. Everything goes to stderr, so stdout stays empty on bad usage.
    /// </summary>
    private static async Task<int> ReportParseErrorsAsync(RootCommand root, ParseResult parse, string[] args)
    {
        var command = parse.CommandResult.Command;
        if (parse.UnmatchedTokens.Count == 0 && command.Subcommands.Count > 0 && command.Action is null && parse.Errors.Count == 1)
        {
            // Only the missing subcommand is wrong: show the group's help instead of a bare error.
            root.Parse([.. args, "--help"]).Invoke(new InvocationConfiguration { Output = Console.Error });
            return ExitCodes.BadUsage;
        }
        var group = command.Subcommands.Count > 0 && command.Action is null;
        foreach (var error in parse.Errors)
        {
            // In a group, "Required command was not provided" only repeats what the unrecognized token's error says.
            if (group && parse.UnmatchedTokens.Count > 0 && !parse.UnmatchedTokens.Any(t => error.Message.Contains(t, StringComparison.Ordinal)))
            {
                continue;
            }
            await Console.Error.WriteLineAsync($"kbench: {error.Message}");
        }
        if (parse.Action is ParseErrorAction suggest)
        {
            // Typo corrections only ("'leaderbord' was not matched. Did you mean one of the following?"); errors were written above.
            suggest.ShowHelp = false;
            suggest.ShowTypoCorrections = true;
            parse.Invoke(new InvocationConfiguration { Output = Console.Error, Error = TextWriter.Null });
        }
        await Console.Error.WriteLineAsync("Try 'kbench --help'.");
        return ExitCodes.BadUsage;
    }
}
