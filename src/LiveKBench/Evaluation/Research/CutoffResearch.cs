using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Aggregation;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace LiveKBench.Evaluation.Research;

/// <summary>A model's training cutoff, from <c>configs/models/NAME.yaml</c> field <c>trainingCutoff</c>.</summary>
/// <param name="ModelConfig">Model configuration name.</param>
/// <param name="Model">Model id.</param>
/// <param name="TrainingCutoff">Cutoff date (UTC), null when the file does not give one.</param>
public sealed record ModelCutoff(string ModelConfig, string Model, DateTime? TrainingCutoff);

/// <summary>CRR/EPR of one agent configuration on bugs fixed before vs on/after its model's training cutoff.</summary>
/// <param name="AgentConfig">Agent configuration name.</param>
/// <param name="ModelConfig">Its model configuration.</param>
/// <param name="Cutoff">The model's training cutoff; bugs with DeveloperPatch.FixedTime &lt; cutoff are "before".</param>
/// <param name="BugsBefore">Bugs fixed before the cutoff.</param>
/// <param name="BugsAfter">Bugs fixed on or after the cutoff.</param>
/// <param name="CrrBefore">CRR pass@k over the before bugs (mean, 95 % bootstrap CI).</param>
/// <param name="CrrAfter">CRR pass@k over the after bugs.</param>
/// <param name="CrrDifference">CrrBefore − CrrAfter with a bootstrap CI (positive = better on bugs the model may have seen).</param>
/// <param name="EprBefore">EPR pass@k before.</param>
/// <param name="EprAfter">EPR pass@k after.</param>
/// <param name="EprDifference">EprBefore − EprAfter with CI.</param>
public sealed record CutoffSplitRow(string AgentConfig, string ModelConfig, DateTime Cutoff, int BugsBefore, int BugsAfter, MeanCi CrrBefore, MeanCi CrrAfter, MeanCi CrrDifference, MeanCi EprBefore, MeanCi EprAfter, MeanCi EprDifference);

/// <summary>Result of <c>kbench research cutoff</c>.</summary>
/// <param name="Dataset">Dataset name or null (every bug with a run).</param>
/// <param name="K">k of pass@k.</param>
/// <param name="Judge">Judge defining EPR.</param>
/// <param name="Models">Table of model training cutoffs (every model configuration file).</param>
/// <param name="BugsWithoutFixDate">Bugs of the set excluded because their developer patch has no FixedTime (or there is none).</param>
/// <param name="ConfigsWithoutCutoff">Agent configurations skipped because their model has no known training cutoff.</param>
/// <param name="Rows">One row per agent configuration with a cutoff.</param>
/// <param name="ConfigErrors">Model configuration files that could not be read.</param>
public sealed record CutoffResult(string? Dataset, int K, string? Judge, IReadOnlyList<ModelCutoff> Models, int BugsWithoutFixDate, IReadOnlyList<string> ConfigsWithoutCutoff, IReadOnlyList<CutoffSplitRow> Rows, IReadOnlyList<string> ConfigErrors)
{
    /// <summary>Path of the SVG chart when written.</summary>
    public string? ChartSvg { get; init; }

    /// <summary>Path of the PNG chart when produced.</summary>
    public string? ChartPng { get; init; }

    /// <summary>Why no chart was drawn, when so (no rows to plot).</summary>
    public string? PngSkipped { get; init; }
}

