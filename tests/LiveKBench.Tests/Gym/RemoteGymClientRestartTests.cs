using System.Net.Http.Json;
using LiveKBench.Gym;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;
using LiveKBench.Web.Gym;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Tests.Gym;

/// <summary>
/// <see cref="RemoteGymClient"/>'s restart path (a later reproduction round: <c>fromStage</c> &gt; 0) against the real
/// scheduler API in this process. No broker runs (its URL points at a closed port, so nothing is published) and no
/// kernel is built: the test itself plays the worker through the real claim/result endpoints, taking each stage's
/// message id from the scheduler's store where a worker would receive it from RabbitMQ, and reporting the build and
/// reproduction results a real worker would (a real build/VM run is what the Slow service tests cover).
/// </summary>
public sealed class RemoteGymClientRestartTests : IAsyncDisposable
{
    private const string Token = "restart-token";
    private readonly TempDir _dir = new();
    private readonly string _url = $"http://127.0.0.1:{RabbitMqServer.FreePort()}";
    private WebApplication? _app;

    private async Task<RemoteGymClient> StartAsync()
    {
        var options = new GymSchedulerOptions { DataDir = _dir["gym"], Broker = new Uri($"amqp://guest:guest@127.0.0.1:{RabbitMqServer.FreePort()}/"), Token = Token };
        _app = GymServer.Build(_url, options, LogLevel.Critical);
        await _app.StartAsync(TestContext.Current.CancellationToken);
        return new RemoteGymClient(new Uri(_url), Token, null) { PollInterval = TimeSpan.FromMilliseconds(50) };
    }

    private static BuildRequest Build => new("0123456789abcdef0123456789abcdef01234567", KernelConfigSpec.FromFragment("CONFIG_KASAN=y\n"));

    private GymJob FinishedJobWithANewRound()
    {
        File.WriteAllText(_dir["repro.c"], "int main(void) { return 0; }\n");
        var repro = new ReproduceStageArgs(0, _dir["repro.c"], ReproducerKind.C, "KASAN: use-after-free Read in foo", Instances: 1);
        var built = new BuildResult(BuildStatus.Success, null, Build.Commit, "cfg", null, null, 100, 90, false, 10, new Dictionary<string, double>());
        var round1 = Reproduction(ReproductionVerdict.Reproduced, "KASAN: use-after-free Read in foo");
        return new GymJob("local-7", [
            new GymStage(new BuildStageArgs(Build), StageStatus.Succeeded, Build: built),
            new GymStage(repro, StageStatus.Succeeded, Reproduction: round1),
            new GymStage(repro with { Instances = 3 }),
        ]);
    }

    private static ReproductionResult Reproduction(ReproductionVerdict v, string? title)
        => new(v, v.ToString(), title, title is not null, [new InstanceVerdict(0, v, v.ToString(), title, title is not null, "console-0.log", 0, 12.5)], 0, 12.5);

