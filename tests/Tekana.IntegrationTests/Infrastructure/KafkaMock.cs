using System.Text.Json;
using Confluent.Kafka;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>
/// librdkafka's built-in mock cluster: a real Kafka wire protocol on loopback, alive as long as this object. Ordinary
/// producers and consumers reach it through <see cref="BootstrapServers"/>.
/// </summary>
public sealed class KafkaMock : IDisposable
{
    private readonly IAdminClient _owner;

    public KafkaMock()
    {
        var config = new AdminClientConfig();
        config.Set("test.mock.num.brokers", "1");
        _owner = new AdminClientBuilder(config).Build();
        var broker = _owner.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Single();
        BootstrapServers = $"{broker.Host}:{broker.Port}";
    }

    public string BootstrapServers { get; }

    /// <summary>A message as a consumer sees it: key, and the CloudEvent parsed.</summary>
    public sealed record Received(string Key, int Partition, long Offset, JsonElement Event)
    {
        public string Id => Event.GetProperty("id").GetString()!;
        public string Type => Event.GetProperty("type").GetString()!;
        public string Subject => Event.GetProperty("subject").GetString()!;
        public long Sequence => Event.GetProperty("tekanasequence").GetInt64();
        public JsonElement Data => Event.GetProperty("data");
    }

    /// <summary>Reads a topic from the beginning until <paramref name="until"/> holds or the time runs out.</summary>
    public List<Received> Read(string topic, Func<List<Received>, bool> until, TimeSpan timeout)
    {
        var received = new List<Received>();
        var deadline = DateTime.UtcNow + timeout;
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "test-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        var assigned = false;
        var sinceCheck = 0;
        // The condition is checked when the topic is drained for now (or every 5,000 messages), not per message.
        while (DateTime.UtcNow < deadline)
        {
            if (sinceCheck >= 5_000)
            {
                sinceCheck = 0;
                if (until(received))
                {
                    break;
                }
            }
            if (!assigned)
            {
                // Assign rather than subscribe: a group join takes seconds on the mock cluster.
                var metadata = _owner.GetMetadata(topic, TimeSpan.FromSeconds(5)).Topics.SingleOrDefault();
                if (metadata is null || metadata.Error.IsError || metadata.Partitions.Count == 0)
                {
                    Thread.Sleep(200);
                    continue;
                }
                consumer.Assign(metadata.Partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, Offset.Beginning)));
                assigned = true;
            }
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is { } message)
            {
                received.Add(new Received(message.Key, result.Partition.Value, result.Offset.Value, JsonDocument.Parse(message.Value).RootElement.Clone()));
                sinceCheck++;
            }
            else if (until(received))
            {
                break;
            }
        }
        return received;
    }

    public void Dispose() => _owner.Dispose();
}
