using System.Globalization;
using System.Text.Json;
using LiveKBench.Gym;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace LiveKBench.Web.Gym;

/// <summary>Settings of a Gym scheduler.</summary>
public sealed record GymSchedulerOptions
{
    /// <summary>Folder of the store (<c>gym.db</c>) and the artifacts (<c>artifacts/&lt;2 hex&gt;/&lt;sha256&gt;</c>).</summary>
    public required string DataDir { get; init; }

    /// <summary>Broker URL, amqp://USER:PASS@HOST:PORT/VHOST.</summary>
    public required Uri Broker { get; init; }

    /// <summary>Bearer token every /api endpoint requires.</summary>
    public required string Token { get; init; }

    /// <summary>Queue names and delivery limit.</summary>
    public GymTopology Topology { get; init; } = new();

    /// <summary>Jobs per page of <c>GET /api/jobs</c>.</summary>
    public int PageSize { get; init; } = 50;
}

/// <summary>A request the scheduler refuses: HTTP <see cref="Status"/> (400 or 404) with a message.</summary>
/// <param name="status">400 or 404.</param>
/// <param name="message">What is wrong.</param>
public sealed class GymRequestException(int status, string message) : Exception(message)
{
    /// <summary>HTTP status.</summary>
    public int Status { get; } = status;
}

/// <summary>
/// The scheduler's state machine over its store. Every change runs under one lock and one transaction. A queued stage
/// gets a fresh message id before it is published (outbox: <see cref="GymStageRow.PublishedAt"/> null until the broker
/// confirms; republished after a restart). A worker claims a stage with the message id it received; results are
/// written once (a second write, e.g. after a redelivery, changes nothing). Dead-lettered messages fail their job.
/// </summary>
public sealed class GymScheduler : IHostedService, IAsyncDisposable
{
    private readonly GymSchedulerOptions _options;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SemaphoreSlim _publishLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private IConnection? _connection;
    private IChannel? _publish;
    private IChannel? _dead;
    private Task? _outboxLoop;

    /// <summary>Creates the scheduler (the store is created when missing).</summary>
    public GymScheduler(GymSchedulerOptions options, ILogger<GymScheduler> log)
    {
        _options = options;
        _log = log;
        Directory.CreateDirectory(options.DataDir);
        Directory.CreateDirectory(ArtifactsDir);
        using var db = GymDbContext.Open(DbPath);
    }

    /// <summary>Settings.</summary>
    public GymSchedulerOptions Options => _options;

    /// <summary>The store file.</summary>
    public string DbPath => Path.Combine(_options.DataDir, "gym.db");

    /// <summary>The artifact folder.</summary>
    public string ArtifactsDir => Path.Combine(_options.DataDir, "artifacts");

    private GymDbContext Open() => new(new DbContextOptionsBuilder<GymDbContext>().UseSqlite($"Data Source={DbPath}").Options);

    /// <summary>Renders a job key as 8 lowercase hex digits.</summary>
    public static string FormatId(long id) => id.ToString("x8", CultureInfo.InvariantCulture);

