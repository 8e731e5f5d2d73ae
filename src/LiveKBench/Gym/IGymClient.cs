using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Vm;

namespace LiveKBench.Gym;

/// <summary>
/// Where builds and reproductions run. Every caller that needs a kernel built and a reproducer run (<c>kcache</c>,
/// <c>eval crash</c>, <c>reproduce</c>, the agents' <c>run_kernel</c>) submits a <see cref="GymJob"/> here: the
/// in-process client (<see cref="InProcessGymClient"/>, the default) runs it in this process; the remote client
/// (<see cref="RemoteGymClient"/>, when the setting <c>Gym:Endpoint</c> is set) submits it to a Gym scheduler whose
/// workers take its stages from RabbitMQ. Both return the job with every stage finished, so verdicts are computed
/// the same way (<see cref="GymJob.Verdict"/>).
/// </summary>
public interface IGymClient
{
    /// <summary>
    /// Runs the stages of <paramref name="job"/> from <paramref name="fromStage"/> on and returns it finished (Succeeded,
    /// Failed or Skipped stages). Stages before <paramref name="fromStage"/> must have succeeded and are kept as they are
    /// (a later reproduction round appends a stage to a finished job and runs only that stage).
    /// </summary>
    /// <param name="job">The job; reproducer paths are local files of this machine.</param>
    /// <param name="fromStage">First stage to run; null runs from <see cref="GymJob.ResumeIndex"/>.</param>
    /// <param name="onUpdate">Called with the job after every observed state change (for the caller's own store).</param>
    /// <param name="cancellationToken">Cancels the wait (and, in process, the running stage).</param>
    /// <returns>The finished job.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="GymClientException">The remote scheduler refused the job or could not be reached.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A stage before <paramref name="fromStage"/> did not succeed.</exception>
    Task<GymJob> RunAsync(GymJob job, int? fromStage, Action<GymJob>? onUpdate, CancellationToken cancellationToken);
}

/// <summary>A remote Gym refused a request or could not be reached (message says which and why).</summary>
/// <param name="message">What failed.</param>
/// <param name="inner">The cause, or null.</param>
public sealed class GymClientException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Runs jobs in this process with <see cref="GymWorker"/>, one stage after another (the default; no broker).</summary>
/// <param name="worker">The in-process worker (builder + reproduction runner of the workspace).</param>
public sealed class InProcessGymClient(GymWorker worker) : IGymClient
{
    /// <inheritdoc/>
    public Task<GymJob> RunAsync(GymJob job, int? fromStage, Action<GymJob>? onUpdate, CancellationToken cancellationToken)
        => worker.RunAsync(job, fromStage, onUpdate, cancellationToken);
}

/// <summary>Chooses the Gym client of a workspace from its configuration.</summary>
public static class GymClients
{
    /// <summary>
    /// The remote client when <c>Gym:Endpoint</c> is set (settings.json <c>"Gym": {"Endpoint": …, "Token": …}</c>, or env
    /// <c>KBENCH_Gym__Endpoint</c>; token from <c>Gym:Token</c> or <c>KBENCH_GYM_TOKEN</c>), else the in-process client.
    /// </summary>
    /// <param name="configuration">The workspace configuration.</param>
    /// <param name="worker">Factory of the in-process worker (called only for the in-process client).</param>
    /// <param name="mirror">The local kernel mirror (the remote client bundles commits only it has), or null.</param>
    /// <returns>The client.</returns>
    /// <exception cref="InvalidOperationException">Endpoint set without a token, or not an absolute http(s) URL.</exception>
    public static IGymClient For(Microsoft.Extensions.Configuration.IConfiguration configuration, Func<GymWorker> worker, Kernel.Git.KernelMirror? mirror)
    {
        var endpoint = configuration["Gym:Endpoint"] ?? Environment.GetEnvironmentVariable("KBENCH_Gym__Endpoint");
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return new InProcessGymClient(worker());
        }
        var token = GymToken.From(configuration)
            ?? throw new InvalidOperationException("Gym:Endpoint is set but no token: set KBENCH_GYM_TOKEN or Gym:Token");
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new InvalidOperationException($"Gym:Endpoint '{endpoint}' is not an absolute http(s) URL");
        }
        return new RemoteGymClient(uri, token, mirror);
    }
}

/// <summary>The shared bearer token of a Gym deployment.</summary>
public static class GymToken
{
    /// <summary>Token from env <c>KBENCH_GYM_TOKEN</c>, else setting <c>Gym:Token</c>; null when neither is set.</summary>
    public static string? From(Microsoft.Extensions.Configuration.IConfiguration? configuration)
    {
        var t = Environment.GetEnvironmentVariable("KBENCH_GYM_TOKEN");
        if (string.IsNullOrWhiteSpace(t))
        {
            t = configuration?["Gym:Token"];
        }
        return string.IsNullOrWhiteSpace(t) ? null : t;
    }
}
