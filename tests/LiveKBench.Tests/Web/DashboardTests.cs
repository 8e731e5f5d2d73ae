using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveKBench.Tests.Support;
using LiveKBench.Web.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;

namespace LiveKBench.Tests.Web;

/// <summary>One dashboard workspace and one server per test class (started lazily; stopped on dispose).</summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private DashboardWorkspace? _ws;
    private WebApplication? _app;

    public DashboardWorkspace Workspace => _ws ??= new DashboardWorkspace();

    public async Task<string> BaseUrlAsync()
    {
        if (_app is null)
        {
            _app = DashboardServer.Build(Workspace.Workspace, "http://127.0.0.1:0");
            await _app.StartAsync();
        }
        return _app.Urls.First().TrimEnd('/');
    }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        _ws?.Dispose();
    }
}

/// <summary>The results dashboard (kbench serve / kbench report html) in Debian's Chromium and over HTTP.</summary>
public sealed class DashboardTests(DashboardFixture fx) : IClassFixture<DashboardFixture>
{
    private static string ScreenshotDir
    {
        get
        {
            var d = Path.Combine(AppContext.BaseDirectory, "screenshots");
            Directory.CreateDirectory(d);
            return d;
        }
    }

    private static string Shot(string name) => Path.Combine(ScreenshotDir, DashboardLinks.FileSegment(name) + ".png");

