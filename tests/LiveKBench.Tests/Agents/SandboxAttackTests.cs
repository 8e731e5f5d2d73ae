using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using LiveKBench.Agents;
using LiveKBench.Arena.Bugs;
using LiveKBench.Arena.Store;
using LiveKBench.Evaluation.Judge;
using LiveKBench.Infrastructure;
using LiveKBench.Llm;
using LiveKBench.Tests.Support;

namespace LiveKBench.Tests.Agents;

/// <summary>
/// Plays a hostile agent against the real bubblewrap sandbox and the host-side harness: every attack must fail, and
/// each test first shows (control) that the target exists or that the attack works without the defence.
/// </summary>
public sealed class SandboxAttackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Skips without bubblewrap, except under CI=true where a missing bwrap fails.</summary>
    internal static void RequireBwrap()
    {
        if (ProcessRunner.FindOnPath("bwrap") is null)
        {
            if (SharedData.IsCi)
            {
                Assert.Fail("bubblewrap (bwrap) is not installed; CI=true requires it");
            }
            Assert.Skip("bubblewrap (bwrap) not installed");
        }
    }

    /// <summary>A run folder laid out as in a real workspace (work/agent-runs/1) with a small squashed tree.</summary>
    private static async Task<(Workspace Ws, KenvLayout Layout)> RunFolderAsync(TempDir dir)
    {
        var ws = Workspace.Init(dir["ws"]);
        var layout = new KenvLayout(Path.Combine(ws.WorkDir, "agent-runs", "1"));
        Directory.CreateDirectory(layout.Tree);
        File.WriteAllText(Path.Combine(layout.Tree, "a.c"), "int main(void)\n{\n\treturn 1;\n}\n");
        await SnapshotTree.InitSquashedAsync(layout.Tree, "test", Ct);
        await SnapshotTree.SealBaseAsync(layout.Tree, layout.BaseGitDir, Ct);
        layout.CreateFolders();
        File.WriteAllText(layout.Input(Kenv.ReportFile), "crash report\n");
        return (ws, layout);
    }

    private static SandboxSpec Spec(Workspace ws, KenvLayout layout, bool withOutput = true)
        => new(layout.Tree, layout.InputDir, withOutput ? layout.OutputDir : null, [ws.Root], Sandbox.BaseEnvironment());

    private static Task<ProcessResult> Bash(SandboxSpec spec, string command)
        => Sandbox.RunAsync(RunnerKind.Sandbox, spec, ["bash", "-c", command], TimeSpan.FromMinutes(2), cancellationToken: Ct);

    private static string Q(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [Fact]
    public async Task AgentCannotReadTheFixTheProjectSharedDataRootOrTheWorkspace()
    {
        RequireBwrap();
        using var dir = new TempDir();
        var (ws, layout) = await RunFolderAsync(dir);
        var fixPatch = SharedData.Path("realbugs", "unix_shutdown", "fix.patch");
        var targets = new List<string>
        {
            UnixShutdownSource.Tarball,
            Path.Combine(SharedData.RepoRoot, "LiveKBench.sln"),
            fixPatch,
            Path.GetFullPath(fixPatch),
            HostFiles.RealPath(fixPatch)!,
            ws.DatabasePath,
            ws.SettingsPath,
            Path.Combine(layout.BaseGitDir, "HEAD"),
            "/etc/shadow",
        };
        if (!File.Exists(UnixShutdownSource.Tarball) && SharedData.IsCi)
        {
            Assert.Fail($"{UnixShutdownSource.Tarball} is missing; CI=true requires it");
        }
        // Control: every target is there for the host.
        foreach (var t in targets.Where(t => t != UnixShutdownSource.Tarball || File.Exists(t)))
        {
            Assert.True(File.Exists(t), $"control: {t} should exist on the host");
        }
        var spec = Spec(ws, layout);
        foreach (var t in targets)
        {
            var r = await Bash(spec, $"cat {Q(t)} | head -c 64");
            Assert.True(r.StandardOutput.Length == 0, $"{t} was readable inside the sandbox: {r.StandardOutput}");
            Assert.False((await Bash(spec, $"test -e {Q(t)}")).Succeeded, $"{t} exists inside the sandbox");
        }
        // Folders that must be absent or empty.
        var ls = await Bash(spec, $"ls -A /usr/src /usr/local/src /usr/share/doc; ls -A /root /home {Q(SharedData.RepoRoot)} 2>&1; ls -A {Q(ws.Root)} {Q(layout.Root)}");
        Assert.DoesNotContain("linux-source", ls.StandardOutput); // neither the tarball nor its Debian changelog
        Assert.DoesNotContain("kbench.db", ls.StandardOutput);
        Assert.DoesNotContain("base.git", ls.StandardOutput);
        Assert.DoesNotContain("settings.json", ls.StandardOutput);
        Assert.DoesNotContain("LiveKBench.sln", ls.StandardOutput);
        Assert.True(Directory.Exists("/root"), "control: /root exists on the host");
        Assert.False((await Bash(spec, "test -e /root || test -e /home")).Succeeded, "/root or /home is visible");
        // Only the allow-list is mounted.
        var mounts = await Bash(spec, "cut -d' ' -f2 /proc/self/mounts | sort -u");
        Assert.True(mounts.Succeeded, mounts.StandardError);
        var points = mounts.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        var allowed = new HashSet<string>(["/", "/usr", "/dev", "/proc", "/tmp", layout.Tree, layout.InputDir, layout.OutputDir, .. Sandbox.MaskedSystemFolders, .. Sandbox.EtcFiles]);
        Assert.All(points, p => Assert.True(allowed.Contains(p) || p.StartsWith("/dev/", StringComparison.Ordinal) || p.StartsWith("/proc/", StringComparison.Ordinal), $"unexpected mount {p}"));
        // The toolchain still works.
        var tool = await Bash(spec, "cc --version | head -1 && make --version | head -1 && awk 'BEGIN{print 42}' && git --version && cat " + Q(layout.Input(Kenv.ReportFile)));
        Assert.True(tool.Succeeded, tool.StandardError);
        Assert.Contains("42", tool.StandardOutput);
        Assert.Contains("crash report", tool.StandardOutput);
    }

    [Fact]
    public async Task RootInsideHasNoPrivilegeCannotMountAndCannotWriteOutsideTreeAndOutput()
    {
        RequireBwrap();
        using var dir = new TempDir();
        var (ws, layout) = await RunFolderAsync(dir);
        var spec = Spec(ws, layout);
        var outside = dir["outside"];
        Directory.CreateDirectory(outside);

        var id = await Bash(spec, "id -u; id -g; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status");
        Assert.True(id.Succeeded, id.StandardError);
        Assert.StartsWith("65534\n65534\n", id.StandardOutput);
        Assert.Contains("CapEff:\t0000000000000000", id.StandardOutput);
        Assert.Contains("CapBnd:\t0000000000000000", id.StandardOutput);
        Assert.Contains("NoNewPrivs:\t1", id.StandardOutput);

        string[] attacks =
        [
            "mount -o remount,rw /",
            "mount -o remount,bind,rw /usr",
            "mount -o remount,bind,rw " + Q(layout.InputDir),
            "mount -t tmpfs none /tmp",
            "mount --bind / /tmp",
            "umount /usr/src",
            "umount -l /usr/src",
            "umount /tmp",
            "umount -l " + Q(layout.Tree),
            "unshare -r true",
            "unshare -rm mount -t tmpfs none /tmp",
            "touch /kbench-escape",
            "touch /usr/kbench-escape",
            "touch /etc/kbench-escape",
            "echo x >> /etc/passwd",
            "touch " + Q(Path.Combine(layout.Root, "kbench-escape")),
            "touch " + Q(Path.Combine(outside, "kbench-escape")),
            "touch " + Q(Path.Combine(layout.InputDir, "kbench-escape")),
            "mkdir -p " + Q(Path.Combine(ws.Root, "kbench-escape")),
            "chroot / true",
        ];
        foreach (var attack in attacks)
        {
            var r = await Bash(spec, attack);
            // With TMPDIR=/tmp the run folders sit under /tmp, which inside the sandbox is its own tmpfs: bwrap creates
            // the parents of the tree and output mount points there, so a write to such a parent may succeed on that
            // tmpfs without reaching the host. For those the host-side checks below decide.
            var onPrivateTmp = Path.GetFullPath(layout.Root).StartsWith("/tmp/", StringComparison.Ordinal)
                && (attack.StartsWith("touch '/tmp/", StringComparison.Ordinal) || attack.StartsWith("mkdir -p '/tmp/", StringComparison.Ordinal));
            if (!onPrivateTmp)
            {
                Assert.False(r.Succeeded, $"'{attack}' succeeded inside the sandbox: {r.StandardOutput}{r.StandardError}");
            }
        }
        Assert.False(File.Exists("/usr/kbench-escape"));
        Assert.False(File.Exists("/etc/kbench-escape"));
        Assert.False(File.Exists("/kbench-escape"));
        Assert.DoesNotContain("kbench-escape", File.ReadAllText("/etc/passwd"));
        Assert.False(File.Exists(Path.Combine(layout.Root, "kbench-escape")));
        Assert.False(File.Exists(Path.Combine(outside, "kbench-escape")));
        Assert.False(File.Exists(layout.Input("kbench-escape")));
        Assert.False(Directory.Exists(Path.Combine(ws.Root, "kbench-escape")));

        // Positive control: the tree, the output folder and /tmp are writable.
        var ok = await Bash(spec, $"echo t > inside.txt && echo o > {Q(layout.Output("out.txt"))} && echo s > /tmp/s && cat /tmp/s");
        Assert.True(ok.Succeeded, ok.StandardError);
        Assert.Equal("t\n", File.ReadAllText(Path.Combine(layout.Tree, "inside.txt")));
        Assert.Equal("o\n", File.ReadAllText(layout.Output("out.txt")));
    }

    [Fact]
    public async Task AgentCannotReachLoopbackOrAnyAddress()
    {
        RequireBwrap();
        using var dir = new TempDir();
        var (ws, layout) = await RunFolderAsync(dir);
        var spec = Spec(ws, layout);
        using var tcp = new TcpListener(IPAddress.Loopback, 0);
        tcp.Start();
        var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
        var abstractName = "kbench-test-" + Guid.NewGuid().ToString("N")[..8];
        using var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        unix.Bind(new UnixDomainSocketEndPoint("\0" + abstractName));
        unix.Listen(1);

        var connect = $"exec 3<>/dev/tcp/127.0.0.1/{port} && echo connected";
        var control = await Sandbox.RunAsync(RunnerKind.None, spec, ["bash", "-c", connect], TimeSpan.FromMinutes(1), cancellationToken: Ct);
        Assert.True(control.Succeeded, "control: the listener is reachable without the sandbox");
        var unixConnect = $"python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('\\0{abstractName}'); print('connected')\"";
        var unixControl = await Sandbox.RunAsync(RunnerKind.None, spec, ["bash", "-c", unixConnect], TimeSpan.FromMinutes(1), cancellationToken: Ct);
        Assert.True(unixControl.Succeeded, "control: the abstract socket is reachable without the sandbox: " + unixControl.StandardError);

        var loop = await Bash(spec, connect);
        Assert.False(loop.Succeeded);
        Assert.DoesNotContain("connected", loop.StandardOutput);
        var abs = await Bash(spec, unixConnect);
        Assert.False(abs.Succeeded);
        Assert.DoesNotContain("connected", abs.StandardOutput);
        // Any other address: the sandbox's network namespace has no route at all (192.0.2.1 is TEST-NET-1; the
        // connect is only ever tried inside the empty namespace, where it fails at once).
        var other = await Bash(spec, "exec 3<>/dev/tcp/192.0.2.1/80 && echo connected");
        Assert.False(other.Succeeded);
        Assert.Contains("unreachable", other.StandardError, StringComparison.OrdinalIgnoreCase);
        var links = await Bash(spec, "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
        Assert.Equal("lo", links.StandardOutput.Trim());

        // The one designed exit: a single host Unix socket bound at /run/kenv/agent.sock (for a later model proxy).
        var socketPath = dir["proxy.sock"];
        using var proxy = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        proxy.Bind(new UnixDomainSocketEndPoint(socketPath));
        proxy.Listen(1);
        var accept = proxy.AcceptAsync(Ct).AsTask();
        var viaSocket = await Bash(spec with { UnixSocket = socketPath }, $"python3 -c \"import socket; s=socket.socket(socket.AF_UNIX); s.connect('{Sandbox.SandboxSocket}'); s.sendall(b'hello'); print('connected')\"");
        Assert.True(viaSocket.Succeeded, viaSocket.StandardError);
        using var peer = await accept;
        var buffer = new byte[5];
        Assert.Equal(5, await peer.ReceiveAsync(buffer, SocketFlags.None, Ct));
        Assert.Equal("hello"u8.ToArray(), buffer);
        Assert.False((await Bash(spec with { UnixSocket = socketPath }, $"test -e {Q(socketPath)}")).Succeeded, "the socket's host path is not visible");
    }

    /// <summary>An external agent whose command is a bash script, run through the real harness.</summary>
    private static async Task<AgentOutcome> RunExternalAsync(KenvLayout layout, Workspace ws, string script)
    {
        var cfg = new AgentConfigFile { Name = "hostile", Agent = "external", Command = ["bash", "-c", script] };
        var ctx = new AgentContext { Layout = layout, Task = SmallTree.Task(new AgentBudget(5, 1, 120, 0)), Config = cfg, HiddenPaths = [ws.Root] };
        return await AgentHarness.RunAsync(new ExternalAgent(), ctx, Ct);
    }

    [Fact]
    public async Task HostNeverRunsGitConfigHooksOrFiltersPlantedInTheTree()
    {
        RequireBwrap();
        using var dir = new TempDir();
        var (ws, layout) = await RunFolderAsync(dir);
        var marker = dir["host-ran-agent-code"];
        var run = $"touch {marker}";
        const string meta = """{"dollarCost":0,"timeCost":1,"exitReason":"normal","steps":1}""";
        var script = $"""
            set -e
            git config core.fsmonitor {Q(run)}
            git config core.hooksPath .git/hooks
            git config filter.evil.clean {Q(run)}
            git config filter.evil.smudge {Q(run)}
            git config filter.evil.required true
            git config diff.evil.textconv {Q(run)}
            git config diff.external {Q(run)}
            git config core.pager {Q(run)}
            git config alias.diff {Q("!" + run)}
            mkdir -p .git/hooks
            for h in pre-commit post-index-change post-checkout reference-transaction fsmonitor-watchman pre-auto-gc; do
              printf '#!/bin/sh\n{run}\n' > .git/hooks/$h; chmod +x .git/hooks/$h
            done
            printf '* filter=evil diff=evil\n' > .gitattributes
            mkdir -p nested && git -C nested init -q && git -C nested config core.fsmonitor {Q(run)}
            sed -i 's/return 1/return 0/' a.c
            test -x .git/hooks/pre-commit
            printf '%s' {Q(meta)} > "$KENV_OUTPUT_DIR/metadata.json"
            """;
        var outcome = await RunExternalAsync(layout, ws, script);

        Assert.Equal("normal", outcome.Metadata.ExitReason);
        Assert.False(File.Exists(marker), "the host ran a command the agent planted in its .git");
        Assert.Contains("-\treturn 1;\n+\treturn 0;", outcome.Patch);
        Assert.Contains("+++ b/.gitattributes", outcome.Patch);
        Assert.DoesNotContain("nested", outcome.Patch);
        var run2 = await SnapshotTree.DiffAsync(layout.Tree, layout.BaseGitDir, Ct);
        Assert.Equal(outcome.Patch, run2);
        Assert.False(File.Exists(marker));

        // Control: the planted configuration is live — plain git on the tree (what the harness did before) runs it.
        await ProcessRunner.RunAsync("git", ["-C", layout.Tree, "status", "--short"], new ProcessOptions { Timeout = TimeSpan.FromMinutes(1) }, Ct);
        Assert.True(File.Exists(marker), "control: git in the agent's tree should have run the planted fsmonitor");
    }

    [Fact]
    public async Task HostNeitherWritesNorReadsThroughLinksInTheOutputFolder()
    {
        RequireBwrap();
        var src = await UnixShutdownSource.GetAsync();
        using var dir = new TempDir();
        var ws = Workspace.Init(dir["ws"]);
        using (var db = ws.OpenStore())
        {
            BugRepository.Upsert(db, LiveKBench.Arena.Bugs.BugImport.ReadInput(SharedData.Path("realbugs", "unix_shutdown"), Clock.UtcNow()));
        }
        var victim = dir["victim.txt"];
        var secret = dir["secret.txt"];
        File.WriteAllText(victim, "victim stays\n");
        File.WriteAllText(secret, "host secret 5d41402abc4b2a76\n");
        var script = $"""
            set -e
            cd "$KENV_OUTPUT_DIR"
            rm -f patch.txt metadata.json traj.json log.txt
            ln -s {Q(victim)} patch.txt
            ln -s {Q(secret)} metadata.json
            ln -s {Q(victim)} metadata.json.tmp
            ln -s {Q(secret)} traj.json
            ln -s {Q(secret)} log.txt
            """;
        File.WriteAllText(Path.Combine(ws.ConfigsDir, "agents", "hostile.yaml"), $"agent: external\ncommand: [bash, -c, {JsonValue.Create(script).ToJsonString()}]\n");

        var r = Assert.Single(await new AgentRunner(ws).RunAsync("hostile", ["unix_shutdown"], new AgentRunOptions { Trees = new DirectoryTreeProvider(src) }, Ct));

        Assert.Equal("done", r.Status);
        Assert.Equal("error", r.ExitReason); // metadata.json was a link: refused
        Assert.Equal("victim stays\n", File.ReadAllText(victim));
        Assert.Equal("host secret 5d41402abc4b2a76\n", File.ReadAllText(secret));
        var art = Path.Combine(ws.Root, "artifacts", "agent-runs", r.RunId.ToString());
        foreach (var f in new[] { "patch.txt", "metadata.json", "traj.json", "log.txt" })
        {
            var p = Path.Combine(art, f);
            Assert.Null(new FileInfo(p).LinkTarget);
            Assert.DoesNotContain("5d41402abc4b2a76", File.ReadAllText(p));
            Assert.DoesNotContain("victim stays", File.ReadAllText(p));
        }
        Assert.Contains("symbolic link", File.ReadAllText(Path.Combine(art, "harness.log")));
        Assert.Equal("error", KenvMetadata.Read(Path.Combine(art, "metadata.json")).ExitReason);
    }

    [Fact]
    public async Task HostFilesRefuseLinksFifosAndOversizedFiles()
    {
        using var dir = new TempDir();
        var secret = dir["secret"];
        File.WriteAllText(secret, "s");
        var link = dir["link"];
        File.CreateSymbolicLink(link, secret);
        Assert.Throws<InvalidDataException>(() => HostFiles.ReadText(link, 100));
        Assert.Throws<FileNotFoundException>(() => HostFiles.ReadText(dir["absent"], 100));
        var fifo = dir["fifo"];
        Assert.True((await ProcessRunner.RunAsync("mkfifo", [fifo], new ProcessOptions { Timeout = TimeSpan.FromSeconds(30) }, Ct)).Succeeded);
        Assert.Throws<InvalidDataException>(() => HostFiles.ReadText(fifo, 100));
        Assert.Throws<InvalidDataException>(() => HostFiles.ReadText(dir.Path, 100));
        var big = dir["big"];
        File.WriteAllText(big, new string('x', 1000));
        Assert.Throws<InvalidDataException>(() => HostFiles.ReadText(big, 999));
        Assert.Equal(999, HostFiles.ReadBytes(big, 999, out var cut).Length);
        Assert.True(cut);
        HostFiles.WriteNew(link, "new");
        Assert.Equal("s", File.ReadAllText(secret));
        Assert.Null(new FileInfo(link).LinkTarget);
        Assert.Equal("new", File.ReadAllText(link));
    }

    [Fact]
    public async Task FileToolsRefuseSymlinkedDirectoriesAndPathsOutsideTheTree()
    {
        RequireBwrap();
        using var dir = new TempDir();
        var layout = await SmallTree.CreateAsync(dir);
        var hostDir = dir["hostdir"];
        Directory.CreateDirectory(hostDir);
        var hostFile = Path.Combine(hostDir, "hostname");
        File.WriteAllText(hostFile, "host secret line\n");
        using var server = new FakeOpenAiServer(
        [
            FakeOpenAiServer.Call("bash", new JsonObject { ["command"] = $"ln -s {Q(hostDir)} d && ln -s /etc e && mkdir sub && echo inner > sub/x && ln -s sub ok && ln -s ../../hostdir up" }),
            FakeOpenAiServer.Call("view_file", new JsonObject { ["path"] = "d/hostname" }),
            FakeOpenAiServer.Call("edit_file", new JsonObject { ["path"] = "d/hostname", ["old_str"] = "host secret", ["new_str"] = "agent wrote" }),
            FakeOpenAiServer.Call("view_file", new JsonObject { ["path"] = "e/hostname" }),
            FakeOpenAiServer.Call("view_file", new JsonObject { ["path"] = "up/hostname" }),
            FakeOpenAiServer.Call("view_file", new JsonObject { ["path"] = hostFile }),
            FakeOpenAiServer.Call("view_file", new JsonObject { ["path"] = "../hostdir/hostname" }),
            FakeOpenAiServer.Call("view_file", new JsonObject { ["path"] = "ok/x" }),
            FakeOpenAiServer.Call("submit"),
        ]);
        var model = new ModelConfig { BaseUrl = server.BaseUrl, Model = "fake", PricePerMillionInput = 1, PricePerMillionOutput = 1 };
        using var client = new OpenAiCompatibleChatClient(model, timeout: TimeSpan.FromMinutes(1));
        var cfg = new AgentConfigFile { Name = "t", Agent = "kbench-agent", ModelConfig = "fake" };
        var ctx = new AgentContext { Layout = layout, Task = SmallTree.Task(new AgentBudget(20, 10)), Config = cfg, HiddenPaths = [dir.Path] };

        var outcome = await AgentHarness.RunAsync(new KbenchAgent(client, model), ctx, Ct);

        Assert.Equal("normal", outcome.Metadata.ExitReason);
        var traj = JsonNode.Parse(File.ReadAllText(layout.Output(Kenv.TrajectoryFile)))!;
        var obs = traj["steps"]!.AsArray().Select(s => s!["actions"]![0]!["observation"]!.GetValue<string>()).ToList();
        Assert.StartsWith("exit code 0", obs[0]);
        for (var i = 1; i <= 6; i++)
        {
            Assert.StartsWith("error: no file", obs[i]);
            Assert.DoesNotContain("host secret", obs[i]);
        }
        Assert.Contains("inner", obs[7]);
        Assert.Equal("host secret line\n", File.ReadAllText(hostFile));
        // The links are part of the patch as links, not as the host content.
        Assert.Contains("+++ b/d\n", outcome.Patch);
        Assert.DoesNotContain("host secret", outcome.Patch);
    }

    [Fact]
    public void SandboxAndContainerCommandLinesFollowTheRules()
    {
        var env = Sandbox.BaseEnvironment();
        var spec = new SandboxSpec("/host/run/tree", "/host/run/input", "/host/run/output", ["/host/ws"], env, UnixSocket: "/host/run/model.sock");
        var bwrap = Sandbox.BwrapArguments(spec, ["bash"]);
        var sources = new List<string>();
        for (var i = 0; i < bwrap.Count - 2; i++)
        {
            if (bwrap[i] is "--bind" or "--ro-bind" or "--ro-bind-try" or "--dev-bind")
            {
                sources.Add(bwrap[i + 1]);
            }
        }
        Assert.DoesNotContain("/", sources);
        Assert.All(sources, s => Assert.True(
            Sandbox.SystemFolders.Contains(s) || Sandbox.EtcFiles.Contains(s) || s.StartsWith("/host/run/", StringComparison.Ordinal), $"unexpected bind {s}"));
        foreach (var flag in new[] { "--unshare-user", "--disable-userns", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session", "--clearenv" })
        {
            Assert.Contains(flag, bwrap);
        }
        Assert.Equal("65534", bwrap[bwrap.IndexOf("--uid") + 1]);
        Assert.Equal("ALL", bwrap[bwrap.IndexOf("--cap-drop") + 1]);
        if (Directory.Exists("/usr/src"))
        {
            Assert.Equal("--tmpfs", bwrap[bwrap.IndexOf("/usr/src") - 1]);
        }
        Assert.Equal(Sandbox.SandboxSocket, bwrap[bwrap.IndexOf("/host/run/model.sock") + 1]);

        var args = Sandbox.ContainerArguments("kenv-agent:1", "kenv-abc", spec, ["python3", "/agent.py"]);
        Assert.Equal("65534:65534", args[args.IndexOf("--user") + 1]);
        Assert.Equal("ALL", args[args.IndexOf("--cap-drop") + 1]);
        Assert.Contains("--read-only", args);
        Assert.Equal("no-new-privileges", args[args.IndexOf("--security-opt") + 1]);
        Assert.Equal("none", args[args.IndexOf("--network") + 1]);
        var volumes = args.Select((a, i) => (a, i)).Where(x => x.a == "--volume").Select(x => args[x.i + 1]).ToList();
        Assert.Equal(["/host/run/tree:/kenv/tree:rw", "/host/run/input:/kenv/input:ro", "/host/run/output:/kenv/output:rw", "/host/run/model.sock:" + Sandbox.SandboxSocket + ":rw"], volumes);
        Assert.DoesNotContain("--privileged", args);
        Assert.DoesNotContain(args, a => a.StartsWith("--mount", StringComparison.Ordinal) || a == "-v");
    }
}
