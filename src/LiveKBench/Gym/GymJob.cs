using System.Text.Json;
using System.Text.Json.Serialization;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Vm;

namespace LiveKBench.Gym;

/// <summary>Arguments of one stage; serialized with a <c>stage</c> discriminator (<c>build</c> / <c>reproduce</c>).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "stage")]
[JsonDerivedType(typeof(BuildStageArgs), "build")]
[JsonDerivedType(typeof(ReproduceStageArgs), "reproduce")]
[JsonDerivedType(typeof(NoopStageArgs), "noop")]
public abstract record StageArgs
{
    /// <summary>The stage kind as written in JSON and as the name of its broker queue: <c>build</c>, <c>reproduce</c> or <c>noop</c>.</summary>
    [JsonIgnore]
    public string StageKind => this switch
    {
        BuildStageArgs => "build",
        ReproduceStageArgs => "reproduce",
        NoopStageArgs => "noop",
        _ => GetType().Name,
    };
}

/// <summary>Build a kernel.</summary>
/// <param name="Request">Commit, config and optional patch.</param>
/// <param name="RepositoryUrl">Where a remote worker fetches <see cref="BuildRequest.Commit"/> when its mirror lacks it, or null.</param>
/// <param name="BundleSha256">Gym artifact (SHA-256) of a git bundle holding the commit under <c>refs/kbench/gym/&lt;commit&gt;</c>, for commits that exist only in the submitter's mirror; or null.</param>
public sealed record BuildStageArgs(BuildRequest Request, string? RepositoryUrl = null, string? BundleSha256 = null) : StageArgs;

/// <summary>A stage that does nothing but wait (measures the Gym's own overhead; tests of scheduling and failure handling).</summary>
/// <param name="DelayMs">Milliseconds to wait, 0..3,600,000.</param>
public sealed record NoopStageArgs(int DelayMs = 0) : StageArgs;

/// <summary>Run a reproducer on the kernel built by an earlier stage.</summary>
/// <param name="BuildStageIndex">Index of the build stage whose bzImage is booted.</param>
/// <param name="ReproducerPath">Reproducer file (C source or syz program).</param>
/// <param name="Kind">C or syz.</param>
/// <param name="BugTitle">Bug title, for same-crash matching.</param>
/// <param name="AltTitles">Alternative titles, or null.</param>
/// <param name="Instances">VM instances; default 5.</param>
/// <param name="Parallelism">Concurrent instances; null = number of cores.</param>
/// <param name="ReproTimeLimitSeconds">Reproducer time limit in the guest, seconds.</param>
/// <param name="InstanceTimeoutSeconds">Wall-clock limit per instance, seconds.</param>
/// <param name="ReproducerSha256">Gym artifact (SHA-256) holding the reproducer, for remote workers (they write it to their own workspace); or null.</param>
public sealed record ReproduceStageArgs(
    int BuildStageIndex,
    string ReproducerPath,
    ReproducerKind Kind,
    string BugTitle,
    IReadOnlyList<string>? AltTitles = null,
    int Instances = 5,
    int? Parallelism = null,
    double ReproTimeLimitSeconds = 60,
    double InstanceTimeoutSeconds = 300,
    string? ReproducerSha256 = null) : StageArgs;

/// <summary>State of a stage.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StageStatus>))]
public enum StageStatus
{
    /// <summary>Not run yet.</summary>
    Pending,

    /// <summary>Running now (a job found in this state after a crash must be restarted from this stage).</summary>
    Running,

    /// <summary>Ran and produced a usable result (a build that succeeded, a reproduction with any verdict).</summary>
    Succeeded,

    /// <summary>Ran and failed (build error, exception); later stages are skipped.</summary>
    Failed,

    /// <summary>Not run because an earlier stage failed.</summary>
    Skipped,
}

/// <summary>One stage of a job with its result.</summary>
/// <param name="Args">What to do.</param>
/// <param name="Status">Current state.</param>
/// <param name="Build">Result of a build stage, or null.</param>
/// <param name="Reproduction">Result of a reproduce stage, or null.</param>
/// <param name="Error">Exception text when the stage failed unexpectedly, or null.</param>
/// <param name="StartedAt">When it started (UTC), or null.</param>
/// <param name="FinishedAt">When it finished (UTC), or null.</param>
public sealed record GymStage(
    StageArgs Args,
    StageStatus Status = StageStatus.Pending,
    BuildResult? Build = null,
    ReproductionResult? Reproduction = null,
    string? Error = null,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? FinishedAt = null);

