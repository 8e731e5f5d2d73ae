using System.Text;
using LiveKBench.Arena.Store;
using LiveKBench.Datasets;
using LiveKBench.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Web.Dashboard;

/// <summary>What <see cref="StaticReport.Write"/> wrote.</summary>
/// <param name="Pages">HTML pages written.</param>
/// <param name="Bugs">Bug pages among them.</param>
/// <param name="Configs">Configuration pages among them.</param>
/// <param name="Datasets">Dataset pages among them (each with its export zip).</param>
/// <param name="Bytes">Total bytes written.</param>
public sealed record StaticReportSummary(int Pages, int Bugs, int Configs, int Datasets, long Bytes);

/// <summary>
/// <c>kbench report html DIR</c>: the dashboard's pages as a static site with relative links (no server): the default
/// leaderboard as <c>index.html</c> and <c>leaderboard.html</c>, <c>bugs.html</c>, <c>bugs/ID.html</c>,
/// <c>configs/NAME.html</c>, <c>datasets.html</c>, <c>datasets/NAME.html</c> with the export zip, <c>research.html</c>,
/// <c>gym.html</c>, <c>assets/</c>.
/// </summary>
public static class StaticReport
{
    /// <summary>Writes the site into <paramref name="dir"/> (created; files of the same names replaced).</summary>
    /// <exception cref="LiveKBench.Evaluation.Aggregation.LeaderboardException">Unknown dataset or judge.</exception>
    public static StaticReportSummary Write(Workspace ws, string dir, LeaderboardQuery query)
    {
        Directory.CreateDirectory(dir);
        long bytes = 0;
        var pages = 0;
        void Put(string file, string html)
        {
            var path = Path.Combine(dir, file);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var data = Encoding.UTF8.GetBytes(html);
            File.WriteAllBytes(path, data);
            bytes += data.Length;
            pages++;
        }
        DashboardPages P(string file) => new(ws, DashboardLinks.StaticPage(file));
        var leaderboard = P("leaderboard.html").Leaderboard(query);
        Put("index.html", leaderboard);
        Put("leaderboard.html", leaderboard);
        Put("bugs.html", P("bugs.html").Bugs());
        Put("datasets.html", P("datasets.html").Datasets());
        Put("research.html", P("research.html").Research(query));
        Put("gym.html", P("gym.html").Gym());
        List<string> bugIds, configs, datasets;
        using (var db = ws.OpenStore())
        {
            bugIds = [.. db.Bugs.AsNoTracking().Select(b => b.Id).AsEnumerable().Order(StringComparer.Ordinal)];
            configs = [.. db.AgentConfigurations.AsNoTracking().Select(c => c.Name).AsEnumerable().Order(StringComparer.Ordinal)];
            datasets = [.. DatasetService.List(db).Select(d => d.Name)];
        }
        foreach (var id in bugIds)
        {
            var file = DashboardLinks.ItemFile("bugs", id);
            Put(file, P(file).Bug(id)!);
        }
        foreach (var name in configs)
        {
            var file = DashboardLinks.ItemFile("configs", name);
            Put(file, P(file).Config(name)!);
        }
        foreach (var name in datasets)
        {
            var file = DashboardLinks.ItemFile("datasets", name);
            var p = P(file);
            Put(file, p.Dataset(name)!);
            var zip = Path.Combine(dir, DashboardLinks.DatasetExportFile(name));
            using (var fs = File.Create(zip))
            {
                p.WriteDatasetExportZip(name, fs);
            }
            bytes += new FileInfo(zip).Length;
        }
        Directory.CreateDirectory(Path.Combine(dir, "assets"));
        foreach (var a in DashboardEndpoints.AssetNames)
        {
            var data = DashboardEndpoints.ReadAsset(a);
            File.WriteAllBytes(Path.Combine(dir, "assets", a), data);
            bytes += data.Length;
        }
        return new StaticReportSummary(pages, bugIds.Count, configs.Count, datasets.Count, bytes);
    }
}
