using System.Numerics;

namespace LiveKBench.Evaluation.Aggregation;

/// <summary>A mean with a confidence interval (all three in the unit of the metric, e.g. a rate in [0, 1]).</summary>
/// <param name="Mean">The sample mean over bugs.</param>
/// <param name="CiLow">Lower bound of the percentile-bootstrap interval.</param>
/// <param name="CiHigh">Upper bound of the percentile-bootstrap interval.</param>
public sealed record MeanCi(double Mean, double CiLow, double CiHigh)
{
    /// <summary>The value for an empty sample: all zeros.</summary>
    public static MeanCi Empty { get; } = new(0, 0, 0);
}

/// <summary>
/// Percentile bootstrap (Efron &amp; Tibshirani 1993, ch. 13) of means over bugs: the bugs are resampled with
/// replacement <c>replicates</c> times, the mean of each metric is taken per replicate, and the interval is the
/// (α/2, 1−α/2) quantiles (linear interpolation, Hyndman–Fan type 7) of the replicate means.
/// </summary>
/// <remarks>
/// Reproducible: resampling indices come from SplitMix64 (Steele et al. 2014) seeded with <c>seed</c>, and
/// drawing uses Lemire's multiply-shift reduction, so the same input and seed give the same interval on every
/// platform and .NET version. All metrics of one sample share each replicate's resample, so intervals of
/// different metrics (and, with the same seed and bug order, of different configurations) are paired.
/// </remarks>
public static class Bootstrap
{
    /// <summary>Default number of bootstrap replicates.</summary>
    public const int DefaultReplicates = 1000;

    /// <summary>Default seed (any fixed value; chosen once so published numbers can be reproduced).</summary>
    public const ulong DefaultSeed = 0x4C6976654B42UL; // "LiveKB"

    /// <summary>
    /// Means and confidence intervals of <paramref name="metrics"/> columns over <paramref name="rows"/> samples.
    /// </summary>
    /// <param name="values">Row-major sample matrix: row i (a bug) holds <paramref name="metrics"/> values starting at i × <paramref name="metrics"/>.</param>
    /// <param name="rows">Number of samples (bugs); 0 gives <see cref="MeanCi.Empty"/> for every metric.</param>
    /// <param name="metrics">Number of columns (≥ 1).</param>
    /// <param name="replicates">Bootstrap replicates (≥ 1; 0 = no resampling, the interval collapses onto the mean).</param>
    /// <param name="seed">RNG seed.</param>
    /// <param name="level">Confidence level in (0, 1), default 0.95.</param>
    /// <returns>One <see cref="MeanCi"/> per column.</returns>
    /// <exception cref="ArgumentException">The matrix is smaller than rows × metrics, or a parameter is out of range.</exception>
    public static MeanCi[] MeansWithCi(ReadOnlySpan<double> values, int rows, int metrics, int replicates = DefaultReplicates, ulong seed = DefaultSeed, double level = 0.95)
        => MeansWithCi(values, rows, metrics, ResampleIndices(rows, replicates, seed), replicates, level);

    /// <summary>
    /// The resampling indices <see cref="MeansWithCi(ReadOnlySpan{double}, int, int, int, ulong, double)"/> draws for
    /// (<paramref name="rows"/>, <paramref name="replicates"/>, <paramref name="seed"/>): replicate b uses entries
    /// [b × rows, (b + 1) × rows). Compute once to share between samples of the same size (paired bootstrap).
    /// </summary>
    /// <returns>rows × replicates indices in [0, rows).</returns>
    public static int[] ResampleIndices(int rows, int replicates, ulong seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(replicates);
        var idx = new int[rows * replicates];
        var state = seed;
        for (var i = 0; i < idx.Length; i++)
        {
            idx[i] = (int)((NextUInt32(ref state) * (ulong)(uint)rows) >> 32);
        }
        return idx;
    }

