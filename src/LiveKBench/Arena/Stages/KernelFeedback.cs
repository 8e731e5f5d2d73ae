using LiveKBench.Agents;
using LiveKBench.Arena.Bugs;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Vm;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Arena.Stages;

/// <summary>
/// The <c>run_kernel</c> tool of stateful agents: builds the bug's parent of fix with the agent's current diff
/// (incrementally, from the kept build directory) and runs the reproducer in a few VMs (<see cref="Instances"/>).
/// </summary>
/// <param name="workspace">The workspace.</param>
/// <param name="log">Logger.</param>
/// <param name="instances">VM instances per call (fewer than an evaluation; default 2).</param>
public sealed class KernelFeedback(Workspace workspace, ILogger log, int instances = 2) : IKernelFeedback
{
    /// <summary>VM instances per call.</summary>
    public int Instances { get; } = instances;

    /// <inheritdoc/>
    public async Task<string> RunKernelAsync(string bugId, string worktree, string diff, CancellationToken cancellationToken)
    {
        Store.Bug bug;
        using (var db = workspace.OpenStore())
        {
            bug = BugRepository.Find(db, bugId) ?? throw new InvalidOperationException($"no bug {bugId}");
        }
        var r = await ReproductionStages.ReproduceAsync(workspace, bug, string.IsNullOrWhiteSpace(diff) ? null : diff, Instances, log, cancellationToken).ConfigureAwait(false);
        return r.Verdict switch
        {
            ReproductionVerdict.Reproduced => $"Crash reproduced: {r.CrashTitle}{(r.SameCrash ? " (the bug's crash)" : " (a different crash)")}.",
            ReproductionVerdict.NotReproduced => $"No crash reproduced in {r.Instances.Count} runs of the reproducer.",
            ReproductionVerdict.CompilationError => "The kernel does not build with this diff: " + r.Reason,
            ReproductionVerdict.BootError => "The kernel does not boot with this diff: " + r.Reason,
            _ => "The kernel could not be run (infrastructure error): " + r.Reason,
        };
    }
}
