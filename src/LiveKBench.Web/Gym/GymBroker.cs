using System.Text;
using System.Text.Json;
using LiveKBench.Gym;
using RabbitMQ.Client;

namespace LiveKBench.Web.Gym;

/// <summary>
/// The Gym's RabbitMQ topology: one durable <b>quorum</b> queue per stage kind (<c>&lt;prefix&gt;.stage.&lt;kind&gt;</c>)
/// with <c>x-delivery-limit</c> and dead-lettering (default exchange) into the quorum queue <c>&lt;prefix&gt;.dead</c>.
/// Messages are persistent and published with publisher confirms.
/// </summary>
/// <param name="Prefix">Queue-name prefix (default <c>kbench.gym</c>; tests use their own).</param>
/// <param name="DeliveryLimit">Redeliveries a quorum queue allows before dead-lettering (RabbitMQ <c>x-delivery-limit</c>).</param>
public sealed record GymTopology(string Prefix = "kbench.gym", int DeliveryLimit = 3)
{
    /// <summary>Queue of a stage kind.</summary>
    public string StageQueue(string kind) => $"{Prefix}.stage.{kind}";

    /// <summary>The dead-letter queue.</summary>
    public string DeadQueue => $"{Prefix}.dead";

    /// <summary>Declares the dead-letter queue and every stage queue on <paramref name="channel"/> (idempotent).</summary>
    public async Task DeclareAsync(IChannel channel, CancellationToken ct)
    {
        await channel.QueueDeclareAsync(DeadQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" }, cancellationToken: ct).ConfigureAwait(false);
        foreach (var kind in GymWire.Kinds)
        {
            await channel.QueueDeclareAsync(StageQueue(kind), durable: true, exclusive: false, autoDelete: false, arguments: new Dictionary<string, object?>
            {
                ["x-queue-type"] = "quorum",
                ["x-delivery-limit"] = DeliveryLimit,
                ["x-dead-letter-exchange"] = "",
                ["x-dead-letter-routing-key"] = DeadQueue,
            }, cancellationToken: ct).ConfigureAwait(false);
        }
    }

    /// <summary>Opens a connection to <paramref name="broker"/> (amqp://USER:PASS@HOST:PORT/VHOST) with automatic recovery.</summary>
    /// <exception cref="RabbitMQ.Client.Exceptions.BrokerUnreachableException">The broker cannot be reached.</exception>
    public static Task<IConnection> ConnectAsync(Uri broker, string clientName, CancellationToken ct)
        => new ConnectionFactory { Uri = broker, ClientProvidedName = clientName, AutomaticRecoveryEnabled = true, RequestedHeartbeat = TimeSpan.FromSeconds(15) }
            .CreateConnectionAsync(ct);

    /// <summary>Publishes <paramref name="message"/> persistently to its kind's queue and waits for the broker's confirm.</summary>
    /// <exception cref="RabbitMQ.Client.Exceptions.PublishException">The broker nacked or returned the message.</exception>
    public async Task PublishAsync(IChannel confirmChannel, GymStageMessage message, CancellationToken ct)
    {
        var props = new BasicProperties { Persistent = true, MessageId = message.MessageId, ContentType = "application/json" };
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message, GymWire.Json));
        await confirmChannel.BasicPublishAsync("", StageQueue(message.Kind), mandatory: true, basicProperties: props, body: body, cancellationToken: ct).ConfigureAwait(false);
    }

    /// <summary>Parses a message body; null when it is not a stage message.</summary>
    public static GymStageMessage? Parse(ReadOnlyMemory<byte> body)
    {
        try
        {
            return JsonSerializer.Deserialize<GymStageMessage>(body.Span, GymWire.Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The <c>x-delivery-count</c> header RabbitMQ quorum queues set on redeliveries, or null.</summary>
    public static long? DeliveryCount(IReadOnlyBasicProperties props)
        => props.Headers is { } h && h.TryGetValue("x-delivery-count", out var v) ? v switch
        {
            long l => l,
            int i => i,
            _ => null,
        } : null;
}
