using System.CommandLine;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Infrastructure;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Cli;

/// <summary>Per-invocation helpers: the workspace, logging and output.</summary>
internal static class CliContext
{
    /// <summary>Opens the workspace chosen by --workspace; bad usage when it was never initialized.</summary>
    public static Workspace OpenWorkspace(ParseResult parse)
    {
        var root = CliOptions.ResolveWorkspace(parse);
        try
        {
            return Workspace.Open(root);
        }
        catch (WorkspaceNotFoundException ex)
        {
            throw new UsageException(ex.Message);
        }
    }

    /// <summary>Logger factory for the workspace (logs/kbench.log + stderr warnings).</summary>
    public static ILoggerFactory Logging(Workspace ws) => KbenchLogging.Create(ws.Root);

    /// <summary>Writes <paramref name="value"/> as one indented JSON document to stdout.</summary>
    public static void PrintJson<T>(T value)
        => Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOut));

    /// <summary>Writes <paramref name="value"/> as one JSON line to stdout (JSON Lines streams).</summary>
    public static void PrintJsonLine<T>(T value)
        => Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonLine));

    /// <summary>True when progress bars may be drawn (stdout is a terminal and no --json).</summary>
    public static bool Interactive(bool json) => !json && !Console.IsOutputRedirected;

    private static readonly JsonSerializerOptions JsonOut = new(BugDocument.JsonOptions) { WriteIndented = true };
    private static readonly JsonSerializerOptions JsonLine = new(BugDocument.JsonOptions) { WriteIndented = false };
}
