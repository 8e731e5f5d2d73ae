using System.Globalization;

namespace LiveKBench.Kernel.Vm;

/// <summary>Runs one round of <c>instances</c> VM instances on the same kernel and returns its result (instances indexed from 0).</summary>
/// <param name="instances">Instances in this round (≥ 1).</param>
/// <param name="cancellationToken">Cancels the round.</param>
public delegate Task<ReproductionResult> ReproductionRound(int instances, CancellationToken cancellationToken);

/// <summary>Settings of the statistical verdict (settings.json section <c>Reproduction</c>).</summary>
/// <param name="RoundSize">Instances per round (<c>Vm:Instances</c>, default 5).</param>
/// <param name="MaxBaselineInstances">Cap of baseline instances when not every instance crashes (default 20).</param>
/// <param name="MaxInstances">Cap of patched instances (default 20).</param>
/// <param name="FalseFixAlpha">α: accepted probability that an unfixed bug is called resolved (default 0.05).</param>
public sealed record RoundOptions(int RoundSize = 5, int MaxBaselineInstances = 20, int MaxInstances = 20, double FalseFixAlpha = 0.05);

/// <summary>
/// Baseline and patched reproductions in rounds (README "Crash-resolution verdicts"). The rounds run on one built kernel
/// through the <see cref="ReproductionRound"/> callback, so this logic is independent of where VMs run.
/// </summary>
public static class RoundedReproduction
{
    /// <summary>
    /// Baseline: one round of <see cref="RoundOptions.RoundSize"/> instances; when some but not all instances that ran the
    /// reproducer show the bug's own crash, more instances up to <see cref="RoundOptions.MaxBaselineInstances"/>. The result
    /// carries every instance and <see cref="ReproductionResult.Baseline"/> (crashes with the bug's own crash / instances that
    /// ran the reproducer, Clopper–Pearson 95 %).
    /// </summary>
    /// <param name="round">Runs a round.</param>
    /// <param name="options">Round settings.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The combined result.</returns>
    public static async Task<ReproductionResult> BaselineAsync(ReproductionRound round, RoundOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(round);
        ArgumentNullException.ThrowIfNull(options);
        var first = await round(Math.Max(1, options.RoundSize), cancellationToken).ConfigureAwait(false);
        if (first.Instances.Count == 0)
        {
            return first;
        }
        var all = new List<InstanceVerdict>(first.Instances);
        double build = first.BuildSeconds, repro = first.ReproduceSeconds;
        var (ran, crashes) = Count(all);
        if (crashes > 0 && crashes < ran && all.Count < options.MaxBaselineInstances)
        {
            var more = await round(options.MaxBaselineInstances - all.Count, cancellationToken).ConfigureAwait(false);
            repro += more.ReproduceSeconds;
            Append(all, more.Instances);
            (ran, crashes) = Count(all);
        }
        var combined = VerdictCalculator.Combine(all, build, repro);
        return combined with { Baseline = ReproductionStatistics.Baseline(ran, crashes, options.FalseFixAlpha), LogPath = first.LogPath };
    }

