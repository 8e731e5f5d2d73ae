using System.CommandLine;
using LiveKBench.Gym;
using LiveKBench.Infrastructure;
using LiveKBench.Web.Gym;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LiveKBench.Cli.Commands;

/// <summary>`kbench gym serve`, `kbench gym worker`, `kbench gym jobs`: the Gym as a distributed service.</summary>
internal static class GymCommands
{
    private static readonly Option<string?> Broker = new("--broker")
    {
        Description = "RabbitMQ URL amqp://USER:PASS@HOST:PORT/VHOST (default: $KBENCH_GYM_BROKER, else amqp://guest:guest@localhost:5672/)",
    };

    private static readonly Option<string> QueuePrefix = new("--queue-prefix")
    {
        Description = "Prefix of the Gym's queue names (scheduler and workers must agree)",
        DefaultValueFactory = _ => "kbench.gym",
    };

    private static readonly Option<int> DeliveryLimit = new("--delivery-limit")
    {
        Description = "Redeliveries of a stage message before it is dead-lettered and its job failed (scheduler and workers must agree)",
        DefaultValueFactory = _ => 3,
    };

    public static Command Build()
    {
        var gym = new Command("gym", "The Gym as a service: a scheduler with a REST API and workers fed by RabbitMQ");
        gym.Subcommands.Add(BuildServe());
        gym.Subcommands.Add(BuildWorker());
        gym.Subcommands.Add(BuildJobs());
        return gym;
    }

    private static Uri BrokerUri(ParseResult parse)
    {
        var s = parse.GetValue(Broker) ?? Environment.GetEnvironmentVariable("KBENCH_GYM_BROKER") ?? "amqp://guest:guest@localhost:5672/";
        return Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "amqp" or "amqps" ? u : throw new UsageException($"--broker '{s}' is not an amqp:// URL");
    }

    private static Microsoft.Extensions.Configuration.IConfiguration? Config(ParseResult parse)
    {
        var root = CliOptions.ResolveWorkspace(parse);
        return Workspace.Exists(root) ? Workspace.Open(root).Configuration : null;
    }

    private static string Token(ParseResult parse)
        => GymToken.From(Config(parse)) ?? throw new UsageException("no Gym token: set KBENCH_GYM_TOKEN (or Gym:Token in settings.json)");

    private static GymTopology Topology(ParseResult parse) => new(parse.GetValue(QueuePrefix)!, parse.GetValue(DeliveryLimit));

