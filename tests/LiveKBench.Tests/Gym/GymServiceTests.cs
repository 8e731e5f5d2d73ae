using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using LiveKBench.Gym;
using LiveKBench.Tests.Support;
using LiveKBench.Web.Gym;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Tests.Gym;

/// <summary>
/// The Gym as a service on a real RabbitMQ server: scheduler in this process (restartable), workers as separate
/// <c>kbench gym worker</c> processes (killable with SIGKILL). Stages are <c>noop</c> stages so the failure handling is
/// tested in seconds; every test uses its own queue prefix, data folder and loopback port.
/// </summary>
[Trait("Category", "Slow")]
public sealed class GymServiceTests(RabbitMqServer rabbit) : IClassFixture<RabbitMqServer>, IAsyncDisposable
{
    private const string Token = "test-token-123";
    private readonly TempDir _dir = new();
    private readonly int _port = RabbitMqServer.FreePort();
    private readonly string _prefix = "t" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<Process> _workers = [];
    private readonly Dictionary<Process, StringBuilder> _workerLogs = [];
    private WebApplication? _app;

    private string Url => $"http://127.0.0.1:{_port}";

    private GymSchedulerOptions Options(int deliveryLimit = 3) => new()
    {
        DataDir = _dir["gym"],
        Broker = rabbit.Uri,
        Token = Token,
        Topology = new GymTopology(_prefix, deliveryLimit),
    };

    private async Task StartSchedulerAsync(int deliveryLimit = 3)
    {
        _app = GymServer.Build(Url, Options(deliveryLimit), LogLevel.Warning);
        await _app.StartAsync(TestContext.Current.CancellationToken);
    }

