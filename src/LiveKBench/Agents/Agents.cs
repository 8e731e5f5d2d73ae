using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveKBench.Arena.Store;
using LiveKBench.Infrastructure;

namespace LiveKBench.Agents;

/// <summary>Everything an agent implementation gets for one run.</summary>
public sealed class AgentContext
{
    /// <summary>Run folders (tree, input, output).</summary>
    public required KenvLayout Layout { get; init; }

    /// <summary>The task.</summary>
    public required KenvTask Task { get; init; }

    /// <summary>The agent configuration.</summary>
    public required AgentConfigFile Config { get; init; }

    /// <summary>Isolation of agent processes and tool commands.</summary>
    public RunnerKind Runner { get; init; } = RunnerKind.Sandbox;

    /// <summary>Host folders hidden from sandboxed commands (workspace, mirrors, shared data).</summary>
    public IReadOnlyList<string> HiddenPaths { get; init; } = [];

    /// <summary>The developer patch: given ONLY to the developer-oracle baseline (never written to the input folder).</summary>
    public string? DeveloperPatch { get; init; }

    /// <summary>run_kernel implementation (stateful mode); null = not available.</summary>
    public IKernelFeedback? Kernel { get; init; }

    /// <summary>Clock for budgets (tests pass a fake).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Extra environment for sandboxed processes (e.g. passEnv values).</summary>
    public IReadOnlyDictionary<string, string> ExtraEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>The sandbox description for a process; <paramref name="withOutput"/> binds the output folder writable.</summary>
    public SandboxSpec Spec(bool withOutput)
    {
        var env = Sandbox.BaseEnvironment();
        foreach (var (k, v) in KenvLayout.Environment(Task, Layout.Tree, Layout.InputDir, Layout.OutputDir))
        {
            env[k] = v;
        }
        foreach (var (k, v) in ExtraEnvironment)
        {
            env[k] = v;
        }
        return new SandboxSpec(Layout.Tree, Layout.InputDir, withOutput ? Layout.OutputDir : null, HiddenPaths, env);
    }
}

/// <summary>An agent implementation: works on <see cref="KenvLayout.Tree"/> and fills the output folder.</summary>
public interface IKenvAgent
{
    /// <summary>Runs the agent to completion or budget exhaustion.</summary>
    /// <returns>The metadata to write, or null when the agent wrote <c>metadata.json</c> itself (external agents).</returns>
    Task<KenvMetadata?> RunAsync(AgentContext context, CancellationToken cancellationToken);
}

/// <summary>What a run produced: validated metadata and the tree diff (also in patch.txt).</summary>
/// <param name="Metadata">metadata.json as validated.</param>
/// <param name="Patch">patch.txt content ("" when the tree is unchanged).</param>
public sealed record AgentOutcome(KenvMetadata Metadata, string Patch);