    private static Command BuildServe()
    {
        var listen = new Option<string>("--listen") { Description = "Address to serve, e.g. http://0.0.0.0:8080", DefaultValueFactory = _ => "http://127.0.0.1:8080" };
        var data = new Option<string?>("--data") { Description = "Folder of the Gym's store (gym.db) and artifacts (default: <workspace>/gym)" };
        var cmd = new Command("serve", "Run the Gym scheduler: REST API (/api, /openapi/v1.json, /healthz), job store, broker outbox and dead-letter handling");
        cmd.Options.Add(listen);
        cmd.Options.Add(data);
        cmd.Options.Add(Broker);
        cmd.Options.Add(QueuePrefix);
        cmd.Options.Add(DeliveryLimit);
        cmd.SetAction(async (parse, ct) =>
        {
            var options = new GymSchedulerOptions
            {
                DataDir = Path.GetFullPath(parse.GetValue(data) ?? Path.Combine(CliOptions.ResolveWorkspace(parse), "gym")),
                Broker = BrokerUri(parse),
                Token = Token(parse),
                Topology = Topology(parse),
            };
            var app = GymServer.Build(parse.GetValue(listen)!, options);
            await using (app.ConfigureAwait(false))
            {
                await Console.Error.WriteLineAsync($"gym scheduler on {parse.GetValue(listen)} (store {options.DataDir}/gym.db, broker {options.Broker.Host}:{options.Broker.Port})");
                await app.StartAsync(ct);
                await app.WaitForShutdownAsync(ct);
            }
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command BuildWorker()
    {
        var scheduler = new Option<string>("--scheduler") { Description = "Scheduler URL, e.g. http://gym:8080", Required = true };
        var name = new Option<string?>("--name") { Description = "Worker name (default: host name and process id)" };
        var kinds = new Option<string>("--kinds") { Description = "Stage kinds to take, comma-separated (build, reproduce, noop)", DefaultValueFactory = _ => "build,reproduce" };
        var slots = new Option<int>("--slots") { Description = "Stages run at the same time", DefaultValueFactory = _ => 1 };
        var cmd = new Command("worker", "Run a Gym worker: takes stages from RabbitMQ, runs them with this workspace's builder and VMs, reports to the scheduler");
        cmd.Options.Add(scheduler);
        cmd.Options.Add(Broker);
        cmd.Options.Add(name);
        cmd.Options.Add(kinds);
        cmd.Options.Add(slots);
        cmd.Options.Add(QueuePrefix);
        cmd.Options.Add(DeliveryLimit);
        cmd.SetAction(async (parse, ct) =>
        {
            var k = parse.GetValue(kinds)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (k.Length == 0 || k.Any(x => !GymWire.Kinds.Contains(x)))
            {
                throw new UsageException($"--kinds takes {string.Join(", ", GymWire.Kinds)}");
            }
            if (parse.GetValue(slots) is < 1 or > 64)
            {
                throw new UsageException("--slots must be 1..64");
            }
            if (!Uri.TryCreate(parse.GetValue(scheduler), UriKind.Absolute, out var s))
            {
                throw new UsageException("--scheduler must be an absolute URL");
            }
            var ws = CliOptions.ResolveWorkspace(parse);
            var options = new GymWorkerOptions
            {
                Scheduler = s,
                Broker = BrokerUri(parse),
                Token = Token(parse),
                Kinds = k,
                Slots = parse.GetValue(slots),
                Workspace = Workspace.Exists(ws) ? ws : null,
                Topology = Topology(parse),
            };
            options = parse.GetValue(name) is { } n ? options with { Name = n } : options;
            using var factory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
            using var worker = new GymRemoteWorker(options, factory.CreateLogger("gym-worker"));
            await worker.RunAsync(ct);
            return ExitCodes.Success;
        });
        return cmd;
    }

    private static Command BuildJobs()
    {
        var scheduler = new Option<string?>("--scheduler") { Description = "Scheduler URL (default: setting Gym:Endpoint / $KBENCH_Gym__Endpoint)" };
        var status = new Option<string?>("--status") { Description = "Only jobs in this status (queued, running, finished, failed, aborted)" };
        var watch = new Option<bool>("--watch") { Description = "Refresh every 2 s until interrupted" };
        var json = CliOptions.Json();
        var cmd = new Command("jobs", "List the Gym's jobs (newest first) with their stages, workers and attempts");
        cmd.Options.Add(scheduler);
        cmd.Options.Add(status);
        cmd.Options.Add(watch);
        cmd.Options.Add(json);
        cmd.SetAction(async (parse, ct) =>
        {
            var url = parse.GetValue(scheduler) ?? Config(parse)?["Gym:Endpoint"] ?? Environment.GetEnvironmentVariable("KBENCH_Gym__Endpoint")
                ?? throw new UsageException("no scheduler: pass --scheduler or set Gym:Endpoint");
            using var client = new HttpClient();
            var gym = new RemoteGymClient(new Uri(url), Token(parse), null, client);
            do
            {
                var jobs = await gym.ListAsync(parse.GetValue(status), 1, ct);
                if (parse.GetValue(json))
                {
                    CliContext.PrintJson(jobs);
                }
                else
                {
                    if (parse.GetValue(watch))
                    {
                        Console.Clear();
                    }
                    Console.WriteLine($"{"JOB",-9} {"STATUS",-9} {"CREATED",-20} STAGES (kind:status@worker xattempts)");
                    foreach (var j in jobs)
                    {
                        var stages = string.Join("  ", j.Stages.Select(s => $"{s.Kind}:{s.Status}{(s.Worker is null ? "" : "@" + s.Worker)}{(s.Attempts > 1 ? $" x{s.Attempts}" : "")}"));
                        Console.WriteLine($"{j.Id,-9} {j.Status,-9} {j.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}  {stages}{(j.FailureReason is null ? "" : "  — " + j.FailureReason)}");
                    }
                }
                if (parse.GetValue(watch))
                {
                    await Task.Delay(TimeSpan.FromSeconds(2), ct);
                }
            }
            while (parse.GetValue(watch) && !ct.IsCancellationRequested);
            return ExitCodes.Success;
        });
        return cmd;
    }
}
