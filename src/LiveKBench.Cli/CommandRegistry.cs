using System.CommandLine;
using LiveKBench.Cli.Commands;

namespace LiveKBench.Cli;

/// <summary>The list of top-level commands; one line per feature file under Commands/.</summary>
internal static class CommandRegistry
{
    public static IEnumerable<Command> All()
    {
        yield return WorkspaceCommands.BuildInit();
        yield return ReportCommands.Build();
    }
}
