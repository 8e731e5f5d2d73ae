using System.Text;
using LiveKBench.Arena.Store;
using LiveKBench.Arena.Syzbot;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Tests.Syzbot;

public sealed class SyzbotBadInputTests
{
    private const string Good = "/bug?extid=611164843bd48cc2190c"; // rxrpc_error_report (open, C+syz)
    private const string Malformed = "/bug?extid=aaaaaaaaaaaaaaaaaaa1";
    private const string Missing = "/bug?extid=aaaaaaaaaaaaaaaaaaa2";
    private const string NotFound = "/bug?extid=aaaaaaaaaaaaaaaaaaa3";
    private const string ServerError = "/bug?extid=aaaaaaaaaaaaaaaaaaa4";
    private const string Slow = "/bug?extid=aaaaaaaaaaaaaaaaaaa5";
    private const string BadText = "/bug?extid=aaaaaaaaaaaaaaaaaaa6";
    private const string Throttled = "/bug?extid=aaaaaaaaaaaaaaaaaaa7";
    private const string Absolute = "https://evil.example/bug?extid=aaaaaaaaaaaaaaaaaaa8";
    private const string NotHex = "/bug?extid=zzzz-not-hex";

    [Fact]
    public async Task EachBadEntryIsRecordedAsFailed_AndTheCrawlGoesOn()
    {
        await using var h = await CrawlHarness.StartAsync();
        var s = h.Server;
        var links = new[] { Malformed, Missing, Good, NotFound, ServerError, Slow, BadText, Throttled, Absolute, NotHex };
        var list = "{\"version\":1,\"Bugs\":[" + string.Join(",", links.Select((l, i) => $"{{\"title\":\"bug {i}\",\"link\":\"{l.Replace("&", "\\u0026", StringComparison.Ordinal)}\"}}")) + "]}";
        Json(s, "/upstream?json=1", list);
        Json(s, "/upstream/fixed?json=1", "{\"version\":1,\"Bugs\":null}");
        Json(s, Malformed + "&json=1", "{\"version\":1,\"title\":\"cut off");
        Json(s, Missing + "&json=1", "{\"version\":1,\"title\":\"no id, status or crashes\"}");
        s.Overrides[ServerError + "&json=1"] = ctx => Status(ctx, 500);
        s.Overrides[Slow + "&json=1"] = async ctx =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), ctx.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        };
        var nrRx2 = Encoding.UTF8.GetString(s.ReadData(s.FileOf("day1", "/bug?extid=0145ea560de205bc09f0&json=1")));
        Json(s, BadText + "&json=1", System.Text.RegularExpressions.Regex.Replace(nrRx2, @"/text\?tag=ReproSyz\\u0026x=[0-9a-f]+", "/text?tag=ReproSyz\\u0026x=badbadbad"));
        s.Overrides["/text?tag=ReproSyz&x=badbadbad"] = async ctx =>
        {
            ctx.Response.ContentType = "text/plain; charset=utf-8";
            await ctx.Response.Body.WriteAsync(new byte[] { (byte)'r', (byte)'0', 0xff, 0xfe, (byte)'\n' });
        };
        var llc = s.ReadData(s.FileOf("day1", "/bug?extid=6bf095f9becf5efef645&json=1"));
        var throttledOnce = 0;
        s.Overrides[Throttled + "&json=1"] = async ctx =>
        {
            if (Interlocked.Increment(ref throttledOnce) == 1)
            {
                ctx.Response.StatusCode = 429;
                ctx.Response.Headers.RetryAfter = "1";
                await ctx.Response.WriteAsync("429 Too Many Requests\nAllowed rate is 1 per second");
                return;
            }
            ctx.Response.ContentType = "application/json";
            await ctx.Response.Body.WriteAsync(llc);
        };

        var options = h.ClientOptions() with { RequestTimeout = TimeSpan.FromMilliseconds(400), MaxAttempts = 2, MaxRetryDelay = TimeSpan.FromSeconds(3) };
        var summary = await h.CrawlAsync(clientOptions: options, ct: TestContext.Current.CancellationToken);

        Assert.Equal(2, summary.New); // the good one, and the throttled one after honouring Retry-After
        var reasons = summary.Failures.ToDictionary(f => f.Link, f => f.Reason);
        Assert.Equal(8, reasons.Count);
        Assert.Contains("malformed JSON", reasons[Malformed], StringComparison.Ordinal);
        Assert.Contains("missing field(s) id, status, crashes", reasons[Missing], StringComparison.Ordinal);
        Assert.Contains("HTTP 404 after 1 attempt", reasons[NotFound], StringComparison.Ordinal);
        Assert.Contains("HTTP 500 after 2 attempt", reasons[ServerError], StringComparison.Ordinal);
        Assert.Contains("no complete answer within 0.4 s", reasons[Slow], StringComparison.Ordinal);
        Assert.Contains("not valid UTF-8", reasons[BadText], StringComparison.Ordinal);
        Assert.Contains("unexpected bug link format", reasons[Absolute], StringComparison.Ordinal);
        Assert.Contains("unexpected bug link format", reasons[NotHex], StringComparison.Ordinal);
        Assert.Equal(2, s.CountOf(Slow + "&json=1"));

        // Retry-After: 1 was honoured (capped at MaxRetryDelay = 3 s, far above the 1 ms back-off).
        var throttledAt = s.Requests.Where(r => r.Target == Throttled + "&json=1").Select(r => r.At).ToList();
        Assert.Equal(2, throttledAt.Count);
        Assert.True(throttledAt[1] - throttledAt[0] >= TimeSpan.FromMilliseconds(900), $"retried after {(throttledAt[1] - throttledAt[0]).TotalMilliseconds} ms");

        using (var db = h.Workspace.OpenStore())
        {
            var failed = db.CrawlRecords.AsNoTracking().Where(r => r.Outcome == CrawlOutcome.Failed).ToList();
            Assert.Equal(8, failed.Count);
            Assert.All(failed, r => Assert.Equal(1, r.Attempts));
            Assert.All(failed, r => Assert.False(string.IsNullOrEmpty(r.Reason)));
            Assert.Equal(2, db.Bugs.Count());
        }

        // The next crawl retries every failed entry (and no longer the stored ones).
        var again = await h.CrawlAsync(clientOptions: options, ct: TestContext.Current.CancellationToken);
        Assert.Equal(8, again.Failed);
        Assert.Equal(0, again.New);
        using (var db = h.Workspace.OpenStore())
        {
            Assert.All(db.CrawlRecords.AsNoTracking().Where(r => r.Outcome == CrawlOutcome.Failed).ToList(), r => Assert.Equal(2, r.Attempts));
        }
        Assert.Equal(2, s.CountOf(Malformed + "&json=1"));
    }

    [Fact]
    public async Task ListPageErrorsAreReportedNotThrown()
    {
        await using var h = await CrawlHarness.StartAsync();
        h.Server.Overrides["/upstream?json=1"] = ctx => Status(ctx, 503);
        var summary = await h.CrawlAsync(clientOptions: h.ClientOptions() with { MaxAttempts = 2 }, ct: TestContext.Current.CancellationToken);
        Assert.Single(summary.ListErrors);
        Assert.Contains("HTTP 503", summary.ListErrors[0], StringComparison.Ordinal);
        Assert.Equal(0, summary.New);
    }

    [Theory]
    [InlineData("/bug?extid=88533dc8b582309bf3ee", "extid", "88533dc8b582309bf3ee")]
    [InlineData("/bug?extid=E7353C7141FF7CBB718E4C888A14FA92DE41EBAA", "extid", "e7353c7141ff7cbb718e4c888a14fa92de41ebaa")]
    [InlineData("/bug?id=2892b153b44759e5497b857ad16b58f6ba7d4d14", "id", "2892b153b44759e5497b857ad16b58f6ba7d4d14")]
    public void BugLinksParse(string link, string kind, string value)
    {
        var l = BugLink.Parse(link);
        Assert.Equal((kind, value), (l.Kind, l.Value));
    }

    [Theory]
    [InlineData("/bug?id=1234")]
    [InlineData("/bug?extid=88533dc8b582309bf3ee&x=1")]
    [InlineData("bug?extid=88533dc8b582309bf3ee")]
    [InlineData(null)]
    public void OddBugLinksAreRefused(string? link) => Assert.Throws<SyzbotFormatException>(() => BugLink.Parse(link));

    [Fact]
    public void ConfigHeaderAndStatusDatesParse()
    {
        Assert.Equal("arm64", SyzbotCrawler.ArchitectureOfConfig("#\n# Automatically generated file; DO NOT EDIT.\n# Linux/arm64 6.1.192 Kernel Configuration\n#\n"));
        Assert.Equal("x86_64", SyzbotCrawler.ArchitectureOfConfig("#\n# Linux/x86_64 syzkaller Kernel Configuration\n"));
        Assert.Null(SyzbotCrawler.ArchitectureOfConfig("CONFIG_X=y\n"));
        Assert.Equal(new DateTime(2019, 12, 15, 20, 35, 0, DateTimeKind.Utc), SyzbotCrawler.ReportedTimeOfStatus("upstream: reported C repro on 2019/12/15 20:35"));
        Assert.Null(SyzbotCrawler.ReportedTimeOfStatus("fixed on 2019/08/09 16:21"));
    }

    private static void Json(ReplayServer s, string target, string body)
        => s.Overrides[target] = async ctx =>
        {
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body);
        };

    private static Task Status(HttpContext ctx, int code)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "text/html; charset=utf-8";
        return ctx.Response.WriteAsync($"<html>error {code}</html>");
    }
}
