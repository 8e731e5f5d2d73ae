using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LiveKBench.Tests.Support;
using RabbitMQ.Client;

namespace LiveKBench.Tests.Gym;

/// <summary>
/// A real RabbitMQ server (Debian's rabbitmq-server) started for the tests on free loopback ports, with its own node
/// name, data folder, Erlang cookie and epmd port; stopped (and its epmd) on dispose. Missing under CI=true ⇒ the test fails.
/// </summary>
public sealed class RabbitMqServer : IAsyncLifetime
{
    private const string Server = "/usr/lib/rabbitmq/bin/rabbitmq-server";
    private readonly TempDir _dir = new();
    private Process? _process;
    private readonly System.Text.StringBuilder _output = new();

    /// <summary>AMQP port.</summary>
    public int Port { get; } = FreePort();

    private int EpmdPort { get; } = FreePort();

    /// <summary>amqp://guest:guest@127.0.0.1:PORT/.</summary>
    public Uri Uri => new($"amqp://guest:guest@127.0.0.1:{Port}/");

    /// <summary>Why the server is unavailable, or null when it runs.</summary>
    public string? Missing { get; private set; }

    /// <summary>A free loopback TCP port.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Fails (CI) or skips the test when the server could not start.</summary>
    public void Require()
    {
        if (Missing is null)
        {
            return;
        }
        if (SharedData.IsCi)
        {
            Assert.Fail("RabbitMQ is required under CI: " + Missing);
        }
        Assert.Skip(Missing);
    }

    /// <inheritdoc/>
    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(Server))
        {
            Missing = "rabbitmq-server is not installed (scripts/install-deps.sh installs it)";
            return;
        }
        File.WriteAllText(_dir["rabbitmq.conf"], $"listeners.tcp.default = 127.0.0.1:{Port}\nloopback_users.guest = true\n");
        File.WriteAllText(_dir["enabled_plugins"], "[].\n");
        var psi = new ProcessStartInfo(Server) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["HOME"] = _dir.Path;
        psi.Environment["RABBITMQ_NODENAME"] = $"kbt{Port}@localhost";
        psi.Environment["RABBITMQ_NODE_PORT"] = Port.ToString();
        psi.Environment["RABBITMQ_DIST_PORT"] = FreePort().ToString();
        psi.Environment["ERL_EPMD_PORT"] = EpmdPort.ToString();
        psi.Environment["RABBITMQ_MNESIA_BASE"] = _dir["mnesia"];
        psi.Environment["RABBITMQ_LOG_BASE"] = _dir["log"];
        psi.Environment["RABBITMQ_CONFIG_FILE"] = _dir["rabbitmq"];
        psi.Environment["RABBITMQ_ENABLED_PLUGINS_FILE"] = _dir["enabled_plugins"];
        psi.Environment["RABBITMQ_PID_FILE"] = _dir["rabbit.pid"];
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var until = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < until)
        {
            if (_process.HasExited)
            {
                break;
            }
            try
            {
                await using var c = await new ConnectionFactory { Uri = Uri }.CreateConnectionAsync();
                return;
            }
            catch (Exception)
            {
                await Task.Delay(500);
            }
        }
        Missing = "rabbitmq-server did not accept connections within 120 s: " + _output;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        if (File.Exists(_dir["rabbit.pid"]) && int.TryParse(File.ReadAllText(_dir["rabbit.pid"]).Trim(), out var pid))
        {
            try
            {
                Process.GetProcessById(pid).Kill(entireProcessTree: true);
            }
            catch (ArgumentException)
            {
            }
        }
        // epmd on our own port was started by this server: stop it.
        try
        {
            using var epmd = Process.Start(new ProcessStartInfo("epmd", ["-port", EpmdPort.ToString(), "-kill"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            await epmd.WaitForExitAsync();
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }
        _process?.Dispose();
        _dir.Dispose();
    }
}
