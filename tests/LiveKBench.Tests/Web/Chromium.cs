using LiveKBench.Tests.Support;
using Microsoft.Playwright;

namespace LiveKBench.Tests.Web;

/// <summary>
/// Debian's Chromium (<c>/usr/bin/chromium</c>, or $KBENCH_CHROMIUM) driven by Microsoft.Playwright. Playwright's own
/// browser download is never used: the driver (node + package) ships inside the NuGet package and the browser is
/// given by ExecutablePath, so this works offline. A missing browser skips locally and fails under CI=true.
/// </summary>
public sealed class Chromium : IAsyncDisposable
{
    private readonly IPlaywright _playwright;
    private readonly string _userDataDir;

    private Chromium(IPlaywright playwright, IBrowserContext context, string userDataDir)
    {
        _playwright = playwright;
        Context = context;
        _userDataDir = userDataDir;
    }

    /// <summary>The browser context (fresh user-data-dir).</summary>
    public IBrowserContext Context { get; }

    /// <summary>Path of the Chromium binary.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("KBENCH_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    /// <summary>Launches headless Chromium with a fresh profile; skips (fails under CI) when it is not installed.</summary>
    public static async Task<Chromium> LaunchAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            var reason = $"Chromium not found at {ExecutablePath} (apt-get install chromium; scripts/install-deps.sh installs it)";
            if (SharedData.IsCi)
            {
                Assert.Fail(reason + "; CI=true requires it");
            }
            Assert.Skip(reason);
        }
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        var pw = await Playwright.CreateAsync();
        var dir = Path.Combine(Path.GetTempPath(), "kbench-chromium-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        var ctx = await pw.Chromium.LaunchPersistentContextAsync(dir, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Timeout = 60_000,
            ViewportSize = new ViewportSize { Width = 1400, Height = 900 },
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        return new Chromium(pw, ctx, dir);
    }

    /// <summary>A new page whose console errors and uncaught exceptions are collected in <paramref name="errors"/>.</summary>
    public async Task<IPage> NewPageAsync(List<string> errors)
    {
        var page = await Context.NewPageAsync();
        page.Console += (_, m) =>
        {
            if (m.Type == "error")
            {
                lock (errors)
                {
                    errors.Add($"{page.Url}: console error: {m.Text}");
                }
            }
        };
        page.PageError += (_, e) =>
        {
            lock (errors)
            {
                errors.Add($"{page.Url}: page error: {e}");
            }
        };
        return page;
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        _playwright.Dispose();
        try
        {
            Directory.Delete(_userDataDir, true);
        }
        catch (IOException)
        {
        }
    }
}