    private async Task StopSchedulerAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
            _app = null;
        }
    }

    private HttpClient Client(string? token = Token)
    {
        var c = new HttpClient { BaseAddress = new Uri(Url) };
        if (token is not null)
        {
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return c;
    }

    private Process StartWorker(string name, int deliveryLimit = 3)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { KbenchCli.Dll, "gym", "worker", "--scheduler", Url, "--broker", rabbit.Uri.ToString(), "--name", name, "--kinds", "noop",
            "--queue-prefix", _prefix, "--delivery-limit", deliveryLimit.ToString(), "--workspace", _dir["no-workspace"] })
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["KBENCH_GYM_TOKEN"] = Token;
        var p = Process.Start(psi)!;
        var log = new StringBuilder();
        p.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        p.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        _workers.Add(p);
        _workerLogs[p] = log;
        return p;
    }

    private string Logs() => string.Join("\n---\n", _workerLogs.Values.Select(l => { lock (l) { return l.ToString(); } }));

    private static async Task<string> SubmitAsync(HttpClient c, params int[] delays)
    {
        var r = await c.PostAsJsonAsync("api/jobs", new GymJobRequest([.. delays.Select(d => (StageArgs)new NoopStageArgs(d))]), GymWire.Json);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return (await r.Content.ReadFromJsonAsync<GymJobCreated>(GymWire.Json))!.Id;
    }

    private static async Task<GymJobView> GetAsync(HttpClient c, string id)
        => (await c.GetFromJsonAsync<GymJobView>($"api/jobs/{id}", GymWire.Json))!;

    private async Task<GymJobView> WaitAsync(HttpClient c, string id, Func<GymJobView, bool> until, int seconds = 120)
    {
        var end = DateTime.UtcNow.AddSeconds(seconds);
        GymJobView? v = null;
        while (DateTime.UtcNow < end)
        {
            try
            {
                v = await GetAsync(c, id);
                if (until(v))
                {
                    return v;
                }
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        Assert.Fail($"job {id} did not reach the expected state in {seconds} s; last: {System.Text.Json.JsonSerializer.Serialize(v, GymWire.Json)}\nworkers:\n{Logs()}");
        return v!;
    }

    [Fact]
    public async Task Api_Requires_Token_And_Answers_Bad_Input_With_400_Or_404_Never_500()
    {
        rabbit.Require();
        await StartSchedulerAsync();
        using var anon = Client(null);
        using var wrong = Client("not-the-token");
        using var c = Client();
        Assert.Equal(HttpStatusCode.OK, (await anon.GetAsync("healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync("api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.GetAsync("api/workers")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.PostAsync("api/jobs", new StringContent("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync("openapi/v1.json")).StatusCode);

        foreach (var body in new[] { "{not json", "null", "{\"stages\":[]}", "{\"stages\":[{\"delayMs\":1}]}", "{\"stages\":[{\"stage\":\"teleport\"}]}",
            "{\"stages\":[{\"stage\":\"reproduce\",\"buildStageIndex\":0,\"reproducerPath\":\"x\",\"kind\":\"c\",\"bugTitle\":\"t\"}]}", "[1,2]" })
        {
            var r = await c.PostAsync("api/jobs", new StringContent(body, Encoding.UTF8, "application/json"));
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{body} -> {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        }
        foreach (var path in new[] { "api/jobs/zzz", "api/jobs/000000ff", "api/jobs/../x" })
        {
            var r = await c.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.NotFound, $"{path} -> {(int)r.StatusCode}");
        }
        Assert.Equal(HttpStatusCode.NotFound, (await c.PostAsync("api/jobs/000000ff/abort", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.PostAsync("api/jobs/000000ff/restart", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.GetAsync("api/jobs?status=bogus")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync("api/jobs/000000ff/stages/0/claim", new StringContent("]]", Encoding.UTF8, "application/json"))).StatusCode);

        var bytes = Encoding.UTF8.GetBytes("a console log\n");
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PutAsync("api/artifacts/" + new string('0', 64), new ByteArrayContent(bytes))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PutAsync("api/artifacts/nothex", new ByteArrayContent(bytes))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.GetAsync("api/artifacts/" + sha)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.PutAsync("api/artifacts/" + sha, new ByteArrayContent(bytes))).StatusCode);
        Assert.Equal(bytes, await c.GetByteArrayAsync("api/artifacts/" + sha));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anon.GetAsync("api/artifacts/" + sha)).StatusCode);

        var openapi = await c.GetStringAsync("openapi/v1.json");
        Assert.Contains("/api/jobs/{id}/restart", openapi);

        // A queued job (no worker) can be aborted, and restarting a running/queued job is refused with 400.
        var id = await SubmitAsync(c, 10);
        Assert.Equal(HttpStatusCode.BadRequest, (await c.PostAsync($"api/jobs/{id}/restart", null)).StatusCode);
        var aborted = await (await c.PostAsync($"api/jobs/{id}/abort", null)).Content.ReadFromJsonAsync<GymJobView>(GymWire.Json);
        Assert.Equal("aborted", aborted!.Status);
    }

    [Fact]
    public async Task A_Stage_That_Kills_Every_Worker_Is_Dead_Lettered_After_The_Delivery_Limit_And_Its_Job_Fails_With_The_Reason()
    {
        rabbit.Require();
        const int limit = 2;
        await StartSchedulerAsync(limit);
        using var c = Client();
        var id = await SubmitAsync(c, 600_000);
        var seen = 0;
        var end = DateTime.UtcNow.AddMinutes(4);
        GymJobView v;
        while (true)
        {
            var w = StartWorker($"victim{seen}", limit);
            v = await WaitAsync(c, id, j => j.Status == "failed" || (j.Stages[0].Status == "running" && j.Stages[0].Attempts > seen), 90);
            if (v.Status == "failed")
            {
                break;
            }
            seen = v.Stages[0].Attempts;
            w.Kill(entireProcessTree: true);   // SIGKILL: the worker "crashes" while it runs the stage
            await w.WaitForExitAsync();
            Assert.True(DateTime.UtcNow < end, "the job was never dead-lettered:\n" + Logs());
        }
        Assert.Equal(limit + 1, seen);
        Assert.Equal("failed", v.Stages[0].Status);
        Assert.Contains("dead-lettered", v.FailureReason);
        Assert.Contains($"delivery limit {limit}", v.FailureReason);
    }

    [Fact]
    public async Task Kill9_Of_A_Worker_Mid_Stage_The_Job_Finishes_On_The_Other_Worker_With_One_Result_Per_Stage()
    {
        rabbit.Require();
        await StartSchedulerAsync();
        using var c = Client();
        var a = StartWorker("wa");
        var b = StartWorker("wb");
        var id = await SubmitAsync(c, 15_000, 200);
        var running = await WaitAsync(c, id, j => j.Stages[0].Status == "running");
        var victim = running.Stages[0].Worker == "wa" ? a : b;
        var survivor = victim == a ? "wb" : "wa";
        victim.Kill(entireProcessTree: true);
        var done = await WaitAsync(c, id, j => GymWire.IsTerminal(j.Status), 120);
        Assert.Equal("finished", done.Status);
        Assert.Equal(survivor, done.Stages[0].Worker);
        Assert.Equal(2, done.Stages[0].Attempts);
        Assert.Equal(survivor, done.Stages[1].Worker);
        Assert.Equal(1, done.Stages[1].Attempts);
        Assert.All(done.Stages, s => Assert.Equal("succeeded", s.Status));
        Assert.All(done.Stages, s => Assert.NotNull(s.Result));
    }

    [Fact]
    public async Task Scheduler_Restart_Mid_Run_Loses_No_Job_And_Runs_No_Stage_Twice()
    {
        rabbit.Require();
        await StartSchedulerAsync();
        using var c = Client();
        StartWorker("w1");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add(await SubmitAsync(c, 3_000, 300));
        }
        await WaitAsync(c, ids[0], j => j.Stages[0].Status == "running");
        await StopSchedulerAsync();
        await Task.Delay(5_000);    // the worker finishes its stage while the scheduler is down and retries its result
        await StartSchedulerAsync();
        foreach (var id in ids)
        {
            var v = await WaitAsync(c, id, j => GymWire.IsTerminal(j.Status), 180);
            Assert.Equal("finished", v.Status);
            Assert.All(v.Stages, s => Assert.Equal(1, s.Attempts));
            Assert.All(v.Stages, s => Assert.Equal("w1", s.Worker));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var w in _workers)
        {
            if (!w.HasExited)
            {
                w.Kill(entireProcessTree: true);
                await w.WaitForExitAsync();
            }
            w.Dispose();
        }
        await StopSchedulerAsync();
        _dir.Dispose();
    }
}
