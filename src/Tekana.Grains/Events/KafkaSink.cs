using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tekana.Abstractions.Events;

namespace Tekana.Grains.Events;

/// <summary>The <c>Kafka</c> section. Setting <c>Kafka:BootstrapServers</c> turns the bridge on.</summary>
public sealed class KafkaOptions
{
    public const string Section = "Kafka";

    public string? BootstrapServers { get; set; }

    public KafkaTopics Topics { get; set; } = new();

    /// <summary>Extra librdkafka producer settings (security, tuning), passed through as they are.</summary>
    public Dictionary<string, string> Producer { get; set; } = [];
}

public sealed class KafkaTopics
{
    public string Customers { get; set; } = "tekana.customers";
    public string Wallets { get; set; } = "tekana.wallets";
    public string Transactions { get; set; } = "tekana.transactions";
}

/// <summary>
/// Forwards events to Kafka with an idempotent producer (acks=all), keyed by subject so that a wallet's or a
/// customer's events stay in order on one partition. A batch counts as delivered only when Kafka acknowledged all of it.
/// Topics are not created here: deploy files or broker auto-creation provision them.
/// </summary>
public sealed class KafkaSink : IEventSink, IDisposable
{
    private readonly IProducer<string, byte[]> _producer;
    private readonly KafkaTopics _topics;

    public KafkaSink(IOptions<KafkaOptions> options, ILogger<KafkaSink> log)
    {
        var settings = options.Value;
        var config = new ProducerConfig(settings.Producer)
        {
            BootstrapServers = settings.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 2,
            MessageTimeoutMs = 30_000,
        };
        _topics = settings.Topics;
        _producer = new ProducerBuilder<string, byte[]>(config)
            .SetErrorHandler((_, error) => log.LogWarning("Kafka: {Reason}", error.Reason))
            .Build();
    }

    public string Name => "kafka";

    public async Task WriteAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken)
    {
        // Produce calls are issued in order and all in flight at once; the idempotent producer keeps per-key order.
        var deliveries = events.Select(e => _producer.ProduceAsync(Topic(e), new Message<string, byte[]>
        {
            Key = e.Subject,
            Value = CloudEvents.ToJson(e),
            Headers = [new Header("ce_id", System.Text.Encoding.UTF8.GetBytes(e.Id)), new Header("ce_type", System.Text.Encoding.UTF8.GetBytes(e.Type))],
        }, cancellationToken)).ToList();
        await Task.WhenAll(deliveries);
    }

    private string Topic(LedgerEvent e) => e.Category switch
    {
        EventCategory.Customers => _topics.Customers,
        EventCategory.Wallets => _topics.Wallets,
        _ => _topics.Transactions,
    };

    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(5));
        _producer.Dispose();
    }
}
