using System.CommandLine;
using LiveKBench.Cli;
using LiveKBench.Cli.Commands;

var root = new RootCommand(
    "LiveKBench: a live benchmark for AI agents that fix Linux kernel crashes.\n" +
    "Exit codes: 0 success, 1 the work failed or something was not found, 2 bad usage, 130 stopped by Ctrl-C.");
root.Options.Add(CliOptions.Workspace);

// Each feature contributes one file under Commands/ with a static Build() method.
foreach (var command in CommandRegistry.All())
{
    root.Subcommands.Add(command);
}

return await CliHost.RunAsync(root, args);