    /// <summary>Plays one worker step: claims the next queued stage and stores the result <paramref name="result"/> makes for it.</summary>
    private async Task<(GymJobView Job, int Stage)> WorkOneAsync(HttpClient http, Func<int, StageArgs, GymStage> result)
    {
        var end = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < end)
        {
            long jobKey;
            int index;
            string messageId;
            using (var db = GymDbContext.Open(Path.Combine(_dir["gym"], "gym.db")))
            {
                var st = await db.Stages.AsNoTracking().Where(s => s.Status == "queued" && s.MessageId != null).OrderBy(s => s.JobId).ThenBy(s => s.Index)
                    .FirstOrDefaultAsync(TestContext.Current.CancellationToken);
                if (st is null)
                {
                    await Task.Delay(50, TestContext.Current.CancellationToken);
                    continue;
                }
                (jobKey, index, messageId) = (st.JobId, st.Index, st.MessageId!);
            }
            var id = GymScheduler.FormatId(jobKey);
            var claim = await (await http.PostAsJsonAsync($"api/jobs/{id}/stages/{index}/claim", new GymClaimRequest("test-worker", messageId, false), GymWire.Json,
                TestContext.Current.CancellationToken)).Content.ReadFromJsonAsync<GymClaimResponse>(GymWire.Json, TestContext.Current.CancellationToken);
            Assert.True(claim!.Run, claim.Reason);
            var stage = result(index, claim.Job!.Stages[index].Args);
            var stored = await (await http.PutAsJsonAsync($"api/jobs/{id}/stages/{index}/result", new GymResultRequest("test-worker", messageId, stage), GymWire.Json,
                TestContext.Current.CancellationToken)).Content.ReadFromJsonAsync<GymResultResponse>(GymWire.Json, TestContext.Current.CancellationToken);
            Assert.True(stored!.Stored);
            return (claim.Job, index);
        }
        Assert.Fail("no stage was queued within 30 s");
        return default;
    }

    private HttpClient WorkerHttp()
    {
        var h = new HttpClient { BaseAddress = new Uri(_url) };
        h.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return h;
    }

    [Fact]
    public async Task Restart_From_A_Later_Round_Sends_The_Build_Plus_Later_Stages_And_Maps_The_Results_Back()
    {
        var gym = await StartAsync();
        var job = FinishedJobWithANewRound();
        var updates = new List<GymJob>();
        var run = gym.RunAsync(job, 2, updates.Add, TestContext.Current.CancellationToken);

        using var http = WorkerHttp();
        var rebuilt = new BuildResult(BuildStatus.Success, "kcache hit", Build.Commit, "cfg", null, null, 0.4, 0, false, 0, new Dictionary<string, double>());
        var (remote, first) = await WorkOneAsync(http, (i, a) => new GymStage(a, StageStatus.Succeeded, Build: rebuilt));
        Assert.Equal(0, first);
        Assert.Equal(["build", "reproduce"], remote.Stages.Select(s => s.Kind));
        Assert.Equal(Build.Commit, Assert.IsType<BuildStageArgs>(remote.Stages[0].Args).Request.Commit);
        var sent = Assert.IsType<ReproduceStageArgs>(remote.Stages[1].Args);
        Assert.Equal(0, sent.BuildStageIndex);
        Assert.Equal(3, sent.Instances);     // the new round's arguments, not round 1's
        Assert.NotNull(sent.ReproducerSha256);
        Assert.Equal("local-7-from2", remote.Tags["localId"]);

        var round2 = Reproduction(ReproductionVerdict.NotReproduced, null);
        var (_, second) = await WorkOneAsync(http, (i, a) => new GymStage(a, StageStatus.Succeeded, Reproduction: round2));
        Assert.Equal(1, second);

        var done = await run;
        Assert.Equal(3, done.Stages.Count);
        Assert.Same(job.Stages[0], done.Stages[0]);
        Assert.Same(job.Stages[1], done.Stages[1]);
        Assert.Equal(StageStatus.Succeeded, done.Stages[2].Status);
        Assert.Equal(job.Stages[2].Args, done.Stages[2].Args);    // local reproducer path kept
        Assert.Equal(ReproductionVerdict.NotReproduced, done.Stages[2].Reproduction!.Verdict);
        Assert.Equal(round2.Instances.Single().Seconds, done.Stages[2].Reproduction!.Instances.Single().Seconds);
        Assert.NotEmpty(updates);
        Assert.All(updates, u => Assert.Equal(3, u.Stages.Count));
        Assert.All(updates, u => Assert.Equal(StageStatus.Succeeded, u.Stages[1].Status));
    }

    [Fact]
    public async Task Restart_Whose_Rebuild_Fails_Fails_The_Restarted_Stages_With_The_Build_Error()
    {
        var gym = await StartAsync();
        var job = FinishedJobWithANewRound();
        var run = gym.RunAsync(job, 2, null, TestContext.Current.CancellationToken);

        using var http = WorkerHttp();
        const string error = "git fetch of 0123456789abcdef0123456789abcdef01234567 failed: no such commit on this worker";
        await WorkOneAsync(http, (i, a) => new GymStage(a, StageStatus.Failed, Error: error));

        var done = await run;
        Assert.Equal(StageStatus.Succeeded, done.Stages[1].Status);
        Assert.Equal(ReproductionVerdict.Reproduced, done.Stages[1].Reproduction!.Verdict);
        Assert.Equal(StageStatus.Failed, done.Stages[2].Status);
        Assert.Equal(job.Stages[2].Args, done.Stages[2].Args);
        Assert.Contains("the rebuild for this stage failed", done.Stages[2].Error);
        Assert.Contains(error, done.Stages[2].Error);
        Assert.Null(done.Stages[2].Reproduction);
    }

    [Fact]
    public async Task Restart_Before_A_Stage_That_Did_Not_Succeed_Is_Refused()
    {
        var gym = await StartAsync();
        var job = FinishedJobWithANewRound();
        var broken = job with { Stages = [job.Stages[0], job.Stages[1] with { Status = StageStatus.Failed }, job.Stages[2]] };
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => gym.RunAsync(broken, 2, null, TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => gym.RunAsync(job, 4, null, TestContext.Current.CancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        _dir.Dispose();
    }
}
