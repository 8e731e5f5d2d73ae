using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using LiveKBench.Kernel.Git;

namespace LiveKBench.Gym;

/// <summary>
/// Submits jobs to a Gym scheduler (<c>kbench gym serve</c>) and waits for them: reproducers are uploaded as
/// content-addressed artifacts, and a commit that exists only in this machine's mirror (above its
/// <see cref="KernelMirror.SourceRef"/>, e.g. the offline bundle bugs) travels as a git bundle artifact.
/// Polls <c>GET /api/jobs/{id}</c> every <see cref="PollInterval"/>.
/// </summary>
/// <param name="endpoint">Scheduler base URL, e.g. <c>http://gym:8080/</c>.</param>
/// <param name="token">Bearer token.</param>
/// <param name="mirror">Local mirror to bundle commits from, or null (commits must then exist on the workers).</param>
/// <param name="http">HTTP client to use, or null for a new one.</param>
public sealed class RemoteGymClient(Uri endpoint, string token, KernelMirror? mirror, HttpClient? http = null) : IGymClient
{
    private readonly HttpClient _http = Configure(http ?? new HttpClient(), endpoint, token);

    /// <summary>Time between two polls of a submitted job.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    private static HttpClient Configure(HttpClient c, Uri endpoint, string token)
    {
        c.BaseAddress ??= endpoint;
        c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    /// <summary>Submits <paramref name="request"/>.</summary>
    /// <returns>The job id.</returns>
    /// <exception cref="GymClientException">Refused (status and body in the message) or unreachable.</exception>
    public async Task<string> SubmitAsync(GymJobRequest request, CancellationToken cancellationToken)
    {
        using var r = await Send(() => _http.PostAsJsonAsync("api/jobs", request, GymWire.Json, cancellationToken)).ConfigureAwait(false);
        await EnsureAsync(r, "POST /api/jobs", cancellationToken).ConfigureAwait(false);
        var created = await r.Content.ReadFromJsonAsync<GymJobCreated>(GymWire.Json, cancellationToken).ConfigureAwait(false);
        return created?.Id ?? throw new GymClientException("POST /api/jobs answered without an id");
    }

    /// <summary>Reads job <paramref name="id"/>.</summary>
    /// <exception cref="GymClientException">Unknown id or unreachable.</exception>
    public async Task<GymJobView> GetAsync(string id, CancellationToken cancellationToken)
    {
        using var r = await Send(() => _http.GetAsync($"api/jobs/{Uri.EscapeDataString(id)}", cancellationToken)).ConfigureAwait(false);
        await EnsureAsync(r, $"GET /api/jobs/{id}", cancellationToken).ConfigureAwait(false);
        return await r.Content.ReadFromJsonAsync<GymJobView>(GymWire.Json, cancellationToken).ConfigureAwait(false)
            ?? throw new GymClientException($"GET /api/jobs/{id} answered null");
    }

    /// <summary>Lists jobs (newest first), optionally of one status, page <paramref name="page"/> (from 1).</summary>
    public async Task<IReadOnlyList<GymJobView>> ListAsync(string? status, int page, CancellationToken cancellationToken)
    {
        var q = $"api/jobs?page={page}" + (status is null ? "" : "&status=" + Uri.EscapeDataString(status));
        using var r = await Send(() => _http.GetAsync(q, cancellationToken)).ConfigureAwait(false);
        await EnsureAsync(r, "GET /api/jobs", cancellationToken).ConfigureAwait(false);
        return await r.Content.ReadFromJsonAsync<List<GymJobView>>(GymWire.Json, cancellationToken).ConfigureAwait(false) ?? [];
    }

    /// <summary>Uploads <paramref name="path"/> as an artifact; returns its SHA-256 (lowercase hex).</summary>
    public async Task<string> UploadAsync(string path, CancellationToken cancellationToken)
    {
        string sha;
        await using (var f = File.OpenRead(path))
        {
            sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(f, cancellationToken).ConfigureAwait(false));
        }
        using var head = await Send(() => _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"api/artifacts/{sha}"), cancellationToken)).ConfigureAwait(false);
        if (head.IsSuccessStatusCode)
        {
            return sha;
        }
        await using var s = File.OpenRead(path);
        using var content = new StreamContent(s);
        using var r = await Send(() => _http.PutAsync($"api/artifacts/{sha}", content, cancellationToken)).ConfigureAwait(false);
        await EnsureAsync(r, $"PUT /api/artifacts/{sha}", cancellationToken).ConfigureAwait(false);
        return sha;
    }

    /// <inheritdoc/>
    /// <remarks>
    /// A remote job runs whole on one worker, so a restart after stage 0 is sent as a new job of the build stage its
    /// first stage depends on (a kcache hit on a worker that built it before) followed by the stages from
    /// <paramref name="fromStage"/>; the answer is mapped back onto <paramref name="job"/>. A failed rebuild fails those stages with its error.
    /// </remarks>
    public async Task<GymJob> RunAsync(GymJob job, int? fromStage, Action<GymJob>? onUpdate, CancellationToken cancellationToken)
    {
        if (fromStage is int from && from > 0)
        {
            if (from > job.Stages.Count || job.Stages.Take(from).Any(s => s.Status != StageStatus.Succeeded))
            {
                throw new ArgumentOutOfRangeException(nameof(fromStage), "every stage before the restart point must have succeeded");
            }
            var buildIndex = job.Stages.Skip(from).Select(s => s.Args).OfType<ReproduceStageArgs>().Select(r => (int?)r.BuildStageIndex).FirstOrDefault()
                ?? job.Stages.Take(from).Select((s, i) => (s, i)).Last(x => x.s.Args is BuildStageArgs).i;
            var tail = job.Stages.Skip(from).Select(s => new GymStage(s.Args is ReproduceStageArgs r ? r with { BuildStageIndex = 0 } : s.Args)).ToList();
            var sub = new GymJob($"{job.Id}-from{from}", [new GymStage(job.Stages[buildIndex].Args), .. tail]);
            GymJob Merge(GymJob u)
            {
                var rebuild = u.Stages[0];
                var rest = u.Stages.Skip(1).Select((s, i) => rebuild.Status == StageStatus.Failed
                    ? s with { Args = job.Stages[from + i].Args, Status = StageStatus.Failed, Error = $"the rebuild for this stage failed: {rebuild.Error}" }
                    : s with { Args = job.Stages[from + i].Args });
                return job with { Stages = [.. job.Stages.Take(from), .. rest] };
            }
            var done = await RunAsync(sub, null, u => onUpdate?.Invoke(Merge(u)), cancellationToken).ConfigureAwait(false);
            return Merge(done);
        }
        var stages = new List<StageArgs>();
        foreach (var s in job.Stages)
        {
            stages.Add(s.Args switch
            {
                ReproduceStageArgs r when r.ReproducerSha256 is null => r with { ReproducerSha256 = await UploadAsync(r.ReproducerPath, cancellationToken).ConfigureAwait(false) },
                BuildStageArgs b when b.BundleSha256 is null && mirror is not null => b with { BundleSha256 = await BundleAsync(b.Request.Commit, cancellationToken).ConfigureAwait(false) },
                var other => other,
            });
        }
        var id = await SubmitAsync(new GymJobRequest(stages, new Dictionary<string, string> { ["localId"] = job.Id }), cancellationToken).ConfigureAwait(false);
        string? last = null;
        while (true)
        {
            var view = await GetAsync(id, cancellationToken).ConfigureAwait(false);
            var mapped = ToJob(job, view);
            var json = JsonSerializer.Serialize(view, GymWire.Json);
            if (json != last)
            {
                onUpdate?.Invoke(mapped);
                last = json;
            }
            if (GymWire.IsTerminal(view.Status))
            {
                return mapped with
                {
                    Stages = [.. mapped.Stages.Select(st => st.Status is StageStatus.Pending or StageStatus.Running
                        ? st with { Status = StageStatus.Failed, Error = $"remote job {id} {view.Status}: {view.FailureReason}" } : st)],
                };
            }
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Maps the API view of a job onto <paramref name="local"/> (its stage arguments keep local paths).</summary>
    public static GymJob ToJob(GymJob local, GymJobView view)
    {
        var stages = new List<GymStage>();
        for (var i = 0; i < local.Stages.Count; i++)
        {
            var v = i < view.Stages.Count ? view.Stages[i] : null;
            GymStage? done = v?.Result is { } r ? r.Deserialize<GymStage>(GymWire.Json) : null;
            stages.Add(done is not null ? done with { Args = local.Stages[i].Args }
                : new GymStage(local.Stages[i].Args, v?.Status switch
                {
                    "running" => StageStatus.Running,
                    "skipped" => StageStatus.Skipped,
                    "failed" or "aborted" => StageStatus.Failed,
                    _ => StageStatus.Pending,
                }, StartedAt: v?.StartedAt, FinishedAt: v?.FinishedAt, Error: v?.Status is "failed" or "aborted" ? view.FailureReason : null));
        }
        return local with { Stages = stages };
    }

    /// <summary>
    /// A git bundle of <paramref name="commit"/> minus the mirror's source commit, uploaded as an artifact; null when the
    /// commit is reachable from the source ref (every worker's mirror made from the same tarball has it).
    /// </summary>
    private async Task<string?> BundleAsync(string commit, CancellationToken ct)
    {
        var git = mirror!.Git;
        var refName = "refs/kbench/gym/" + commit;
        var hasSource = await git.TryResolveCommitAsync(KernelMirror.SourceRef, ct).ConfigureAwait(false) is not null;
        if (!hasSource || (await git.RunAsync(["merge-base", "--is-ancestor", commit, KernelMirror.SourceRef], cancellationToken: ct).ConfigureAwait(false)).Succeeded)
        {
            return null;
        }
        var file = Path.Combine(Path.GetTempPath(), $"kbench-gym-{commit}.bundle");
        try
        {
            await git.UpdateRefAsync(refName, commit, ct).ConfigureAwait(false);
            await git.RunCheckedAsync(["bundle", "create", file, refName, "--not", KernelMirror.SourceRef], cancellationToken: ct).ConfigureAwait(false);
            return await UploadAsync(file, ct).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task<HttpResponseMessage> Send(Func<Task<HttpResponseMessage>> send)
    {
        try
        {
            return await send().ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new GymClientException($"the Gym scheduler is unreachable: {ex.Message}", ex);
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage r, string what, CancellationToken ct)
    {
        if (r.IsSuccessStatusCode)
        {
            return;
        }
        var body = await r.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        throw new GymClientException($"{what}: HTTP {(int)r.StatusCode} {(r.StatusCode == HttpStatusCode.Unauthorized ? "(wrong or missing Gym token)" : "")} {body}".Trim());
    }
}
