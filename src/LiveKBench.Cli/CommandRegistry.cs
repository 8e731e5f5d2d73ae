using System.CommandLine;
using LiveKBench.Cli.Commands;

namespace LiveKBench.Cli;

/// <summary>The list of top-level commands; one line per feature file under Commands/.</summary>
internal static class CommandRegistry
{
    public static IEnumerable<Command> All()
    {
        yield return WorkspaceCommands.BuildInit();
        yield return RunCommands.BuildRun();
        yield return RunCommands.BuildLive();
        yield return RunCommands.BuildStatus();
        yield return RunCommands.BuildRetry();
        yield return BugCommands.Build();
        yield return DatasetCommands.Build();
        yield return KernelCommands.BuildMirror();
        yield return KernelCommands.BuildKcache();
        yield return KernelCommands.BuildReproduce();
        yield return AgentCommands.Build();
        yield return AgentRunCommands.Build();
        yield return CrawlCommands.Build();
        yield return EvaluationCommands.BuildPatch();
        yield return EvaluationCommands.BuildEval();
        yield return EvaluationCommands.BuildLeaderboard();
        yield return EvaluationCommands.BuildResearch();
        yield return ReportCommands.Build();
        yield return GymCommands.Build();
        yield return DashboardCommands.BuildServe();
    }
}
