using System.Collections.Concurrent;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Tekana.Abstractions.Events;
using Tekana.Grains.Events;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>
/// A cluster whose events flow to librdkafka's mock Kafka cluster and to the PostgreSQL read model. A switchable
/// failing sink stands for Kafka (or the bridge) being away.
/// </summary>
public sealed class EventsFixture : IAsyncLifetime
{
    public KafkaMock Kafka { get; } = new();

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        ConnectionString = await TestDatabase.CreateAsync("events");
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Kafka:BootstrapServers"] = Kafka.BootstrapServers })
            .Build();
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 2);
        builder.WithSilosOwnGrainDirectory();
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddTekanaGrains();
            silo.AddTekanaPostgresStorage(ConnectionString);
            silo.AddTekanaEvents(configuration, ConnectionString);
            // Between the read model and Kafka, exactly where an unreachable broker makes the relay fail.
            var kafka = silo.Services.Select((d, i) => (d, i)).Single(x => x.d.ImplementationType == typeof(KafkaSink)).i;
            silo.Services.Insert(kafka, ServiceDescriptor.Singleton<IEventSink>(Outage.Instance));
            silo.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1_000);
        });
        builder.ConfigureClient(client => client.UseTransactions());
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Kafka.Dispose();
    }
}

/// <summary>A sink that fails while <see cref="Down"/> is set, as an unreachable Kafka makes the bridge fail.</summary>
public sealed class Outage : IEventSink
{
    public static readonly Outage Instance = new();

    public volatile bool Down;

    /// <summary>How many times each event (by id) was refused.</summary>
    public ConcurrentDictionary<string, int> Refused { get; } = new();

    public string Name => "outage";

    public Task WriteAsync(IReadOnlyList<LedgerEvent> events, CancellationToken cancellationToken)
    {
        if (!Down)
        {
            return Task.CompletedTask;
        }
        foreach (var e in events)
        {
            Refused.AddOrUpdate(e.Id, 1, (_, n) => n + 1);
        }
        return Task.FromException(new InvalidOperationException("simulated outage"));
    }
}

[CollectionDefinition(Name)]
public sealed class EventsCollection : ICollectionFixture<EventsFixture>
{
    public const string Name = "events";
}
