using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tekana.Abstractions.Customers;
using Tekana.Domain.Transfers;
using Tekana.Grains.Hosting;

namespace Tekana.IntegrationTests.Cluster;

/// <summary>
/// Silos configured exactly as in production (ConnectionStrings:Postgres set): ADO.NET clustering and storage through
/// the scripts in sql/, real TCP on loopback, and an external client finding gateways through the membership table.
/// </summary>
public sealed class PostgresClusteringTests : IAsyncLifetime
{
    private string _connectionString = "";
    private readonly string _clusterId = "it-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<IHost> _silos = [];
    private IHost? _client;

    public async Task InitializeAsync()
    {
        _connectionString = await TestDatabase.CreateAsync("clustering");
        _silos.Add(await StartSiloAsync());
        _silos.Add(await StartSiloAsync());
    }

    public async Task DisposeAsync()
    {
        foreach (var host in _silos.Append(_client).OfType<IHost>().Reverse())
        {
            await host.StopAsync();
            host.Dispose();
        }
    }

    [Fact]
    public async Task Silos_join_through_the_membership_table_and_serve_a_client_from_either_gateway()
    {
        var client = await StartClientAsync();

        var active = await TestDatabase.ScalarAsync<long>(_connectionString,
            $"SELECT count(*) FROM orleans_membership WHERE deployment_id = '{_clusterId}' AND status = 3");
        var (customer, wallet) = await client.RegisterAsync();
        var (_, other) = await client.RegisterAsync();
        await client.Execute(Ledger.Deposit(wallet, 700));
        var transfer = await client.Execute(Ledger.Transfer(wallet, other, 200));

        Assert.Equal(2, active);
        Assert.Equal(MovementStatus.Completed, transfer.Status);
        Assert.Equal(500, await client.Balance(wallet));
        Assert.Equal(customer.Id, (await client.GetGrain<ICustomerGrain>(customer.Id).Get()).Id);
    }

    [Fact]
    public async Task A_gracefully_stopped_silo_is_marked_dead_and_state_survives_on_the_other()
    {
        var client = await StartClientAsync();
        var (_, wallet) = await client.RegisterAsync();
        await client.Execute(Ledger.Deposit(wallet, 900));

        await _silos[1].StopAsync();
        _silos[1].Dispose();
        _silos.RemoveAt(1);

        var dead = await TestDatabase.ScalarAsync<long>(_connectionString,
            $"SELECT count(*) FROM orleans_membership WHERE deployment_id = '{_clusterId}' AND status = 6");
        Assert.Equal(1, dead);
        Assert.Equal(900, await client.Balance(wallet));
        Assert.Equal(MovementStatus.Completed, (await client.Execute(Ledger.Withdrawal(wallet, 100))).Status);
        Assert.Equal(800, await client.Balance(wallet));
    }

    private Dictionary<string, string?> Settings(int siloPort, int gatewayPort) => new()
    {
        ["ConnectionStrings:Postgres"] = _connectionString,
        ["Orleans:ClusterId"] = _clusterId,
        ["Orleans:ServiceId"] = "tekana-it",
        ["Orleans:SiloPort"] = siloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Orleans:GatewayPort"] = gatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private async Task<IHost> StartSiloAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(Settings(FreePort(), FreePort()));
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleans(silo => silo.AddTekana(builder.Configuration));
        builder.Services.Configure<Microsoft.AspNetCore.Identity.PasswordHasherOptions>(o => o.IterationCount = 1_000);
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private async Task<IClusterClient> StartClientAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(client =>
        {
            client.Configure<Orleans.Configuration.ClusterOptions>(o =>
            {
                o.ClusterId = _clusterId;
                o.ServiceId = "tekana-it";
            });
            client.UseAdoNetClustering(o =>
            {
                o.Invariant = TekanaSiloBuilderExtensions.NpgsqlInvariant;
                o.ConnectionString = _connectionString;
            });
            client.UseTransactions();
        });
        _client = builder.Build();
        await _client.StartAsync();
        return _client.Services.GetRequiredService<IClusterClient>();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

}