    /// <summary>
    /// Patched evaluation: rounds until the clean runs reach the baseline's <see cref="BaselineReliability.RequiredCleanRuns"/>
    /// (⇒ <see cref="ReproductionVerdict.NotReproduced"/>, resolved), a crash appears (⇒ <see cref="ReproductionVerdict.Reproduced"/>),
    /// the patched kernel hangs after boot (⇒ <see cref="ReproductionVerdict.Reproduced"/>, "not resolved (hang)"), a boot
    /// error or infrastructure error stops it (⇒ that verdict), or <see cref="RoundOptions.MaxInstances"/> is reached
    /// (⇒ <see cref="ReproductionVerdict.Inconclusive"/>). The bound (1 − p_low)^clean is reported for all-clean results.
    /// </summary>
    /// <param name="round">Runs a round.</param>
    /// <param name="baseline">The bug's baseline reliability.</param>
    /// <param name="options">Round settings.</param>
    /// <param name="cancellationToken">Cancels.</param>
    /// <returns>The combined result.</returns>
    public static async Task<ReproductionResult> PatchedAsync(ReproductionRound round, BaselineReliability baseline, RoundOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(round);
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(options);
        var need = baseline.RequiredCleanRuns;
        if (need is null || need > options.MaxInstances)
        {
            return VerdictCalculator.Without(ReproductionVerdict.Inconclusive,
                $"the baseline reproduces {baseline.Crashes}/{baseline.Instances}: no {options.MaxInstances} clean runs could show the bug is gone (α = {options.FalseFixAlpha.ToString(CultureInfo.InvariantCulture)})");
        }
        var all = new List<InstanceVerdict>();
        double build = 0, repro = 0;
        string? log = null;
        var clean = 0;
        while (true)
        {
            var size = ReproductionStatistics.NextRoundSize(clean, all.Count, need.Value, options.MaxInstances, options.RoundSize);
            var r = await round(size, cancellationToken).ConfigureAwait(false);
            if (r.Instances.Count == 0)
            {
                return all.Count == 0 ? r : r with { Instances = all, BuildSeconds = build, ReproduceSeconds = repro + r.ReproduceSeconds };
            }
            if (all.Count == 0)
            {
                build = r.BuildSeconds;
                log = r.LogPath;
            }
            repro += r.ReproduceSeconds;
            Append(all, r.Instances);
            if (all.Any(i => i.Verdict == ReproductionVerdict.Reproduced))
            {
                return VerdictCalculator.Combine(all, build, repro) with { LogPath = log };
            }
            if (all.FirstOrDefault(i => i.Hang) is { } hung)
            {
                return new ReproductionResult(ReproductionVerdict.Reproduced, $"not resolved (hang): instance {hung.Index}: {hung.Reason}", null, false, all, build, repro, log);
            }
            if (all.Any(i => i.Verdict == ReproductionVerdict.BootError))
            {
                return VerdictCalculator.Combine(all, build, repro) with { LogPath = log };
            }
            clean = all.Count(i => i.Verdict == ReproductionVerdict.NotReproduced);
            var bound = ReproductionStatistics.FalseFixBound(baseline.Rate.CiLow, clean);
            switch (ReproductionStatistics.Decide(clean, all.Count, need, options.MaxInstances))
            {
                case RoundDecision.Resolved:
                    return new ReproductionResult(ReproductionVerdict.NotReproduced,
                        $"{clean}/{all.Count} instances ran the reproducer with no kernel crash; an unfixed bug would do so with probability ≤ {Fmt(bound)} (α = {Fmt(options.FalseFixAlpha)})",
                        null, false, all, build, repro, log, bound);
                case RoundDecision.Inconclusive when clean == 0:
                    return VerdictCalculator.Combine(all, build, repro) with { LogPath = log };
                case RoundDecision.Inconclusive:
                    return new ReproductionResult(ReproductionVerdict.Inconclusive,
                        $"{clean}/{all.Count} instances clean (cap {options.MaxInstances}), but an unfixed bug would do so with probability {Fmt(bound)} > α = {Fmt(options.FalseFixAlpha)}",
                        null, false, all, build, repro, log, bound);
                default:
                    continue;
            }
        }
    }

    private static string Fmt(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>(instances that ran the reproducer: reproduced or not reproduced; of those, the bug's own crash).</summary>
    internal static (int Ran, int Crashes) Count(IEnumerable<InstanceVerdict> instances)
    {
        int ran = 0, crashes = 0;
        foreach (var i in instances)
        {
            if (i.Verdict is ReproductionVerdict.Reproduced or ReproductionVerdict.NotReproduced)
            {
                ran++;
                if (i.Verdict == ReproductionVerdict.Reproduced && i.SameCrash)
                {
                    crashes++;
                }
            }
        }
        return (ran, crashes);
    }

    private static void Append(List<InstanceVerdict> all, IEnumerable<InstanceVerdict> more)
    {
        var offset = all.Count;
        all.AddRange(more.Select((v, k) => v with { Index = offset + k }));
    }
}
