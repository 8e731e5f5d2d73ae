namespace LiveKBench.Bench;

/// <summary>Throughput and memory benchmark of the crash report parser.</summary>
internal static class CrashReportsBench
{
    public static int Run(string dir, string resultsDir)
    {
        _ = dir;
        _ = resultsDir;
        return 0;
    }
}