/// <summary>
/// Pre/post training-cutoff (contamination) split (karena.md §7): the date is the developer fix's committer date
/// (DeveloperPatch.FixedTime, UTC); unlike kArenaWeb's single hand-typed date, each agent configuration is split at
/// the <c>trainingCutoff</c> of its own model configuration. Metrics are CRR and EPR pass@k per bug (as on the
/// leaderboard), averaged over each side's bugs, with percentile-bootstrap CIs and a CI of the difference.
/// </summary>
public static class CutoffResearch
{
    /// <summary>Computes the split.</summary>
    /// <param name="db">Store.</param>
    /// <param name="modelsDir">configs/models of the workspace.</param>
    /// <param name="options">Dataset, k, judge, bootstrap settings (as for the leaderboard).</param>
    /// <exception cref="LeaderboardException">Unknown dataset or judge.</exception>
    public static CutoffResult Compute(KBenchDbContext db, string modelsDir, LeaderboardOptions options)
    {
        var errors = new List<string>();
        var models = ModelConfig.LoadAll(modelsDir, errors);
        var cutoffs = models.Select(m => new ModelCutoff(m.Name, m.Model, m.TrainingCutoff)).ToList();
        var (datasetId, datasetName) = Leaderboard.ResolveDataset(db, options.Dataset);
        var (judgeId, judgeName) = Leaderboard.ResolveJudge(db, options.Judge);
        var runs = Leaderboard.LoadRuns(db, datasetId, judgeId);
        List<string> bugs = datasetId is { } ds
            ? [.. db.DatasetMembers.AsNoTracking().Where(m => m.DatasetId == ds).Select(m => m.BugId).Distinct()]
            : [.. runs.Select(r => r.BugId).Distinct()];
        var fixedTimes = db.DeveloperPatches.AsNoTracking().Where(d => d.FixedTime != null)
            .Select(d => new { d.BugId, d.FixedTime }).ToDictionary(d => d.BugId, d => d.FixedTime!.Value);
        var dated = bugs.Where(fixedTimes.ContainsKey).Order(StringComparer.Ordinal).ToArray();
        var withoutDate = bugs.Count - dated.Length;
        var configs = db.AgentConfigurations.AsNoTracking().Select(c => new { c.Id, c.Name, c.Model, c.ModelConfigName }).ToList();
        var runsByConfig = runs.GroupBy(r => r.AgentConfigurationId).ToDictionary(g => g.Key, g => g.ToList());
        var rows = new List<CutoffSplitRow>();
        var noCutoff = new List<string>();
        foreach (var c in configs.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            if (!runsByConfig.TryGetValue(c.Id, out var cr))
            {
                continue;
            }
            var model = models.FirstOrDefault(m => m.Name == c.ModelConfigName) ?? models.FirstOrDefault(m => c.ModelConfigName is null && m.Model == c.Model);
            if (model?.TrainingCutoff is not { } cutoff)
            {
                noCutoff.Add(c.Name);
                continue;
            }
            var before = dated.Where(b => fixedTimes[b] < cutoff).ToArray();
            var after = dated.Where(b => fixedTimes[b] >= cutoff).ToArray();
            var vb = Values(cr, before, options.K);
            var va = Values(cr, after, options.K);
            var ciB = Bootstrap.MeansWithCi(vb, before.Length, Leaderboard.Columns, options.Replicates, options.Seed);
            var ciA = Bootstrap.MeansWithCi(va, after.Length, Leaderboard.Columns, options.Replicates, options.Seed);
            rows.Add(new CutoffSplitRow(
                c.Name,
                model.Name,
                cutoff,
                before.Length,
                after.Length,
                ciB[4],
                ciA[4],
                Bootstrap.DifferenceWithCi(Column(vb, 4), Column(va, 4), options.Replicates, options.Seed),
                ciB[5],
                ciA[5],
                Bootstrap.DifferenceWithCi(Column(vb, 5), Column(va, 5), options.Replicates, options.Seed)));
        }
        return new CutoffResult(datasetName, options.K, judgeName, cutoffs, withoutDate, noCutoff, rows, errors);
    }

    private static double[] Values(List<RunScore> runs, string[] bugs, int k)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < bugs.Length; i++)
        {
            index[bugs[i]] = i;
        }
        var byBug = new List<RunScore>?[bugs.Length];
        foreach (var r in runs)
        {
            if (index.TryGetValue(r.BugId, out var i))
            {
                (byBug[i] ??= []).Add(r);
            }
        }
        return Leaderboard.PerBugValues(byBug, bugs, k, out _, out _, out _);
    }

    private static double[] Column(double[] values, int column)
    {
        var n = values.Length / Leaderboard.Columns;
        var col = new double[n];
        for (var i = 0; i < n; i++)
        {
            col[i] = values[(i * Leaderboard.Columns) + column];
        }
        return col;
    }

    /// <summary>
    /// Writes the chart (CRR and EPR panels, before/after bars with CI whiskers per agent configuration), drawn by
    /// ScottPlot, to <c>artifacts/research/cutoff-&lt;dataset|all&gt;-k&lt;K&gt;.svg</c> and <c>.png</c>. Without rows
    /// (no configuration has a cutoff, or no runs) no chart is drawn and <see cref="CutoffResult.PngSkipped"/> says why.
    /// </summary>
    /// <returns><paramref name="result"/> with the chart paths (or the reason there is no chart).</returns>
    public static Task<CutoffResult> WriteChartAsync(Workspace ws, CutoffResult result, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var panels = new List<BarPanel>
        {
            new($"CRR pass@{result.K}", [.. result.Rows.Select(r => new BarGroup(r.AgentConfig, [new Bar("fixed before cutoff", r.CrrBefore.Mean, r.CrrBefore.CiLow, r.CrrBefore.CiHigh), new Bar("fixed after cutoff", r.CrrAfter.Mean, r.CrrAfter.CiLow, r.CrrAfter.CiHigh)]))]),
            new($"EPR pass@{result.K}", [.. result.Rows.Select(r => new BarGroup(r.AgentConfig, [new Bar("fixed before cutoff", r.EprBefore.Mean, r.EprBefore.CiLow, r.EprBefore.CiHigh), new Bar("fixed after cutoff", r.EprAfter.Mean, r.EprAfter.CiLow, r.EprAfter.CiHigh)]))]),
        };
        if (!BarChart.HasData(panels))
        {
            return Task.FromResult(result with { PngSkipped = "no chart: no agent configuration with a training cutoff has runs" });
        }
        var dir = Path.Combine(ws.ArtifactsDir, "research");
        Directory.CreateDirectory(dir);
        var stem = Path.Combine(dir, $"cutoff-{Sanitize(result.Dataset ?? "all")}-k{result.K}");
        var title = $"Training-cutoff split ({result.Dataset ?? "all bugs"}; 95% bootstrap CI)";
        File.WriteAllText(stem + ".svg.tmp", BarChart.RenderSvg(title, panels));
        File.Move(stem + ".svg.tmp", stem + ".svg", overwrite: true);
        BarChart.SavePng(title, panels, stem + ".tmp.png");
        File.Move(stem + ".tmp.png", stem + ".png", overwrite: true);
        return Task.FromResult(result with { ChartSvg = stem + ".svg", ChartPng = stem + ".png" });
    }

    private static string Sanitize(string s) => new([.. s.Select(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.' ? ch : '_')]);
}
