using LiveKBench.Infrastructure;

namespace LiveKBench.Tests.Support;

/// <summary>Runs the kbench CLI from its own build output (same configuration as the tests) as a separate process.</summary>
public static class KbenchCli
{
    /// <summary>
    /// Path of kbench.dll in <c>src/LiveKBench.Cli/bin/&lt;Configuration&gt;/&lt;tfm&gt;/</c>. The copy in the test output
    /// resolves its dependencies against the test project's ASP.NET Core framework reference, which
    /// kbench.runtimeconfig.json does not name, so it cannot start from there.
    /// </summary>
    public static string Dll
    {
        get
        {
            var testOut = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            return Path.Combine(SharedData.RepoRoot, "src", "LiveKBench.Cli", "bin", testOut.Parent!.Name, testOut.Name, "kbench.dll");
        }
    }

    /// <summary>Runs <c>dotnet kbench.dll args</c> with a timeout; output kept in the result.</summary>
    public static Task<ProcessResult> RunAsync(params string[] args)
        => ProcessRunner.RunAsync("dotnet", [Dll, .. args], new ProcessOptions { Timeout = TimeSpan.FromMinutes(5) }, TestContext.Current.CancellationToken);

    /// <summary>Starts <c>dotnet kbench.dll args</c> without waiting (for kill tests).</summary>
    public static System.Diagnostics.Process Start(params string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        return System.Diagnostics.Process.Start(psi)!;
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates a fresh folder under the system temp folder.</summary>
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "kbench-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The folder.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder.</summary>
    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <inheritdoc/>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
