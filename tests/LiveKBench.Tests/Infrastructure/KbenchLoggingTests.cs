using LiveKBench.Infrastructure;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Tests.Infrastructure;

public sealed class KbenchLoggingTests
{
    [Fact]
    public void LogFileHasLevelCategoryScopeAndRollsOverAtTheSizeLimit()
    {
        var root = Directory.CreateTempSubdirectory("kbench-log-").FullName;
        try
        {
            using (var factory = KbenchLogging.Create(root, fileSizeLimitBytes: 4096))
            {
                var log = factory.CreateLogger("LiveKBench.Test");
                using (log.BeginScope("bug {Extid}", "abc123"))
                {
                    log.LogWarning("reproducer {Id} did not crash", 7);
                }
                log.LogDebug("below the minimum level");
                for (var i = 0; i < 200; i++)
                {
                    log.LogInformation("filler line {I} {Pad}", i, new string('x', 60));
                }
            }
            var logs = Path.Combine(root, "logs");
            var first = File.ReadAllLines(Path.Combine(logs, "kbench.log"));
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d WRN LiveKBench.Test: reproducer 7 did not crash .*bug abc123", first[0]);
            Assert.DoesNotContain(first, l => l.Contains("below the minimum level", StringComparison.Ordinal));
            // 200 lines of ~120 bytes do not fit in 4 KiB: the sink rolled over to kbench_001.log, … and lost no line.
            var files = Directory.GetFiles(logs, "kbench*.log");
            Assert.True(files.Length > 1, string.Join(", ", files));
            Assert.All(files, f => Assert.True(new FileInfo(f).Length <= 4096 + 200, f));
            var all = files.SelectMany(File.ReadAllLines).ToList();
            Assert.Equal(200, all.Count(l => l.Contains("filler line", StringComparison.Ordinal)));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
