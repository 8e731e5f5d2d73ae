using System.Numerics;
using System.Text.Json;
using LiveKBench.Evaluation.Aggregation;

namespace LiveKBench.Tests.Evaluation;

public sealed class AggregationTests
{
    private static BigInteger Choose(int n, int k)
    {
        if (k < 0 || k > n)
        {
            return BigInteger.Zero;
        }
        BigInteger r = BigInteger.One;
        for (var i = 1; i <= k; i++)
        {
            r = r * (n - k + i) / i;
        }
        return r;
    }

    [Theory]
    [InlineData(5, 2, 1, 0.4)]
    [InlineData(5, 2, 2, 0.7)] // 1 - C(3,2)/C(5,2) = 1 - 3/10
    [InlineData(5, 0, 3, 0.0)]
    [InlineData(5, 5, 3, 1.0)]
    [InlineData(5, 3, 3, 1.0)] // n - c = 2 < k: every 3-sample holds a success
    [InlineData(10, 1, 10, 1.0)]
    [InlineData(3, 1, 5, 1.0)] // n < k: pass@n
    [InlineData(3, 0, 5, 0.0)] // n < k, no success
    [InlineData(0, 0, 1, 0.0)] // no runs
    public void PassAtKHandComputed(int n, int c, int k, double expected)
        => Assert.Equal(expected, Estimators.PassAtK(n, c, k), 12);

    [Fact]
    public void PassAtKMatchesExactBinomialFormula()
    {
        for (var n = 1; n <= 40; n++)
        {
            for (var c = 0; c <= n; c++)
            {
                for (var k = 1; k <= n; k++)
                {
                    var exact = 1.0 - (double)(Choose(n - c, k) * 1_000_000_000_000 / Choose(n, k)) / 1_000_000_000_000;
                    Assert.True(Math.Abs(exact - Estimators.PassAtK(n, c, k)) < 1e-9, $"n={n} c={c} k={k}");
                }
            }
        }
    }

    [Fact]
    public void PassAtKIsStableForLargeN()
    {
        var v = Estimators.PassAtK(10_000, 1, 100);
        Assert.Equal(0.01, v, 9);
    }

