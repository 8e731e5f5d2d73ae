using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Arena.Syzbot;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Time.Testing;

namespace LiveKBench.Tests.Syzbot;

public sealed class SyzbotRobustnessTests
{
    private const string TorvaldsRepo = "git://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git";
    private const string SndPcm = "/bug?extid=30edd0f34bfcdc548ac4";

    [Fact]
    public async Task ConcurrentCallersForOneTextShareOneFetch()
    {
        // Bugs crawled in parallel share texts (one kernel config for many bugs). The server holds its answer until
        // the test has started every caller, so without sharing each caller would miss the cache and send its own request.
        await using var h = await CrawlHarness.StartAsync();
        const string Link = "/text?tag=KernelConfig&x=1234abcd";
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        h.Server.Overrides[Link] = async ctx =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await ctx.Response.WriteAsync("CONFIG_KASAN=y\n");
        };
        using var client = new SyzbotClient(h.ClientOptions());
        var calls = Enumerable.Range(0, 6).Select(_ => client.GetTextAsync(Link, TestContext.Current.CancellationToken)).ToList();
        await Task.Delay(200, TestContext.Current.CancellationToken); // lets any extra request reach the server
        release.SetResult();
        var texts = await Task.WhenAll(calls);
        Assert.All(texts, t => Assert.Equal("CONFIG_KASAN=y\n", t));
        Assert.Equal(1, h.Server.CountOf(Link));
        Assert.Equal("CONFIG_KASAN=y\n", await client.GetTextAsync(Link, TestContext.Current.CancellationToken)); // now from the cache
        Assert.Equal(1, h.Server.CountOf(Link));
    }

    [Fact]
    public async Task RateLimitHoldsUnderConcurrency_RetriesIncluded()
    {
        // The client's clock is a FakeTimeProvider: the rate limiter waits on it and every request is stamped with it
        // as it leaves the client, so the assertion is on the limiter's own time and holds on a loaded machine.
        await using var h = await CrawlHarness.StartAsync();
        // One retried request: the snd_pcm_hw_params detail answers 503 once.
        var first = 0;
        var body = h.Server.ReadData(h.Server.FileOf("day1", SndPcm + "&json=1"));
        h.Server.Overrides[SndPcm + "&json=1"] = async ctx =>
        {
            if (Interlocked.Increment(ref first) == 1)
            {
                ctx.Response.StatusCode = 503;
                return;
            }
            ctx.Response.ContentType = "application/json";
            await ctx.Response.Body.WriteAsync(body);
        };
        const int n = 4;
        var period = TimeSpan.FromSeconds(1);
        var time = new FakeTimeProvider();
        using var recorder = new StampingHandler(time);
        using var client = new SyzbotClient(h.ClientOptions(n, period.TotalSeconds) with { TimeProvider = time }, recorder);
        var crawl = h.Crawler(client).CrawlAsync(new CrawlOptions { Limit = 4, Concurrency = 8 }, null, TestContext.Current.CancellationToken);
        // Move the fake clock only while the crawl waits for the limiter: every request the limiter granted has
        // left the client and answered, and nothing happened for a while.
        var advances = 0;
        while (!crawl.IsCompleted)
        {
            var before = recorder.Sent;
            await Task.WhenAny(crawl, Task.Delay(50, TestContext.Current.CancellationToken));
            if (!crawl.IsCompleted && recorder.Sent == before && recorder.InFlight == 0 && client.RequestCount == recorder.Sent)
            {
                time.Advance(period / 4);
                Assert.True(++advances < 10_000, "the crawl does not finish");
            }
        }
        var summary = await crawl;
        Assert.Equal(2, first); // retried
        Assert.True(summary.New >= 1);
        var at = recorder.Stamps.Order().ToList();
        Assert.True(at.Count > 2 * n, $"only {at.Count} requests");
        Assert.Equal(h.Server.Requests.Count, at.Count); // every request the server saw was stamped
        Assert.True(at[^1] - at[0] >= period * ((at.Count - 1) / n), $"{at.Count} requests within {at[^1] - at[0]} of fake time");
        // No n+1 requests within one period of the limiter's clock (exact: no slack needed).
        for (var i = 0; i + n < at.Count; i++)
        {
            Assert.True(at[i + n] - at[i] >= period, $"requests {i}..{i + n} within {(at[i + n] - at[i]).TotalMilliseconds} ms");
        }
    }

    [Fact]
    public async Task RollingWindowLimiterNeverExceedsItsLimit()
    {
        var time = new FakeTimeProvider();
        var period = TimeSpan.FromMilliseconds(200);
        using var limiter = new RollingWindowRateLimiter(3, period, time);
        var times = new System.Collections.Concurrent.ConcurrentQueue<DateTimeOffset>();
        var all = Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(async () =>
        {
            using var lease = await limiter.AcquireAsync(1, TestContext.Current.CancellationToken);
            Assert.True(lease.IsAcquired);
            times.Enqueue(time.GetUtcNow()); // the clock moves only below, after these stamps
        })));
        var start = time.GetUtcNow();
        for (var expected = 3; ; expected = Math.Min(expected + 3, 10))
        {
            while (times.Count < expected)
            {
                Assert.False(all.IsFaulted, all.Exception?.ToString());
                await Task.Delay(5, TestContext.Current.CancellationToken);
            }
            // At a fixed instant at most 3 acquisitions fit: waiting longer lets no other one through.
            await Task.Delay(50, TestContext.Current.CancellationToken);
            Assert.Equal(expected, times.Count);
            if (expected == 10)
            {
                break;
            }
            Assert.False(limiter.AttemptAcquire(1).IsAcquired);
            time.Advance(period + TimeSpan.FromMilliseconds(1)); // the limiter waits 1 ms past the period
        }
        await all;
        var t = times.Order().ToList();
        for (var i = 0; i + 3 < t.Count; i++)
        {
            Assert.True(t[i + 3] - t[i] >= period, $"{(t[i + 3] - t[i]).TotalMilliseconds} ms");
        }
        Assert.Equal([0, 0, 0, 201, 201, 201, 402, 402, 402, 603], t.Select(x => (int)(x - start).TotalMilliseconds));
        Assert.False(limiter.AttemptAcquire(3).IsAcquired);
    }

    /// <summary>Stamps every request with the fake clock as it leaves the client, and counts requests in flight.</summary>
    private sealed class StampingHandler(TimeProvider time) : DelegatingHandler(new SocketsHttpHandler())
    {
        private int _inFlight;
        private long _sent;

        public System.Collections.Concurrent.ConcurrentQueue<TimeSpan> Stamps { get; } = new();

        public int InFlight => Volatile.Read(ref _inFlight);

        public long Sent => Interlocked.Read(ref _sent);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _inFlight);
            Stamps.Enqueue(TimeSpan.FromTicks(time.GetUtcNow().UtcTicks));
            Interlocked.Increment(ref _sent);
            try
            {
                var response = await base.SendAsync(request, cancellationToken);
                await response.Content.LoadIntoBufferAsync(cancellationToken);
                return response;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }
    }

    [Fact]
    public async Task CancelledCrawlResumesWithoutDuplicates()
    {
        await using var h = await CrawlHarness.StartAsync();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        using (var client = new SyzbotClient(h.ClientOptions()))
        {
            var progress = new SyncProgress(p =>
            {
                if (p.Done >= 6)
                {
                    cts.Cancel();
                }
            });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Crawler(client).CrawlAsync(new CrawlOptions { Concurrency = 2 }, progress, cts.Token));
        }
        int partial;
        using (var db = h.Workspace.OpenStore())
        {
            partial = db.Bugs.Count();
        }
        Assert.InRange(partial, 1, 16);

        var rest = await h.CrawlAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal(17, partial + rest.New);
        using (var db = h.Workspace.OpenStore())
        {
            Assert.Equal(17, db.Bugs.Count());
            Assert.Equal(18, db.BugCrashes.Count()); // vb2_queue_free has two
            Assert.Equal(17, db.Reproducers.Count(r => r.Kind == ReproducerKind.Syz));
            Assert.Equal(20, db.CrawlRecords.Count()); // one per list entry
            Assert.Equal(db.Bugs.Count(b => b.Status == BugStatus.Fixed), db.DeveloperPatches.Count());
        }
        SyzbotReplayTests.AssertStoredMatches(h, h.Expected().GetProperty("days").GetProperty("day1"));
    }

    [Fact]
    public async Task DeveloperPatchComesFromTheMirror_OnceItHasTheCommit()
    {
        await using var h = await CrawlHarness.StartAsync();
        var repo = Path.Combine(h.Root, "mirror-linux");
        Directory.CreateDirectory(repo);
        await Git(repo, "init", "-q", "-b", "master");
        await File.WriteAllTextAsync(Path.Combine(repo, "pcm.c"), "int leak(void)\n{\n\treturn 0;\n}\n", TestContext.Current.CancellationToken);
        await Git(repo, "add", "pcm.c");
        await Git(repo, "commit", "-q", "-m", "ALSA: pcm: base");
        var parent = (await Git(repo, "rev-parse", "HEAD")).Trim();
        await File.WriteAllTextAsync(Path.Combine(repo, "pcm.c"), "int leak(void)\n{\n\tkfree(p);\n\treturn 0;\n}\n", TestContext.Current.CancellationToken);
        await Git(repo, "commit", "-q", "-a", "-m", "ALSA: pcm: Fix memory leak at closing a stream without hw_free\n\nReported-by: syzbot");
        var fix = (await Git(repo, "rev-parse", "HEAD")).Trim();

        // day 2 names our fix commit instead of the real one.
        var day2 = Encoding.UTF8.GetString(h.Server.ReadData(h.Server.FileOf("day2", SndPcm + "&json=1")))
            .Replace("66f2d19f8116e16898f8d82e28573a384ddc430d", fix, StringComparison.Ordinal);
        var ct = TestContext.Current.CancellationToken;
        await h.CrawlAsync(ct: ct);
        h.Server.Day = "day2";
        h.Server.Overrides[SndPcm + "&json=1"] = async ctx =>
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(day2);
        };

        // No mirror yet: stored as fixed, developer patch missing with the reason.
        var s2 = await h.CrawlAsync(ct: ct);
        Assert.Equal(1, s2.Transitioned);
        using (var db = h.Workspace.OpenStore())
        {
            var dp = db.DeveloperPatches.AsNoTracking().Single(d => d.BugId == "30edd0f34bfcdc548ac4");
            Assert.Equal(DeveloperPatchStatus.Missing, dp.Status);
            Assert.Equal(fix, dp.CommitHash);
            Assert.Contains("no kernel mirror", dp.FailureReason, StringComparison.Ordinal);
        }

        // A mirror appears (mapped from the replay's repo URL): the next crawl re-checks and stores the patch.
        var mirrors = new Dictionary<string, string> { ["https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux"] = repo };
        var s3 = await h.CrawlAsync(mirrors: mirrors, ct: ct);
        Assert.Equal(1, s3.Updated);
        using (var db = h.Workspace.OpenStore())
        {
            var bug = BugRepository.Find(db, "30edd0f34bfcdc548ac4")!;
            var dp = bug.DeveloperPatch!;
            Assert.Equal(DeveloperPatchStatus.Available, dp.Status);
            Assert.Equal(fix, dp.CommitHash);
            Assert.Equal(parent, dp.ParentCommit);
            Assert.Equal(parent, bug.ParentOfFix);
            Assert.Equal(fix, bug.MirrorFixCommit);
            Assert.Equal(new DateTime(2020, 2, 1, 8, 0, 0, DateTimeKind.Utc), dp.FixedTime); // committer date +02:00 → UTC
            Assert.Equal(DateTimeKind.Utc, dp.FixedTime!.Value.Kind);
            Assert.StartsWith("ALSA: pcm: Fix memory leak", dp.Message, StringComparison.Ordinal);
            Assert.Equal("Dev Eloper <dev@example.org>", dp.Author);
            Assert.Contains("+\tkfree(p);", dp.Patch!.Content, StringComparison.Ordinal);
            Assert.StartsWith("diff --git a/pcm.c b/pcm.c", dp.Patch.Content, StringComparison.Ordinal);
            Assert.Equal(["pcm.c"], dp.Patch.ModifiedFiles);
            // The other fixed bugs' commits are not in this mirror: still missing, with the mirror named.
            var other = db.DeveloperPatches.AsNoTracking().Single(d => d.BugId == "88533dc8b582309bf3ee");
            Assert.Equal(DeveloperPatchStatus.Missing, other.Status);
            Assert.Contains("is in no local mirror (tried " + repo, other.FailureReason, StringComparison.Ordinal);
            Assert.Contains("--allow-fetch", other.FailureReason, StringComparison.Ordinal);
        }

        // Nothing left to find: a further crawl changes nothing.
        var s4 = await h.CrawlAsync(mirrors: mirrors, ct: ct);
        Assert.Equal((0, 0, 0), (s4.New, s4.Updated, s4.Transitioned));
    }

    [Fact]
    public async Task AllowFetchFetchesAMissingFixIntoTheMappedMirror()
    {
        var root = Path.Combine(Path.GetTempPath(), "kbench-fetch-" + Guid.NewGuid().ToString("N"));
        try
        {
            var upstream = Path.Combine(root, "upstream");
            Directory.CreateDirectory(upstream);
            await Git(upstream, "init", "-q", "-b", "master");
            await File.WriteAllTextAsync(Path.Combine(upstream, "a.c"), "int a;\n", TestContext.Current.CancellationToken);
            await Git(upstream, "add", "a.c");
            await Git(upstream, "commit", "-q", "-m", "base");
            var mirror = Path.Combine(root, "mirror.git");
            await Git(root, "clone", "-q", "--bare", upstream, mirror);
            await File.WriteAllTextAsync(Path.Combine(upstream, "a.c"), "int a = 1;\n", TestContext.Current.CancellationToken);
            await Git(upstream, "commit", "-q", "-a", "-m", "fix a");
            var fix = (await Git(upstream, "rev-parse", "HEAD")).Trim();
            var map = new Dictionary<string, string> { [TorvaldsRepo] = mirror };

            var (none, reason) = await new DeveloperPatchResolver(map, allowFetch: false).ResolveAsync(fix, TorvaldsRepo, TestContext.Current.CancellationToken);
            Assert.Null(none);
            Assert.Contains("--allow-fetch", reason, StringComparison.Ordinal);

            var (found, why) = await new DeveloperPatchResolver(map, allowFetch: true).ResolveAsync(fix, TorvaldsRepo, TestContext.Current.CancellationToken);
            Assert.True(found is not null, why);
            Assert.Equal(fix, found!.CommitHash);
            Assert.Contains("+int a = 1;", found.Diff, StringComparison.Ordinal);
            Assert.Equal(fix, (await Git(mirror, "rev-parse", "refs/kbench/fixes/" + fix)).Trim());
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task CliCrawlThenBugsList()
    {
        await using var h = await CrawlHarness.StartAsync();
        var kbench = KbenchCli.Dll;
        Assert.True(File.Exists(kbench), kbench);
        var env = new Dictionary<string, string?>
        {
            ["KBENCH_Syzbot__RequestsPerPeriod"] = "1000",
            ["KBENCH_Syzbot__PeriodSeconds"] = "1",
            ["KBENCH_Syzbot__RetryBaseDelaySeconds"] = "0.001",
            ["KBENCH_WORKSPACE"] = null,
        };
        var ct = TestContext.Current.CancellationToken;
        async Task<ProcessResult> Kbench(params string[] args)
            => await ProcessRunner.RunAsync("dotnet", [kbench, "--workspace", h.Root, .. args], new ProcessOptions { Environment = env, Timeout = TimeSpan.FromMinutes(3) }, ct);

        var crawl = await Kbench("crawl", "--syzbot-url", h.Server.BaseUrl, "--json");
        Assert.True(crawl.Succeeded, crawl.StandardError + crawl.StandardOutput);
        using (var doc = JsonDocument.Parse(crawl.StandardOutput))
        {
            var r = doc.RootElement;
            Assert.Equal(17, r.GetProperty("new").GetInt32());
            Assert.Equal(0, r.GetProperty("updated").GetInt32());
            Assert.Equal(0, r.GetProperty("transitioned").GetInt32());
            Assert.Equal(1, r.GetProperty("rejected").GetProperty("no reproducer").GetInt32());
            Assert.Equal(1, r.GetProperty("rejected").GetProperty("kernel config is Linux/arm64").GetInt32());
            Assert.Equal(1, r.GetProperty("failed").GetInt32());
        }

        var list = await Kbench("bugs", "list", "--json");
        Assert.True(list.Succeeded, list.StandardError);
        using (var doc = JsonDocument.Parse(list.StandardOutput))
        {
            var rows = doc.RootElement.EnumerateArray().ToList();
            Assert.Equal(17, rows.Count);
            Assert.Equal(11, rows.Count(r => r.GetProperty("status").GetString() == "fixed"));
            var snd = rows.Single(r => r.GetProperty("id").GetString() == "30edd0f34bfcdc548ac4");
            Assert.Equal("open", snd.GetProperty("status").GetString());
            Assert.Equal("c,syz", string.Join(",", snd.GetProperty("reproducers").EnumerateArray().Select(x => x.GetString())));
        }

        var rejected = await Kbench("bugs", "list", "--rejected", "--json");
        Assert.True(rejected.Succeeded, rejected.StandardError);
        using (var doc = JsonDocument.Parse(rejected.StandardOutput))
        {
            var rows = doc.RootElement.EnumerateArray().ToList();
            Assert.Equal(3, rows.Count);
            Assert.Contains(rows, r => r.GetProperty("outcome").GetString() == "failed" && r.GetProperty("link").GetString() == "/bug?extid=772d9e36c490b18d51d1");
        }

        h.Server.Day = "day2";
        var crawl2 = await Kbench("crawl", "--syzbot-url", h.Server.BaseUrl, "--json");
        Assert.True(crawl2.Succeeded, crawl2.StandardError);
        using (var doc = JsonDocument.Parse(crawl2.StandardOutput))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("new").GetInt32());
            Assert.Equal(1, doc.RootElement.GetProperty("transitioned").GetInt32());
        }
        var bad = await Kbench("crawl", "--syzbot-url", "not a url");
        Assert.Equal(2, bad.ExitCode);
    }

    private static async Task<string> Git(string repo, params string[] args)
    {
        var env = new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_NAME"] = "Dev Eloper",
            ["GIT_AUTHOR_EMAIL"] = "dev@example.org",
            ["GIT_COMMITTER_NAME"] = "Maintainer",
            ["GIT_COMMITTER_EMAIL"] = "maint@example.org",
            ["GIT_AUTHOR_DATE"] = "2020-01-29T19:59:07+00:00",
            ["GIT_COMMITTER_DATE"] = "2020-02-01T10:00:00+02:00",
            ["GIT_CONFIG_GLOBAL"] = "/dev/null",
            ["GIT_CONFIG_NOSYSTEM"] = "1",
        };
        var r = await ProcessRunner.RunCheckedAsync("git", ["-C", repo, .. args], new ProcessOptions { Environment = env, Timeout = TimeSpan.FromMinutes(1) }, TestContext.Current.CancellationToken);
        return r.StandardOutput;
    }

    private sealed class SyncProgress(Action<CrawlProgress> report) : IProgress<CrawlProgress>
    {
        public void Report(CrawlProgress value) => report(value);
    }
}
