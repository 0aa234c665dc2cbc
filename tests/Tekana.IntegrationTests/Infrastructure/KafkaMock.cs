using System.Text.Json;
using Confluent.Kafka;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>
/// librdkafka's built-in mock cluster: a real Kafka wire protocol on loopback, alive as long as this object. Ordinary
/// producers and consumers reach it through <see cref="BootstrapServers"/>.
/// </summary>
/// <remarks>
/// The mock broker keeps at most 5 MiB (or 100,000 message sets) per partition and silently drops the oldest beyond
/// that, so a test that writes more cannot read its topics from the beginning afterwards. A tap therefore consumes every
/// partition from the moment it appears, as a live consumer would, and fails every read if it ever sees an offset gap
/// (messages dropped before it got them).
/// </remarks>
public sealed class KafkaMock : IDisposable
{
    private readonly IAdminClient _owner;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _tap;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<Received>> _received = [];
    private string? _failure;

    public KafkaMock()
    {
        var config = new AdminClientConfig();
        config.Set("test.mock.num.brokers", "1");
        _owner = new AdminClientBuilder(config).Build();
        var broker = _owner.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Single();
        BootstrapServers = $"{broker.Host}:{broker.Port}";
        _tap = new Thread(Tap) { IsBackground = true, Name = "kafka-mock-tap" };
        _tap.Start();
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

    /// <summary>Everything on a topic so far, once <paramref name="until"/> holds or the time runs out.</summary>
    public List<Received> Read(string topic, Func<List<Received>, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            List<Received> received;
            lock (_gate)
            {
                if (_failure is not null)
                {
                    throw new InvalidOperationException(_failure);
                }
                received = _received.TryGetValue(topic, out var all) ? [.. all] : [];
            }
            if (until(received) || DateTime.UtcNow >= deadline)
            {
                return received;
            }
            Thread.Sleep(200);
        }
    }

    private void Tap()
    {
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "test-tap",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Error,
        }).Build();
        var next = new Dictionary<TopicPartition, long>();
        var lookedAt = DateTime.MinValue;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                if (DateTime.UtcNow - lookedAt > TimeSpan.FromMilliseconds(200))
                {
                    // Assign rather than subscribe: a group join takes seconds on the mock cluster.
                    lookedAt = DateTime.UtcNow;
                    var fresh = _owner.GetMetadata(TimeSpan.FromSeconds(5)).Topics
                        .Where(t => !t.Error.IsError && !t.Topic.StartsWith("__", StringComparison.Ordinal))
                        .SelectMany(t => t.Partitions.Select(p => new TopicPartition(t.Topic, p.PartitionId)))
                        .Where(p => !next.ContainsKey(p)).ToList();
                    if (fresh.Count > 0)
                    {
                        fresh.ForEach(p => next[p] = 0);
                        consumer.IncrementalAssign(fresh.Select(p => new TopicPartitionOffset(p, 0)));
                    }
                }
                var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result?.Message is not { } message)
                {
                    continue;
                }
                var at = result.TopicPartition;
                lock (_gate)
                {
                    if (result.Offset.Value != next[at])
                    {
                        _failure ??= $"The mock broker dropped messages of {at} ({next[at]} to {result.Offset.Value - 1}) before the tap read them.";
                    }
                    next[at] = result.Offset.Value + 1;
                    if (!_received.TryGetValue(at.Topic, out var list))
                    {
                        _received[at.Topic] = list = [];
                    }
                    list.Add(new Received(message.Key, at.Partition.Value, result.Offset.Value, JsonDocument.Parse(message.Value).RootElement.Clone()));
                }
            }
            catch (KafkaException e) when (!_stop.IsCancellationRequested)
            {
                lock (_gate)
                {
                    _failure ??= $"The Kafka tap failed: {e.Error.Reason}";
                }
            }
        }
        consumer.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _tap.Join();
        _owner.Dispose();
    }
}
