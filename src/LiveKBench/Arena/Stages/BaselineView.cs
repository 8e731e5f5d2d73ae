using System.Text.Json.Serialization;
using LiveKBench.Arena.Store;

namespace LiveKBench.Arena.Stages;

/// <summary>The <c>baseline</c> object of <c>kbench bugs show --json</c>: the kcache result of a bug.</summary>
/// <param name="Verdict">Stored verdict text (<c>reproduced</c>, <c>notReproduced</c>, ...), or the status while no verdict exists.</param>
/// <param name="SameCrash">Whether the crash seen is the bug's own (null when nothing crashed).</param>
/// <param name="Instances">Baseline instances that ran the reproducer (all rounds), or null for entries stored before baseline statistics.</param>
/// <param name="Crashes">Of those, instances with the bug's own crash.</param>
/// <param name="ReproductionRate">Crashes / instances with the 95 % Clopper–Pearson interval, or null.</param>
/// <param name="RequiredCleanRuns">Clean patched runs a resolved verdict needs (null: none suffices).</param>
/// <param name="GivenToAgents">True when agents get the bug (own crash, and the bound is reachable within <c>Reproduction:MaxInstances</c>).</param>
/// <param name="Why">Why agents do not get it, or null.</param>
public sealed record BaselineView(
    string Verdict,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] bool? SameCrash,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Instances,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? Crashes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] Kernel.Vm.RateEstimate? ReproductionRate,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] int? RequiredCleanRuns,
    bool GivenToAgents,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Why)
{
    /// <summary>The view of a kcache entry, or null when kcache has not run for the bug.</summary>
    /// <param name="entry">The entry, or null.</param>
    /// <param name="maxInstances"><c>Reproduction:MaxInstances</c>.</param>
    /// <returns>The view or null.</returns>
    public static BaselineView? Of(KcacheEntry? entry, int maxInstances)
    {
        if (entry is null)
        {
            return null;
        }
        var rel = ReproductionStages.BaselineOf(entry);
        string? why = entry.Verdict switch
        {
            null => $"kcache {EnumText.ToText(entry.Status)}{(entry.FailureReason is null ? "" : ": " + entry.FailureReason)}",
            Store.Verdict.Reproduced when entry.SameCrash != true => $"the baseline crashed with another crash ({entry.CrashTitle})",
            Store.Verdict.Reproduced when rel is not null && (rel.RequiredCleanRuns is null || rel.RequiredCleanRuns > maxInstances)
                => $"baseline too unreliable: {rel.Crashes}/{rel.Instances} crashes (95 % CI {rel.Rate.CiLow:0.###}–{rel.Rate.CiHigh:0.###}) need {(rel.RequiredCleanRuns is { } r ? r.ToString(System.Globalization.CultureInfo.InvariantCulture) : "∞")} clean runs > Reproduction:MaxInstances = {maxInstances}",
            Store.Verdict.Reproduced => null,
            { } v => $"baseline verdict {EnumText.ToText(v)}",
        };
        return new BaselineView(entry.Verdict is { } vv ? EnumText.ToText(vv) : EnumText.ToText(entry.Status), entry.SameCrash, rel?.Instances, rel?.Crashes, rel?.Rate, rel?.RequiredCleanRuns, why is null, why);
    }
}
