namespace LiveKBench.Evaluation.Aggregation;

/// <summary>
/// Per-bug estimators over the runs of one agent configuration.
/// </summary>
/// <remarks>
/// pass@k is the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on Code",
/// arXiv:2107.03374, §2.1): with n runs of which c succeeded, pass@k = 1 − C(n−c, k) / C(n, k), the probability
/// that k runs drawn without replacement from the n contain at least one success. It is computed as the
/// numerically stable product 1 − Π_{i=n−c+1..n} (1 − k / i) (same paper, Figure 3), which never forms a
/// binomial coefficient. kArena instead takes "any success among the first k runs" (karena.md §4.2), which
/// is the special case n = k.
/// </remarks>
public static class Estimators
{
    /// <summary>
    /// Unbiased pass@k for one bug.
    /// </summary>
    /// <param name="n">Runs (≥ 0).</param>
    /// <param name="c">Successful runs (0 ≤ c ≤ n).</param>
    /// <param name="k">Sample size (≥ 1).</param>
    /// <returns>
    /// A probability in [0, 1]. When n ≥ k: 1 − C(n−c, k)/C(n, k) (1 when n − c &lt; k, 0 when c = 0).
    /// When n &lt; k the estimator is undefined (C(n, k) = 0); we return pass@n instead — 1 if any of the n
    /// runs succeeded, else 0 (n = 0 gives 0). That is a lower bound of the true pass@k; callers must list such
    /// bugs as incomplete (the leaderboard does, in <c>incompleteBugs</c>).
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException">k &lt; 1, n &lt; 0, or c outside [0, n].</exception>
    public static double PassAtK(int n, int c, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (c < 0 || c > n)
        {
            throw new ArgumentOutOfRangeException(nameof(c), c, $"successes must be in [0, {n}]");
        }
        if (c == 0)
        {
            return 0.0;
        }
        if (n < k || n - c < k)
        {
            return 1.0;
        }
        var failAll = 1.0;
        for (var i = n - c + 1; i <= n; i++)
        {
            failAll *= 1.0 - ((double)k / i);
        }
        return 1.0 - failAll;
    }

    /// <summary>
    /// kArena's mean@k (karena.md §4.2): the sum of the scores of the first k runs (in run order) divided by k;
    /// when fewer than k runs exist the missing ones count 0 (kArena would hide the cell instead).
    /// </summary>
    /// <param name="orderedScores">Per-run scores in run order (batch, run index, id), each in [0, 1].</param>
    /// <param name="k">k ≥ 1.</param>
    /// <returns>A value in [0, 1].</returns>
    /// <exception cref="ArgumentOutOfRangeException">k &lt; 1.</exception>
    public static double MeanAtK(ReadOnlySpan<double> orderedScores, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        var take = Math.Min(k, orderedScores.Length);
        var sum = 0.0;
        for (var i = 0; i < take; i++)
        {
            sum += orderedScores[i];
        }
        return sum / k;
    }

    /// <summary>Intersection over union of two sets: |A∩B| / |A∪B|, 0 when both are empty (kArena LocalizationEval).</summary>
    /// <returns>(intersection size, union size, IoU in [0, 1]).</returns>
    public static (int Intersection, int Union, double Iou) Iou(IReadOnlySet<string> a, IReadOnlySet<string> b)
    {
        var inter = a.Count(b.Contains);
        var union = a.Count + b.Count - inter;
        return (inter, union, union == 0 ? 0.0 : (double)inter / union);
    }
}