/// <summary>A job: an ordered list of stages. Immutable; the worker returns updated copies.</summary>
/// <param name="Id">Job id (any string; the store decides the format).</param>
/// <param name="Stages">Stages in order.</param>
public sealed record GymJob(string Id, IReadOnlyList<GymStage> Stages)
{
    /// <summary>JSON options used by <see cref="ToJson"/> / <see cref="FromJson"/> (camelCase, enums as strings).</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    /// <summary>A job with one build stage and one reproduce stage on its kernel.</summary>
    /// <param name="id">Job id.</param>
    /// <param name="build">Build request.</param>
    /// <param name="reproduce">Reproduction arguments (its <see cref="ReproduceStageArgs.BuildStageIndex"/> is set to 0).</param>
    /// <returns>The job.</returns>
    public static GymJob BuildAndReproduce(string id, BuildRequest build, ReproduceStageArgs reproduce)
        => new(id, [new GymStage(new BuildStageArgs(build)), new GymStage(reproduce with { BuildStageIndex = 0 })]);

    /// <summary>Index of the first stage that is not <see cref="StageStatus.Succeeded"/> (where a restart begins); <see cref="Stages"/>.Count when all are done.</summary>
    [JsonIgnore]
    public int ResumeIndex
    {
        get
        {
            for (var i = 0; i < Stages.Count; i++)
            {
                if (Stages[i].Status != StageStatus.Succeeded)
                {
                    return i;
                }
            }
            return Stages.Count;
        }
    }

    /// <summary>
    /// The crash-resolution verdict of a build-then-reproduce job: a build compilation error ⇒ compilationError, other build
    /// failures ⇒ error, else the verdict of the last reproduce stage; null while stages are pending.
    /// </summary>
    /// <returns>The verdict result, or null.</returns>
    public ReproductionResult? Verdict()
    {
        double buildSeconds = 0;
        ReproductionResult? last = null;
        foreach (var s in Stages)
        {
            if (s.Build is { } b)
            {
                buildSeconds += b.Seconds;
                if (b.Status != BuildStatus.Success)
                {
                    var v = b.Status == BuildStatus.CompilationError ? ReproductionVerdict.CompilationError : ReproductionVerdict.Error;
                    return VerdictCalculator.Without(v, b.Reason ?? v.ToString(), b.Seconds, 0, b.BuildLog?.Path);
                }
            }
            if (s.Status == StageStatus.Failed)
            {
                return VerdictCalculator.Without(ReproductionVerdict.Error, s.Error ?? "stage failed", buildSeconds);
            }
            if (s.Status is StageStatus.Pending or StageStatus.Running)
            {
                return null;
            }
            if (s.Reproduction is { } r)
            {
                last = r with { BuildSeconds = buildSeconds };
            }
        }
        return last;
    }

    /// <summary>Serializes with <see cref="JsonOptions"/>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Deserializes a job written by <see cref="ToJson"/>.</summary>
    /// <exception cref="JsonException">Invalid JSON.</exception>
    public static GymJob FromJson(string json) => JsonSerializer.Deserialize<GymJob>(json, JsonOptions) ?? throw new JsonException("null job");
}

/// <summary>
/// Runs jobs in process: stages in order, each result recorded in a new copy of the job and reported through a
/// callback (so a store can persist it). Restartable: <see cref="RunAsync"/> from any stage reuses the results of the
/// succeeded stages before it.
/// </summary>
/// <param name="builder">Kernel builder for build stages.</param>
/// <param name="reproduction">Reproduction runner for reproduce stages.</param>
public sealed class GymWorker(KernelBuilder? builder, ReproductionRunner? reproduction)
{
    /// <summary>Runs <paramref name="job"/> from stage <paramref name="fromStage"/> (default: <see cref="GymJob.ResumeIndex"/>).</summary>
    /// <param name="job">The job.</param>
    /// <param name="fromStage">First stage to (re)run; earlier stages must have succeeded. Null = resume.</param>
    /// <param name="onUpdate">Called with the job after every state change (stage started, finished).</param>
    /// <param name="cancellationToken">Cancels the running stage; the job keeps that stage as Running (restart from it).</param>
    /// <returns>The job with every stage finished (Succeeded, Failed or Skipped).</returns>
    /// <exception cref="ArgumentOutOfRangeException">fromStage is out of range or an earlier stage did not succeed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<GymJob> RunAsync(GymJob job, int? fromStage = null, Action<GymJob>? onUpdate = null, CancellationToken cancellationToken = default)
    {
        var start = fromStage ?? job.ResumeIndex;
        if (start < 0 || start > job.Stages.Count || job.Stages.Take(start).Any(s => s.Status != StageStatus.Succeeded))
        {
            throw new ArgumentOutOfRangeException(nameof(fromStage), "every stage before the restart point must have succeeded");
        }
        var stages = job.Stages.Select((s, i) => i >= start ? new GymStage(s.Args) : s).ToList();
        var failed = false;
        for (var i = start; i < stages.Count; i++)
        {
            if (failed)
            {
                stages[i] = stages[i] with { Status = StageStatus.Skipped };
                continue;
            }
            stages[i] = stages[i] with { Status = StageStatus.Running, StartedAt = DateTimeOffset.UtcNow };
            onUpdate?.Invoke(job with { Stages = stages.ToList() });
            stages[i] = await RunStageAsync(stages, i, cancellationToken).ConfigureAwait(false);
            stages[i] = stages[i] with { FinishedAt = DateTimeOffset.UtcNow };
            failed = stages[i].Status == StageStatus.Failed;
            onUpdate?.Invoke(job with { Stages = stages.ToList() });
        }
        return job with { Stages = stages };
    }

