using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using LiveKBench.Arena.Stages;
using LiveKBench.Gym;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Build;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace LiveKBench.Web.Gym;

/// <summary>Settings of a Gym worker process.</summary>
public sealed record GymWorkerOptions
{
    /// <summary>Scheduler base URL.</summary>
    public required Uri Scheduler { get; init; }

    /// <summary>Broker URL, amqp://USER:PASS@HOST:PORT/VHOST.</summary>
    public required Uri Broker { get; init; }

    /// <summary>Bearer token of the scheduler.</summary>
    public required string Token { get; init; }

    /// <summary>Worker name (unique per process), default host name + pid.</summary>
    public string Name { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>Stage kinds taken.</summary>
    public IReadOnlyList<string> Kinds { get; init; } = ["build", "reproduce"];

    /// <summary>Stages run at the same time (one consumer with prefetch 1 per slot and kind; a semaphore of this size).</summary>
    public int Slots { get; init; } = 1;

    /// <summary>The worker's own workspace (mirrors, ccache, kcache, runs); needed for build and reproduce stages.</summary>
    public string? Workspace { get; init; }

    /// <summary>Queue names and delivery limit; must match the scheduler's.</summary>
    public GymTopology Topology { get; init; } = new();

    /// <summary>Time between heartbeats.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// A Gym worker: consumes its kinds' quorum queues with manual ack and prefetch 1 per slot, claims each stage from the
/// scheduler, fetches what the stage needs (reproducer, kernel image, git bundle of the commit) as artifacts, runs it
/// with the workspace's builder and VM code, uploads its artifacts, stores the result (retrying until the scheduler
/// answers) and only then acks. A worker killed mid-stage never acks: the broker redelivers the message to another
/// worker; at start-up a worker kills QEMU/make processes and prunes worktrees an earlier process of its workspace left.
/// </summary>
/// <param name="options">Settings.</param>
/// <param name="log">Logger.</param>
public sealed class GymRemoteWorker(GymWorkerOptions options, ILogger log) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = options.Scheduler, Timeout = TimeSpan.FromMinutes(30) };
    private readonly SemaphoreSlim _slots = new(options.Slots, options.Slots);
    private readonly Lazy<(Workspace Ws, KernelEnvironment Env)> _env = new(() =>
    {
        var ws = Workspace.Open(options.Workspace ?? throw new InvalidOperationException("build and reproduce stages need --workspace"));
        return (ws, KernelEnvironment.Open(ws));
    });
    private volatile string? _currentJob;

    /// <inheritdoc/>
    public void Dispose()
    {
        _http.Dispose();
        _slots.Dispose();
    }

