using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;

namespace Tekana.Cli.Events;

/// <summary>
/// Reads Tekana's topics and prints each distinct event once (delivery is at least once, so duplicates are dropped
/// by event id), or a running summary: counts per event type and money moved per currency.
/// </summary>
public static class EventTail
{
    public static int Run(TailOptions options) => Run(options, Console.Out, CancellationToken.None);

    public static int Run(TailOptions options, TextWriter output, CancellationToken stop)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.Bootstrap }).Build();
        using var consumer = new ConsumerBuilder<string, byte[]>(new ConsumerConfig
        {
            BootstrapServers = options.Bootstrap,
            GroupId = "tekana-tail-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        // Assigning partitions directly starts at once (no consumer-group rebalance to wait for).
        var partitions = new List<TopicPartitionOffset>();
        foreach (var topic in options.Topics)
        {
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single();
            partitions.AddRange(metadata.Partitions.Select(p => new TopicPartitionOffset(topic, p.PartitionId, options.FromBeginning ? Offset.Beginning : Offset.End)));
        }
        consumer.Assign(partitions);

        var seen = new HashSet<string>();
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var moved = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var lastSummary = Stopwatch.StartNew();
        while (!cancel.IsCancellationRequested && (options.Max is null || seen.Count < options.Max))
        {
            ConsumeResult<string, byte[]>? result;
            try
            {
                result = consumer.Consume(TimeSpan.FromMilliseconds(500));
            }
            catch (ConsumeException e)
            {
                Console.Error.WriteLine($"kafka: {e.Error.Reason}");
                continue;
            }
            if (result?.Message is { } message)
            {
                using var document = JsonDocument.Parse(message.Value);
                var root = document.RootElement;
                if (seen.Add(root.GetProperty("id").GetString()!))
                {
                    if (options.Summary)
                    {
                        Tally(root, counts, moved);
                    }
                    else
                    {
                        output.WriteLine(Encoding.UTF8.GetString(message.Value));
                    }
                }
            }
            if (options.Summary && lastSummary.Elapsed > TimeSpan.FromSeconds(5))
            {
                PrintSummary(output, counts, moved);
                lastSummary.Restart();
            }
        }
        if (options.Summary)
        {
            PrintSummary(output, counts, moved);
        }
        return 0;
    }

    private static void Tally(JsonElement e, SortedDictionary<string, long> counts, SortedDictionary<string, long> moved)
    {
        var type = e.GetProperty("type").GetString()!;
        counts[type] = counts.GetValueOrDefault(type) + 1;
        var data = e.GetProperty("data");
        // Each leg is one event; counting credits only counts every movement once.
        if (data.TryGetProperty("direction", out var direction) && direction.GetString() == "credit")
        {
            var currency = data.GetProperty("currency").GetString()!;
            moved[currency] = moved.GetValueOrDefault(currency) + data.GetProperty("amount").GetInt64();
        }
    }

    private static void PrintSummary(TextWriter output, SortedDictionary<string, long> counts, SortedDictionary<string, long> moved)
    {
        output.WriteLine($"--- {DateTime.UtcNow:O}");
        foreach (var (type, count) in counts)
        {
            output.WriteLine($"{type,-32} {count,10}");
        }
        foreach (var (currency, amount) in moved)
        {
            output.WriteLine($"credited {currency} (minor units) {amount,16}");
        }
    }
}
