using System.Text.Json.Serialization;

namespace LiveKBench.Kernel.Vm;

/// <summary>A proportion with its two-sided confidence interval (all in [0, 1]).</summary>
/// <param name="Mean">Point estimate k / n.</param>
/// <param name="CiLow">Lower bound of the interval.</param>
/// <param name="CiHigh">Upper bound of the interval.</param>
public sealed record RateEstimate(double Mean, double CiLow, double CiHigh);

/// <summary>The baseline's reliability: how often the unpatched kernel shows the bug's own crash.</summary>
/// <param name="Instances">Baseline instances that ran the reproducer (boot errors and infrastructure errors excluded).</param>
/// <param name="Crashes">Instances that showed the bug's own crash (same crash: equal titles or intersecting alt titles).</param>
/// <param name="Rate">Crashes / instances with the 95 % Clopper–Pearson interval.</param>
/// <param name="RequiredCleanRuns">Clean patched instances needed for a <i>resolved</i> verdict (<see cref="ReproductionStatistics.RequiredCleanRuns"/>), or null when no number of runs can reach the bound (no crash at all).</param>
public sealed record BaselineReliability(int Instances, int Crashes, RateEstimate Rate, int? RequiredCleanRuns);

/// <summary>What to do after a round of patched instances.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RoundDecision>))]
public enum RoundDecision
{
    /// <summary>Enough clean instances: the bug is unlikely to still be there (false-fix bound ≤ α).</summary>
    Resolved,

    /// <summary>Not enough clean instances yet and the cap allows more: run another round.</summary>
    Continue,

    /// <summary>The cap of instances was reached before the bound: neither a fix nor a crash.</summary>
    Inconclusive,
}

