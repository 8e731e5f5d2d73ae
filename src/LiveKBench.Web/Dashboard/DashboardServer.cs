using LiveKBench.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Web.Dashboard;

/// <summary>Builds the web application behind <c>kbench serve</c> (Kestrel on the given URL, dashboard routes).</summary>
public static class DashboardServer
{
    /// <summary>Creates (does not start) the app listening on <paramref name="listen"/> (e.g. <c>http://127.0.0.1:8080</c>; port 0 = any free port).</summary>
    public static WebApplication Build(Workspace ws, string listen)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = ws.Root });
        builder.WebHost.UseUrls(listen);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapDashboard(ws);
        return app;
    }
}
