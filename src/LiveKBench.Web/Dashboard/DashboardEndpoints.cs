using System.Globalization;
using System.Reflection;
using LiveKBench.Datasets;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LiveKBench.Web.Dashboard;

/// <summary>Maps the dashboard's pages onto an ASP.NET Core app (all GET, server-rendered HTML, read-only).</summary>
public static class DashboardEndpoints
{
    /// <summary>Names of the embedded static files served under <c>/assets/</c>.</summary>
    public static IReadOnlyList<string> AssetNames { get; } = ["dashboard.css", "dashboard.js"];

    /// <summary>
    /// Maps <c>/</c>, <c>/leaderboard</c>, <c>/configs/{name}</c>, <c>/bugs</c>, <c>/bugs/{id}</c>, <c>/datasets</c>,
    /// <c>/datasets/{name}</c>, <c>/datasets/{name}/export.zip</c>, <c>/research</c>, <c>/gym</c> and <c>/assets/{file}</c>.
    /// Leaderboard and research take <c>?dataset=&amp;k=&amp;judge=</c> (and <c>from</c>/<c>to</c> fix dates, yyyy-MM-dd, on
    /// the leaderboard); bad parameters give 400 with the reason, unknown items 404.
    /// </summary>
    /// <param name="app">The route builder.</param>
    /// <param name="ws">The workspace whose store is shown.</param>
    /// <returns><paramref name="app"/>.</returns>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app, Workspace ws)
    {
        var pages = new DashboardPages(ws, DashboardLinks.Server);
        app.MapGet("/", (HttpRequest r) => Parametrized(pages, r, "Leaderboard", q => pages.Leaderboard(q)));
        app.MapGet("/leaderboard", (HttpRequest r) => Parametrized(pages, r, "Leaderboard", q => pages.Leaderboard(q)));
        app.MapGet("/research", (HttpRequest r) => Parametrized(pages, r, "Research", q => pages.Research(q)));
        app.MapGet("/configs/{name}", (string name) => Item(pages, pages.Config(name), "configuration", name));
        app.MapGet("/bugs", () => Page(pages.Bugs()));
        app.MapGet("/bugs/{id}", (string id) => Item(pages, pages.Bug(id), "bug", id));
        app.MapGet("/datasets", () => Page(pages.Datasets()));
        app.MapGet("/datasets/{name}", (string name) => Item(pages, pages.Dataset(name), "dataset", name));
        app.MapGet("/datasets/{name}/export.zip", (string name) =>
        {
            var ms = new MemoryStream();
            try
            {
                pages.WriteDatasetExportZip(name, ms);
            }
            catch (DatasetException ex)
            {
                return Results.Content(pages.Error("Not found", ex.Message), "text/html; charset=utf-8", statusCode: 404);
            }
            ms.Position = 0;
            return Results.File(ms, "application/zip", DashboardLinks.FileSegment(name) + "-hf-export.zip");
        });
        app.MapGet("/gym", () => Page(pages.Gym()));
        app.MapGet("/assets/{file}", (string file) => AssetNames.Contains(file)
            ? Results.Bytes(ReadAsset(file), file.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8")
            : Results.NotFound());
        return app;
    }

    /// <summary>Bytes of an embedded asset.</summary>
    /// <exception cref="FileNotFoundException">Unknown asset.</exception>
    public static byte[] ReadAsset(string file)
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("LiveKBench.Web.Dashboard." + file)
            ?? throw new FileNotFoundException($"no dashboard asset {file}");
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>Reads the leaderboard/research parameters from a query string.</summary>
    /// <exception cref="FormatException">k is not an integer in 1..1000, or a date is not yyyy-MM-dd.</exception>
    public static LeaderboardQuery ParseQuery(IQueryCollection query)
    {
        static string? Str(IQueryCollection q, string key) => q.TryGetValue(key, out var v) && !string.IsNullOrWhiteSpace(v.ToString()) ? v.ToString().Trim() : null;
        var k = 1;
        if (Str(query, "k") is { } ks && (!int.TryParse(ks, NumberStyles.None, CultureInfo.InvariantCulture, out k) || k < 1 || k > 1000))
        {
            throw new FormatException($"k must be an integer from 1 to 1000, not \"{ks}\"");
        }
        return new LeaderboardQuery { Dataset = Str(query, "dataset"), K = k, Judge = Str(query, "judge"), FixedFrom = Date(Str(query, "from"), "from"), FixedTo = Date(Str(query, "to"), "to") };
    }

    private static DateOnly? Date(string? s, string name)
        => s is null ? null
            : DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
            : throw new FormatException($"{name} must be a date yyyy-MM-dd, not \"{s}\"");

    private static IResult Parametrized(DashboardPages pages, HttpRequest request, string title, Func<LeaderboardQuery, string> render)
    {
        try
        {
            return Page(render(ParseQuery(request.Query)));
        }
        catch (Exception ex) when (ex is FormatException or LeaderboardException)
        {
            return Results.Content(pages.Error(title, ex.Message), "text/html; charset=utf-8", statusCode: 400);
        }
    }

    private static IResult Page(string html) => Results.Content(html, "text/html; charset=utf-8");

    private static IResult Item(DashboardPages pages, string? html, string kind, string key)
        => html is null ? Results.Content(pages.Error("Not found", $"no {kind} {key}"), "text/html; charset=utf-8", statusCode: 404) : Page(html);
}
