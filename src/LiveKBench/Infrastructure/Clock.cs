namespace LiveKBench.Infrastructure;

/// <summary>UTC time truncated to whole microseconds, so that every stored time survives export to Parquet (TIMESTAMP MICROS) exactly.</summary>
public static class Clock
{
    /// <summary>Now, UTC, truncated to a whole microsecond.</summary>
    public static DateTime UtcNow() => Truncate(DateTime.UtcNow);

    /// <summary><paramref name="t"/> truncated to a whole microsecond (kind kept).</summary>
    public static DateTime Truncate(DateTime t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerMicrosecond), t.Kind);
}