    [Fact]
    public async Task EveryPageLoadsWithoutConsoleErrors_AndIsScreenshotted()
    {
        var baseUrl = await fx.BaseUrlAsync();
        var ws = fx.Workspace;
        var routes = new List<string> { "/", "/leaderboard", $"/leaderboard?dataset={DashboardWorkspace.DatasetName}&k=2&from=2025-01-01&to=2025-12-31", "/bugs", "/datasets", $"/datasets/{DashboardWorkspace.DatasetName}", "/research", "/gym", "/configs/kbench-agent-model-a", "/configs/kbench-agent-model-b-stateful" };
        routes.AddRange(ws.AllBugIds.Select(id => "/bugs/" + Uri.EscapeDataString(id)));
        await using var browser = await Chromium.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);
        foreach (var route in routes)
        {
            var resp = await page.GotoAsync(baseUrl + route);
            Assert.NotNull(resp);
            Assert.True(resp.Status == 200, $"{route}: HTTP {resp.Status}");
            Assert.False(string.IsNullOrWhiteSpace(await page.Locator("h1").TextContentAsync()), route);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot(route.Trim('/') is { Length: > 0 } r ? r : "index"), FullPage = route.StartsWith("/leaderboard", StringComparison.Ordinal) || route == "/" });
        }
        // The bug search filters rows in the page.
        await page.GotoAsync(baseUrl + "/bugs");
        await page.FillAsync("#bug-search", "unix_shutdown");
        Assert.Equal(1, await page.Locator("#bugs tbody tr:visible").CountAsync());
        await page.FillAsync("#bug-search", "");
        Assert.Equal(ws.AllBugIds.Count, await page.Locator("#bugs tbody tr:visible").CountAsync());
        // Sorting by fix date puts the newest first on the first click (descending).
        await page.Locator("#bugs th", new PageLocatorOptions { HasText = "fix date" }).ClickAsync();
        var dates = await page.Locator("#bugs tbody tr td:nth-child(5)").AllTextContentsAsync();
        Assert.Equal(dates.OrderByDescending(d => d, StringComparer.Ordinal).ToList(), dates.ToList());
        Assert.Empty(errors);
        Assert.True(File.Exists(Shot("leaderboard")));
    }

    [Fact]
    public async Task LeaderboardPageNumbersEqualCliLeaderboardJson()
    {
        var baseUrl = await fx.BaseUrlAsync();
        await using var browser = await Chromium.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);
        foreach (var (query, cliArgs) in new[] { ("", Array.Empty<string>()), ($"?dataset={DashboardWorkspace.DatasetName}&k=2", new[] { "--dataset", DashboardWorkspace.DatasetName, "--k", "2" }) })
        {
            await page.GotoAsync(baseUrl + "/leaderboard" + query);
            var cli = await KbenchCli.RunAsync(["--workspace", fx.Workspace.Root, "leaderboard", "--json", .. cliArgs]);
            Assert.True(cli.ExitCode == 0, cli.Tail(2000));
            using var doc = JsonDocument.Parse(cli.StandardOutput);
            var rows = doc.RootElement.GetProperty("rows");
            Assert.Equal(doc.RootElement.GetProperty("bugs").GetInt32().ToString(CultureInfo.InvariantCulture), await page.GetAttributeAsync("#lb-summary", "data-bugs"));
            var pageRows = page.Locator("#leaderboard tbody tr");
            Assert.Equal(rows.GetArrayLength(), await pageRows.CountAsync());
            Assert.True(rows.GetArrayLength() >= 2);
            var checkedCells = 0;
            for (var i = 0; i < rows.GetArrayLength(); i++)
            {
                var json = rows[i];
                var tr = pageRows.Nth(i);
                Assert.Equal(json.GetProperty("agentConfig").GetString(), await tr.GetAttributeAsync("data-config"));
                foreach (var cell in await tr.Locator("td[data-metric]").AllAsync())
                {
                    var key = (await cell.GetAttributeAsync("data-metric"))!;
                    var value = key.Split('.').Aggregate(json, (e, p) => e.GetProperty(p));
                    if (value.ValueKind == JsonValueKind.Array)
                    {
                        Assert.Equal(value.GetArrayLength().ToString(CultureInfo.InvariantCulture), (await cell.TextContentAsync())!.Trim());
                    }
                    else if (value.ValueKind == JsonValueKind.Null)
                    {
                        Assert.Equal("—", (await cell.TextContentAsync())!.Trim()); // not measured
                    }
                    else if (value.ValueKind == JsonValueKind.Number)
                    {
                        Assert.Equal(value.GetInt32().ToString(CultureInfo.InvariantCulture), (await cell.TextContentAsync())!.Trim());
                    }
                    else
                    {
                        foreach (var (attr, prop) in new[] { ("data-mean", "mean"), ("data-low", "ciLow"), ("data-high", "ciHigh") })
                        {
                            Assert.Equal(value.GetProperty(prop).GetDouble(), double.Parse((await cell.GetAttributeAsync(attr))!, CultureInfo.InvariantCulture));
                        }
                        var shown = $"{Pct(value.GetProperty("mean").GetDouble())} [{Pct(value.GetProperty("ciLow").GetDouble())}, {Pct(value.GetProperty("ciHigh").GetDouble())}]";
                        Assert.Equal(shown, (await cell.TextContentAsync())!.Trim());
                    }
                    checkedCells++;
                }
            }
            Assert.True(checkedCells >= rows.GetArrayLength() * 18, $"only {checkedCells} cells compared");
        }
        Assert.Empty(errors);
    }

    private static string Pct(double v) => (v * 100).ToString("F1", CultureInfo.InvariantCulture);

    [Fact]
    public async Task FromTheLeaderboardARunsPatchIsTwoClicksAway()
    {
        var baseUrl = await fx.BaseUrlAsync();
        await using var browser = await Chromium.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);
        await page.GotoAsync(baseUrl + "/leaderboard");
        await page.Locator("a.config-link").First.ClickAsync();
        await page.WaitForURLAsync(new Regex("/configs/"));
        var runLink = page.Locator("a.run-link").First;
        var runText = (await runLink.TextContentAsync())!;
        await runLink.ClickAsync();
        await page.WaitForURLAsync(new Regex("/bugs/.+#run-\\d+$"));
        var runId = runText.Replace("run ", "", StringComparison.Ordinal).Trim();
        var patch = page.Locator($"#run-{runId} .agent-patch pre.diff");
        Assert.True(await patch.IsVisibleAsync(), "the run's patch is not visible after two clicks");
        Assert.Contains("+++ b/", await patch.TextContentAsync(), StringComparison.Ordinal);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Shot("two-clicks-run-patch") });
        Assert.Empty(errors);
    }

    [Fact]
    public async Task HostileTitleAndPatchRenderAsText()
    {
        var baseUrl = await fx.BaseUrlAsync();
        await using var browser = await Chromium.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);
        foreach (var route in new[] { "/bugs", "/bugs/" + DashboardWorkspace.HostileId, $"/datasets/{DashboardWorkspace.DatasetName}", "/gym" })
        {
            await page.GotoAsync(baseUrl + route);
            Assert.Contains(route == "/gym" ? DashboardWorkspace.HostileId : DashboardWorkspace.HostileTitle, await page.Locator("main").InnerTextAsync(), StringComparison.Ordinal);
            Assert.Equal(0, await page.Locator("main script, main b:text('evil'), main img").CountAsync());
            Assert.True(await page.EvaluateAsync<bool>("() => typeof window.__pwned === 'undefined'"), $"{route}: injected script ran");
        }
        await page.GotoAsync(baseUrl + "/bugs/" + DashboardWorkspace.HostileId);
        Assert.Equal(DashboardWorkspace.HostileTitle, (await page.Locator("h1").TextContentAsync())!);
        Assert.Contains("+</pre><script>window.__pwned=4</script>", await page.Locator("#developer-patch").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task BadParametersAndUnknownItemsGiveClearErrors()
    {
        var baseUrl = await fx.BaseUrlAsync();
        using var http = new HttpClient();
        var bad = await http.GetAsync(baseUrl + "/leaderboard?k=zero");
        Assert.Equal(400, (int)bad.StatusCode);
        Assert.Contains("k must be an integer", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var unknown = await http.GetAsync(baseUrl + "/leaderboard?dataset=nope");
        Assert.Equal(400, (int)unknown.StatusCode);
        Assert.Equal(404, (int)(await http.GetAsync(baseUrl + "/bugs/nope")).StatusCode);
        Assert.Equal(404, (int)(await http.GetAsync(baseUrl + "/configs/nope")).StatusCode);
        var zip = await http.GetAsync(baseUrl + $"/datasets/{DashboardWorkspace.DatasetName}/export.zip");
        Assert.Equal(200, (int)zip.StatusCode);
        using var archive = new System.IO.Compression.ZipArchive(await zip.Content.ReadAsStreamAsync());
        Assert.Contains(archive.Entries, e => e.FullName == "bugs/train.jsonl");
        Assert.Contains(archive.Entries, e => e.FullName == "datasets/train.jsonl");
    }

    [Fact]
    public async Task FixDateWindowKeepsOnlyBugsFixedInIt_BothEndsInclusive()
    {
        var baseUrl = await fx.BaseUrlAsync();
        using var http = new HttpClient();
        async Task<int> Bugs(string q)
        {
            var html = await http.GetStringAsync(baseUrl + "/leaderboard?dataset=" + DashboardWorkspace.DatasetName + q);
            return int.Parse(Regex.Match(html, "id=\"lb-summary\" data-bugs=\"(\\d+)\"").Groups[1].Value, CultureInfo.InvariantCulture);
        }
        Assert.Equal(4, await Bugs(""));
        // Fixture fix dates: 2025-03-10, 2025-08-20 23:59 (the last day of the window), 2025-11-01 (hostile), 2026-01-15.
        Assert.Equal(2, await Bugs("&from=2025-03-10&to=2025-08-20"));
        Assert.Equal(3, await Bugs("&from=2025-01-01&to=2025-12-31"));
        Assert.Equal(1, await Bugs("&from=2026-01-01"));
    }

    [Fact]
    public async Task StaticReportEveryLinkResolvesToAFile()
    {
        var ws = fx.Workspace;
        using var dir = new TempDir();
        var r = await KbenchCli.RunAsync("--workspace", ws.Root, "report", "html", dir.Path);
        Assert.True(r.ExitCode == 0, r.Tail(2000));
        Assert.Contains("wrote ", r.StandardOutput, StringComparison.Ordinal);
        var files = Directory.GetFiles(dir.Path, "*.html", SearchOption.AllDirectories);
        Assert.True(files.Length >= 8 + ws.AllBugIds.Count, $"{files.Length} pages");
        var links = 0;
        foreach (var f in files)
        {
            var html = await File.ReadAllTextAsync(f);
            foreach (Match m in Regex.Matches(html, "(?:href|src|action)=\"([^\"]*)\""))
            {
                var target = System.Net.WebUtility.HtmlDecode(m.Groups[1].Value);
                if (target.StartsWith("data:", StringComparison.Ordinal) || target.StartsWith("https://", StringComparison.Ordinal) || target.StartsWith("http://", StringComparison.Ordinal) || target.StartsWith('#'))
                {
                    continue;
                }
                Assert.False(target.StartsWith('/'), $"{f}: absolute link {target}");
                var path = Uri.UnescapeDataString(target.Split('#')[0]);
                var resolved = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(f)!, path));
                Assert.True(resolved.StartsWith(dir.Path, StringComparison.Ordinal) && File.Exists(resolved), $"{Path.GetRelativePath(dir.Path, f)}: link {target} does not resolve to a file in the report");
                links++;
            }
        }
        Assert.True(links > 50, $"only {links} links checked");
        // The static leaderboard is the same computation: its cells equal the server's.
        var server = await new HttpClient().GetStringAsync(await fx.BaseUrlAsync() + "/leaderboard");
        static List<string> Cells(string html) => [.. Regex.Matches(html, "data-metric=\"[^\"]+\" data-mean=\"[^\"]+\" data-low=\"[^\"]+\" data-high=\"[^\"]+\"").Select(m => m.Value)];
        Assert.Equal(Cells(server), Cells(await File.ReadAllTextAsync(Path.Combine(dir.Path, "index.html"))));
        // The static site works in the browser from file:// with no console errors.
        await using var browser = await Chromium.LaunchAsync();
        var errors = new List<string>();
        var page = await browser.NewPageAsync(errors);
        foreach (var f in new[] { "index.html", "bugs.html", DashboardLinks.ItemFile("bugs", DashboardWorkspace.HostileId), "datasets.html", "research.html", "gym.html" })
        {
            await page.GotoAsync(new Uri(Path.Combine(dir.Path, f)).AbsoluteUri);
            Assert.False(string.IsNullOrWhiteSpace(await page.Locator("h1").TextContentAsync()), f);
        }
        Assert.Empty(errors);
    }
}