    /// <summary>Parses an 8-hex job id; throws 404 when it is not one.</summary>
    public static long ParseId(string id)
        => id.Length == 8 && long.TryParse(id, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var n) ? n
            : throw new GymRequestException(404, $"no job '{id}' (ids are 8 lowercase hex digits)");

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _outboxLoop = Task.Run(() => BrokerLoopAsync(_stop.Token), CancellationToken.None);
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_outboxLoop is not null)
        {
            try
            {
                await _outboxLoop.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        await DisposeBrokerAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await DisposeBrokerAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task DisposeBrokerAsync()
    {
        foreach (var c in new IDisposable?[] { _publish, _dead, _connection })
        {
            if (c is IAsyncDisposable a)
            {
                await a.DisposeAsync().ConfigureAwait(false);
            }
        }
        _publish = null;
        _dead = null;
        _connection = null;
    }

    /// <summary>Connects (retrying every 2 s), declares the topology, consumes the dead-letter queue and publishes the outbox every 5 s.</summary>
    private async Task BrokerLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (_connection is null || !_connection.IsOpen)
                {
                    await DisposeBrokerAsync().ConfigureAwait(false);
                    _connection = await GymTopology.ConnectAsync(_options.Broker, "kbench-gym-scheduler", ct).ConfigureAwait(false);
                    _publish = await _connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), ct).ConfigureAwait(false);
                    await _options.Topology.DeclareAsync(_publish, ct).ConfigureAwait(false);
                    _dead = await _connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
                    await _dead.BasicQosAsync(0, 1, false, ct).ConfigureAwait(false);
                    var consumer = new AsyncEventingBasicConsumer(_dead);
                    consumer.ReceivedAsync += OnDeadLetterAsync;
                    await _dead.BasicConsumeAsync(_options.Topology.DeadQueue, autoAck: false, consumer: consumer, cancellationToken: ct).ConfigureAwait(false);
                    _log.LogInformation("gym: connected to the broker {Host}", _options.Broker.Host);
                }
                await PublishOutboxAsync(ct).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                _log.LogWarning("gym: broker: {Error}; retrying in 2 s", ex.Message);
                await DisposeBrokerAsync().ConfigureAwait(false);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Publishes every queued stage whose message the broker has not confirmed yet.</summary>
    public async Task PublishOutboxAsync(CancellationToken ct)
    {
        if (_publish is not { IsOpen: true } channel)
        {
            return;
        }
        await _publishLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            List<GymStageMessage> todo;
            using (var db = Open())
            {
                todo = [.. db.Stages.Where(s => s.Status == "queued" && s.PublishedAt == null && s.MessageId != null).OrderBy(s => s.JobId).ThenBy(s => s.Index)
                    .AsEnumerable().Select(s => new GymStageMessage(FormatId(s.JobId), s.Index, s.Kind, s.MessageId!))];
            }
            foreach (var m in todo)
            {
                await _options.Topology.PublishAsync(channel, m, ct).ConfigureAwait(false);
                await _lock.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    using var db = Open();
                    var s = db.Stages.Single(x => x.JobId == ParseId(m.JobId) && x.Index == m.Stage);
                    if (s.MessageId == m.MessageId)
                    {
                        s.PublishedAt = DateTime.UtcNow;
                        db.SaveChanges();
                    }
                }
                finally
                {
                    _lock.Release();
                }
            }
        }
        finally
        {
            _publishLock.Release();
        }
    }

    private async Task OnDeadLetterAsync(object sender, BasicDeliverEventArgs ea)
    {
        var m = GymTopology.Parse(ea.Body);
        if (m is not null)
        {
            var count = GymTopology.DeliveryCount(ea.BasicProperties);
            await WithLockAsync(db =>
            {
                var job = db.Jobs.Include(j => j.Stages).SingleOrDefault(j => j.Id == ParseId(m.JobId));
                var st = job?.Stages.SingleOrDefault(s => s.Index == m.Stage);
                if (job is null || st is null || st.MessageId != m.MessageId || st.ResultJson is not null || GymWire.IsTerminal(job.Status))
                {
                    return 0;
                }
                var reason = $"stage {m.Stage} ({m.Kind}) was dead-lettered after {(count is { } c ? c + 1 : _options.Topology.DeliveryLimit + 1)} deliveries "
                    + $"(delivery limit {_options.Topology.DeliveryLimit}): its worker died or lost the broker every time it ran it"
                    + (st.Worker is null ? "" : $" (last worker: {st.Worker})");
                Fail(job, st, reason);
                db.SaveChanges();
                _log.LogWarning("gym: job {Job}: {Reason}", m.JobId, reason);
                return 0;
            }, CancellationToken.None).ConfigureAwait(false);
        }
        await ((AsyncEventingBasicConsumer)sender).Channel.BasicAckAsync(ea.DeliveryTag, false).ConfigureAwait(false);
    }

    private static void Fail(GymJobRow job, GymStageRow st, string reason)
    {
        st.Status = "failed";
        st.FinishedAt = DateTime.UtcNow;
        st.ResultJson ??= JsonSerializer.Serialize(new GymStage(JsonSerializer.Deserialize<StageArgs>(st.ArgsJson, GymWire.Json)!, StageStatus.Failed, Error: reason, FinishedAt: DateTimeOffset.UtcNow), GymWire.Json);
        foreach (var later in job.Stages.Where(s => s.Index > st.Index))
        {
            later.Status = "skipped";
            later.MessageId = null;
        }
        job.Status = "failed";
        job.FailureReason = reason;
        job.UpdatedAt = DateTime.UtcNow;
    }

    private async Task<T> WithLockAsync<T>(Func<GymDbContext, T> f, CancellationToken ct)
    {
        await _lock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            using var db = Open();
            using var tx = db.Database.BeginTransaction();
            var r = f(db);
            tx.Commit();
            return r;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Validates and stores a job (first stage queued) and publishes it.</summary>
    /// <exception cref="GymRequestException">400: no stages, too many, or inconsistent stage arguments.</exception>
    public async Task<string> CreateAsync(GymJobRequest request, CancellationToken ct)
    {
        if (request.Stages is null || request.Stages.Count == 0 || request.Stages.Count > 64)
        {
            throw new GymRequestException(400, "a job needs 1..64 stages");
        }
        for (var i = 0; i < request.Stages.Count; i++)
        {
            switch (request.Stages[i])
            {
                case null:
                    throw new GymRequestException(400, $"stage {i} is null");
                case ReproduceStageArgs r when r.BuildStageIndex < 0 || r.BuildStageIndex >= i || request.Stages[r.BuildStageIndex] is not BuildStageArgs:
                    throw new GymRequestException(400, $"stage {i}: buildStageIndex {r.BuildStageIndex} is not an earlier build stage");
                case ReproduceStageArgs r when r.ReproducerSha256 is null || !IsSha256(r.ReproducerSha256):
                    throw new GymRequestException(400, $"stage {i}: reproducerSha256 (the uploaded reproducer) is required");
                case BuildStageArgs b when b.Request?.Config is null || string.IsNullOrWhiteSpace(b.Request.Commit):
                    throw new GymRequestException(400, $"stage {i}: a build needs request.commit and request.config");
                case NoopStageArgs n when n.DelayMs is < 0 or > 3_600_000:
                    throw new GymRequestException(400, $"stage {i}: delayMs must be within 0..3600000");
            }
        }
        var id = await WithLockAsync(db =>
        {
            var now = DateTime.UtcNow;
            var job = new GymJobRow
            {
                Status = "queued",
                CreatedAt = now,
                UpdatedAt = now,
                TagsJson = JsonSerializer.Serialize(request.Tags ?? new Dictionary<string, string>(), GymWire.Json),
                Stages = [.. request.Stages.Select((a, i) => new GymStageRow
                {
                    Index = i,
                    Kind = a.StageKind,
                    ArgsJson = JsonSerializer.Serialize(a, GymWire.Json),
                    Status = i == 0 ? "queued" : "pending",
                    MessageId = i == 0 ? Guid.NewGuid().ToString("N") : null,
                })],
            };
            db.Jobs.Add(job);
            db.SaveChanges();
            return FormatId(job.Id);
        }, ct).ConfigureAwait(false);
        await TryPublishAsync(ct).ConfigureAwait(false);
        return id;
    }

    private async Task TryPublishAsync(CancellationToken ct)
    {
        try
        {
            await PublishOutboxAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _log.LogWarning("gym: publish deferred (the outbox retries every 5 s): {Error}", ex.Message);
        }
    }

    /// <summary>True for 64 lowercase hex digits.</summary>
    public static bool IsSha256(string s) => s.Length == 64 && s.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');

    /// <summary>Reads a job; 404 when unknown.</summary>
    public GymJobView Get(string id)
    {
        var key = ParseId(id);
        using var db = Open();
        var job = db.Jobs.Include(j => j.Stages).AsNoTracking().SingleOrDefault(j => j.Id == key) ?? throw new GymRequestException(404, $"no job {id}");
        return View(job);
    }

    /// <summary>Lists jobs newest first; <paramref name="status"/> filters; <paramref name="page"/> from 1.</summary>
    public IReadOnlyList<GymJobView> List(string? status, int page)
    {
        if (page < 1)
        {
            throw new GymRequestException(400, "page starts at 1");
        }
        if (status is not null and not ("queued" or "running" or "finished" or "failed" or "aborted"))
        {
            throw new GymRequestException(400, $"unknown status '{status}' (queued, running, finished, failed, aborted)");
        }
        using var db = Open();
        var q = db.Jobs.Include(j => j.Stages).AsNoTracking().AsQueryable();
        if (status is not null)
        {
            q = q.Where(j => j.Status == status);
        }
        return [.. q.OrderByDescending(j => j.Id).Skip((page - 1) * _options.PageSize).Take(_options.PageSize).AsEnumerable().Select(View)];
    }

    private static DateTimeOffset? Utc(DateTime? t) => t is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;

    private static GymJobView View(GymJobRow j) => new(
        FormatId(j.Id), j.Status, Utc(j.CreatedAt)!.Value,
        [.. j.Stages.OrderBy(s => s.Index).Select(s => new GymStageView(s.Kind, s.Status, s.Worker, s.Attempts, Utc(s.StartedAt), Utc(s.FinishedAt),
            s.ResultJson is null ? null : JsonDocument.Parse(s.ResultJson).RootElement.Clone(),
            JsonSerializer.Deserialize<StageArgs>(s.ArgsJson, GymWire.Json)!))],
        j.FailureReason,
        JsonSerializer.Deserialize<Dictionary<string, string>>(j.TagsJson, GymWire.Json) ?? []);

    /// <summary>A worker took stage <paramref name="index"/>'s message: decides whether it runs it.</summary>
    public Task<GymClaimResponse> ClaimAsync(string id, int index, GymClaimRequest req, CancellationToken ct)
    {
        var key = ParseId(id);
        return WithLockAsync(db =>
        {
            var job = db.Jobs.Include(j => j.Stages).SingleOrDefault(j => j.Id == key) ?? throw new GymRequestException(404, $"no job {id}");
            var st = job.Stages.SingleOrDefault(s => s.Index == index) ?? throw new GymRequestException(404, $"job {id} has no stage {index}");
            if (GymWire.IsTerminal(job.Status))
            {
                return new GymClaimResponse(false, $"job is {job.Status}", null);
            }
            if (st.MessageId != req.MessageId)
            {
                return new GymClaimResponse(false, "stale message (the stage was requeued or finished since)", null);
            }
            if (st.ResultJson is not null)
            {
                return new GymClaimResponse(false, "the stage already has a result", null);
            }
            if (st.Status == "running" && !req.Redelivered && st.Worker != req.Worker)
            {
                return new GymClaimResponse(false, $"duplicate message: worker {st.Worker} holds the stage", null);
            }
            st.Status = "running";
            st.Worker = req.Worker;
            st.Attempts++;
            st.StartedAt = DateTime.UtcNow;
            job.Status = "running";
            job.UpdatedAt = DateTime.UtcNow;
            db.SaveChanges();
            return new GymClaimResponse(true, null, View(job));
        }, ct);
    }

    /// <summary>Stores a stage result once and queues the next stage (or finishes/fails the job).</summary>
    public async Task<GymResultResponse> ResultAsync(string id, int index, GymResultRequest req, CancellationToken ct)
    {
        var key = ParseId(id);
        if (req.Stage is null)
        {
            throw new GymRequestException(400, "stage is required");
        }
        var r = await WithLockAsync(db =>
        {
            var job = db.Jobs.Include(j => j.Stages).SingleOrDefault(j => j.Id == key) ?? throw new GymRequestException(404, $"no job {id}");
            var st = job.Stages.SingleOrDefault(s => s.Index == index) ?? throw new GymRequestException(404, $"job {id} has no stage {index}");
            if (st.ResultJson is not null || st.MessageId != req.MessageId || GymWire.IsTerminal(job.Status))
            {
                return new GymResultResponse(false);
            }
            var ok = req.Stage.Status == StageStatus.Succeeded;
            st.ResultJson = JsonSerializer.Serialize(req.Stage, GymWire.Json);
            st.Status = ok ? "succeeded" : "failed";
            st.Worker = req.Worker;
            st.FinishedAt = DateTime.UtcNow;
            job.UpdatedAt = DateTime.UtcNow;
            if (!ok)
            {
                Fail(job, st, $"stage {index} ({st.Kind}) failed: {FirstLine(req.Stage.Error)}");
            }
            else if (job.Stages.SingleOrDefault(s => s.Index == index + 1) is { } next)
            {
                next.Status = "queued";
                next.MessageId = Guid.NewGuid().ToString("N");
                next.PublishedAt = null;
            }
            else
            {
                job.Status = "finished";
            }
            db.SaveChanges();
            return new GymResultResponse(true);
        }, ct).ConfigureAwait(false);
        await TryPublishAsync(ct).ConfigureAwait(false);
        return r;
    }

    private static string FirstLine(string? s) => s is null ? "(no reason)" : s.Split('\n')[0].Trim();

    /// <summary>Aborts a job that is not finished: its unfinished stages become aborted and their messages stale (a worker's later result is dropped). Idempotent.</summary>
    public Task<GymJobView> AbortAsync(string id, CancellationToken ct)
    {
        var key = ParseId(id);
        return WithLockAsync(db =>
        {
            var job = db.Jobs.Include(j => j.Stages).SingleOrDefault(j => j.Id == key) ?? throw new GymRequestException(404, $"no job {id}");
            if (!GymWire.IsTerminal(job.Status))
            {
                foreach (var s in job.Stages.Where(s => s.ResultJson is null))
                {
                    s.Status = "aborted";
                    s.MessageId = null;
                }
                job.Status = "aborted";
                job.FailureReason = "aborted by request";
                job.UpdatedAt = DateTime.UtcNow;
                db.SaveChanges();
            }
            return View(job);
        }, ct);
    }

    /// <summary>Restarts a failed, aborted or finished job from its first stage without a successful result (all stages when every one succeeded).</summary>
    /// <exception cref="GymRequestException">404 unknown; 400 when the job is still queued or running.</exception>
    public async Task<GymJobView> RestartAsync(string id, CancellationToken ct)
    {
        var key = ParseId(id);
        var v = await WithLockAsync(db =>
        {
            var job = db.Jobs.Include(j => j.Stages).SingleOrDefault(j => j.Id == key) ?? throw new GymRequestException(404, $"no job {id}");
            if (!GymWire.IsTerminal(job.Status))
            {
                throw new GymRequestException(400, $"job {id} is {job.Status}; only failed, aborted or finished jobs restart");
            }
            var stages = job.Stages.OrderBy(s => s.Index).ToList();
            var from = stages.FindIndex(s => s.Status != "succeeded");
            from = from < 0 ? 0 : from;
            foreach (var s in stages.Skip(from))
            {
                s.Status = s.Index == from ? "queued" : "pending";
                s.ResultJson = null;
                s.Worker = null;
                s.StartedAt = null;
                s.FinishedAt = null;
                s.PublishedAt = null;
                s.MessageId = s.Index == from ? Guid.NewGuid().ToString("N") : null;
            }
            job.Status = "queued";
            job.FailureReason = null;
            job.UpdatedAt = DateTime.UtcNow;
            db.SaveChanges();
            return View(job);
        }, ct).ConfigureAwait(false);
        await TryPublishAsync(ct).ConfigureAwait(false);
        return v;
    }

    /// <summary>Records a worker's heartbeat.</summary>
    public Task HeartbeatAsync(string name, GymHeartbeat hb, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200)
        {
            throw new GymRequestException(400, "worker name must be 1..200 characters");
        }
        return WithLockAsync(db =>
        {
            var w = db.Workers.Find(name);
            if (w is null)
            {
                w = new GymWorkerRow { Name = name };
                db.Workers.Add(w);
            }
            w.Kinds = string.Join(',', hb.Kinds ?? []);
            w.CurrentJob = hb.CurrentJob;
            w.LastSeen = DateTime.UtcNow;
            db.SaveChanges();
            return 0;
        }, ct);
    }

    /// <summary>Every worker that ever sent a heartbeat, most recently seen first.</summary>
    public IReadOnlyList<GymWorkerView> Workers()
    {
        using var db = Open();
        return [.. db.Workers.AsNoTracking().OrderByDescending(w => w.LastSeen).AsEnumerable()
            .Select(w => new GymWorkerView(w.Name, w.Kinds.Split(',', StringSplitOptions.RemoveEmptyEntries), Utc(w.LastSeen)!.Value, w.CurrentJob))];
    }
}
