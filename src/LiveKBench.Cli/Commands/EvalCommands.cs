using System.CommandLine;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench eval crash|judge|localization`.</summary>
internal static class EvalCommands
{
    public static Command Build()
    {
        var cmd = new Command("eval", "Evaluate agent patches: crash resolution, LLM judge, localization");
        cmd.Subcommands.Add(KernelCommands.BuildEvalCrash());
        return cmd;
    }
}
