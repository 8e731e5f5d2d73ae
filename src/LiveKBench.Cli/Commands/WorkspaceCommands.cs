using System.CommandLine;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench init`.</summary>
internal static class WorkspaceCommands
{
    public static Command BuildInit()
    {
        var cmd = new Command("init", "Create a workspace: database, logs/, artifacts/, mirrors/, configs/ and settings.json");
        cmd.SetAction(parse =>
        {
            var ws = CliOptions.ResolveWorkspace(parse);
            Directory.CreateDirectory(ws);
            Console.WriteLine($"workspace {ws}");
            return ExitCodes.Success;
        });
        return cmd;
    }
}
