namespace LiveKBench.Tests.Support;

/// <summary>
/// Locates the real test input in <c>../shared/data</c> (override with KBENCH_SHARED_DATA).
/// When it is absent a test is skipped with a clear reason, except under CI (CI=true), where it fails.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string?> Root = new(Find);

    /// <summary>True when running under CI (environment variable CI=true).</summary>
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The repository root (folder holding LiveKBench.sln).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Absolute path of a folder or file inside shared/data; skips (or fails under CI) when missing.</summary>
    public static string Path(params string[] parts)
    {
        var root = Root.Value;
        var reason = $"shared test data not found (looked in $KBENCH_SHARED_DATA and {System.IO.Path.Combine(RepoRoot, "..", "shared", "data")})";
        if (root is null)
        {
            if (IsCi)
            {
                Assert.Fail(reason + "; CI=true requires it");
            }
            Assert.Skip(reason);
        }
        var full = System.IO.Path.Combine([root!, .. parts]);
        if (!File.Exists(full) && !Directory.Exists(full))
        {
            var missing = $"shared test data {full} is missing";
            if (IsCi)
            {
                Assert.Fail(missing);
            }
            Assert.Skip(missing);
        }
        return full;
    }

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("KBENCH_SHARED_DATA");
        if (!string.IsNullOrWhiteSpace(env))
        {
            return Directory.Exists(env) ? System.IO.Path.GetFullPath(env) : null;
        }
        var candidate = System.IO.Path.GetFullPath(System.IO.Path.Combine(RepoRoot, "..", "shared", "data"));
        return Directory.Exists(candidate) ? candidate : null;
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(System.IO.Path.Combine(dir.FullName, "LiveKBench.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
