namespace LiveKBench.Arena.Stages;

/// <summary>
/// An exclusive, process-wide lock on one pipeline stage of a workspace (<c>work/locks/&lt;stage&gt;.lock</c>, flock
/// through .NET's FileShare.None). The kernel drops it when its holder dies (kill -9 included), so whoever holds it
/// knows that rows left <c>running</c> by that stage belong to a dead process and may be reset.
/// </summary>
public sealed class StageLock : IDisposable
{
    private readonly FileStream _stream;

    private StageLock(FileStream stream) => _stream = stream;

    /// <summary>Waits (polling every 0.5 s) until the lock for <paramref name="stage"/> is free, then takes it.</summary>
    /// <param name="workDir">The workspace's work folder.</param>
    /// <param name="stage">Stage name (file-name safe).</param>
    /// <param name="onWait">Called once when another process holds the lock.</param>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <exception cref="OperationCanceledException">Cancelled while waiting.</exception>
    public static async Task<StageLock> AcquireAsync(string workDir, string stage, Action? onWait = null, CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine(workDir, "locks");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, stage + ".lock");
        var told = false;
        while (true)
        {
            try
            {
                return new StageLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException)
            {
                if (!told)
                {
                    onWait?.Invoke();
                    told = true;
                }
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _stream.Dispose();
}