/// <summary>Runs an <see cref="IKenvAgent"/> and enforces the protocol's outputs.</summary>
public static class AgentHarness
{
    /// <summary>
    /// Runs <paramref name="agent"/>, writes metadata.json when the agent returned it, then computes patch.txt from the
    /// tree (<see cref="SnapshotTree.DiffAsync"/> with the harness-owned git directory; this replaces what the agent wrote,
    /// without following a link the agent put there) and validates metadata.json (read without following links, at most
    /// <see cref="KenvMetadata.MaxBytes"/>). A missing or invalid metadata.json becomes exitReason error (timeCost
    /// measured here); harness notes go to <see cref="KenvLayout.HarnessLog"/>.
    /// </summary>
    /// <exception cref="ExternalProcessException">git failed on the tree.</exception>
    public static async Task<AgentOutcome> RunAsync(IKenvAgent agent, AgentContext context, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var layout = context.Layout;
        KenvMetadata? metadata;
        try
        {
            metadata = await agent.RunAsync(context, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            HostFiles.AppendLog(layout.HarnessLog, $"[harness] agent failed: {ex}");
            metadata = new KenvMetadata(0, started.Elapsed.TotalSeconds, Kenv.ExitReasonText(ExitReason.Error), 0);
        }
        if (metadata is not null)
        {
            metadata.Write(layout.Output(Kenv.MetadataFile));
        }
        KenvMetadata validated;
        try
        {
            validated = KenvMetadata.Read(layout.Output(Kenv.MetadataFile));
        }
        catch (InvalidDataException ex)
        {
            HostFiles.AppendLog(layout.HarnessLog, $"[harness] {ex.Message}");
            validated = new KenvMetadata(0, started.Elapsed.TotalSeconds, Kenv.ExitReasonText(ExitReason.Error), 0);
            validated.Write(layout.Output(Kenv.MetadataFile));
        }
        var patch = await SnapshotTree.DiffAsync(layout.Tree, layout.BaseGitDir, cancellationToken).ConfigureAwait(false);
        HostFiles.WriteNew(layout.Output(Kenv.PatchFile), patch);
        return new AgentOutcome(validated, patch);
    }

    /// <summary>Creates the agent named by <paramref name="config"/>; <paramref name="chatClientFactory"/> is used by kbench-agent.</summary>
    /// <exception cref="AgentConfigException">Unknown agent kind.</exception>
    public static IKenvAgent Create(AgentConfigFile config, Func<KbenchAgent>? chatClientFactory) => config.Agent switch
    {
        "developer-oracle" => new DeveloperOracleAgent(),
        "empty" => new EmptyAgent(),
        "external" => new ExternalAgent(),
        "npm-cli" or "cli" => throw new AgentConfigException($"{config.Agent} agents are made by the AgentRunner (they need the workspace and the model configuration)"),
        "kbench-agent" => chatClientFactory?.Invoke() ?? throw new AgentConfigException("kbench-agent needs a model client"),
        _ => throw new AgentConfigException($"unknown agent '{config.Agent}'"),
    };

    internal static void WriteJson(string path, JsonNode node) => File.WriteAllText(path, node.ToJsonString(Kenv.JsonOptions) + "\n");
}

/// <summary>Baseline that applies the developer patch (checks the harness end to end: the patch must come back out).</summary>
public sealed class DeveloperOracleAgent : IKenvAgent
{
    /// <inheritdoc/>
    public async Task<KenvMetadata?> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var layout = context.Layout;
        if (string.IsNullOrEmpty(context.DeveloperPatch))
        {
            File.WriteAllText(layout.Output(Kenv.LogFile), "developer-oracle: the bug has no developer patch\n");
            AgentHarness.WriteJson(layout.Output(Kenv.TrajectoryFile), new JsonObject { ["agent"] = "developer-oracle", ["steps"] = new JsonArray(), ["error"] = "no developer patch" });
            return new KenvMetadata(0, sw.Elapsed.TotalSeconds, Kenv.ExitReasonText(ExitReason.Error), 0);
        }
        var r = await SnapshotTree.ApplyAsync(layout.Tree, layout.BaseGitDir, context.DeveloperPatch, cancellationToken).ConfigureAwait(false);
        File.WriteAllText(layout.Output(Kenv.LogFile), $"developer-oracle: git apply exited {r.ExitCode}\n{r.StandardOutput}{r.StandardError}");
        AgentHarness.WriteJson(layout.Output(Kenv.TrajectoryFile), new JsonObject
        {
            ["agent"] = "developer-oracle",
            ["steps"] = new JsonArray(new JsonObject { ["action"] = "git apply <developer patch>", ["exitCode"] = r.ExitCode, ["output"] = r.StandardError }),
        });
        return new KenvMetadata(0, sw.Elapsed.TotalSeconds, Kenv.ExitReasonText(r.Succeeded ? ExitReason.Normal : ExitReason.Error), 0);
    }
}

/// <summary>Baseline that changes nothing (empty patch).</summary>
public sealed class EmptyAgent : IKenvAgent
{
    /// <inheritdoc/>
    public Task<KenvMetadata?> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        File.WriteAllText(context.Layout.Output(Kenv.LogFile), "empty: no change\n");
        AgentHarness.WriteJson(context.Layout.Output(Kenv.TrajectoryFile), new JsonObject { ["agent"] = "empty", ["steps"] = new JsonArray() });
        return Task.FromResult<KenvMetadata?>(new KenvMetadata(0, 0, Kenv.ExitReasonText(ExitReason.Normal), 0));
    }
}

/// <summary>
/// An external kEnv agent: <c>command</c> of the configuration run through the runner (bubblewrap or container) with the
/// KENV_* environment, killed at the wall-clock budget. It must write metadata.json (and traj.json, log.txt); its
/// stdout/stderr go to <c>agent-process.log</c> next to the run folders.
/// </summary>
public sealed class ExternalAgent : IKenvAgent
{
    /// <inheritdoc/>
    public async Task<KenvMetadata?> RunAsync(AgentContext context, CancellationToken cancellationToken)
    {
        var spec = context.Spec(withOutput: true);
        var processLog = Path.Combine(context.Layout.Root, "agent-process.log");
        var r = await Sandbox.RunAsync(context.Runner, spec, context.Config.Command, context.Task.Budget.Wall, context.Config.Image, processLog, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (r.TimedOut)
        {
            var prior = TryRead(context.Layout.Output(Kenv.MetadataFile));
            return new KenvMetadata(prior?.DollarCost ?? 0, r.Elapsed.TotalSeconds, Kenv.ExitReasonText(ExitReason.TimeLimitExceeded), prior?.Steps ?? 0);
        }
        if (!r.Succeeded)
        {
            HostFiles.AppendLog(context.Layout.HarnessLog, $"[harness] agent process exited with code {r.ExitCode}: {r.Tail(1000)}");
            var prior = TryRead(context.Layout.Output(Kenv.MetadataFile));
            return new KenvMetadata(prior?.DollarCost ?? 0, r.Elapsed.TotalSeconds, Kenv.ExitReasonText(ExitReason.Error), prior?.Steps ?? 0);
        }
        return null;
    }

    private static KenvMetadata? TryRead(string path)
    {
        try
        {
            return KenvMetadata.Read(path);
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