    /// <summary>As <see cref="MeansWithCi(ReadOnlySpan{double}, int, int, int, ulong, double)"/> with precomputed <paramref name="indices"/> (from <see cref="ResampleIndices"/>).</summary>
    /// <exception cref="ArgumentException">Bad sizes or level.</exception>
    public static MeanCi[] MeansWithCi(ReadOnlySpan<double> values, int rows, int metrics, ReadOnlySpan<int> indices, int replicates, double level = 0.95)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(metrics, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(replicates);
        if (level is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(level), level, "level must be in (0, 1)");
        }
        if (values.Length < rows * metrics)
        {
            throw new ArgumentException($"values holds {values.Length} numbers, fewer than {rows} × {metrics}", nameof(values));
        }
        var result = new MeanCi[metrics];
        if (rows == 0)
        {
            Array.Fill(result, MeanCi.Empty);
            return result;
        }
        var w = Vector<double>.Count;
        var stride = (metrics + w - 1) / w * w;
        // Padded copy so each row is a whole number of vectors.
        var padded = new double[rows * stride];
        var means = new double[metrics];
        for (var i = 0; i < rows; i++)
        {
            for (var m = 0; m < metrics; m++)
            {
                var v = values[(i * metrics) + m];
                padded[(i * stride) + m] = v;
                means[m] += v;
            }
        }
        for (var m = 0; m < metrics; m++)
        {
            means[m] /= rows;
        }
        if (replicates == 0)
        {
            for (var m = 0; m < metrics; m++)
            {
                result[m] = new MeanCi(means[m], means[m], means[m]);
            }
            return result;
        }
        if (indices.Length < rows * replicates)
        {
            throw new ArgumentException($"indices holds {indices.Length} entries, fewer than {rows} × {replicates}", nameof(indices));
        }
        var reps = new double[metrics * replicates];
        var acc = new double[stride];
        var p = padded.AsSpan();
        for (var b = 0; b < replicates; b++)
        {
            Array.Clear(acc);
            var accSpan = acc.AsSpan();
            var draw = indices.Slice(b * rows, rows);
            for (var d = 0; d < rows; d++)
            {
                var idx = draw[d];
                var row = p.Slice(idx * stride, stride);
                for (var o = 0; o < stride; o += w)
                {
                    var a = new Vector<double>(accSpan[o..]);
                    (a + new Vector<double>(row[o..])).CopyTo(accSpan[o..]);
                }
            }
            for (var m = 0; m < metrics; m++)
            {
                reps[(m * replicates) + b] = acc[m] / rows;
            }
        }
        var alpha = 1 - level;
        for (var m = 0; m < metrics; m++)
        {
            var s = reps.AsSpan(m * replicates, replicates);
            s.Sort();
            result[m] = new MeanCi(means[m], Quantile(s, alpha / 2), Quantile(s, 1 - (alpha / 2)));
        }
        return result;
    }

    /// <summary>
    /// Difference of means <c>mean(a) − mean(b)</c> of two independent samples with a percentile-bootstrap CI
    /// (each sample resampled independently per replicate).
    /// </summary>
    /// <param name="a">First sample (e.g. per-bug scores before a cutoff).</param>
    /// <param name="b">Second sample.</param>
    /// <param name="replicates">Replicates (≥ 0).</param>
    /// <param name="seed">RNG seed.</param>
    /// <param name="level">Confidence level in (0, 1).</param>
    /// <returns>The difference and its interval; <see cref="MeanCi.Empty"/> when either sample is empty.</returns>
    public static MeanCi DifferenceWithCi(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int replicates = DefaultReplicates, ulong seed = DefaultSeed, double level = 0.95)
    {
        if (a.Length == 0 || b.Length == 0)
        {
            return MeanCi.Empty;
        }
        var diff = Mean(a) - Mean(b);
        if (replicates <= 0)
        {
            return new MeanCi(diff, diff, diff);
        }
        var reps = new double[replicates];
        var state = seed;
        for (var r = 0; r < replicates; r++)
        {
            double sa = 0, sb = 0;
            for (var i = 0; i < a.Length; i++)
            {
                sa += a[(int)((NextUInt32(ref state) * (ulong)(uint)a.Length) >> 32)];
            }
            for (var i = 0; i < b.Length; i++)
            {
                sb += b[(int)((NextUInt32(ref state) * (ulong)(uint)b.Length) >> 32)];
            }
            reps[r] = (sa / a.Length) - (sb / b.Length);
        }
        Array.Sort(reps);
        var alpha = 1 - level;
        return new MeanCi(diff, Quantile(reps, alpha / 2), Quantile(reps, 1 - (alpha / 2)));
    }

    private static double Mean(ReadOnlySpan<double> x)
    {
        var s = 0.0;
        foreach (var v in x)
        {
            s += v;
        }
        return s / x.Length;
    }

    /// <summary>Hyndman–Fan type-7 quantile of sorted data.</summary>
    internal static double Quantile(ReadOnlySpan<double> sorted, double q)
    {
        var h = (sorted.Length - 1) * q;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((h - lo) * (sorted[hi] - sorted[lo]));
    }

    private static uint NextUInt32(ref ulong state)
    {
        // SplitMix64
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (uint)((z ^ (z >> 31)) >> 32);
    }
}
