using System.CommandLine;
using LiveKBench.Infrastructure;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench init`.</summary>
internal static class WorkspaceCommands
{
    public static Command BuildInit()
    {
        var json = CliOptions.Json();
        var cmd = new Command("init", "Create a workspace (idempotent): kbench.db, settings.json, logs/, artifacts/, mirrors/, cache/, work/, configs/{agents,models,judges}/");
        cmd.Options.Add(json);
        cmd.SetAction(parse =>
        {
            var ws = Workspace.Init(CliOptions.ResolveWorkspace(parse));
            using (var log = CliContext.Logging(ws))
            {
                Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(log.CreateLogger("init"), "workspace initialized at {Root}", ws.Root);
            }
            if (parse.GetValue(json))
            {
                CliContext.PrintJson(new { workspace = ws.Root, database = ws.DatabasePath, settings = ws.SettingsPath });
            }
            else
            {
                Console.WriteLine($"workspace {ws.Root}");
                Console.WriteLine($"  database  {ws.DatabasePath}");
                Console.WriteLine($"  settings  {ws.SettingsPath}");
            }
            return ExitCodes.Success;
        });
        return cmd;
    }
}
