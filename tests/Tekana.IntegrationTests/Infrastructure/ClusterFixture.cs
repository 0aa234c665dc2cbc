using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests.Infrastructure;

/// <summary>
/// A two-silo in-process Orleans cluster whose grain state lives in a real PostgreSQL database through the
/// ADO.NET provider and the project's own scripts. Shared by every test of the "cluster" collection.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        ConnectionString = await TestDatabase.CreateAsync("cluster");
        var builder = new InProcessTestClusterBuilder(initialSilosCount: 2);
        builder.WithSilosOwnGrainDirectory();
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddTekanaGrains();
            silo.AddTekanaPostgresStorage(ConnectionString);
            silo.AddTekanaEvents(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(), ConnectionString);
            // The production hash cost (100,000 PBKDF2 rounds) would dominate tests that register hundreds of customers.
            silo.Services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1_000);
        });
        // The services AddTekanaClient adds, less its clustering (the test cluster finds its own silos).
        builder.ConfigureClient(client =>
        {
            client.UseTransactions();
            client.Services.AddTekanaExceptionSerialization().AddTekanaReflectionCaches();
        });
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
