using System.Text;
using System.Text.Json;
using LiveKBench.Arena.Stages;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Kernel;

/// <summary>Verdict computation on the real serial consoles of the realbugs cases (with the real crash report parser).</summary>
public class VerdictTests
{
    private static readonly ConsoleMarkers Markers = ConsoleMarkers.RealbugsHarness;

    private static InstanceVerdict Classify(byte[] console, string bugTitle, VmInstanceRun? run = null)
        => VerdictCalculator.ClassifyInstance(console, Markers, KernelEnvironment.Analyzer, bugTitle, null, run);

    /// <summary>The case's <c>crashTitle</c> from bug.json.</summary>
    private static string Title(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedData.Path("realbugs", name, "bug.json")));
        return doc.RootElement.GetProperty("crashTitle").GetString()!;
    }

    [Theory]
    [InlineData("unix_shutdown")]
    [InlineData("bridge_add_del_if")]
    [InlineData("cap_convert_nscap")]
    public void BuggyConsoleIsReproducedWithTheBugsOwnCrash(string name)
    {
        var v = Classify(File.ReadAllBytes(SharedData.Path("realbugs", name, "console-buggy.txt")), Title(name));
        Assert.Equal(ReproductionVerdict.Reproduced, v.Verdict);
        Assert.Equal(Title(name), v.CrashTitle);
        Assert.True(v.SameCrash);
    }

    [Fact]
    public void CapConvertNscapReproducedAlthoughTheReproducerExitsZero()
    {
        var v = Classify(File.ReadAllBytes(SharedData.Path("realbugs", "cap_convert_nscap", "console-buggy.txt")), Title("cap_convert_nscap"));
        Assert.Equal(ReproductionVerdict.Reproduced, v.Verdict);
        Assert.Equal("KASAN: slab-out-of-bounds Read in cap_convert_nscap", v.CrashTitle);
        Assert.Equal(0, v.ReproExitCode);
    }

    [Theory]
    [InlineData("unix_shutdown", "console-fixed.txt")]
    [InlineData("unix_shutdown", "console-fixed-userspace-segv-noise.txt")]
    [InlineData("bridge_add_del_if", "console-fixed.txt")]
    [InlineData("cap_convert_nscap", "console-fixed.txt")]
    public void FixedConsoleIsNotReproduced(string name, string file)
    {
        var v = Classify(File.ReadAllBytes(SharedData.Path("realbugs", name, file)), Title(name));
        Assert.Equal(ReproductionVerdict.NotReproduced, v.Verdict);
        Assert.Null(v.CrashTitle);
        Assert.NotNull(v.ReproExitCode);
    }

    [Fact]
    public void UserSpaceSegfaultIsNotAKernelCrash()
    {
        var v = Classify(File.ReadAllBytes(SharedData.Path("realbugs", "unix_shutdown", "console-fixed-userspace-segv-noise.txt")), Title("unix_shutdown"));
        Assert.Equal(ReproductionVerdict.NotReproduced, v.Verdict);
        Assert.Null(v.CrashTitle);
        Assert.Equal(139, v.ReproExitCode);
    }

    [Fact]
    public void ConsoleCutBeforeStartMarkerIsBootError()
    {
        var full = File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "console-fixed.txt"));
        var cut = full[..full.IndexOf("REALBUGS: booted", StringComparison.Ordinal)];
        var v = Classify(Encoding.UTF8.GetBytes(cut), Title("unix_shutdown"), new VmInstanceRun(0, "c", VmAccelerator.Tcg, true, -1, "", 300));
        Assert.Equal(ReproductionVerdict.BootError, v.Verdict);
        Assert.Contains("hang at boot", v.Reason);
    }

    [Fact]
    public void PanicAtBootIsBootErrorNotReproduced()
    {
        var full = File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "console-fixed.txt"));
        var cut = full[..full.IndexOf("REALBUGS: booted", StringComparison.Ordinal)] + "Kernel panic - not syncing: VFS: Unable to mount root fs\n";
        var v = Classify(Encoding.UTF8.GetBytes(cut), Title("unix_shutdown"));
        Assert.Equal(ReproductionVerdict.BootError, v.Verdict);
        Assert.Contains("before user space", v.Reason);
    }

    [Fact]
    public void EmptyConsoleIsBootError()
        => Assert.Equal(ReproductionVerdict.BootError, Classify([], Title("unix_shutdown")).Verdict);

    [Fact]
    public void HangAfterStartWithoutCrashIsError()
    {
        var full = File.ReadAllText(SharedData.Path("realbugs", "unix_shutdown", "console-fixed.txt"));
        var cut = full[..full.IndexOf("REALBUGS: repro-exit", StringComparison.Ordinal)];
        var v = Classify(Encoding.UTF8.GetBytes(cut), Title("unix_shutdown"), new VmInstanceRun(0, "c", VmAccelerator.Tcg, true, -1, "", 300));
        Assert.Equal(ReproductionVerdict.Error, v.Verdict);
    }

    [Fact]
    public void OtherCrashIsReproducedButNotSameCrash()
    {
        var v = Classify(File.ReadAllBytes(SharedData.Path("realbugs", "bridge_add_del_if", "console-buggy.txt")), Title("unix_shutdown"));
        Assert.Equal(ReproductionVerdict.Reproduced, v.Verdict);
        Assert.Equal(Title("bridge_add_del_if"), v.CrashTitle);
        Assert.False(v.SameCrash);
    }

    [Fact]
    public void CombinePrefersCrashThenBootErrorThenError()
    {
        InstanceVerdict I(ReproductionVerdict v, bool same = false, string? title = null) => new(0, v, v.ToString(), title, same, "", null, 1);
        Assert.Equal(ReproductionVerdict.NotReproduced, VerdictCalculator.Combine([I(ReproductionVerdict.NotReproduced), I(ReproductionVerdict.NotReproduced)], 0, 0).Verdict);
        var mixed = VerdictCalculator.Combine([I(ReproductionVerdict.NotReproduced), I(ReproductionVerdict.Reproduced, false, "other"), I(ReproductionVerdict.Reproduced, true, "own"), I(ReproductionVerdict.BootError)], 0, 0);
        Assert.Equal(ReproductionVerdict.Reproduced, mixed.Verdict);
        Assert.Equal("own", mixed.CrashTitle);
        Assert.True(mixed.SameCrash);
        Assert.Equal(ReproductionVerdict.BootError, VerdictCalculator.Combine([I(ReproductionVerdict.NotReproduced), I(ReproductionVerdict.BootError), I(ReproductionVerdict.Error)], 0, 0).Verdict);
        Assert.Equal(ReproductionVerdict.Error, VerdictCalculator.Combine([I(ReproductionVerdict.NotReproduced), I(ReproductionVerdict.Error)], 0, 0).Verdict);
    }

    [Fact]
    public void ResultsRoundTripThroughJson()
    {
        var r = VerdictCalculator.Combine([new InstanceVerdict(0, ReproductionVerdict.Reproduced, "x", "t", true, "/c", 137, 3.9)], 240, 20);
        var json = System.Text.Json.JsonSerializer.Serialize(r);
        Assert.Contains("\"Reproduced\"", json);
        var back = System.Text.Json.JsonSerializer.Deserialize<ReproductionResult>(json)!;
        Assert.Equal(r.Verdict, back.Verdict);
        Assert.Equal(r.Instances[0], back.Instances[0]);
    }
}
