using System.Globalization;
using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Store;
using LiveKBench.Datasets;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Evaluation.Research;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Vm;
using Microsoft.EntityFrameworkCore;
using static LiveKBench.Web.Dashboard.Html;

namespace LiveKBench.Web.Dashboard;

/// <summary>
/// Renders the dashboard's pages (kenv-web.md Part B, with the missing features of Part C) as complete HTML
/// documents from the workspace store, read-only. Used by the server (<see cref="DashboardEndpoints"/>) and by the
/// static report (<see cref="StaticReport"/>). Every text from bugs, patches, consoles and agents is HTML-escaped.
/// </summary>
/// <param name="ws">The workspace.</param>
/// <param name="links">Link style (server routes or static files).</param>
public sealed class DashboardPages(Workspace ws, DashboardLinks links)
{
    /// <summary>Characters of a console log or trajectory shown inline (the tail for consoles).</summary>
    public const int MaxInlineChars = 200_000;

    private readonly Workspace _ws = ws;
    private readonly DashboardLinks _l = links;

    private KBenchDbContext Open() => _ws.OpenStore();

    /// <summary>Wraps a page body into the layout (navigation, CSS, JS); <paramref name="refreshSeconds"/> adds a meta refresh (server only).</summary>
    public string Layout(string title, string body, int? refreshSeconds = null)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        if (refreshSeconds is { } r && !_l.IsStatic)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<meta http-equiv=\"refresh\" content=\"{r}\">");
        }
        sb.Append("<link rel=\"icon\" href=\"data:,\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{E(title)} - LiveKBench</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<link rel=\"stylesheet\" href=\"{E(_l.Asset("dashboard.css"))}\">");
        sb.Append(CultureInfo.InvariantCulture, $"<script src=\"{E(_l.Asset("dashboard.js"))}\" defer></script></head><body>");
        sb.Append("<nav><span class=\"brand\">LiveKBench</span>");
        foreach (var (name, label) in new[] { ("leaderboard", "Leaderboard"), ("bugs", "Bugs"), ("datasets", "Datasets"), ("research", "Research"), ("gym", "Gym") })
        {
            sb.Append(A(_l.Page(name), label));
        }
        sb.Append("</nav><main>");
        sb.Append(CultureInfo.InvariantCulture, $"<h1>{E(title)}</h1>");
        sb.Append(body);
        sb.Append("</main></body></html>\n");
        return sb.ToString();
    }

    /// <summary>An error page body (escaped message).</summary>
    public string Error(string title, string message) => Layout(title, $"<p class=\"error\">{E(message)}</p>");

    // ---------------------------------------------------------------- leaderboard

    /// <summary>The leaderboard page: parameters form, table with CIs and counts, CI chart.</summary>
    /// <exception cref="LeaderboardException">Unknown dataset or judge.</exception>
    public string Leaderboard(LeaderboardQuery q)
    {
        using var db = Open();
        var lb = DashboardLeaderboard.Query(db, q, out var bugSet);
        var cost = DashboardLeaderboard.CostPerRun(db, bugSet);
        var rows = lb.Rows.Select(r => LeaderboardView.Map(r, lb.K, cost.GetValueOrDefault(r.AgentConfig), lb.Judge is not null)).ToList();
        var sb = new StringBuilder();
        sb.Append(LeaderboardForm(db, q, lb));
        sb.Append(CultureInfo.InvariantCulture, $"""<p class="summary" id="lb-summary" data-bugs="{lb.Bugs}" data-k="{lb.K}">dataset <b>{E(lb.Dataset ?? "(every bug with a run)")}</b> · {lb.Bugs} bugs · k = {lb.K} · judge <b>{E(lb.Judge ?? "(none: EPR not measured)")}</b>{(q.HasWindow ? $" · fixed {E(q.FixedFrom?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "…")} to {E(q.FixedTo?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "…")}" : "")} · values in %, 95 % bootstrap CI ({lb.Replicates} replicates)</p>""");
        if (rows.Count == 0)
        {
            sb.Append("<p class=\"empty\">No agent runs for these parameters.</p>");
            return Layout("Leaderboard", sb.ToString());
        }
        sb.Append("<div class=\"scroll\"><table id=\"leaderboard\" class=\"sortable\"><thead><tr><th>#</th><th>configuration</th><th>model</th>");
        foreach (var m in rows[0].Metrics)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<th class=\"num\">{E(m.Label)}</th>");
        }
        foreach (var c in rows[0].Counts)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<th class=\"num\">{c.Label}</th>");
        }
        sb.Append("<th class=\"num\">cost/run</th></tr></thead><tbody>");
        var rank = 0;
        foreach (var r in rows)
        {
            rank++;
            sb.Append(CultureInfo.InvariantCulture, $"""<tr data-config="{E(r.AgentConfig)}"><td class="num">{rank}</td><td>{A(_l.Config(r.AgentConfig), r.AgentConfig, "config-link")}</td><td>{E(r.Model)}</td>""");
            foreach (var m in r.Metrics)
            {
                sb.Append(CiCell(m.Key, m.Value));
            }
            foreach (var c in r.Counts)
            {
                sb.Append(CultureInfo.InvariantCulture, $"""<td class="num" data-metric="{E(c.Key)}" data-sort="{c.Value}">{c.Value}</td>""");
            }
            sb.Append(CultureInfo.InvariantCulture, $"""<td class="num" data-sort="{R(r.CostPerRun ?? -1)}">{Money(r.CostPerRun)}</td></tr>""");
        }
        sb.Append("</tbody></table></div>");
        sb.Append("<p class=\"legend\">pass@k: unbiased estimator from all runs of a bug (success = score &gt; 0); CRR/EPR/IoU: mean over a bug's runs, then over bugs. " +
                  "Failed agent runs, pending evaluations, boot and infrastructure errors score 0 and are counted separately. Cost/run: mean recorded agent cost.</p>");
        var panels = new List<BarPanel>
        {
            new($"CRR pass@{lb.K}", [.. lb.Rows.Select(r => new BarGroup(r.AgentConfig, [Bar("pass@k", r.PassAtK.Crr), Bar("mean", r.Crr)]))]),
            new($"EPR pass@{lb.K}", [.. lb.Rows.Select(r => new BarGroup(r.AgentConfig, [Bar("pass@k", r.PassAtK.Epr), Bar("mean", r.Epr)]))]),
            new($"File IoU pass@{lb.K}", [.. lb.Rows.Select(r => new BarGroup(r.AgentConfig, [Bar("pass@k", r.PassAtK.FileIou), Bar("mean", r.FileIou)]))]),
            new($"Func IoU pass@{lb.K}", [.. lb.Rows.Where(r => r.FunctionIou is not null).Select(r => new BarGroup(r.AgentConfig, [Bar("pass@k", r.PassAtK.FunctionIou!), Bar("mean", r.FunctionIou!)]))]),
        };
        if (BarChart.HasData(panels))
        {
            sb.Append("<h2>95 % confidence intervals</h2><div class=\"chart\" id=\"lb-chart\">");
            sb.Append(BarChart.RenderSvg($"Leaderboard ({lb.Dataset ?? "all bugs"}, k = {lb.K})", panels));
            sb.Append("</div>");
        }
        return Layout("Leaderboard", sb.ToString());
    }

    private static Bar Bar(string series, MeanCi ci) => new(series, ci.Mean, ci.CiLow, ci.CiHigh);

    private string LeaderboardForm(KBenchDbContext db, LeaderboardQuery q, LeaderboardResult lb)
    {
        if (_l.IsStatic)
        {
            return "";
        }
        var datasets = db.Datasets.AsNoTracking().Select(d => d.Name).AsEnumerable().Order(StringComparer.Ordinal).ToList();
        var judges = db.JudgeConfigurations.AsNoTracking().Select(d => d.Name).AsEnumerable().Order(StringComparer.Ordinal).ToList();
        var sb = new StringBuilder("<form class=\"params\" method=\"get\" action=\"" + E(_l.Page("leaderboard")) + "\">");
        sb.Append("<label>dataset <select name=\"dataset\"><option value=\"\">(every bug with a run)</option>");
        foreach (var d in datasets)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option value=\"{E(d)}\"{(d == lb.Dataset ? " selected" : "")}>{E(d)}</option>");
        }
        sb.Append("</select></label> <label>k <select name=\"k\">");
        for (var k = 1; k <= 10; k++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option{(k == lb.K ? " selected" : "")}>{k}</option>");
        }
        sb.Append("</select></label> <label>judge <select name=\"judge\"><option value=\"\">(default: most evaluations)</option>");
        foreach (var j in judges)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<option value=\"{E(j)}\"{(j == q.Judge ? " selected" : "")}>{E(j)}</option>");
        }
        sb.Append("</select></label> ");
        sb.Append(CultureInfo.InvariantCulture, $"<label>fixed from <input type=\"date\" name=\"from\" value=\"{q.FixedFrom?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}\"></label> ");
        sb.Append(CultureInfo.InvariantCulture, $"<label>to <input type=\"date\" name=\"to\" value=\"{q.FixedTo?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}\"></label> ");
        sb.Append("<button type=\"submit\">Show</button></form>");
        return sb.ToString();
    }

    // ---------------------------------------------------------------- configurations

    /// <summary>One agent configuration: settings, its leaderboard row, per-bug outcomes; null when unknown.</summary>
    public string? Config(string name)
    {
        using var db = Open();
        var c = db.AgentConfigurations.AsNoTracking().FirstOrDefault(x => x.Name == name);
        if (c is null)
        {
            return null;
        }
        var sb = new StringBuilder("<table class=\"kv\">");
        Kv(sb, "agent", c.Agent);
        Kv(sb, "model", c.Model);
        Kv(sb, "model configuration", c.ModelConfigName ?? "—");
        Kv(sb, "stateful (crash-resolution feedback)", c.Stateful ? "yes" : "no");
        Kv(sb, "oracle mode", c.OracleMode ? "yes" : "no");
        Kv(sb, "description", c.Description);
        sb.Append("</table>");
        var lb = Evaluation.Aggregation.Leaderboard.QueryFromRuns(db, new LeaderboardOptions());
        if (lb.Rows.FirstOrDefault(r => r.AgentConfig == c.Name) is { } row)
        {
            var v = LeaderboardView.Map(row, lb.K, null, lb.Judge is not null);
            sb.Append(CultureInfo.InvariantCulture, $"<h2>Leaderboard row (every bug with a run, k = {lb.K}, judge {E(lb.Judge ?? "none")})</h2><table><tr>");
            sb.Append(string.Concat(v.Metrics.Select(m => $"<th class=\"num\">{E(m.Label)}</th>"))).Append("</tr><tr>");
            sb.Append(string.Concat(v.Metrics.Select(m => CiCell(m.Key, m.Value)))).Append("</tr></table>");
        }
        if (!string.IsNullOrEmpty(c.ConfigText))
        {
            sb.Append("<details><summary>configuration file</summary>").Append(Pre(c.ConfigText)).Append("</details>");
        }
        var runs = db.AgentRuns.AsNoTracking().Where(r => r.AgentConfigurationId == c.Id).OrderBy(r => r.BugId).ThenBy(r => r.Batch).ThenBy(r => r.RunIndex).ThenBy(r => r.Id).ToList();
        var ids = runs.Select(r => r.Id).ToList();
        var crash = db.CrashResolutionEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId)).AsEnumerable().GroupBy(e => e.AgentRunId).ToDictionary(g => g.Key, g => g.OrderByDescending(e => e.Id).First());
        var loc = db.LocalizationEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId)).AsEnumerable().GroupBy(e => e.AgentRunId).ToDictionary(g => g.Key, g => g.OrderByDescending(e => e.Id).First());
        var judge = db.JudgeEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId)).AsEnumerable().GroupBy(e => e.AgentRunId).ToDictionary(g => g.Key, g => g.ToList());
        var titles = db.Bugs.AsNoTracking().Where(b => runs.Select(r => r.BugId).Contains(b.Id)).Select(b => new { b.Id, b.Title }).ToDictionary(b => b.Id, b => b.Title);
        sb.Append(CultureInfo.InvariantCulture, $"<h2>Per-bug outcomes ({runs.Count} runs)</h2>");
        sb.Append("<table id=\"runs\" class=\"sortable\"><thead><tr><th>bug</th><th>run</th><th>agent status</th><th>crash verdict</th><th>judge</th><th class=\"num\">file IoU</th><th class=\"num\">func IoU</th><th class=\"num\">cost</th><th>patch</th></tr></thead><tbody>");
        foreach (var r in runs)
        {
            crash.TryGetValue(r.Id, out var ce);
            loc.TryGetValue(r.Id, out var le);
            var j = judge.GetValueOrDefault(r.Id) ?? [];
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{A(_l.Bug(r.BugId), titles.GetValueOrDefault(r.BugId) ?? r.BugId)}</td><td>{r.Batch}.{r.RunIndex}</td><td>{E(r.Status.ToString())}</td>");
            sb.Append(CultureInfo.InvariantCulture, $"<td>{E(ce?.Verdict?.ToString() ?? ce?.Status.ToString() ?? "pending")}</td><td>{E(string.Join(", ", j.Select(x => x.Outcome?.ToString() ?? x.Status.ToString())))}</td>");
            sb.Append(CultureInfo.InvariantCulture, $"<td class=\"num\">{(le is { Status: AnalysisStatus.Success } ? Pct(le.FileIou) : "—")}</td><td class=\"num\">{(le is { Status: AnalysisStatus.Success } ? Pct(le.FunctionIou) : "—")}</td><td class=\"num\">{Money(r.DollarCost)}</td>");
            sb.Append(CultureInfo.InvariantCulture, $"<td>{A(_l.Bug(r.BugId, $"run-{r.Id}"), $"run {r.Id}", "run-link")}</td></tr>");
        }
        sb.Append("</tbody></table>");
        return Layout("Configuration " + c.Name, sb.ToString());
    }

    // ---------------------------------------------------------------- bugs

    /// <summary>The searchable, sortable bug list.</summary>
    public string Bugs()
    {
        using var db = Open();
        var bugs = db.Bugs.AsNoTracking().Include(b => b.DeveloperPatch).OrderBy(b => b.Id).ToList();
        var baseline = BaselineVerdicts(db);
        var sb = new StringBuilder();
        sb.Append("<p><input type=\"search\" id=\"bug-search\" data-filter=\"bugs\" placeholder=\"search title, id, subsystem, verdict…\" size=\"50\"> <span class=\"note\" id=\"bug-count\"></span></p>");
        sb.Append("<table id=\"bugs\" class=\"sortable\"><thead><tr><th>title</th><th>id</th><th>status</th><th>subsystems</th><th>fix date</th><th>baseline verdict</th></tr></thead><tbody>");
        foreach (var b in bugs)
        {
            var fix = b.DeveloperPatch?.FixedTime ?? b.FixTime;
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{A(_l.Bug(b.Id), b.Title, "bug-link")}</td><td><code>{E(b.Id)}</code></td><td>{E(b.Status.ToString())}</td><td>{E(string.Join(", ", b.Subsystems))}</td><td data-sort=\"{Date(fix)}\">{Date(fix)}</td><td>{E(baseline.GetValueOrDefault(b.Id) ?? "—")}</td></tr>");
        }
        sb.Append("</tbody></table>");
        if (bugs.Count == 0)
        {
            sb.Append("<p class=\"empty\">No bugs (import some with <code>kbench bugs import</code>).</p>");
        }
        return Layout("Bugs", sb.ToString());
    }

    private static Dictionary<string, string> BaselineVerdicts(KBenchDbContext db)
        => db.KcacheEntries.AsNoTracking().AsEnumerable().GroupBy(k => k.BugId)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(k => k.UpdatedTime).ThenByDescending(k => k.Id).First() is var k ? k.Verdict?.ToString() ?? k.Status.ToString() : "", StringComparer.Ordinal);

    /// <summary>One bug: report, reproducer, developer patch, baseline and every agent run; null when unknown.</summary>
    public string? Bug(string id)
    {
        using var db = Open();
        var b = db.Bugs.AsNoTracking().Include(x => x.DeveloperPatch).ThenInclude(d => d!.Patch).Include(x => x.Reproducers).Include(x => x.FixCommits).FirstOrDefault(x => x.Id == id);
        if (b is null)
        {
            return null;
        }
        var sb = new StringBuilder("<table class=\"kv\">");
        Kv(sb, "id", b.Id);
        Kv(sb, "extid", b.Extid ?? "—");
        Kv(sb, "status", b.Status.ToString());
        Kv(sb, "subsystems", string.Join(", ", b.Subsystems));
        Kv(sb, "crash title", b.CrashTitle ?? b.Title);
        Kv(sb, "parent of fix", b.ParentOfFix ?? "—");
        Kv(sb, "fix date", Date(b.DeveloperPatch?.FixedTime ?? b.FixTime));
        if (b.Link is { Length: > 0 } link && Uri.TryCreate(link, UriKind.Absolute, out var u) && u.Scheme is "https" or "http")
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><th>syzbot</th><td>{A(link, link)}</td></tr>");
        }
        sb.Append("</table>");
        sb.Append("<h2>Crash report</h2>").Append(Pre(b.CrashReport ?? "(none stored)", "report"));
        sb.Append("<h2>Reproducer</h2>");
        if (b.Reproducers.Count == 0)
        {
            sb.Append("<p class=\"note\">(none)</p>");
        }
        foreach (var r in b.Reproducers.OrderBy(r => r.Kind))
        {
            sb.Append(CultureInfo.InvariantCulture, $"<details{(r.Kind == Arena.Store.ReproducerKind.Syz ? " open" : "")}><summary>{E(r.Kind.ToString())} reproducer{(r.Options is { Length: > 0 } o ? " — options " + E(o) : "")}</summary>{Pre(r.Text, "repro")}</details>");
        }
        var dev = b.DeveloperPatch;
        sb.Append("<h2>Developer patch</h2>");
        if (dev?.Patch is { } dp)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p>commit <code>{E(dev.CommitHash ?? "?")}</code> by {E(dev.Author ?? "?")}</p>");
            if (dev.Message is { Length: > 0 })
            {
                sb.Append(Pre(dev.Message, "message"));
            }
            sb.Append("<div id=\"developer-patch\">").Append(Diff(dp.Content)).Append("</div>");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">(no developer patch: {E(dev?.FailureReason ?? dev?.Status.ToString() ?? "not resolved")})</p>");
        }
        Baseline(db, b.Id, sb);
        AgentRuns(db, b, sb);
        return Layout(b.Title, sb.ToString());
    }

    private void Baseline(KBenchDbContext db, string bugId, StringBuilder sb)
    {
        sb.Append("<h2>Baseline (kcache)</h2>");
        var entries = db.KcacheEntries.AsNoTracking().Where(k => k.BugId == bugId).OrderByDescending(k => k.Id).ToList();
        if (entries.Count == 0)
        {
            sb.Append("<p class=\"note\">(no baseline build or reproduction yet)</p>");
            return;
        }
        foreach (var k in entries)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<div class=\"baseline\" id=\"kcache-{k.Id}\"><p>{E(k.BaseKind.ToString())} <code>{E(k.BaseCommit ?? "?")}</code>: <b class=\"verdict\">{E(k.Verdict?.ToString() ?? k.Status.ToString())}</b>{(k.CrashTitle is null ? "" : " — " + E(k.CrashTitle))}{(k.Reason is null ? "" : $" <span class=\"note\">({E(k.Reason)})</span>")}</p>");
            Instances(k.ResultJson, sb);
            sb.Append("</div>");
        }
    }

    private void Instances(string? resultJson, StringBuilder sb)
    {
        if (resultJson is null)
        {
            return;
        }
        ReproductionResult? res;
        try
        {
            res = JsonSerializer.Deserialize<ReproductionResult>(resultJson, LiveKBench.Gym.GymJob.JsonOptions);
        }
        catch (JsonException ex)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"error\">unreadable result: {E(ex.Message)}</p>");
            return;
        }
        if (res is null || res.Instances.Count == 0)
        {
            return;
        }
        sb.Append("<table class=\"instances\"><thead><tr><th>VM instance</th><th>verdict</th><th>crash</th><th>reason</th><th class=\"num\">seconds</th></tr></thead><tbody>");
        foreach (var i in res.Instances)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{i.Index}</td><td>{E(i.Verdict.ToString())}</td><td>{E(i.CrashTitle ?? "—")}{(i.SameCrash ? " (same crash)" : "")}</td><td>{E(i.Reason)}</td><td class=\"num\">{i.Seconds:F0}</td></tr>");
            sb.Append(CultureInfo.InvariantCulture, $"<tr class=\"console\"><td colspan=\"5\"><details><summary>console of instance {i.Index}</summary>{Console(i.ConsolePath)}</details></td></tr>");
        }
        sb.Append("</tbody></table>");
    }

    private static string Console(string path)
    {
        if (string.IsNullOrEmpty(path) || !File.Exists(path))
        {
            return $"<p class=\"note\">(console file {E(path)} is not on this machine)</p>";
        }
        var text = ReadTail(path, MaxInlineChars, out var cut);
        return (cut ? $"<p class=\"note\">(last {MaxInlineChars:N0} characters)</p>" : "") + Pre(text, "console");
    }

    private static string ReadTail(string path, int max, out bool cut)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        cut = fs.Length > max;
        if (cut)
        {
            fs.Seek(-max, SeekOrigin.End);
        }
        using var reader = new StreamReader(fs, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    private void AgentRuns(KBenchDbContext db, Bug b, StringBuilder sb)
    {
        var runs = db.AgentRuns.AsNoTracking().Include(r => r.AgentConfiguration).Include(r => r.Patch).Where(r => r.BugId == b.Id)
            .OrderBy(r => r.AgentConfigurationId).ThenBy(r => r.Batch).ThenBy(r => r.RunIndex).ThenBy(r => r.Id).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"<h2>Agent runs ({runs.Count})</h2>");
        if (runs.Count == 0)
        {
            sb.Append("<p class=\"note\">(no agent runs)</p>");
            return;
        }
        var ids = runs.Select(r => r.Id).ToList();
        var crash = db.CrashResolutionEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId)).ToList();
        var loc = db.LocalizationEvaluations.AsNoTracking().Where(e => ids.Contains(e.AgentRunId)).ToList();
        var judges = db.JudgeEvaluations.AsNoTracking().Include(e => e.Votes).Where(e => ids.Contains(e.AgentRunId)).ToList();
        var judgeNames = db.JudgeConfigurations.AsNoTracking().ToDictionary(j => j.Id, j => j.Name);
        var devPatch = b.DeveloperPatch?.Patch;
        foreach (var r in runs)
        {
            var cfg = r.AgentConfiguration?.Name ?? r.AgentConfigurationId.ToString(CultureInfo.InvariantCulture);
            sb.Append(CultureInfo.InvariantCulture, $"<section class=\"run\" id=\"run-{r.Id}\"><h3>run {r.Id}: {A(_l.Config(cfg), cfg)} — batch {r.Batch}, run {r.RunIndex}</h3>");
            sb.Append("<table class=\"kv\">");
            Kv(sb, "agent status", r.Status + (r.FailureReason is null ? "" : " — " + r.FailureReason));
            Kv(sb, "exit reason", r.ExitReason?.ToString() ?? "—");
            Kv(sb, "cost", Money(r.DollarCost) + (r.TimeSeconds is { } t ? string.Create(CultureInfo.InvariantCulture, $" · {t:F0} s") : "") + (r.Steps is { } s ? $" · {s} steps" : ""));
            Kv(sb, "base commit", r.BaseCommit ?? "—");
            sb.Append("</table>");
            sb.Append("<div class=\"side-by-side\"><div><h4>agent patch</h4><div class=\"agent-patch\">").Append(r.Patch is null ? "<p class=\"note\">(no patch)</p>" : Diff(r.Patch.Content)).Append("</div></div>");
            sb.Append("<div><h4>developer patch</h4>").Append(devPatch is null ? "<p class=\"note\">(none)</p>" : Diff(devPatch.Content)).Append("</div></div>");
            sb.Append("<h4>Crash resolution</h4>");
            var ces = crash.Where(e => e.AgentRunId == r.Id).OrderByDescending(e => e.Id).ToList();
            if (ces.Count == 0)
            {
                sb.Append("<p class=\"note\">pending (no evaluation yet)</p>");
            }
            foreach (var ce in ces)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<p>verdict <b class=\"verdict\">{E(ce.Verdict?.ToString() ?? ce.Status.ToString())}</b>{(ce.CrashTitle is null ? "" : " — " + E(ce.CrashTitle))}{(ce.Reason is null ? "" : $" <span class=\"note\">({E(ce.Reason)})</span>")}</p>");
                Instances(ce.ResultJson, sb);
            }
            sb.Append("<h4>LLM judge</h4>");
            var jes = judges.Where(e => e.AgentRunId == r.Id).ToList();
            if (jes.Count == 0)
            {
                sb.Append("<p class=\"note\">(not judged)</p>");
            }
            foreach (var je in jes)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<p>judge {E(judgeNames.GetValueOrDefault(je.JudgeConfigurationId) ?? "?")}: <b>{E(je.Outcome?.ToString() ?? je.Status.ToString())}</b> — yes {je.YesCount}, no {je.NoCount}, error {je.ErrorCount} · {Money(je.DollarCost)}</p>");
                foreach (var v in je.Votes.OrderBy(v => v.Index))
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<details class=\"vote\"><summary>vote {v.Index}: {E(v.Outcome.ToString())}{(v.Error is null ? "" : " — " + E(v.Error))}</summary>{Messages(v.MessagesJson)}</details>");
                }
            }
            sb.Append("<h4>Localization</h4>");
            var les = loc.Where(e => e.AgentRunId == r.Id).OrderByDescending(e => e.Id).ToList();
            foreach (var le in les)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<p>{E(le.Status.ToString())}{(le.Reason is null ? "" : " — " + E(le.Reason))}: file IoU {Pct(le.FileIou)} % ({le.FileIntersection}/{le.FileUnion}), function IoU {Pct(le.FunctionIou)} % ({le.FunctionIntersection}/{le.FunctionUnion})</p>");
            }
            if (les.Count == 0)
            {
                sb.Append("<p class=\"note\">(not evaluated)</p>");
            }
            sb.Append("<table class=\"loc\"><thead><tr><th></th><th>files</th><th>functions</th></tr></thead><tbody>");
            sb.Append(CultureInfo.InvariantCulture, $"<tr><th>agent</th><td>{E(string.Join(", ", r.Patch?.ModifiedFiles ?? []))}</td><td>{E(string.Join(", ", r.Patch?.ModifiedFunctions ?? []))}</td></tr>");
            sb.Append(CultureInfo.InvariantCulture, $"<tr><th>developer</th><td>{E(string.Join(", ", devPatch?.ModifiedFiles ?? []))}</td><td>{E(string.Join(", ", devPatch?.ModifiedFunctions ?? []))}</td></tr></tbody></table>");
            sb.Append("<h4>Trajectory</h4>").Append(Trajectory(r.TrajectoryPath));
            if (r.LogPath is { Length: > 0 } lp && File.Exists(lp))
            {
                sb.Append("<details><summary>agent log</summary>").Append(Pre(ReadTail(lp, MaxInlineChars, out _), "log")).Append("</details>");
            }
            sb.Append("</section>");
        }
    }

    private static string Messages(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
            {
                return Pre(json);
            }
            var sb = new StringBuilder("<div class=\"messages\">");
            foreach (var m in doc.RootElement.EnumerateArray())
            {
                var role = m.ValueKind == JsonValueKind.Object && m.TryGetProperty("role", out var ro) ? ro.ToString() : "?";
                var content = m.ValueKind == JsonValueKind.Object && m.TryGetProperty("content", out var co) ? (co.ValueKind == JsonValueKind.String ? co.GetString() : co.GetRawText()) : m.GetRawText();
                sb.Append(CultureInfo.InvariantCulture, $"<div class=\"msg {(role is "assistant" or "user" or "system" or "tool" ? role : "other")}\"><div class=\"role\">{E(role)}</div>{Pre(content, "content", 50_000)}</div>");
            }
            return sb.Append("</div>").ToString();
        }
        catch (JsonException)
        {
            return Pre(json);
        }
    }

    private static string Trajectory(string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "<p class=\"note\">(no trajectory recorded)</p>";
        }
        if (!File.Exists(path))
        {
            return $"<p class=\"note\">(trajectory {E(path)} is not on this machine)</p>";
        }
        var text = File.ReadAllText(path);
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            JsonElement messages = default;
            var found = root.ValueKind == JsonValueKind.Array
                ? (messages = root).ValueKind == JsonValueKind.Array
                : root.ValueKind == JsonValueKind.Object && (root.TryGetProperty("messages", out messages) || root.TryGetProperty("trajectory", out messages) || root.TryGetProperty("history", out messages)) && messages.ValueKind == JsonValueKind.Array;
            if (found)
            {
                return $"<details class=\"trajectory\" open><summary>{messages.GetArrayLength()} steps</summary>{Messages(messages.GetRawText())}</details>";
            }
            return $"<details class=\"trajectory\"><summary>trajectory (JSON)</summary>{Pre(JsonSerializer.Serialize(root, PrettyJson), "json", MaxInlineChars)}</details>";
        }
        catch (JsonException)
        {
            return $"<details class=\"trajectory\"><summary>trajectory (text)</summary>{Pre(text, "log", MaxInlineChars)}</details>";
        }
    }

    private static readonly JsonSerializerOptions PrettyJson = new() { WriteIndented = true };

    private static void Kv(StringBuilder sb, string key, string value) => sb.Append(CultureInfo.InvariantCulture, $"<tr><th>{E(key)}</th><td>{E(value)}</td></tr>");

    // ---------------------------------------------------------------- datasets

    /// <summary>Every dataset: description, members, fixed/open counts, fix-date range.</summary>
    public string Datasets()
    {
        using var db = Open();
        var sb = new StringBuilder("<table id=\"datasets\" class=\"sortable\"><thead><tr><th>dataset</th><th>description</th><th class=\"num\">bugs</th><th class=\"num\">fixed</th><th class=\"num\">open</th><th>first fix</th><th>last fix</th><th>export</th></tr></thead><tbody>");
        var list = DatasetService.List(db);
        foreach (var d in list)
        {
            var s = Summary(db, d.BugIds);
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{A(_l.Dataset(d.Name), d.Name, "dataset-link")}</td><td>{E(d.Description)}</td><td class=\"num\">{d.BugIds.Count}</td><td class=\"num\">{s.Fixed}</td><td class=\"num\">{s.Open}</td><td>{Date(s.First)}</td><td>{Date(s.Last)}</td><td>{A(_l.DatasetExport(d.Name), "Hugging Face export (zip)")}</td></tr>");
        }
        sb.Append("</tbody></table>");
        if (list.Count == 0)
        {
            sb.Append("<p class=\"empty\">No datasets (create one with <code>kbench dataset create</code>).</p>");
        }
        return Layout("Datasets", sb.ToString());
    }

    private sealed record DatasetSummary(int Fixed, int Open, DateTime? First, DateTime? Last);

    private static DatasetSummary Summary(KBenchDbContext db, List<string> ids)
    {
        var bugs = db.Bugs.AsNoTracking().Where(b => ids.Contains(b.Id)).Select(b => new { b.Status, Fixed = b.DeveloperPatch == null ? null : b.DeveloperPatch.FixedTime }).ToList();
        var dates = bugs.Where(b => b.Fixed is not null).Select(b => b.Fixed!.Value).ToList();
        return new DatasetSummary(bugs.Count(b => b.Status == BugStatus.Fixed), bugs.Count(b => b.Status == BugStatus.Open), dates.Count == 0 ? null : dates.Min(), dates.Count == 0 ? null : dates.Max());
    }

    /// <summary>One dataset's members; null when unknown.</summary>
    public string? Dataset(string name)
    {
        using var db = Open();
        var d = DatasetService.Find(db, name);
        if (d is null)
        {
            return null;
        }
        var s = Summary(db, d.BugIds);
        var baseline = BaselineVerdicts(db);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<p>{E(d.Description)}</p><p>{d.BugIds.Count} bugs ({s.Fixed} fixed, {s.Open} open) · fixed from {Date(s.First)} to {Date(s.Last)} · created {Date(d.AddedTime)} · {A(_l.DatasetExport(d.Name), "download the Hugging Face export (zip)", "export-link")}</p>");
        var bugs = db.Bugs.AsNoTracking().Include(b => b.DeveloperPatch).Where(b => d.BugIds.Contains(b.Id)).OrderBy(b => b.Id).ToList();
        sb.Append("<table id=\"members\" class=\"sortable\"><thead><tr><th>title</th><th>status</th><th>subsystems</th><th>fix date</th><th>baseline verdict</th></tr></thead><tbody>");
        foreach (var b in bugs)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{A(_l.Bug(b.Id), b.Title)}</td><td>{E(b.Status.ToString())}</td><td>{E(string.Join(", ", b.Subsystems))}</td><td>{Date(b.DeveloperPatch?.FixedTime ?? b.FixTime)}</td><td>{E(baseline.GetValueOrDefault(b.Id) ?? "—")}</td></tr>");
        }
        sb.Append("</tbody></table>");
        return Layout("Dataset " + d.Name, sb.ToString());
    }

    /// <summary>Writes dataset <paramref name="name"/>'s Hugging Face export (<see cref="DatasetExport.Export"/>) as a zip to <paramref name="output"/>.</summary>
    /// <exception cref="DatasetException">Unknown dataset.</exception>
    public void WriteDatasetExportZip(string name, Stream output)
    {
        var dir = Path.Combine(Path.GetTempPath(), "kbench-export-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            using (var db = Open())
            {
                DatasetExport.Export(db, dir, [name]);
            }
            System.IO.Compression.ZipFile.CreateFromDirectory(dir, output, System.IO.Compression.CompressionLevel.Optimal, includeBaseDirectory: false);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    // ---------------------------------------------------------------- research

    /// <summary>CRR/EPR before vs after each model's training cutoff (<see cref="CutoffResearch.Compute"/>): chart and table.</summary>
    /// <exception cref="LeaderboardException">Unknown dataset or judge.</exception>
    public string Research(LeaderboardQuery q)
    {
        using var db = Open();
        var res = CutoffResearch.Compute(db, Path.Combine(_ws.ConfigsDir, "models"), new LeaderboardOptions { Dataset = q.Dataset, K = q.K, Judge = q.Judge });
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"summary\">dataset <b>{E(res.Dataset ?? "(every bug with a run)")}</b> · k = {res.K} · judge <b>{E(res.Judge ?? "(none)")}</b> · split at each model's <code>trainingCutoff</code> (configs/models/*.yaml) by the developer fix date · {res.BugsWithoutFixDate} bugs without a fix date excluded</p>");
        if (res.Rows.Count > 0)
        {
            var panels = new List<BarPanel>
            {
                new($"CRR pass@{res.K}", [.. res.Rows.Select(r => new BarGroup(r.AgentConfig, [Bar("fixed before cutoff", r.CrrBefore), Bar("fixed after cutoff", r.CrrAfter)]))]),
                new($"EPR pass@{res.K}", [.. res.Rows.Select(r => new BarGroup(r.AgentConfig, [Bar("fixed before cutoff", r.EprBefore), Bar("fixed after cutoff", r.EprAfter)]))]),
            };
            sb.Append("<div class=\"chart\" id=\"research-chart\">").Append(BarChart.RenderSvg("Training-cutoff split (95% bootstrap CI)", panels)).Append("</div>");
        }
        sb.Append("<table id=\"research\" class=\"sortable\"><thead><tr><th>configuration</th><th>model config</th><th>cutoff</th><th class=\"num\">bugs before</th><th class=\"num\">bugs after</th><th class=\"num\">CRR before</th><th class=\"num\">CRR after</th><th class=\"num\">CRR diff</th><th class=\"num\">EPR before</th><th class=\"num\">EPR after</th><th class=\"num\">EPR diff</th></tr></thead><tbody>");
        foreach (var r in res.Rows)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{A(_l.Config(r.AgentConfig), r.AgentConfig)}</td><td>{E(r.ModelConfig)}</td><td>{Date(r.Cutoff)}</td><td class=\"num\">{r.BugsBefore}</td><td class=\"num\">{r.BugsAfter}</td>");
            sb.Append(CiCell("crrBefore", r.CrrBefore)).Append(CiCell("crrAfter", r.CrrAfter)).Append(CiCell("crrDifference", r.CrrDifference));
            sb.Append(CiCell("eprBefore", r.EprBefore)).Append(CiCell("eprAfter", r.EprAfter)).Append(CiCell("eprDifference", r.EprDifference)).Append("</tr>");
        }
        sb.Append("</tbody></table>");
        if (res.Rows.Count == 0)
        {
            sb.Append("<p class=\"empty\">No agent configuration whose model has a known training cutoff (set <code>trainingCutoff</code> in configs/models/NAME.yaml).</p>");
        }
        if (res.ConfigsWithoutCutoff.Count > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">without a known cutoff: {E(string.Join(", ", res.ConfigsWithoutCutoff))}</p>");
        }
        sb.Append("<h2>Model training cutoffs</h2><table><thead><tr><th>model config</th><th>model</th><th>training cutoff</th></tr></thead><tbody>");
        foreach (var m in res.Models)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(m.ModelConfig)}</td><td>{E(m.Model)}</td><td>{Date(m.TrainingCutoff)}</td></tr>");
        }
        sb.Append("</tbody></table>");
        foreach (var e in res.ConfigErrors)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"error\">unreadable model configuration: {E(e)}</p>");
        }
        return Layout("Research: training cutoff", sb.ToString());
    }

    // ---------------------------------------------------------------- gym

    /// <summary>The in-process Gym job history from the store (newest first, at most <paramref name="limit"/>); refreshes itself every 10 s on the server.</summary>
    public string Gym(int limit = 200)
    {
        using var db = Open();
        var jobs = db.GymJobs.AsNoTracking().Include(j => j.Stages).OrderByDescending(j => j.Id).Take(limit).ToList();
        var counts = db.GymJobs.AsNoTracking().GroupBy(j => j.Status).Select(g => new { g.Key, N = g.Count() }).ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<p class=\"summary\" id=\"gym-summary\">in-process job history (no Gym scheduler configured) · {string.Join(" · ", counts.OrderBy(c => c.Key).Select(c => $"{c.N} {c.Key}"))}{(_l.IsStatic ? "" : " · this page refreshes every 10 s")}</p>");
        sb.Append("<table id=\"gym\" class=\"sortable\"><thead><tr><th class=\"num\">job</th><th>purpose</th><th>bug</th><th>status</th><th>stages</th><th>created</th><th>updated</th><th>failure</th></tr></thead><tbody>");
        foreach (var j in jobs)
        {
            var stages = string.Join(" → ", j.Stages.OrderBy(s => s.Index).Select(s => $"{s.Kind}: {s.Status}" + (s.StartedTime is { } st && s.FinishedTime is { } ft ? string.Create(CultureInfo.InvariantCulture, $" ({(ft - st).TotalSeconds:F0} s)") : "")));
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td class=\"num\">{j.Id}</td><td>{E(j.Purpose)}</td><td>{(j.BugId is null ? "—" : A(_l.Bug(j.BugId), j.BugId))}</td><td>{E(j.Status.ToString())}</td><td>{E(stages)}</td><td>{E(j.CreatedTime.ToString("u", CultureInfo.InvariantCulture))}</td><td>{E(j.UpdatedTime.ToString("u", CultureInfo.InvariantCulture))}</td><td>{E(j.FailureReason ?? "")}</td></tr>");
        }
        sb.Append("</tbody></table>");
        if (jobs.Count == 0)
        {
            sb.Append("<p class=\"empty\">No Gym jobs yet.</p>");
        }
        return Layout("Gym jobs", sb.ToString(), refreshSeconds: 10);
    }
}
