using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LiveKBench.Gym;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using LiveKBench.Web.Gym;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Tests.Gym;

/// <summary>
/// A real case's baseline (<c>../shared/data/realbugs/bridge_add_del_if</c>, the quickest of the cases to build and
/// reproduce; one case keeps CI under its hour on 2 cores) built and reproduced twice from fresh workspaces: once by the
/// in-process Gym (<c>kbench kcache</c>), once through the Gym service — the scheduler in this process, a real RabbitMQ
/// server and two <c>kbench gym worker</c> processes, each with its own workspace whose mirror holds only the tarball's
/// source commit (the bugs' parent-of-fix commits travel as git bundle artifacts). Verdicts, crash titles and
/// same-crash flags must agree. Kernel builds and VMs: minutes; the ccache may be shared (<c>KBENCH_CCACHE_DIR</c>).
/// </summary>
[Trait("Category", "Slow")]
public sealed class GymRemoteBaselineTests(RabbitMqServer rabbit) : IClassFixture<RabbitMqServer>, IAsyncDisposable
{
    private const string Token = "baseline-token";
    private readonly TempDir _dir = new();
    private readonly string _url = $"http://127.0.0.1:{RabbitMqServer.FreePort()}";
    private readonly string _prefix = "b" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<Process> _workers = [];
    private readonly Dictionary<Process, StringBuilder> _logs = [];
    private WebApplication? _app;

    private static async Task<ProcessResult> Kbench(string workspace, IReadOnlyDictionary<string, string?>? env, params string[] args)
    {
        var r = await ProcessRunner.RunAsync("dotnet", [KbenchCli.Dll, .. args, "--workspace", workspace],
            new ProcessOptions { Timeout = TimeSpan.FromMinutes(60), Environment = env }, TestContext.Current.CancellationToken);
        Assert.True(r.Succeeded, $"kbench {string.Join(' ', args)} failed ({r.ExitCode}):\n{r.StandardError}\n{r.StandardOutput}");
        return r;
    }

    private static async Task Git(params string[] args)
    {
        var r = await ProcessRunner.RunAsync("git", args, new ProcessOptions { Timeout = TimeSpan.FromMinutes(10) }, TestContext.Current.CancellationToken);
        Assert.True(r.Succeeded, $"git {string.Join(' ', args)}: {r.StandardError}");
    }

    private static Dictionary<string, (string? Verdict, string? Title, bool? Same)> Baselines(ProcessResult kcache)
    {
        using var doc = JsonDocument.Parse(kcache.StandardOutput);
        return doc.RootElement.GetProperty("baselines").EnumerateArray().ToDictionary(
            b => b.GetProperty("bug").GetString()!,
            b => (b.GetProperty("verdict").GetString(), b.GetProperty("crashTitle").GetString(),
                b.GetProperty("sameCrash").ValueKind == JsonValueKind.Null ? (bool?)null : b.GetProperty("sameCrash").GetBoolean()));
    }

    private Process StartWorker(string name, string workspace)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { KbenchCli.Dll, "gym", "worker", "--scheduler", _url, "--broker", rabbit.Uri.ToString(), "--name", name,
            "--kinds", "build,reproduce", "--queue-prefix", _prefix, "--workspace", workspace })
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
        _logs[p] = log;
        return p;
    }

    private string WorkerLogs() => string.Join("\n---\n", _logs.Values.Select(l => { lock (l) { return l.ToString(); } }));

    [Fact]
    public async Task Real_Case_Baseline_Through_Scheduler_RabbitMQ_And_Two_Worker_Processes_Match_The_InProcess_Gym()
    {
        rabbit.Require();
        const string tarball = "/usr/src/linux-source-6.1.tar.xz";
        if (!File.Exists(tarball))
        {
            if (SharedData.IsCi)
            {
                Assert.Fail($"{tarball} not installed (apt-get install linux-source-6.1)");
            }
            Assert.Skip($"{tarball} not installed");
        }
        var realbugs = SharedData.Path("realbugs", "bridge_add_del_if");

        // In-process reference: a fresh workspace with its own mirror.
        var local = _dir["local"];
        await Kbench(local, null, "init");
        await Kbench(local, null, "mirror", "from-tarball", tarball);
        await Kbench(local, null, "bugs", "import", realbugs);
        var expected = Baselines(await Kbench(local, null, "kcache", "--json"));
        Assert.NotEmpty(expected);

        // Remote: the submitter's fresh workspace uses the same mirror (it adds nothing new to it: the bug commits'
        // hashes are deterministic); each worker's mirror has only the tarball's source commit (objects borrowed from
        // that mirror through git alternates, refs not), so every parent of fix reaches it as a bundle artifact.
        var mirror = Path.Combine(local, "mirrors", "linux-source-6.1");
        var remote = _dir["remote"];
        await Kbench(remote, null, "init");
        await Kbench(remote, null, "mirror", "add", "debian:linux-source-6.1", mirror);
        await Kbench(remote, null, "bugs", "import", realbugs);
        var source = (await ProcessRunner.RunAsync("git", ["-C", mirror, "rev-parse", "refs/kbench/source"], new ProcessOptions(), TestContext.Current.CancellationToken)).StandardOutput.Trim();
        foreach (var w in new[] { "w1", "w2" })
        {
            var ws = _dir[w];
            var wm = Path.Combine(ws, "mirror.git");
            await Kbench(ws, null, "init");
            await Git("init", "--bare", "-q", wm);
            await File.WriteAllTextAsync(Path.Combine(wm, "objects", "info", "alternates"), Path.Combine(mirror, "objects") + "\n", TestContext.Current.CancellationToken);
            await Git("-C", wm, "update-ref", "refs/kbench/source", source);
            await Kbench(ws, null, "mirror", "add", "debian:linux-source-6.1", wm);
        }

        _app = GymServer.Build(_url, new GymSchedulerOptions { DataDir = _dir["gym"], Broker = rabbit.Uri, Token = Token, Topology = new GymTopology(_prefix, 3) }, LogLevel.Warning);
        await _app.StartAsync(TestContext.Current.CancellationToken);
        StartWorker("w1", _dir["w1"]);
        StartWorker("w2", _dir["w2"]);
        var env = new Dictionary<string, string?> { ["KBENCH_Gym__Endpoint"] = _url, ["KBENCH_GYM_TOKEN"] = Token };
        var got = Baselines(await Kbench(remote, env, "kcache", "--json"));

        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        foreach (var (bug, e) in expected)
        {
            Assert.True(e == got[bug], $"{bug}: in process {e}, through the Gym service {got[bug]}\nworkers:\n{WorkerLogs()}");
        }
        using var http = new HttpClient();
        var jobs = await new RemoteGymClient(new Uri(_url), Token, null, http).ListAsync(null, 1, TestContext.Current.CancellationToken);
        Assert.NotEmpty(jobs);
        Assert.All(jobs, j => Assert.Equal("finished", j.Status));
        Assert.All(jobs.SelectMany(j => j.Stages), s => Assert.Equal(1, s.Attempts));
        Assert.All(jobs.SelectMany(j => j.Stages), s => Assert.Contains(s.Worker, new[] { "w1", "w2" }));
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
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }
        _dir.Dispose();
    }
}
