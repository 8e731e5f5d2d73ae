using System.Buffers;
using System.Runtime.Intrinsics;

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
        => MeansWithCi(values, rows, metrics, ResampleIndices(rows, replicates, seed), replicates, level, Vector256.IsHardwareAccelerated, indicesChecked: true);

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
        var idx = new int[checked(rows * replicates)];
        FillResampleIndices(idx, rows, seed);
        return idx;
    }

    /// <summary>Writes the first <paramref name="indices"/>.Length entries of <see cref="ResampleIndices"/>'s stream for (<paramref name="rows"/>, <paramref name="seed"/>) into <paramref name="indices"/> (e.g. a pooled array).</summary>
    internal static void FillResampleIndices(int[] indices, int rows, ulong seed) => FillResampleIndices(indices, indices.Length, rows, seed);

    /// <summary>As <see cref="FillResampleIndices(int[], int, ulong)"/> for the first <paramref name="count"/> entries.</summary>
    internal static void FillResampleIndices(int[] indices, int count, int rows, ulong seed)
    {
        // SplitMix64 is a counter-based generator (state i = seed + i × γ), so chunks are filled independently
        // and the stream is the same as drawing it sequentially.
        const int chunk = 1 << 16;
        var chunks = (count + chunk - 1) / chunk;
        if (chunks <= 1)
        {
            FillIndices(indices, 0, count, rows, seed);
        }
        else
        {
            Parallel.For(0, chunks, c => FillIndices(indices, c * chunk, Math.Min(chunk, count - (c * chunk)), rows, seed));
        }
    }

    private static void FillIndices(int[] idx, int start, int count, int rows, ulong seed)
    {
        var state = seed + (unchecked((ulong)start) * Gamma);
        var span = idx.AsSpan(start, count);
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (int)((NextUInt32(ref state) * (ulong)(uint)rows) >> 32);
        }
    }

    /// <summary>As <see cref="MeansWithCi(ReadOnlySpan{double}, int, int, int, ulong, double)"/> with precomputed <paramref name="indices"/> (from <see cref="ResampleIndices"/>).</summary>
    /// <remarks>
    /// Replicate sums are accumulated column by column in draw order, so the result does not depend on the
    /// instruction set: with AVX2 the 12 leaderboard columns stay in three 256-bit registers per replicate and
    /// four replicates are summed at once; without it a scalar loop does the same additions in the same order.
    /// The interval ends are order statistics picked by selection (no full sort).
    /// </remarks>
    /// <exception cref="ArgumentException">Bad sizes or level, or an index outside [0, rows).</exception>
    public static MeanCi[] MeansWithCi(ReadOnlySpan<double> values, int rows, int metrics, ReadOnlySpan<int> indices, int replicates, double level = 0.95)
        => MeansWithCi(values, rows, metrics, indices, replicates, level, Vector256.IsHardwareAccelerated, indicesChecked: false);

    /// <summary>
    /// As the public overload. <paramref name="vectorized"/> = false forces the scalar kernel (tests compare both);
    /// <paramref name="indicesChecked"/> = true skips the range check of <paramref name="indices"/>, for callers
    /// that pass <see cref="ResampleIndices"/>'s output for the same <paramref name="rows"/> (the vector kernel
    /// reads unchecked, so an index out of range would read outside the matrix).
    /// </summary>
    internal static MeanCi[] MeansWithCi(ReadOnlySpan<double> values, int rows, int metrics, ReadOnlySpan<int> indices, int replicates, double level, bool vectorized, bool indicesChecked)
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
        indices = indices[..(rows * replicates)];
        if (!indicesChecked && indices.IndexOfAnyExceptInRange(0, rows - 1) >= 0)
        {
            throw new ArgumentException($"indices holds an entry outside [0, {rows})", nameof(indices));
        }
        // Column m's replicate means at [m × replicates, (m + 1) × replicates). Pooled: the leaderboard calls this
        // once per configuration, and fresh large arrays would land on the large-object heap each time.
        var reps = ArrayPool<double>.Shared.Rent(metrics * replicates);
        try
        {
            if (vectorized)
            {
                ReplicateSumsAvx(values, rows, metrics, indices, replicates, reps);
            }
            else
            {
                ReplicateSumsScalar(values, rows, metrics, indices, replicates, reps);
            }
            var alpha = 1 - level;
            for (var m = 0; m < metrics; m++)
            {
                var s = reps.AsSpan(m * replicates, replicates);
                var (lo, hi) = QuantilesBySelection(s, alpha / 2, 1 - (alpha / 2));
                result[m] = new MeanCi(means[m], lo, hi);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(reps);
        }
        return result;
    }

    /// <summary>Columns per register block of the vector kernel (three <see cref="Vector256{T}"/> of doubles).</summary>
    private const int Block = 12;

    /// <summary>Replicates summed at once by the vector kernel (independent add chains hide the add latency).</summary>
    private const int Interleave = 4;

    private static unsafe void ReplicateSumsAvx(ReadOnlySpan<double> values, int rows, int metrics, ReadOnlySpan<int> indices, int replicates, double[] reps)
    {
        // Row-major copy padded to a whole number of 12-column blocks (padding columns are zero and ignored).
        // Rows start on 32-byte boundaries (96-byte rows from a 64-byte aligned start): no load straddles a cache
        // line (a third faster than the array's own 8- or 16-byte alignment). The start is found inside `fixed`.
        var blocks = (metrics + Block - 1) / Block;
        var stride = blocks * Block;
        var buffer = ArrayPool<double>.Shared.Rent((rows * stride) + 8);
        try
        {
            fixed (double* buf = buffer)
            fixed (int* ix0 = indices)
            {
                var skip = (int)((64 - ((nint)buf & 63)) & 63) / sizeof(double);
                var padded = buffer.AsSpan(skip, rows * stride);
                padded.Clear();
                for (var i = 0; i < rows; i++)
                {
                    values.Slice(i * metrics, metrics).CopyTo(padded.Slice(i * stride, metrics));
                }
                SumBlocks(buf + skip, stride, blocks, rows, metrics, ix0, replicates, reps);
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(buffer);
        }
    }

    /// <summary>The register kernel: for each 12-column block and each group of four replicates, sums the drawn rows in draw order.</summary>
    private static unsafe void SumBlocks(double* p0, int stride, int blocks, int rows, int metrics, int* ix0, int replicates, double[] reps)
    {
        var sums = stackalloc double[Interleave * Block];
        for (var blk = 0; blk < blocks; blk++)
        {
            var p = p0 + (blk * Block);
            for (var b = 0; b < replicates; b += Interleave)
            {
                // Replicates past the end reuse the last one's draws; their sums are not stored.
                var d0 = ix0 + ((long)Math.Min(b, replicates - 1) * rows);
                var d1 = ix0 + ((long)Math.Min(b + 1, replicates - 1) * rows);
                var d2 = ix0 + ((long)Math.Min(b + 2, replicates - 1) * rows);
                var d3 = ix0 + ((long)Math.Min(b + 3, replicates - 1) * rows);
                Vector256<double> a0 = default, a1 = default, a2 = default;
                Vector256<double> b0 = default, b1 = default, b2 = default;
                Vector256<double> c0 = default, c1 = default, c2 = default;
                Vector256<double> e0 = default, e1 = default, e2 = default;
                for (var d = 0; d < rows; d++)
                {
                    var r0 = p + ((long)d0[d] * stride);
                    var r1 = p + ((long)d1[d] * stride);
                    var r2 = p + ((long)d2[d] * stride);
                    var r3 = p + ((long)d3[d] * stride);
                    a0 += Vector256.Load(r0);
                    a1 += Vector256.Load(r0 + 4);
                    a2 += Vector256.Load(r0 + 8);
                    b0 += Vector256.Load(r1);
                    b1 += Vector256.Load(r1 + 4);
                    b2 += Vector256.Load(r1 + 8);
                    c0 += Vector256.Load(r2);
                    c1 += Vector256.Load(r2 + 4);
                    c2 += Vector256.Load(r2 + 8);
                    e0 += Vector256.Load(r3);
                    e1 += Vector256.Load(r3 + 4);
                    e2 += Vector256.Load(r3 + 8);
                }
                a0.Store(sums);
                a1.Store(sums + 4);
                a2.Store(sums + 8);
                b0.Store(sums + 12);
                b1.Store(sums + 16);
                b2.Store(sums + 20);
                c0.Store(sums + 24);
                c1.Store(sums + 28);
                c2.Store(sums + 32);
                e0.Store(sums + 36);
                e1.Store(sums + 40);
                e2.Store(sums + 44);
                for (var j = 0; j < Interleave && b + j < replicates; j++)
                {
                    for (var c = 0; c < Block && (blk * Block) + c < metrics; c++)
                    {
                        reps[(((blk * Block) + c) * replicates) + b + j] = sums[(j * Block) + c] / rows;
                    }
                }
            }
        }
    }

    private static void ReplicateSumsScalar(ReadOnlySpan<double> values, int rows, int metrics, ReadOnlySpan<int> indices, int replicates, double[] reps)
    {
        var acc = new double[metrics];
        for (var b = 0; b < replicates; b++)
        {
            Array.Clear(acc);
            var draw = indices.Slice(b * rows, rows);
            for (var d = 0; d < rows; d++)
            {
                var row = values.Slice(draw[d] * metrics, metrics);
                for (var m = 0; m < metrics; m++)
                {
                    acc[m] += row[m];
                }
            }
            for (var m = 0; m < metrics; m++)
            {
                reps[(m * replicates) + b] = acc[m] / rows;
            }
        }
    }

    /// <summary>
    /// Hyndman–Fan type-7 quantiles <paramref name="qLow"/> ≤ <paramref name="qHigh"/> of <paramref name="data"/>,
    /// equal to <see cref="Quantile"/> of the sorted data; reorders <paramref name="data"/> (partial sort).
    /// </summary>
    internal static (double Low, double High) QuantilesBySelection(Span<double> data, double qLow, double qHigh)
    {
        var n = data.Length;
        var (lowRank, _) = Ranks(n, qLow);
        var (highRank, _) = Ranks(n, qHigh);
        const int MaxTracked = 64;
        if (lowRank + 2 <= MaxTracked && n - highRank <= MaxTracked)
        {
            return QuantilesOfTails(data, qLow, qHigh, lowRank + 2, n - highRank);
        }
        var upTo = 0;
        var low = SelectQuantile(data, ref upTo, qLow);
        var high = SelectQuantile(data, ref upTo, qHigh);
        return (low, high);
    }

    private static (int Lo, int Hi) Ranks(int n, double q)
    {
        var lo = (int)Math.Floor((n - 1) * q);
        return (lo, Math.Min(lo + 1, n - 1));
    }

    /// <summary>
    /// Quantiles whose ranks lie within the <paramref name="small"/> smallest and <paramref name="large"/> largest
    /// values (the usual 2.5 %/97.5 % of 1,000 replicates): one pass keeping both tails sorted by insertion.
    /// </summary>
    private static (double Low, double High) QuantilesOfTails(ReadOnlySpan<double> data, double qLow, double qHigh, int small, int large)
    {
        var n = data.Length;
        small = Math.Min(small, n);
        large = Math.Min(large, n);
        Span<double> lo = stackalloc double[small]; // ascending: lo[r] = rank r
        Span<double> hi = stackalloc double[large]; // descending: hi[r] = rank n − 1 − r
        int nLo = 0, nHi = 0;
        foreach (var v in data)
        {
            if (nLo < small || v < lo[nLo - 1])
            {
                var i = nLo < small ? nLo++ : nLo - 1;
                while (i > 0 && v < lo[i - 1])
                {
                    lo[i] = lo[i - 1];
                    i--;
                }
                lo[i] = v;
            }
            if (nHi < large || v > hi[nHi - 1])
            {
                var i = nHi < large ? nHi++ : nHi - 1;
                while (i > 0 && v > hi[i - 1])
                {
                    hi[i] = hi[i - 1];
                    i--;
                }
                hi[i] = v;
            }
        }
        double At(ReadOnlySpan<double> lo, ReadOnlySpan<double> hi, int rank) => rank < lo.Length ? lo[rank] : hi[n - 1 - rank];
        double Interpolate(ReadOnlySpan<double> lo, ReadOnlySpan<double> hi, double q)
        {
            var h = (n - 1) * q;
            var (r0, r1) = Ranks(n, q);
            var v0 = At(lo, hi, r0);
            return v0 + ((h - r0) * (At(lo, hi, r1) - v0));
        }
        return (Interpolate(lo, hi, qLow), Interpolate(lo, hi, qHigh));
    }

    /// <summary>Type-7 quantile q of <paramref name="data"/>, whose first <paramref name="selectedUpTo"/> elements are already its smallest ones (in any order); advances it.</summary>
    private static double SelectQuantile(Span<double> data, ref int selectedUpTo, double q)
    {
        var n = data.Length;
        var h = (n - 1) * q;
        var lo = (int)Math.Floor(h);
        var hi = Math.Min(lo + 1, n - 1);
        if (lo < selectedUpTo)
        {
            throw new ArgumentException("quantiles must be requested in increasing order", nameof(q));
        }
        Select(data[selectedUpTo..], lo - selectedUpTo);
        selectedUpTo = lo;
        var vLo = data[lo];
        // After selecting rank lo every later element is ≥ it, so rank lo + 1 is the minimum of the rest.
        var vHi = hi == lo ? vLo : Min(data[(lo + 1)..]);
        return vLo + ((h - lo) * (vHi - vLo));
    }

    private static double Min(ReadOnlySpan<double> s)
    {
        var m = s[0];
        for (var i = 1; i < s.Length; i++)
        {
            if (s[i] < m)
            {
                m = s[i];
            }
        }
        return m;
    }

    /// <summary>Quickselect (median-of-three, Hoare partition): afterwards <paramref name="s"/>[k] is the k-th smallest, smaller ones before it, larger ones after it.</summary>
    private static void Select(Span<double> s, int k)
    {
        int lo = 0, hi = s.Length - 1;
        while (hi > lo)
        {
            if (hi - lo < 16)
            {
                s[lo..(hi + 1)].Sort();
                return;
            }
            var mid = lo + ((hi - lo) / 2);
            if (s[mid] < s[lo])
            {
                (s[mid], s[lo]) = (s[lo], s[mid]);
            }
            if (s[hi] < s[lo])
            {
                (s[hi], s[lo]) = (s[lo], s[hi]);
            }
            if (s[hi] < s[mid])
            {
                (s[hi], s[mid]) = (s[mid], s[hi]);
            }
            var pivot = s[mid];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (s[i] < pivot)
                {
                    i++;
                }
                while (pivot < s[j])
                {
                    j--;
                }
                if (i <= j)
                {
                    (s[i], s[j]) = (s[j], s[i]);
                    i++;
                    j--;
                }
            }
            // Now [lo, j] ≤ pivot ≤ [i, hi], and every element strictly between j and i equals pivot.
            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                return;
            }
        }
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

    /// <summary>SplitMix64 increment γ.</summary>
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;

    private static uint NextUInt32(ref ulong state)
    {
        // SplitMix64
        var z = state += Gamma;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (uint)((z ^ (z >> 31)) >> 32);
    }
}
