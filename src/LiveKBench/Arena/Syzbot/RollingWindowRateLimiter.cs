using System.Threading.RateLimiting;

namespace LiveKBench.Arena.Syzbot;

/// <summary>
/// A token bucket of <c>permitLimit</c> tokens where every spent token comes back exactly <c>period</c> after it was
/// spent. Unlike <see cref="TokenBucketRateLimiter"/> (which refills on a fixed timer and so lets up to twice the limit
/// through around a refill tick), this guarantees that no window of length <c>period</c> ever holds more than
/// <c>permitLimit</c> acquisitions. Waiters are served first come, first served. Thread-safe.
/// </summary>
public sealed class RollingWindowRateLimiter : RateLimiter
{
    private readonly int _limit;
    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private readonly Queue<long> _spent = new(); // timestamps (TimeProvider ticks) of the last ≤ limit acquisitions
    private readonly SemaphoreSlim _turn = new(1, 1); // FIFO-ish ordering of waiters
    private readonly Lock _lock = new();
    private long _totalAcquired;
    private long? _idleSince;

    /// <summary>Creates the limiter.</summary>
    /// <param name="permitLimit">Acquisitions allowed in any window of <paramref name="period"/>; at least 1.</param>
    /// <param name="period">Window length; positive.</param>
    /// <param name="timeProvider">Clock (default: system).</param>
    /// <exception cref="ArgumentOutOfRangeException">A non-positive limit or period.</exception>
    public RollingWindowRateLimiter(int permitLimit, TimeSpan period, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permitLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(period, TimeSpan.Zero);
        _limit = permitLimit;
        _period = period;
        _time = timeProvider ?? TimeProvider.System;
        _idleSince = _time.GetTimestamp();
    }

    /// <summary>Acquisitions allowed per window.</summary>
    public int PermitLimit => _limit;

    /// <summary>Window length.</summary>
    public TimeSpan Period => _period;

    /// <inheritdoc/>
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                return _idleSince is { } s ? _time.GetElapsedTime(s) : null;
            }
        }
    }

    /// <inheritdoc/>
    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            Trim(_time.GetTimestamp());
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = _limit - _spent.Count,
                CurrentQueuedCount = 0,
                TotalSuccessfulLeases = _totalAcquired,
                TotalFailedLeases = 0,
            };
        }
    }

    /// <inheritdoc/>
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        if (permitCount > _limit)
        {
            throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, $"at most {_limit} permits per acquisition");
        }
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            Trim(now);
            if (permitCount == 0)
            {
                return Lease.Acquired;
            }
            if (_spent.Count + permitCount > _limit)
            {
                return Lease.Failed;
            }
            Spend(now, permitCount);
            return Lease.Acquired;
        }
    }

    /// <inheritdoc/>
    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        if (permitCount > _limit)
        {
            throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, $"at most {_limit} permits per acquisition");
        }
        if (permitCount == 0)
        {
            return Lease.Acquired;
        }
        await _turn.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                TimeSpan wait;
                lock (_lock)
                {
                    var now = _time.GetTimestamp();
                    Trim(now);
                    if (_spent.Count + permitCount <= _limit)
                    {
                        Spend(now, permitCount);
                        return Lease.Acquired;
                    }
                    // The oldest token that must come back before we fit.
                    var oldest = _spent.ElementAt(_spent.Count + permitCount - _limit - 1);
                    wait = _period - _time.GetElapsedTime(oldest, now);
                }
                if (wait > TimeSpan.Zero)
                {
                    // +1 ms: timers may fire a little early; the loop re-checks anyway.
                    await Task.Delay(wait + TimeSpan.FromMilliseconds(1), _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _turn.Dispose();
        }
        base.Dispose(disposing);
    }

    private void Trim(long now)
    {
        while (_spent.Count > 0 && _time.GetElapsedTime(_spent.Peek(), now) >= _period)
        {
            _spent.Dequeue();
        }
        if (_spent.Count == 0)
        {
            _idleSince ??= now;
        }
    }

    private void Spend(long now, int permitCount)
    {
        for (var i = 0; i < permitCount; i++)
        {
            _spent.Enqueue(now);
        }
        _totalAcquired += permitCount;
        _idleSince = null;
    }

    private sealed class Lease(bool acquired) : RateLimitLease
    {
        public static readonly Lease Acquired = new(true);
        public static readonly Lease Failed = new(false);

        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
