using LiveKBench.Arena.Stages;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Kernel;

/// <summary>Clopper–Pearson bounds and the stopping rule against hand-computed values; rounds on real consoles.</summary>
public class ReproductionStatisticsTests
{
    [Theory]
    // k = n: lower = (α/2)^(1/n); k = 0: upper = 1 − (α/2)^(1/n); n = 2, k = 1: 1 ∓ sqrt(0.975); 3/10 is the textbook example.
    [InlineData(5, 5, 0.4781762498950185, 1.0)]
    [InlineData(0, 5, 0.0, 0.5218237501049815)]
    [InlineData(1, 2, 0.012579117093425, 0.987420882906575)]
    [InlineData(1, 1, 0.025, 1.0)]
    [InlineData(3, 10, 0.0667395111, 0.6524528500)]
    [InlineData(20, 20, 0.8315665290, 1.0)]
    public void ClopperPearsonMatchesHandComputedBounds(int k, int n, double low, double high)
    {
        var r = ReproductionStatistics.ClopperPearson(k, n);
        Assert.Equal((double)k / n, r.Mean, 12);
        Assert.Equal(low, r.CiLow, 6);
        Assert.Equal(high, r.CiHigh, 6);
    }

    [Fact]
    public void ClopperPearsonRejectsImpossibleCounts()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ReproductionStatistics.ClopperPearson(3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReproductionStatistics.ClopperPearson(0, 0));
    }

    [Theory]
    // 5/5: (1 − 0.478)^5 = 0.0385 ≤ 0.05 but ^4 = 0.0741: 5 clean runs, as with the old 5-of-5 rule.
    [InlineData(5, 5, 5)]
    // 10/20: p_low = 0.2720, ln 0.05 / ln 0.7280 = 9.44 → 10.
    [InlineData(10, 20, 10)]
    // 20/20: p_low = 0.8316, ln 0.05 / ln 0.1684 = 1.68 → 2.
    [InlineData(20, 20, 2)]
    // 1/20: p_low = 0.00127 → 2367 clean runs: beyond any cap.
    [InlineData(1, 20, 2367)]
    public void RequiredCleanRunsIsTheSmallestCountUnderAlpha(int k, int n, int expected)
    {
        var pLow = ReproductionStatistics.ClopperPearson(k, n).CiLow;
        var c = ReproductionStatistics.RequiredCleanRuns(pLow, 0.05);
        Assert.Equal(expected, c);
        Assert.True(ReproductionStatistics.FalseFixBound(pLow, c!.Value) <= 0.05);
        Assert.True(ReproductionStatistics.FalseFixBound(pLow, c.Value - 1) > 0.05);
    }

    [Fact]
    public void NoCrashMeansNoNumberOfCleanRunsSuffices()
    {
        Assert.Null(ReproductionStatistics.RequiredCleanRuns(0, 0.05));
        Assert.Null(ReproductionStatistics.Baseline(5, 0, 0.05).RequiredCleanRuns);
    }

    [Theory]
    [InlineData(5, 5, 5, 20, RoundDecision.Resolved)]
    [InlineData(4, 4, 5, 20, RoundDecision.Continue)]
    [InlineData(5, 5, 10, 20, RoundDecision.Continue)]
    [InlineData(15, 20, 16, 20, RoundDecision.Inconclusive)] // cap reached
    [InlineData(7, 10, 10, 12, RoundDecision.Inconclusive)] // 3 more needed, 2 left under the cap
    [InlineData(0, 0, 30, 20, RoundDecision.Inconclusive)] // the cap can never decide
    public void StoppingRule(int clean, int run, int need, int cap, RoundDecision expected)
        => Assert.Equal(expected, ReproductionStatistics.Decide(clean, run, need, cap));

    private static readonly ConsoleMarkers Markers = ConsoleMarkers.RealbugsHarness;
    private const string Title = "BUG: unable to handle kernel NULL pointer dereference in unix_shutdown";

    private static InstanceVerdict Real(string which)
        => VerdictCalculator.ClassifyInstance(File.ReadAllBytes(SharedData.Path("realbugs", "unix_shutdown", $"console-{which}.txt")), Markers, KernelEnvironment.Analyzer, Title, null);

    private static InstanceVerdict Crash() => Real("buggy");

    private static InstanceVerdict Clean() => Real("fixed");

    private static InstanceVerdict Hang() => new(0, ReproductionVerdict.Error, "kernel reached user space, then stopped responding (hang)", null, false, "/c", null, 300, Hang: true);

    private static InstanceVerdict Lost() => new(0, ReproductionVerdict.Error, "VM stopped before the end marker", null, false, "/c", null, 3);

    /// <summary>Rounds answered from a script of real instance verdicts (the VMs themselves run in the slow tests).</summary>
    private sealed class ScriptedRounds(params InstanceVerdict[][] rounds)
    {
        public List<int> Requested { get; } = [];

        public Task<ReproductionResult> Round(int n, CancellationToken ct)
        {
            var i = Requested.Count;
            Requested.Add(n);
            var script = rounds[i];
            var instances = Enumerable.Range(0, n).Select(k => script[k % script.Length] with { Index = k }).ToList();
            return Task.FromResult(VerdictCalculator.Combine(instances, i == 0 ? 100 : 0, 10));
        }
    }

    [Fact]
    public void RealConsolesClassifyAsCrashAndClean()
    {
        Assert.Equal((ReproductionVerdict.Reproduced, true), (Crash().Verdict, Crash().SameCrash));
        Assert.Equal(ReproductionVerdict.NotReproduced, Clean().Verdict);
    }

    [Fact]
    public async Task DeterministicBaselineRunsOneRound()
    {
        var s = new ScriptedRounds([Crash()]);
        var r = await RoundedReproduction.BaselineAsync(s.Round, new RoundOptions(), TestContext.Current.CancellationToken);
        Assert.Equal([5], s.Requested);
        Assert.Equal(ReproductionVerdict.Reproduced, r.Verdict);
        Assert.Equal((5, 5, 5), (r.Baseline!.Instances, r.Baseline.Crashes, r.Baseline.RequiredCleanRuns));
        Assert.Equal(0.4781762498950185, r.Baseline.Rate.CiLow, 9);
    }

    [Fact]
    public async Task FlakyBaselineRunsMoreInstancesUpToTheCap()
    {
        // 2 of 5 crash → 15 more, 6 of those crash: 8/20.
        var s = new ScriptedRounds([Crash(), Clean(), Crash(), Clean(), Clean()], [Crash(), Clean(), Clean(), Clean(), Clean()]);
        var r = await RoundedReproduction.BaselineAsync(s.Round, new RoundOptions(), TestContext.Current.CancellationToken);
        Assert.Equal([5, 15], s.Requested);
        Assert.Equal(20, r.InstancesRun);
        Assert.Equal(Enumerable.Range(0, 20), r.Instances.Select(i => i.Index));
        Assert.Equal((20, 2 + 3), (r.Baseline!.Instances, r.Baseline.Crashes));
        var cp = ReproductionStatistics.ClopperPearson(5, 20);
        Assert.Equal(cp, r.Baseline.Rate);
        // p_low(5/20) = 0.0866 → 34 clean runs needed: more than the cap of 20, so agents do not get this bug.
        Assert.Equal(34, r.Baseline.RequiredCleanRuns);
    }

    [Fact]
    public async Task PatchedEvaluationOfADeterministicBugNeedsFiveCleanRuns()
    {
        var s = new ScriptedRounds([Clean()]);
        var r = await RoundedReproduction.PatchedAsync(s.Round, ReproductionStatistics.Baseline(5, 5, 0.05), new RoundOptions(), TestContext.Current.CancellationToken);
        Assert.Equal([5], s.Requested);
        Assert.Equal(ReproductionVerdict.NotReproduced, r.Verdict);
        Assert.Equal(Math.Pow(1 - 0.4781762498950185, 5), r.FalseFixBound!.Value, 9);
    }

    [Fact]
    public async Task PatchedEvaluationOfAHalfReliableBugRunsRoundsUntilTheBound()
    {
        var s = new ScriptedRounds([Clean()], [Clean()]);
        var r = await RoundedReproduction.PatchedAsync(s.Round, ReproductionStatistics.Baseline(20, 10, 0.05), new RoundOptions(), TestContext.Current.CancellationToken);
        Assert.Equal([5, 5], s.Requested);
        Assert.Equal((ReproductionVerdict.NotReproduced, 10), (r.Verdict, r.InstancesRun));
        Assert.True(r.FalseFixBound <= 0.05);
    }

    [Fact]
    public async Task ACrashInALaterRoundIsNotResolved()
    {
        var s = new ScriptedRounds([Clean()], [Clean(), Crash(), Clean(), Clean(), Clean()]);
        var r = await RoundedReproduction.PatchedAsync(s.Round, ReproductionStatistics.Baseline(20, 10, 0.05), new RoundOptions(), TestContext.Current.CancellationToken);
        Assert.Equal((ReproductionVerdict.Reproduced, true, 10), (r.Verdict, r.SameCrash, r.InstancesRun));
        Assert.Null(r.FalseFixBound);
    }

    [Fact]
    public async Task AHangAfterBootWithThePatchIsNotResolved()
    {
        var s = new ScriptedRounds([Clean(), Clean(), Hang(), Clean(), Clean()]);
        var r = await RoundedReproduction.PatchedAsync(s.Round, ReproductionStatistics.Baseline(5, 5, 0.05), new RoundOptions(), TestContext.Current.CancellationToken);
        Assert.Equal(ReproductionVerdict.Reproduced, r.Verdict);
        Assert.StartsWith("not resolved (hang)", r.Reason);
    }

    [Fact]
    public async Task LostInstancesUseUpTheCapAndGiveInconclusive()
    {
        // Need 10 clean, cap 12: 5 clean, then 2 clean + 3 lost → 7 clean, 10 run; 3 more needed but 2 left.
        var s = new ScriptedRounds([Clean()], [Clean(), Lost(), Lost(), Clean(), Lost()]);
        var r = await RoundedReproduction.PatchedAsync(s.Round, ReproductionStatistics.Baseline(20, 10, 0.05), new RoundOptions(MaxInstances: 12), TestContext.Current.CancellationToken);
        Assert.Equal([5, 5], s.Requested);
        Assert.Equal((ReproductionVerdict.Inconclusive, 10), (r.Verdict, r.InstancesRun));
        Assert.Equal(Math.Pow(1 - ReproductionStatistics.ClopperPearson(10, 20).CiLow, 7), r.FalseFixBound!.Value, 9);
        Assert.Equal(LiveKBench.Arena.Store.Verdict.Inconclusive, ReproductionStages.Map(r.Verdict));
    }

    [Fact]
    public async Task OnlyLostInstancesAreAnError()
    {
        var s = new ScriptedRounds([Lost()], [Lost()], [Lost()], [Lost()]);
        var r = await RoundedReproduction.PatchedAsync(s.Round, ReproductionStatistics.Baseline(5, 5, 0.05), new RoundOptions(), TestContext.Current.CancellationToken);
        Assert.Equal(ReproductionVerdict.Error, r.Verdict);
        Assert.Equal(20, r.InstancesRun);
    }
}