    /// <summary>Runs stage <paramref name="index"/> of <paramref name="stages"/> (earlier stages supply their results) and returns it finished.</summary>
    /// <param name="stages">All stages of the job; the one at <paramref name="index"/> is run.</param>
    /// <param name="index">Stage to run.</param>
    /// <param name="cancellationToken">Cancels the stage.</param>
    /// <returns>The stage, Succeeded or Failed (an exception becomes Failed with its text), with StartedAt/FinishedAt set.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async Task<GymStage> RunStageAsync(IReadOnlyList<GymStage> stages, int index, CancellationToken cancellationToken)
    {
        var stage = stages[index] with { Status = StageStatus.Running, StartedAt = stages[index].StartedAt ?? DateTimeOffset.UtcNow };
        try
        {
            stage = stage.Args switch
            {
                BuildStageArgs b => await RunBuildAsync(stage, b, cancellationToken).ConfigureAwait(false),
                ReproduceStageArgs r => await RunReproduceAsync(stages, stage, r, cancellationToken).ConfigureAwait(false),
                NoopStageArgs n => await RunNoopAsync(stage, n, cancellationToken).ConfigureAwait(false),
                _ => stage with { Status = StageStatus.Failed, Error = $"unknown stage kind {stage.Args.GetType().Name}" },
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            stage = stage with { Status = StageStatus.Failed, Error = ex.ToString() };
        }
        return stage with { FinishedAt = DateTimeOffset.UtcNow };
    }

    private static async Task<GymStage> RunNoopAsync(GymStage stage, NoopStageArgs args, CancellationToken ct)
    {
        if (args.DelayMs is < 0 or > 3_600_000)
        {
            return stage with { Status = StageStatus.Failed, Error = $"noop delayMs {args.DelayMs} is outside 0..3600000" };
        }
        await Task.Delay(args.DelayMs, ct).ConfigureAwait(false);
        return stage with { Status = StageStatus.Succeeded };
    }

    private async Task<GymStage> RunBuildAsync(GymStage stage, BuildStageArgs args, CancellationToken ct)
    {
        var r = await (builder ?? throw new InvalidOperationException("this worker has no kernel builder")).BuildAsync(args.Request, ct).ConfigureAwait(false);
        return stage with { Build = r, Status = r.Status == BuildStatus.Success ? StageStatus.Succeeded : StageStatus.Failed, Error = r.Reason };
    }

    private async Task<GymStage> RunReproduceAsync(IReadOnlyList<GymStage> stages, GymStage stage, ReproduceStageArgs args, CancellationToken ct)
    {
        if (args.BuildStageIndex < 0 || args.BuildStageIndex >= stages.Count || stages[args.BuildStageIndex].Build?.Artifacts is not { } artifacts)
        {
            return stage with { Status = StageStatus.Failed, Error = $"stage {args.BuildStageIndex} has no built kernel" };
        }
        var r = await (reproduction ?? throw new InvalidOperationException("this worker has no reproduction runner")).RunAsync(new ReproduceRequest(artifacts.BzImage.Path, args.ReproducerPath, args.Kind, args.BugTitle, args.AltTitles,
            args.Instances, args.Parallelism, args.ReproTimeLimitSeconds, args.InstanceTimeoutSeconds), ct).ConfigureAwait(false);
        return stage with { Reproduction = r, Status = StageStatus.Succeeded };
    }
}