    /// <summary>Runs until <paramref name="ct"/> is cancelled (a running stage is then abandoned unacked, so the broker redelivers it).</summary>
    /// <exception cref="RabbitMQ.Client.Exceptions.BrokerUnreachableException">The broker cannot be reached at start.</exception>
    public async Task RunAsync(CancellationToken ct)
    {
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        if (options.Kinds.Any(k => k is "build" or "reproduce"))
        {
            var (ws, env) = _env.Value;
            OrphanProcesses.KillOrphans(ws.WorkDir, log);
            await env.Mirror.PruneStaleWorktreesAsync(env.Builder.WorktreesRoot, ct).ConfigureAwait(false);
        }
        await using var connection = await GymTopology.ConnectAsync(options.Broker, "kbench-gym-worker " + options.Name, ct).ConfigureAwait(false);
        var channels = new List<IChannel>();
        try
        {
            foreach (var kind in options.Kinds)
            {
                for (var s = 0; s < options.Slots; s++)
                {
                    var ch = await connection.CreateChannelAsync(cancellationToken: ct).ConfigureAwait(false);
                    channels.Add(ch);
                    await options.Topology.DeclareAsync(ch, ct).ConfigureAwait(false);
                    await ch.BasicQosAsync(0, 1, false, ct).ConfigureAwait(false);
                    var consumer = new AsyncEventingBasicConsumer(ch);
                    consumer.ReceivedAsync += (_, ea) => OnMessageAsync(ch, ea, ct);
                    await ch.BasicConsumeAsync(options.Topology.StageQueue(kind), autoAck: false, consumer: consumer, cancellationToken: ct).ConfigureAwait(false);
                }
            }
            log.LogInformation("gym worker {Name}: consuming {Kinds} with {Slots} slot(s)", options.Name, string.Join(",", options.Kinds), options.Slots);
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    using var r = await _http.PostAsJsonAsync($"api/workers/{Uri.EscapeDataString(options.Name)}/heartbeat", new GymHeartbeat(options.Kinds, _currentJob), GymWire.Json, ct).ConfigureAwait(false);
                }
                catch (HttpRequestException ex)
                {
                    log.LogWarning("gym worker {Name}: heartbeat failed: {Error}", options.Name, ex.Message);
                }
                await Task.Delay(options.HeartbeatInterval, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var ch in channels)
            {
                await ch.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private async Task OnMessageAsync(IChannel ch, BasicDeliverEventArgs ea, CancellationToken ct)
    {
        var m = GymTopology.Parse(ea.Body);
        if (m is null)
        {
            log.LogWarning("gym worker {Name}: dropping a message that is not a stage message", options.Name);
            await ch.BasicAckAsync(ea.DeliveryTag, false, ct).ConfigureAwait(false);
            return;
        }
        await _slots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var claim = await RetryAsync(() => _http.PostAsJsonAsync($"api/jobs/{m.JobId}/stages/{m.Stage}/claim",
                new GymClaimRequest(options.Name, m.MessageId, ea.Redelivered), GymWire.Json, ct), ct).ConfigureAwait(false);
            var c = claim is null ? null : await claim.Content.ReadFromJsonAsync<GymClaimResponse>(GymWire.Json, ct).ConfigureAwait(false);
            if (c is not { Run: true, Job: { } job })
            {
                log.LogInformation("gym worker {Name}: job {Job} stage {Stage} not run: {Reason}", options.Name, m.JobId, m.Stage, c?.Reason ?? "unknown job");
                await ch.BasicAckAsync(ea.DeliveryTag, false, ct).ConfigureAwait(false);
                return;
            }
            _currentJob = m.JobId;
            log.LogInformation("gym worker {Name}: job {Job} stage {Stage} ({Kind}) started", options.Name, m.JobId, m.Stage, m.Kind);
            var stage = await RunStageAsync(job, m.Stage, ct).ConfigureAwait(false);
            stage = await UploadAsync(stage, ct).ConfigureAwait(false);
            var stored = await RetryAsync(() => _http.PutAsJsonAsync($"api/jobs/{m.JobId}/stages/{m.Stage}/result",
                new GymResultRequest(options.Name, m.MessageId, stage), GymWire.Json, ct), ct).ConfigureAwait(false);
            log.LogInformation("gym worker {Name}: job {Job} stage {Stage}: {Status} (result {Stored})", options.Name, m.JobId, m.Stage, stage.Status,
                stored is null ? "refused" : "stored");
            await ch.BasicAckAsync(ea.DeliveryTag, false, ct).ConfigureAwait(false);
        }
        finally
        {
            _currentJob = null;
            _slots.Release();
        }
    }

    /// <summary>Posts until the scheduler answers (2xx: the response; 404: null); retries every 2 s while it is down or failing.</summary>
    private async Task<HttpResponseMessage?> RetryAsync(Func<Task<HttpResponseMessage>> send, CancellationToken ct)
    {
        while (true)
        {
            try
            {
                var r = await send().ConfigureAwait(false);
                if (r.IsSuccessStatusCode)
                {
                    return r;
                }
                if (r.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.BadRequest)
                {
                    log.LogWarning("gym worker {Name}: scheduler refused: {Status} {Body}", options.Name, (int)r.StatusCode, await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
                    return null;
                }
                log.LogWarning("gym worker {Name}: scheduler answered {Status}; retrying", options.Name, (int)r.StatusCode);
            }
            catch (HttpRequestException ex)
            {
                log.LogWarning("gym worker {Name}: scheduler unreachable ({Error}); retrying", options.Name, ex.Message);
            }
            await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
        }
    }

    private async Task<GymStage> RunStageAsync(GymJobView job, int index, CancellationToken ct)
    {
        var stages = job.Stages.Select(v => v.Result is { } r ? r.Deserialize<GymStage>(GymWire.Json)! with { Args = v.Args } : new GymStage(v.Args)).ToList();
        if (stages[index].Args is NoopStageArgs)
        {
            return await new GymWorker(null, null).RunStageAsync(stages, index, ct).ConfigureAwait(false);
        }
        var (ws, env) = _env.Value;
        var inputs = Path.Combine(ws.WorkDir, "gym-inputs");
        try
        {
            switch (stages[index].Args)
            {
                case BuildStageArgs b:
                    await EnsureCommitAsync(env, b, inputs, ct).ConfigureAwait(false);
                    break;
                case ReproduceStageArgs r:
                    var repro = await DownloadAsync(r.ReproducerSha256!, inputs, ct).ConfigureAwait(false);
                    stages[index] = stages[index] with { Args = r with { ReproducerPath = repro } };
                    if (stages[r.BuildStageIndex].Build is { Artifacts: { } a } build)
                    {
                        var bz = File.Exists(a.BzImage.Path) && new FileInfo(a.BzImage.Path).Length == a.BzImage.Bytes ? a.BzImage.Path
                            : await DownloadAsync(a.BzImage.Sha256, inputs, ct).ConfigureAwait(false);
                        stages[r.BuildStageIndex] = stages[r.BuildStageIndex] with { Build = build with { Artifacts = a with { BzImage = a.BzImage with { Path = bz } } } };
                    }
                    break;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or ExternalProcessException or IOException)
        {
            return stages[index] with { Status = StageStatus.Failed, Error = "fetching the stage's inputs failed: " + ex.Message, FinishedAt = DateTimeOffset.UtcNow };
        }
        return await env.Worker.RunStageAsync(stages, index, ct).ConfigureAwait(false);
    }

    private async Task EnsureCommitAsync(KernelEnvironment env, BuildStageArgs b, string inputs, CancellationToken ct)
    {
        var git = env.Mirror.Git;
        var commit = b.Request.Commit;
        if (await git.TryResolveCommitAsync(commit, ct).ConfigureAwait(false) is not null)
        {
            return;
        }
        if (b.BundleSha256 is { } bundleSha)
        {
            var bundle = await DownloadAsync(bundleSha, inputs, ct).ConfigureAwait(false);
            var refName = "refs/kbench/gym/" + commit;
            await git.RunCheckedAsync(["fetch", "--no-tags", bundle, $"{refName}:{refName}"], cancellationToken: ct).ConfigureAwait(false);
        }
        else if (b.RepositoryUrl is { } url)
        {
            await git.RunCheckedAsync(["fetch", "--no-tags", url, commit], cancellationToken: ct).ConfigureAwait(false);
        }
        if (await git.TryResolveCommitAsync(commit, ct).ConfigureAwait(false) is null)
        {
            throw new InvalidOperationException($"commit {commit} is not in this worker's mirror and the job carries no bundle or repository that has it");
        }
    }

    /// <summary>Downloads artifact <paramref name="sha"/> into <paramref name="dir"/> (kept; checked against its hash) and returns its path.</summary>
    private async Task<string> DownloadAsync(string sha, string dir, CancellationToken ct)
    {
        var path = Path.Combine(dir, sha);
        if (File.Exists(path))
        {
            return path;
        }
        Directory.CreateDirectory(dir);
        var tmp = path + ".part";
        using (var r = await _http.GetAsync($"api/artifacts/{sha}", HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false))
        {
            r.EnsureSuccessStatusCode();
            await using var f = File.Create(tmp);
            await r.Content.CopyToAsync(f, ct).ConfigureAwait(false);
        }
        await using (var f = File.OpenRead(tmp))
        {
            var got = Convert.ToHexStringLower(await SHA256.HashDataAsync(f, ct).ConfigureAwait(false));
            if (got != sha)
            {
                throw new InvalidOperationException($"artifact {sha} arrived with hash {got}");
            }
        }
        File.Move(tmp, path, overwrite: true);
        return path;
    }

    /// <summary>Uploads the stage's kernel image, build log and console log so that other machines can use them.</summary>
    private async Task<GymStage> UploadAsync(GymStage stage, CancellationToken ct)
    {
        if (stage.Args is NoopStageArgs)
        {
            return stage;
        }
        var client = new RemoteGymClient(options.Scheduler, options.Token, null, _http);
        async Task Up(string? path)
        {
            if (path is not null && File.Exists(path))
            {
                await client.UploadAsync(path, ct).ConfigureAwait(false);
            }
        }
        await Up(stage.Build?.Artifacts?.BzImage.Path).ConfigureAwait(false);
        await Up(stage.Build?.Artifacts?.Config.Path).ConfigureAwait(false);
        await Up(stage.Build?.BuildLog?.Path).ConfigureAwait(false);
        await Up(stage.Reproduction?.LogPath).ConfigureAwait(false);
        return stage;
    }
}
