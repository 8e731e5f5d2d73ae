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
    public void EmptyBugSetGivesEmptyMetrics()
    {
        var lb = Leaderboard.Compute([], [], [new ConfigInfo(1, "A", "m")], 3);
        Assert.Equal(MeanCi.Empty, lb.Rows[0].Crr);
        Assert.Empty(lb.Rows[0].IncompleteBugs);
    }
}