/// <summary>
/// The statistics behind the crash-resolution verdict (README "Crash-resolution verdicts"). A reproducer that crashes
/// the unpatched kernel with probability p per run shows c clean runs on an unfixed kernel with probability (1 − p)^c.
/// With p_low the lower 95 % Clopper–Pearson bound of the baseline's reproduction rate, a patch counts as resolving the
/// crash only when (1 − p_low)^clean ≤ α; a 5/5 baseline gives p_low = 0.025^(1/5) ≈ 0.478 and needs 5 clean runs.
/// </summary>
public static class ReproductionStatistics
{
    /// <summary>
    /// Exact (Clopper–Pearson) two-sided interval of a binomial proportion: the lower bound solves P(X ≥ k | n, p) = (1 − c)/2
    /// (0 when k = 0), the upper bound solves P(X ≤ k | n, p) = (1 − c)/2 (1 when k = n). Source: Clopper &amp; Pearson,
    /// Biometrika 26 (1934). Solved by bisection on the exact binomial tail to 1e-12.
    /// </summary>
    /// <param name="successes">k, 0 ≤ k ≤ n.</param>
    /// <param name="trials">n ≥ 1.</param>
    /// <param name="confidence">Coverage, default 0.95.</param>
    /// <returns>Mean k/n and the interval.</returns>
    /// <exception cref="ArgumentOutOfRangeException">n &lt; 1, k outside [0, n] or confidence outside (0, 1).</exception>
    public static RateEstimate ClopperPearson(int successes, int trials, double confidence = 0.95)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trials, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successes, trials);
        if (confidence is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(confidence), "confidence must be in (0, 1)");
        }
        var tail = (1 - confidence) / 2;
        var low = successes == 0 ? 0.0 : Bisect(p => UpperTail(successes, trials, p) - tail);
        var high = successes == trials ? 1.0 : Bisect(p => tail - LowerTail(successes, trials, p));
        return new RateEstimate((double)successes / trials, low, high);
    }

    /// <summary>
    /// Smallest number c of clean runs with (1 − <paramref name="pLow"/>)^c ≤ <paramref name="alpha"/>:
    /// ⌈ln α / ln(1 − p_low)⌉; null when p_low ≤ 0 (no number of clean runs suffices). 1 when p_low ≥ 1.
    /// </summary>
    /// <param name="pLow">Lower bound of the baseline's reproduction rate.</param>
    /// <param name="alpha">Accepted probability of calling an unfixed bug fixed, in (0, 1).</param>
    /// <returns>The number of clean runs, or null.</returns>
    /// <exception cref="ArgumentOutOfRangeException">alpha outside (0, 1).</exception>
    public static int? RequiredCleanRuns(double pLow, double alpha)
    {
        if (alpha is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), "alpha must be in (0, 1)");
        }
        if (pLow <= 0)
        {
            return null;
        }
        if (pLow >= 1)
        {
            return 1;
        }
        var c = (int)Math.Ceiling(Math.Log(alpha) / Math.Log(1 - pLow) - 1e-9);
        // Guard against rounding: make sure the bound really holds at c and not at c - 1.
        while (FalseFixBound(pLow, c) > alpha)
        {
            c++;
        }
        while (c > 1 && FalseFixBound(pLow, c - 1) <= alpha)
        {
            c--;
        }
        return Math.Max(1, c);
    }

    /// <summary>The probability that an unfixed bug shows <paramref name="clean"/> clean runs: (1 − p_low)^clean.</summary>
    /// <param name="pLow">Lower bound of the baseline's reproduction rate.</param>
    /// <param name="clean">Clean runs observed (≥ 0).</param>
    /// <returns>The bound in [0, 1].</returns>
    public static double FalseFixBound(double pLow, int clean) => Math.Pow(1 - Math.Clamp(pLow, 0, 1), Math.Max(0, clean));

    /// <summary>The baseline's reliability from its instance counts.</summary>
    /// <param name="instances">Instances that ran the reproducer.</param>
    /// <param name="crashes">Instances with the bug's own crash.</param>
    /// <param name="alpha">False-fix α.</param>
    /// <returns>The reliability; <see cref="BaselineReliability.Rate"/> is (0, 0, 1) when no instance ran.</returns>
    public static BaselineReliability Baseline(int instances, int crashes, double alpha)
    {
        if (instances <= 0)
        {
            return new BaselineReliability(0, 0, new RateEstimate(0, 0, 1), null);
        }
        var rate = ClopperPearson(crashes, instances);
        return new BaselineReliability(instances, crashes, rate, RequiredCleanRuns(rate.CiLow, alpha));
    }

    /// <summary>
    /// The stopping rule of a patched evaluation after rounds without a crash: resolved when <paramref name="clean"/> ≥ the
    /// required clean runs; inconclusive when <paramref name="instancesRun"/> reached the cap (instances lost to infrastructure
    /// errors count towards it) or the bound can never be reached within it; else continue.
    /// (A crash or hang stops the evaluation before this is asked: not resolved.)
    /// </summary>
    /// <param name="clean">Clean instances so far.</param>
    /// <param name="instancesRun">Instances run so far (clean + lost).</param>
    /// <param name="requiredClean">Clean runs needed (null = never enough).</param>
    /// <param name="maxInstances">Cap of patched instances.</param>
    /// <returns>The decision.</returns>
    public static RoundDecision Decide(int clean, int instancesRun, int? requiredClean, int maxInstances)
    {
        if (requiredClean is { } need && clean >= need)
        {
            return RoundDecision.Resolved;
        }
        if (requiredClean is null || instancesRun >= maxInstances || requiredClean - clean > maxInstances - instancesRun)
        {
            return RoundDecision.Inconclusive;
        }
        return RoundDecision.Continue;
    }

    /// <summary>Size of the next round: the clean runs still needed, at most <paramref name="roundSize"/> and the room left under the cap.</summary>
    /// <param name="clean">Clean instances so far.</param>
    /// <param name="instancesRun">Instances run so far.</param>
    /// <param name="requiredClean">Clean runs needed.</param>
    /// <param name="maxInstances">Cap.</param>
    /// <param name="roundSize">Preferred round size (VM instances run together).</param>
    /// <returns>At least 1.</returns>
    public static int NextRoundSize(int clean, int instancesRun, int requiredClean, int maxInstances, int roundSize)
        => Math.Max(1, Math.Min(Math.Min(requiredClean - clean, maxInstances - instancesRun), Math.Max(1, roundSize)));

    // P(X >= k) for X ~ Binomial(n, p).
    private static double UpperTail(int k, int n, double p) => 1 - LowerTail(k - 1, n, p);

    // P(X <= k) for X ~ Binomial(n, p), summed in log space.
    private static double LowerTail(int k, int n, double p)
    {
        if (k < 0)
        {
            return 0;
        }
        if (k >= n)
        {
            return 1;
        }
        if (p <= 0)
        {
            return 1;
        }
        if (p >= 1)
        {
            return 0;
        }
        double sum = 0;
        for (var i = 0; i <= k; i++)
        {
            sum += Math.Exp(LogChoose(n, i) + (i * Math.Log(p)) + ((n - i) * Math.Log(1 - p)));
        }
        return Math.Min(1, sum);
    }

    private static double LogChoose(int n, int k)
    {
        double s = 0;
        for (var i = 1; i <= k; i++)
        {
            s += Math.Log(n - k + i) - Math.Log(i);
        }
        return s;
    }

    // Root of an increasing function f on [0, 1].
    private static double Bisect(Func<double, double> f)
    {
        double lo = 0, hi = 1;
        for (var i = 0; i < 200 && hi - lo > 1e-13; i++)
        {
            var mid = (lo + hi) / 2;
            if (f(mid) < 0)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }
        return (lo + hi) / 2;
    }
}