    [Fact]
    public void PassAtKRejectsBadInput()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Estimators.PassAtK(3, 4, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Estimators.PassAtK(3, 1, 0));
    }

    [Fact]
    public void MeanAtKCountsMissingRunsAsZero()
    {
        Assert.Equal(0.5, Estimators.MeanAtK([1, 0, 1], 2));
        Assert.Equal(0.4, Estimators.MeanAtK([1, 0, 1], 5), 12);
        Assert.Equal(0.0, Estimators.MeanAtK([], 1));
    }

    [Fact]
    public void BootstrapIsSeededAndBracketsTheMean()
    {
        var values = Enumerable.Range(0, 200).Select(i => (double)(i % 3 == 0 ? 1 : 0)).ToArray();
        var a = Bootstrap.MeansWithCi(values, 200, 1, 1000, 42);
        var b = Bootstrap.MeansWithCi(values, 200, 1, 1000, 42);
        var c = Bootstrap.MeansWithCi(values, 200, 1, 1000, 43);
        Assert.Equal(a[0], b[0]);
        Assert.NotEqual(a[0], c[0]);
        Assert.Equal(67 / 200.0, a[0].Mean, 12);
        Assert.True(a[0].CiLow < a[0].Mean && a[0].Mean < a[0].CiHigh);
        // Normal-approximation half width ≈ 1.96 * sqrt(p(1-p)/n) ≈ 0.065
        Assert.InRange(a[0].CiHigh - a[0].CiLow, 0.09, 0.17);
    }

    [Fact]
    public void BootstrapOfConstantCollapses()
    {
        var r = Bootstrap.MeansWithCi([0.25, 0.25, 0.25, 0.25], 4, 1);
        Assert.Equal(new MeanCi(0.25, 0.25, 0.25), r[0]);
        Assert.Equal(MeanCi.Empty, Bootstrap.MeansWithCi([], 0, 3)[2]);
    }

    /// <summary>The bootstrap as first written (scalar sums in draw order, full sort, type-7 quantiles): the reference the optimised kernels must match exactly.</summary>
    private static MeanCi[] ReferenceMeansWithCi(double[] values, int rows, int metrics, int[] indices, int replicates, double level = 0.95)
    {
        var result = new MeanCi[metrics];
        var means = new double[metrics];
        for (var i = 0; i < rows; i++)
        {
            for (var m = 0; m < metrics; m++)
            {
                means[m] += values[(i * metrics) + m];
            }
        }
        for (var m = 0; m < metrics; m++)
        {
            means[m] /= rows;
        }
        var reps = new double[metrics][];
        for (var m = 0; m < metrics; m++)
        {
            reps[m] = new double[replicates];
        }
        var acc = new double[metrics];
        for (var b = 0; b < replicates; b++)
        {
            Array.Clear(acc);
            for (var d = 0; d < rows; d++)
            {
                var idx = indices[(b * rows) + d];
                for (var m = 0; m < metrics; m++)
                {
                    acc[m] += values[(idx * metrics) + m];
                }
            }
            for (var m = 0; m < metrics; m++)
            {
                reps[m][b] = acc[m] / rows;
            }
        }
        static double Q(double[] sorted, double q)
        {
            var h = (sorted.Length - 1) * q;
            var lo = (int)Math.Floor(h);
            var hi = Math.Min(lo + 1, sorted.Length - 1);
            return sorted[lo] + ((h - lo) * (sorted[hi] - sorted[lo]));
        }
        var alpha = 1 - level;
        for (var m = 0; m < metrics; m++)
        {
            Array.Sort(reps[m]);
            result[m] = replicates == 0 ? new MeanCi(means[m], means[m], means[m]) : new MeanCi(means[m], Q(reps[m], alpha / 2), Q(reps[m], 1 - (alpha / 2)));
        }
        return result;
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(7, 1, 5)]
    [InlineData(200, 1, 1000)]
    [InlineData(50, 3, 7)]
    [InlineData(300, 12, 1001)]
    [InlineData(40, 13, 99)]
    [InlineData(25, 24, 10)]
    public void BootstrapKernelsMatchTheReferenceExactly(int rows, int metrics, int replicates)
    {
        var rng = new Random((rows * 31) + metrics);
        // Ties on purpose (scores from a small set, as leaderboard scores are), plus arbitrary values in one column.
        var values = Enumerable.Range(0, rows * metrics).Select(i => i % metrics == 0 ? rng.NextDouble() : rng.Next(0, 3) / 2.0).ToArray();
        var indices = Bootstrap.ResampleIndices(rows, replicates, 7);
        var expected = ReferenceMeansWithCi(values, rows, metrics, indices, replicates);
        Assert.Equal(expected, Bootstrap.MeansWithCi(values, rows, metrics, indices, replicates, 0.95, vectorized: true, indicesChecked: false));
        Assert.Equal(expected, Bootstrap.MeansWithCi(values, rows, metrics, indices, replicates, 0.95, vectorized: false, indicesChecked: false));
        Assert.Equal(expected, Bootstrap.MeansWithCi(values, rows, metrics, replicates, 7));
        var level80 = ReferenceMeansWithCi(values, rows, metrics, indices, replicates, 0.8);
        Assert.Equal(level80, Bootstrap.MeansWithCi(values, rows, metrics, indices, replicates, 0.8));
    }

    [Fact]
    public void ResampleIndicesAreTheSequentialSplitMix64Stream()
    {
        // Large enough to be filled in parallel chunks; must equal drawing one after another.
        const int rows = 1000, replicates = 300;
        var idx = Bootstrap.ResampleIndices(rows, replicates, 12345);
        var state = 12345UL;
        for (var i = 0; i < idx.Length; i++)
        {
            var z = state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            var u = (uint)((z ^ (z >> 31)) >> 32);
            Assert.Equal((int)((u * (ulong)rows) >> 32), idx[i]);
        }
    }

    [Fact]
    public void QuantilesBySelectionEqualSortedQuantiles()
    {
        var rng = new Random(3);
        foreach (var n in new[] { 1, 2, 3, 17, 40, 1000, 1001 })
        {
            foreach (var distinct in new[] { 1, 2, 5, 1_000_000 })
            {
                var data = Enumerable.Range(0, n).Select(_ => (double)rng.Next(distinct)).ToArray();
                var sorted = data.Order().ToArray();
                foreach (var (lo, hi) in new[] { (0.025, 0.975), (0.0, 1.0), (0.5, 0.5), (0.1, 0.9) })
                {
                    var copy = (double[])data.Clone();
                    var (l, h) = Bootstrap.QuantilesBySelection(copy, lo, hi);
                    Assert.Equal(Bootstrap.Quantile(sorted, lo), l);
                    Assert.Equal(Bootstrap.Quantile(sorted, hi), h);
                    Assert.Equal(sorted, copy.Order().ToArray()); // a permutation of the input
                }
            }
        }
    }

    [Fact]
    public void BootstrapRejectsIndicesOutOfRange()
        => Assert.Throws<ArgumentException>(() => Bootstrap.MeansWithCi([1.0, 2.0], 2, 1, [0, 2], 1));

    private static RunScore Run(int id, int cfg, string bug, int batch, int idx, RunOutcome o, double epr = 0, double fi = 0, double fn = 0)
        => new(id, cfg, bug, batch, idx, o, o == RunOutcome.Resolved ? 1 : 0, epr, fi, fn);

    /// <summary>
    /// Hand-computed fixture, k = 2.
    /// Config A: b1 = [resolved+equivalent (iou .5/.25), reproduced], b2 = [resolved, resolved], b3 = [reproduced] (1 run: incomplete).
    /// Config B: b1 = [bootError, error], b2 = no runs (incomplete), b3 = runs out of order:
    ///   (batch 1, idx 0, reproduced), (batch 0, idx 1, resolved), (batch 0, idx 0, reproduced) → ordered reproduced, resolved, reproduced.
    /// </summary>
    private static LeaderboardResult Fixture(int replicates = 0) => Leaderboard.Compute(
        [
            Run(1, 1, "b1", 0, 0, RunOutcome.Resolved, epr: 1, fi: 0.5, fn: 0.25),
            Run(2, 1, "b1", 0, 1, RunOutcome.Reproduced),
            Run(3, 1, "b2", 0, 0, RunOutcome.Resolved),
            Run(4, 1, "b2", 0, 1, RunOutcome.Resolved),
            Run(5, 1, "b3", 0, 0, RunOutcome.Reproduced),
            Run(6, 2, "b1", 0, 0, RunOutcome.BootError),
            Run(7, 2, "b1", 0, 1, RunOutcome.Error),
            Run(8, 2, "b3", 1, 0, RunOutcome.Reproduced),
            Run(9, 2, "b3", 0, 1, RunOutcome.Resolved),
            Run(10, 2, "b3", 0, 0, RunOutcome.Reproduced),
            Run(11, 3, "other-bug", 0, 0, RunOutcome.Resolved), // bug outside the set: ignored
        ],
        ["b1", "b2", "b3"],
        [new ConfigInfo(1, "A", "model-a"), new ConfigInfo(2, "B", "model-b")],
        k: 2,
        replicates: replicates,
        datasetName: "ds",
        judgeName: "j");

    [Fact]
    public void LeaderboardHandComputed()
    {
        var lb = Fixture();
        Assert.Equal(["A", "B"], lb.Rows.Select(r => r.AgentConfig));
        var a = lb.Rows[0];
        Assert.Equal(3, a.Bugs);
        Assert.Equal(5, a.Runs);
        Assert.Equal((0.5 + 1 + 0) / 3, a.Crr.Mean, 12);
        Assert.Equal((0.5 + 0 + 0) / 3, a.Epr.Mean, 12);
        Assert.Equal(0.25 / 3, a.FileIou.Mean, 12);
        // pass@2: b1 n=2 c=1 → 1; b2 → 1; b3 n=1<k, c=0 → 0
        Assert.Equal(2 / 3.0, a.PassAtK.Crr.Mean, 12);
        Assert.Equal(1 / 3.0, a.PassAtK.Epr.Mean, 12);
        // mean@2: b1 (1+0)/2, b2 (1+1)/2, b3 0/2
        Assert.Equal(0.5, a.MeanAtK.Crr.Mean, 12);
        Assert.Equal([new IncompleteBug("b3", 1)], a.IncompleteBugs);
        Assert.Equal(new OutcomeCounts(3, 2, 0, 0, 0, 0, 0), a.Outcomes);

        var b = lb.Rows[1];
        Assert.Equal(5, b.Runs);
        Assert.Equal((0 + 0 + (1 / 3.0)) / 3, b.Crr.Mean, 12);
        // b3: n=3, c=1, k=2 → 1 - C(2,2)/C(3,2) = 2/3
        Assert.Equal(2 / 3.0 / 3, b.PassAtK.Crr.Mean, 12);
        // mean@2 over the ordered first two runs of b3: reproduced (0,0), resolved (0,1) → 0.5
        Assert.Equal(0.5 / 3, b.MeanAtK.Crr.Mean, 12);
        Assert.Equal([new IncompleteBug("b2", 0)], b.IncompleteBugs);
        Assert.Equal(1, b.Outcomes.BootError);
        Assert.Equal(1, b.Outcomes.Error);
        Assert.Equal(1, b.Outcomes.Resolved);
    }

    [Fact]
    public void LeaderboardIsReproducibleWithCis()
    {
        var x = Fixture(500).ToJson();
        var y = Fixture(500).ToJson();
        Assert.Equal(x, y);
        var row = Fixture(500).Rows[0];
        Assert.True(row.Crr.CiLow <= row.Crr.Mean && row.Crr.Mean <= row.Crr.CiHigh);
    }

    [Fact]
    public void LeaderboardJsonShape()
    {
        using var doc = JsonDocument.Parse(Fixture(10).ToJson());
        var root = doc.RootElement;
        Assert.Equal("ds", root.GetProperty("dataset").GetString());
        Assert.Equal(2, root.GetProperty("k").GetInt32());
        var row = root.GetProperty("rows")[0];
        foreach (var key in new[] { "agentConfig", "model", "bugs", "runs", "crr", "epr", "fileIou", "functionIou", "passAtK", "meanAtK", "incompleteBugs" })
        {
            Assert.True(row.TryGetProperty(key, out _), key);
        }
        foreach (var key in new[] { "mean", "ciLow", "ciHigh" })
        {
            Assert.True(row.GetProperty("crr").TryGetProperty(key, out _), key);
            Assert.True(row.GetProperty("passAtK").GetProperty("epr").TryGetProperty(key, out _), key);
        }
        var csv = Fixture(10).ToCsv().Split('\n');
        Assert.StartsWith("agentConfig,model,bugs,runs,crr,", csv[0]);
        Assert.StartsWith("A,model-a,3,5,", csv[1]);
    }

    [Fact]
    public void FunctionIouNotMeasuredIsLeftOutOfTheMeansAndDefinitionIouMeasuresIt()
    {
        // The issue-13 case: the developer fix of "policy" edits only a netlink policy array (no function), so the
        // oracle's function IoU there is not measured (NaN) instead of 0; definition IoU measures both bugs.
        var runs = new List<RunScore>
        {
            new(1, 1, "func", 0, 0, RunOutcome.Resolved, 1, 0, 1, 1, 1),
            new(2, 1, "policy", 0, 0, RunOutcome.Resolved, 1, 0, 1, double.NaN, 1),
            new(3, 2, "func", 0, 0, RunOutcome.Reproduced, 0, 0, 1, 0.5, 0.25),
            new(4, 2, "func", 0, 1, RunOutcome.Reproduced, 0, 0, 1, double.NaN, double.NaN), // evaluated before definitions were recorded
            new(5, 2, "policy", 0, 0, RunOutcome.Reproduced, 0, 0, 0, double.NaN, 0),
            new(6, 3, "policy", 0, 0, RunOutcome.Reproduced, 0, 0, 1, double.NaN, double.NaN),
        };
        var lb = Leaderboard.Compute(runs, ["func", "policy"], [new ConfigInfo(1, "developer-oracle", ""), new ConfigInfo(2, "agent", "m"), new ConfigInfo(3, "only-policy", "m")], k: 1, replicates: 200);
        var oracle = lb.Rows.Single(r => r.AgentConfig == "developer-oracle");
        Assert.Equal(1.0, oracle.FunctionIou!.Mean); // not (1 + 0) / 2
        Assert.Equal(1, oracle.FunctionIouBugs);
        Assert.Equal(1.0, oracle.DefinitionIou!.Mean);
        Assert.Equal(2, oracle.DefinitionIouBugs);
        Assert.Equal(1.0, oracle.PassAtK.FunctionIou!.Mean);
        var agent = lb.Rows.Single(r => r.AgentConfig == "agent");
        Assert.Equal(0.5, agent.FunctionIou!.Mean); // func: the one measured run; policy: none measured
        Assert.Equal(1, agent.FunctionIouBugs);
        Assert.Equal((0.25 + 0) / 2, agent.DefinitionIou!.Mean, 12);
        Assert.Equal(2, agent.DefinitionIouBugs);
        Assert.True(agent.DefinitionIou.CiLow <= agent.DefinitionIou.Mean && agent.DefinitionIou.Mean <= agent.DefinitionIou.CiHigh);
        // A configuration without runs on "func" scores 0 there (as in CRR); its "policy" run measures neither.
        var policyOnly = lb.Rows.Single(r => r.AgentConfig == "only-policy");
        Assert.Equal(0.0, policyOnly.FunctionIou!.Mean);
        Assert.Equal(1, policyOnly.FunctionIouBugs);

        // Nothing measured → null in JSON (same shape as functionIou otherwise); EPR null without a judge; CSV cells empty.
        var none = Leaderboard.Compute([new(1, 1, "policy", 0, 0, RunOutcome.Resolved, 1, 0, 1, double.NaN, double.NaN)], ["policy"], [new ConfigInfo(1, "x", "")], k: 1, replicates: 0);
        using var doc = JsonDocument.Parse(none.ToJson());
        var row = doc.RootElement.GetProperty("rows")[0];
        Assert.Equal(JsonValueKind.Null, row.GetProperty("functionIou").ValueKind);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("definitionIou").ValueKind);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("epr").ValueKind);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("passAtK").GetProperty("epr").ValueKind);
        Assert.Equal(JsonValueKind.Null, row.GetProperty("meanAtK").GetProperty("functionIou").ValueKind);
        Assert.Equal(0, row.GetProperty("functionIouBugs").GetInt32());
        Assert.Equal(1.0, row.GetProperty("crr").GetProperty("mean").GetDouble());
        using var measured = JsonDocument.Parse(lb.ToJson());
        var oracleJson = measured.RootElement.GetProperty("rows").EnumerateArray().Single(r => r.GetProperty("agentConfig").GetString() == "developer-oracle");
        foreach (var key in new[] { "mean", "ciLow", "ciHigh" })
        {
            Assert.Equal(JsonValueKind.Number, oracleJson.GetProperty("definitionIou").GetProperty(key).ValueKind);
            Assert.Equal(JsonValueKind.Number, oracleJson.GetProperty("passAtK").GetProperty("definitionIou").GetProperty(key).ValueKind);
        }
        var csv = none.ToCsv().Split('\n');
        var header = csv[0].Split(',');
        var cells = csv[1].Split(',');
        Assert.Equal("", cells[Array.IndexOf(header, "functionIou")]);
        Assert.Equal("", cells[Array.IndexOf(header, "epr")]);
        Assert.Equal("1", cells[Array.IndexOf(header, "crr")]);
    }

    [Fact]
    public void EmptyBugSetGivesEmptyMetrics()
    {
        var lb = Leaderboard.Compute([], [], [new ConfigInfo(1, "A", "m")], 3);
        Assert.Equal(MeanCi.Empty, lb.Rows[0].Crr);
        Assert.Empty(lb.Rows[0].IncompleteBugs);
    }
}
