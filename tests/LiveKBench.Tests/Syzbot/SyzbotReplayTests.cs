using System.Text.Json;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Arena.Syzbot;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Tests.Syzbot;

public sealed class SyzbotReplayTests
{
    private const string Sctp = "/bug?extid=772d9e36c490b18d51d1";
    private const string SndPcm = "/bug?extid=30edd0f34bfcdc548ac4";
    private const string Netlink = "/bug?extid=da7f30a2f1a15a687839";

    [Fact]
    public async Task Day1ThenDay2_GivesTheReadmeOutcomes()
    {
        await using var h = await CrawlHarness.StartAsync();
        var expected = h.Expected().GetProperty("days");

        // day 1
        var s1 = await h.CrawlAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal(17, s1.New);
        Assert.Equal(0, s1.Transitioned);
        Assert.Equal(new Dictionary<string, int> { ["kernel config is Linux/arm64"] = 1, ["no reproducer"] = 1 }, s1.Rejected.OrderBy(kv => kv.Key).ToDictionary());
        var f1 = Assert.Single(s1.Failures);
        Assert.Equal(Sctp, f1.Link);
        Assert.Contains("HTTP 500", f1.Reason, StringComparison.Ordinal);
        Assert.Contains("4 attempt", f1.Reason, StringComparison.Ordinal);
        Assert.Equal(4, h.Server.CountOf(Sctp + "&json=1")); // retried, then given up
        AssertStoredMatches(h, expected.GetProperty("day1"));
        AssertRecords(h, expected.GetProperty("day1"));
        // Texts are cached by link: the shared kmemleak config is fetched once for its many bugs.
        Assert.Equal(1, h.Server.CountOf("/text?tag=KernelConfig&x=781a708f2114199a"));

        // day 2
        h.Server.Day = "day2";
        var s2 = await h.CrawlAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal(1, s2.New); // sctp_stream_init, failed on day 1
        Assert.Equal(1, s2.Transitioned); // snd_pcm_hw_params
        Assert.Equal(new Dictionary<string, int> { ["kernel config is Linux/arm64"] = 1, ["no reproducer"] = 2 }, s2.Rejected.OrderBy(kv => kv.Key).ToDictionary());
        var f2 = Assert.Single(s2.Failures);
        Assert.Equal(Netlink, f2.Link);
        Assert.Contains("HTTP 404", f2.Reason, StringComparison.Ordinal);
        Assert.Equal(1, h.Server.CountOf(Netlink + "&json=1")); // 404 is not retried
        AssertStoredMatches(h, expected.GetProperty("day2"));
        AssertRecords(h, expected.GetProperty("day2"));

        using var db = h.Workspace.OpenStore();
        var snd = BugRepository.Find(db, "30edd0f34bfcdc548ac4")!;
        Assert.Equal(BugStatus.Fixed, snd.Status);
        Assert.Equal("66f2d19f8116e16898f8d82e28573a384ddc430d", Assert.Single(snd.FixCommits).Hash);
        Assert.Equal(new DateTime(2020, 1, 31, 6, 41, 23, 512, DateTimeKind.Utc), snd.FixTime!.Value.AddTicks(-(snd.FixTime.Value.Ticks % TimeSpan.TicksPerMillisecond)));
        Assert.NotNull(snd.DeveloperPatch);
        Assert.Equal(DeveloperPatchStatus.Missing, snd.DeveloperPatch!.Status);
        Assert.Equal("66f2d19f8116e16898f8d82e28573a384ddc430d", snd.DeveloperPatch.CommitHash);
        Assert.Contains("no kernel mirror", snd.DeveloperPatch.FailureReason, StringComparison.Ordinal);
        var sndRecord = db.CrawlRecords.Single(r => r.Link == SndPcm);
        Assert.Equal(CrawlOutcome.Stored, sndRecord.Outcome);

        // Field details.
        var vb2 = BugRepository.Find(db, "e1fb118a2ebb88031d21")!;
        Assert.Equal(2, vb2.Crashes.Count);
        Assert.Equal("x86_64", vb2.Architecture);
        Assert.StartsWith("#\n# Automatically generated file", vb2.KernelConfig, StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(vb2.CrashReport));
        Assert.Null(vb2.KernelSourceCommit); // absent in the replay, kept anyway
        Assert.Equal(ReproducerKind.Syz, vb2.Reproducers.Single(r => r.Kind == ReproducerKind.Syz).Kind);
        Assert.Contains("procs", vb2.Reproducers.Single(r => r.Kind == ReproducerKind.Syz).Options, StringComparison.Ordinal);
        var lru = BugRepository.Find(db, "e7353c7141ff7cbb718e4c888a14fa92de41ebaa")!; // 40-hex legacy extid
        Assert.Equal(BugStatus.Open, lru.Status);
        Assert.Equal(2, BugRepository.Find(db, "62a1e04fd3ec2abf099e")!.FixCommits.Count); // hiddev_release

        // A third crawl changes nothing and asks for no bug detail it already has.
        var before = h.Server.Requests.Count;
        var s3 = await h.CrawlAsync(ct: TestContext.Current.CancellationToken);
        Assert.Equal((0, 0, 0), (s3.New, s3.Updated, s3.Transitioned));
        Assert.Equal(18, db.Bugs.Count());
        Assert.DoesNotContain(h.Server.Requests.Skip(before), r => r.Target == SndPcm + "&json=1");
    }

