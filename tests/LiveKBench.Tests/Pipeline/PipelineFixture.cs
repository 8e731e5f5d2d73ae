using System.Text.Json;
using LiveKBench.Infrastructure;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Pipeline;

/// <summary>
/// One workspace shared by the slow pipeline tests (kept build directories, ccache and kcache results are reused):
/// <c>$KBENCH_PIPELINE_WORKSPACE</c>, else <c>$TMPDIR/kbench-pipeline-ws</c>. The first test to need it runs
/// <c>kbench run --bugs-from realbugs --agents developer-oracle,empty</c> once and keeps its leaderboard.
/// </summary>
public sealed class PipelineFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private JsonDocument? _firstLeaderboard;

    /// <summary>The workspace folder: fresh for every test run (a shared ccache is fine), so no verdict stored by older code is reused.</summary>
    public string Workspace { get; } = Environment.GetEnvironmentVariable("KBENCH_PIPELINE_WORKSPACE")
        ?? Path.Combine(Path.GetTempPath(), "kbench-pipeline-ws-" + Guid.NewGuid().ToString("N")[..8]);

    /// <summary>Output of the first (uninterrupted) run.</summary>
    public LiveKBench.Infrastructure.ProcessResult? FirstRun { get; private set; }

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _firstLeaderboard?.Dispose();
        if (Environment.GetEnvironmentVariable("KBENCH_PIPELINE_WORKSPACE") is null)
        {
            try
            {
                Directory.Delete(Workspace, true);
            }
            catch (IOException)
            {
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Runs the real-input pipeline once (uninterrupted) and returns its leaderboard JSON.</summary>
    public async Task<JsonDocument> FirstRunAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_firstLeaderboard is not null)
            {
                return _firstLeaderboard;
            }
            if (!File.Exists("/usr/src/linux-source-6.1.tar.xz"))
            {
                const string why = "/usr/src/linux-source-6.1.tar.xz not installed (apt-get install linux-source-6.1)";
                if (SharedData.IsCi)
                {
                    Assert.Fail(why);
                }
                Assert.Skip(why);
            }
            var realbugs = SharedData.Path("realbugs");
            Directory.CreateDirectory(Workspace);
            FirstRun = await Run("run", "--bugs-from", realbugs, "--agents", "developer-oracle,empty", "--json");
            Assert.True(FirstRun.Succeeded, $"kbench run failed ({FirstRun.ExitCode}):\n{FirstRun.StandardError}\n{FirstRun.StandardOutput}");
            _firstLeaderboard = JsonDocument.Parse(FirstRun.StandardOutput);
            return _firstLeaderboard;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs kbench on the shared workspace (timeout 45 min).</summary>
    public Task<LiveKBench.Infrastructure.ProcessResult> Run(params string[] args)
        => ProcessRunner.RunAsync("dotnet", [KbenchCli.Dll, .. args, "--workspace", Workspace],
            new ProcessOptions { Timeout = TimeSpan.FromMinutes(45), LogFile = Path.Combine(Path.GetTempPath(), "kbench-pipeline-test.log") });
}

[CollectionDefinition("pipeline")]
public sealed class PipelineCollection : ICollectionFixture<PipelineFixture>;
