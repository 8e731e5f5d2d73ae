using System.IO.Compression;
using LiveKBench.Gym;
using LiveKBench.Infrastructure;
using LiveKBench.Kernel.Build;
using LiveKBench.Kernel.Vm;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Kernel;

public class GymAndInitramfsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void GymJobRoundTripsThroughJsonWithResults()
    {
        var job = GymJob.BuildAndReproduce("j1", new BuildRequest("abc", KernelConfigSpec.FromFragment("-e KASAN"), "--- a/x\n+++ b/x\n"),
            new ReproduceStageArgs(7, "/r/repro.c", ReproducerKind.C, "BUG: x in y"));
        var art = new ArtifactRef(new string('a', 64), "/a", 10);
        job = job with
        {
            Stages =
            [
                job.Stages[0] with { Status = StageStatus.Succeeded, Build = new BuildResult(BuildStatus.Success, null, "abc", "h", new BuildArtifacts(art, art, art), art, 12.5, 10, true, 1, new Dictionary<string, double> { ["make"] = 10 }) },
                job.Stages[1],
            ],
        };
        var json = job.ToJson();
        Assert.Contains("\"stage\":\"reproduce\"", json);
        var back = GymJob.FromJson(json);
        Assert.Equal(0, ((ReproduceStageArgs)back.Stages[1].Args).BuildStageIndex);
        Assert.Equal("-e KASAN", ((BuildStageArgs)back.Stages[0].Args).Request.Config.Fragment);
        Assert.Equal(12.5, back.Stages[0].Build!.Seconds);
        Assert.Equal(1, back.ResumeIndex);
        Assert.Null(back.Verdict());
    }

    [Fact]
    public void VerdictOfFailedBuildIsCompilationError()
    {
        var job = new GymJob("j", [new GymStage(new BuildStageArgs(new BuildRequest("c", KernelConfigSpec.FromFull("CONFIG_X=y"))), StageStatus.Failed,
            new BuildResult(BuildStatus.CompilationError, "patch does not apply", "c", "h", null, null, 3, 0, false, 0, new Dictionary<string, double>())),
            new GymStage(new ReproduceStageArgs(0, "r", ReproducerKind.C, "t"), StageStatus.Skipped)]);
        var v = job.Verdict()!;
        Assert.Equal(ReproductionVerdict.CompilationError, v.Verdict);
        Assert.Equal("patch does not apply", v.Reason);
    }

    [Fact]
    public void ConfigHashDependsOnKindAndTextOnly()
    {
        Assert.Equal(KernelConfigSpec.FromFragment("-e A\r\n").Hash, KernelConfigSpec.FromFragment("-e A\n").Hash);
        Assert.NotEqual(KernelConfigSpec.FromFragment("-e A").Hash, KernelConfigSpec.FromFull("-e A").Hash);
        Assert.Throws<InvalidOperationException>(() => new KernelConfigSpec().Hash);
    }

    [Fact]
    public async Task InitramfsIsAValidDeterministicCpioWithInitAndReproducer()
    {
        if (!File.Exists("/bin/busybox") || ProcessRunner.FindOnPath("cpio") is null)
        {
            Assert.SkipWhen(!SharedData.IsCi, "busybox-static or cpio not installed");
            Assert.Fail("busybox-static or cpio is not installed; CI=true requires them");
        }
        var dir = Directory.CreateTempSubdirectory("kbench-initramfs-").FullName;
        try
        {
            var repro = Path.Combine(dir, "repro-bin");
            await File.WriteAllTextAsync(repro, "#!/bin/sh\necho hi\n", TestContext.Current.CancellationToken);
            var a = Path.Combine(dir, "a.cpio.gz");
            var b = Path.Combine(dir, "b.cpio.gz");
            var program = new GuestProgram(new Dictionary<string, string> { ["/repro"] = repro }, "/repro");
            Initramfs.Create(a, program, TimeSpan.FromSeconds(60));
            Initramfs.Create(b, program, TimeSpan.FromSeconds(60));
            Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
            var raw = Path.Combine(dir, "raw.cpio");
            await using (var gz = new GZipStream(File.OpenRead(a), CompressionMode.Decompress))
            await using (var o = File.Create(raw))
            {
                await gz.CopyToAsync(o, TestContext.Current.CancellationToken);
            }
            var list = await ProcessRunner.RunCheckedAsync("cpio", ["-it", "-F", raw], cancellationToken: TestContext.Current.CancellationToken);
            var names = list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("init", names);
            Assert.Contains("repro", names);
            Assert.Contains("bin/busybox", names);
            Assert.Contains("bin/timeout", names);
            var init = Initramfs.InitScript("/repro", TimeSpan.FromSeconds(60), ConsoleMarkers.Default);
            Assert.Contains("/bin/timeout 60 /repro", init);
            Assert.Contains("reboot -f", init);
            Assert.DoesNotContain("poweroff", init);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The guest init makes the /dev/char/MAJ:MIN links syzkaller reproducers open (syz_open_dev); run here with the
    /// host's sysfs under bubblewrap and a fresh minimal /dev, like devtmpfs in the guest.</summary>
    [Fact]
    public async Task InitScript_links_device_numbers_like_udev_for_syz_open_dev()
    {
        foreach (var tool in new[] { "bwrap", "busybox" })
        {
            if (ProcessRunner.FindOnPath(tool) is null)
            {
                Assert.SkipWhen(!SharedData.IsCi, $"{tool} not installed");
                Assert.Fail($"{tool} is not installed; CI=true requires it");
            }
        }
        Assert.Contains(Initramfs.DevNumberLinks, Initramfs.InitScript("/repro", TimeSpan.FromSeconds(60), ConsoleMarkers.Default));
        var r = await ProcessRunner.RunCheckedAsync("bwrap",
            ["--dev-bind", "/", "/", "--dev", "/dev", ProcessRunner.FindOnPath("busybox")!, "sh", "-c", Initramfs.DevNumberLinks + "readlink /dev/char/1:3; readlink /dev/char/1:5"],
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(["../null", "../zero"], r.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task InitScript_brings_the_loopback_interface_up_with_the_busybox_applet()
    {
        foreach (var tool in new[] { "unshare", "busybox" })
        {
            if (ProcessRunner.FindOnPath(tool) is null)
            {
                Assert.SkipWhen(!SharedData.IsCi, $"{tool} not installed");
                Assert.Fail($"{tool} is not installed; CI=true requires it");
            }
        }
        Assert.Contains(Initramfs.LoopbackUp, Initramfs.InitScript("/repro", TimeSpan.FromSeconds(60), ConsoleMarkers.Default));
        // A new network namespace starts with lo down, like a booting guest; PATH holds only busybox applets, as in the initramfs.
        var bin = Directory.CreateTempSubdirectory("kbench-applets-").FullName;
        try
        {
            var busybox = ProcessRunner.FindOnPath("busybox")!;
            File.CreateSymbolicLink(Path.Combine(bin, "ip"), busybox);
            var script = $"PATH={bin}; busybox ip link show lo; {Initramfs.LoopbackUp}busybox ip link show lo";
            var r = await ProcessRunner.RunCheckedAsync("unshare", ["-rn", busybox, "sh", "-c", script], cancellationToken: TestContext.Current.CancellationToken);
            var shown = r.StandardOutput.Split('\n').Where(l => l.Contains(": lo:", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, shown.Count);
            Assert.DoesNotContain(",UP", shown[0], StringComparison.Ordinal);
            Assert.Contains(",UP", shown[1], StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(bin, true);
        }
    }

    [Fact]
    public async Task CReproducerCompilesWhateverItsFileNameLikeAGymWorkersHashNamedInput()
    {
        if (ProcessRunner.FindOnPath("gcc") is null)
        {
            Assert.SkipWhen(!SharedData.IsCi, "gcc not installed");
            Assert.Fail("gcc is not installed; CI=true requires it");
        }
        var dir = Directory.CreateTempSubdirectory("kbench-compile-").FullName;
        try
        {
            // a Gym worker stores the downloaded reproducer under its sha256, with no .c to tell gcc the language
            var source = Path.Combine(dir, "3f2a9c0e5b7d41a6b8e0c2d4f6a8b0c2d4e6f8a0b2c4d6e8f0a2b4c6d8e0f2a4");
            await File.WriteAllTextAsync(source, "#include <unistd.h>\nint main(void) { return write(1, \"ok\\n\", 3) == 3 ? 0 : 1; }\n", Ct);
            var binary = Path.Combine(dir, "repro");
            var error = await Initramfs.CompileReproducerAsync(source, binary, Path.Combine(dir, "gcc.log"), Ct);
            Assert.Null(error);
            var run = await ProcessRunner.RunCheckedAsync(binary, [], cancellationToken: Ct);
            Assert.Equal("ok\n", run.StandardOutput);
            // and a file that is not C still fails with gcc's message, not silently
            await File.WriteAllTextAsync(source, "this is not C\n", Ct);
            Assert.NotNull(await Initramfs.CompileReproducerAsync(source, binary, Path.Combine(dir, "gcc2.log"), Ct));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
