using System.Text.Json;

namespace LiveKBench.Gym;

/// <summary>Body of <c>POST /api/jobs</c>: the ordered stages (each a <see cref="StageArgs"/> with its <c>stage</c> discriminator) and free-form tags.</summary>
/// <param name="Stages">Stages in order; at least one.</param>
/// <param name="Tags">Free-form string tags (e.g. <c>bug</c>, <c>purpose</c>), or null.</param>
public sealed record GymJobRequest(IReadOnlyList<StageArgs> Stages, IReadOnlyDictionary<string, string>? Tags = null);

/// <summary>Answer of <c>POST /api/jobs</c>.</summary>
/// <param name="Id">The new job's id (8 lowercase hex digits).</param>
public sealed record GymJobCreated(string Id);

/// <summary>A job as the Gym API shows it.</summary>
/// <param name="Id">Job id (8 lowercase hex digits).</param>
/// <param name="Status">queued | running | finished | failed | aborted.</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="Stages">Stages in order.</param>
/// <param name="FailureReason">Why the job failed or was aborted, or null.</param>
/// <param name="Tags">Tags given at submission.</param>
public sealed record GymJobView(string Id, string Status, DateTimeOffset CreatedAt, IReadOnlyList<GymStageView> Stages, string? FailureReason, IReadOnlyDictionary<string, string> Tags);

/// <summary>A stage as the Gym API shows it.</summary>
/// <param name="Kind">build | reproduce | noop.</param>
/// <param name="Status">pending | queued | running | succeeded | failed | skipped | aborted.</param>
/// <param name="Worker">Name of the worker that runs or ran it, or null.</param>
/// <param name="Attempts">How many times a worker started it (a redelivery after a worker died counts again).</param>
/// <param name="StartedAt">Start of the latest attempt (UTC), or null.</param>
/// <param name="FinishedAt">End (UTC), or null.</param>
/// <param name="Result">The finished <see cref="GymStage"/> as JSON (build result with artifact hashes, reproduction verdict), or null.</param>
/// <param name="Args">The stage's <see cref="StageArgs"/>.</param>
public sealed record GymStageView(string Kind, string Status, string? Worker, int Attempts, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, JsonElement? Result, StageArgs Args);

/// <summary>A worker as <c>GET /api/workers</c> shows it.</summary>
/// <param name="Name">Worker name.</param>
/// <param name="Kinds">Stage kinds it takes.</param>
/// <param name="LastSeen">Its last heartbeat (UTC).</param>
/// <param name="CurrentJob">Job id it works on, or null.</param>
public sealed record GymWorkerView(string Name, IReadOnlyList<string> Kinds, DateTimeOffset LastSeen, string? CurrentJob);

/// <summary>Heartbeat body of <c>POST /api/workers/{name}/heartbeat</c>.</summary>
/// <param name="Kinds">Stage kinds the worker takes.</param>
/// <param name="CurrentJob">Job id it works on, or null.</param>
public sealed record GymHeartbeat(IReadOnlyList<string> Kinds, string? CurrentJob);

/// <summary>Body of <c>POST /api/jobs/{id}/stages/{index}/claim</c>: a worker took the stage's message from the broker.</summary>
/// <param name="Worker">Worker name.</param>
/// <param name="MessageId">The broker message id (the scheduler issues one per queued attempt).</param>
/// <param name="Redelivered">The broker's redelivered flag (the previous holder's channel closed).</param>
public sealed record GymClaimRequest(string Worker, string MessageId, bool Redelivered);

/// <summary>Answer to a claim.</summary>
/// <param name="Run">True: run the stage. False: drop the message (ack it) — see <paramref name="Reason"/>.</param>
/// <param name="Reason">Why not, or null.</param>
/// <param name="Job">The job (earlier stages' results) when <paramref name="Run"/> is true.</param>
public sealed record GymClaimResponse(bool Run, string? Reason, GymJobView? Job);

/// <summary>Body of <c>PUT /api/jobs/{id}/stages/{index}/result</c>.</summary>
/// <param name="Worker">Worker name.</param>
/// <param name="MessageId">The message id of the claim.</param>
/// <param name="Stage">The finished stage.</param>
public sealed record GymResultRequest(string Worker, string MessageId, GymStage Stage);

/// <summary>Answer to a result write.</summary>
/// <param name="Stored">True when this write recorded the result; false when the stage already had one (idempotent: nothing changed).</param>
public sealed record GymResultResponse(bool Stored);

/// <summary>Stage-kind names and the broker message of a queued stage.</summary>
public static class GymWire
{
    /// <summary>Every stage kind, in the order workers list them.</summary>
    public static readonly IReadOnlyList<string> Kinds = ["build", "reproduce", "noop"];

    /// <summary>JSON options of the API (camelCase, enums as strings).</summary>
    public static JsonSerializerOptions Json => GymJob.JsonOptions;

    /// <summary>Statuses in which a job no longer changes until restarted.</summary>
    public static bool IsTerminal(string jobStatus) => jobStatus is "finished" or "failed" or "aborted";
}

/// <summary>The body of a broker message: one queued attempt of one stage.</summary>
/// <param name="JobId">Job id.</param>
/// <param name="Stage">Stage index.</param>
/// <param name="Kind">Stage kind (also the queue).</param>
/// <param name="MessageId">Attempt id issued by the scheduler.</param>
public sealed record GymStageMessage(string JobId, int Stage, string Kind, string MessageId);