    internal static void AssertStoredMatches(CrawlHarness h, JsonElement day)
    {
        using var db = h.Workspace.OpenStore();
        var bugs = BugRepository.Load(db);
        var stored = day.GetProperty("stored").EnumerateArray().ToList();
        Assert.Equal(stored.Count, bugs.Count);
        foreach (var e in stored)
        {
            var link = e.GetProperty("link").GetString()!;
            var bug = Assert.Single(bugs, b => b.Link == h.Server.BaseUrl + link);
            Assert.Equal(e.GetProperty("title").GetString(), bug.Title);
            Assert.Equal(e.GetProperty("list").GetString(), EnumText.ToText(bug.Status));
            Assert.Equal(BugSource.Syzbot, bug.Source);
            Assert.Equal(e.GetProperty("syzReproducer").GetBoolean(), bug.Reproducers.Any(r => r.Kind == ReproducerKind.Syz));
            Assert.Equal(e.GetProperty("cReproducer").GetBoolean(), bug.Reproducers.Any(r => r.Kind == ReproducerKind.C));
            Assert.Equal(
                e.GetProperty("fixCommits").EnumerateArray().Select(x => x.GetString()).ToList(),
                bug.FixCommits.OrderBy(f => f.Index).Select(f => f.Title).ToList());
            Assert.Equal("x86_64", bug.Architecture);
            Assert.Equal("upstream", bug.Namespace);
            Assert.All(bug.Reproducers, r => Assert.False(string.IsNullOrWhiteSpace(r.Text)));
            if (bug.Status == BugStatus.Fixed)
            {
                Assert.NotNull(bug.DeveloperPatch); // missing here: no mirror registered
            }
        }
    }

    internal static void AssertRecords(CrawlHarness h, JsonElement day)
    {
        using var db = h.Workspace.OpenStore();
        var records = db.CrawlRecords.AsNoTracking().ToList();
        foreach (var s in day.GetProperty("skipped").EnumerateArray())
        {
            var link = s.GetProperty("link").GetString()!;
            var reason = s.GetProperty("reason").GetString()!;
            var r = Assert.Single(records, x => x.Link == link);
            Assert.Equal(s.GetProperty("title").GetString(), r.Title);
            if (reason.StartsWith("detail page returns HTTP", StringComparison.Ordinal))
            {
                Assert.Equal(CrawlOutcome.Failed, r.Outcome);
                Assert.Contains(reason["detail page returns ".Length..], r.Reason, StringComparison.Ordinal);
                Assert.True(r.Attempts >= 1);
            }
            else
            {
                Assert.Equal(CrawlOutcome.Rejected, r.Outcome);
                Assert.Equal(reason, r.Reason);
            }
        }
        Assert.Equal(day.GetProperty("stored").GetArrayLength(), records.Count(r => r.Outcome == CrawlOutcome.Stored));
    }
}
