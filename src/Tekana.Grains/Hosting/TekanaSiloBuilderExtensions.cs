using System.Data.Common;
using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Orleans.Configuration;
using Tekana.Grains.Events;
using Tekana.Grains.History;

namespace Tekana.Grains.Hosting;

public static class TekanaSiloBuilderExtensions
{
    public const string PostgresConnectionStringName = "Postgres";
    public const string NpgsqlInvariant = "Npgsql";

    /// <summary>
    /// Configures a Tekana silo from configuration: with <c>ConnectionStrings:Postgres</c>, PostgreSQL storage and
    /// ADO.NET clustering; without it, in-memory storage and localhost clustering so that the product starts with
    /// zero setup.
    /// </summary>
    public static ISiloBuilder AddTekana(this ISiloBuilder builder, IConfiguration configuration)
    {
        var cluster = configuration.GetSection(TekanaClusterOptions.Section).Get<TekanaClusterOptions>() ?? new();
        System.ComponentModel.DataAnnotations.Validator.ValidateObject(cluster, new(cluster), validateAllProperties: true);
        var connectionString = configuration.GetConnectionString(PostgresConnectionStringName);

        if (string.IsNullOrWhiteSpace(connectionString))
        {
            builder.UseLocalhostClustering(cluster.SiloPort, cluster.GatewayPort, null, cluster.ServiceId, cluster.ClusterId);
            builder.AddTekanaGrains();
            builder.AddMemoryGrainStorage(StorageNames.Ledger);
            builder.AddMemoryGrainStorage(StorageNames.Customers);
            builder.AddTekanaEvents(configuration, connectionString: null);
            builder.Services.Configure<PasswordHasherOptions>(configuration.GetSection("Security:PasswordHashing"));
            return builder;
        }

        builder.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        var advertised = string.IsNullOrWhiteSpace(cluster.AdvertisedAddress)
            ? IPAddress.Loopback
            : IPAddress.Parse(cluster.AdvertisedAddress);
        builder.ConfigureEndpoints(advertised, cluster.SiloPort, cluster.GatewayPort, listenOnAnyHostAddress: !IPAddress.IsLoopback(advertised));
        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = NpgsqlInvariant;
            o.ConnectionString = connectionString;
        });
        builder.AddTekanaGrains();
        builder.AddTekanaPostgresStorage(connectionString);
        builder.AddTekanaEvents(configuration, connectionString);
        builder.Services.Configure<PasswordHasherOptions>(configuration.GetSection("Security:PasswordHashing"));
        return builder;
    }

    /// <summary>
    /// The event pipeline: an in-cluster stream per partition (a trigger only: the durable copy of every event is
    /// its grain's outbox), relays that feed the read model and, with <c>Kafka:BootstrapServers</c> set, Kafka.
    /// </summary>
    public static ISiloBuilder AddTekanaEvents(this ISiloBuilder builder, IConfiguration configuration, string? connectionString)
    {
        builder.AddMemoryStreams(EventStreams.Provider);
        builder.AddMemoryGrainStorage("PubSubStore");
        builder.Services.AddTekanaHistory(connectionString);
        builder.Services.AddSingleton<IEventSink, ReadModelSink>();
        var kafka = configuration.GetSection(KafkaOptions.Section);
        builder.Services.AddOptions<KafkaOptions>().Bind(kafka);
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            builder.Services.AddHostedService<OutboxSweeper>();
        }
        if (!string.IsNullOrWhiteSpace(kafka[nameof(KafkaOptions.BootstrapServers)]))
        {
            builder.Services.AddSingleton<IEventSink, KafkaSink>();
        }
        return builder;
    }

    /// <summary>The read model: PostgreSQL when configured, otherwise held in this process (embedded default).</summary>
    public static IServiceCollection AddTekanaHistory(this IServiceCollection services, string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            services.TryAddSingleton<IHistoryStore, InMemoryHistoryStore>();
        }
        else
        {
            services.TryAddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
            services.TryAddSingleton<IHistoryStore, PostgresHistoryStore>();
        }
        return services;
    }

    /// <summary>Everything the grains need apart from clustering and storage (tests supply their own).</summary>
    public static ISiloBuilder AddTekanaGrains(this ISiloBuilder builder)
    {
        builder.UseTransactions();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.TryAddSingleton<IPasswordHasher<string>, PasswordHasher<string>>();
        builder.Services.AddOptions<PasswordHasherOptions>();
        return builder;
    }

    /// <summary>Both grain storages on PostgreSQL through the ADO.NET provider and the scripts in <c>sql/</c>.</summary>
    public static ISiloBuilder AddTekanaPostgresStorage(this ISiloBuilder builder, string connectionString)
    {
        RegisterNpgsql();
        foreach (var name in new[] { StorageNames.Ledger, StorageNames.Customers })
        {
            builder.AddAdoNetGrainStorage(name, o =>
            {
                o.Invariant = NpgsqlInvariant;
                o.ConnectionString = connectionString;
            });
        }
        return builder;
    }

    /// <summary>The ADO.NET providers look the Npgsql factory up by its invariant name.</summary>
    public static void RegisterNpgsql()
    {
        if (!DbProviderFactories.TryGetFactory(NpgsqlInvariant, out _))
        {
            DbProviderFactories.RegisterFactory(NpgsqlInvariant, NpgsqlFactory.Instance);
        }
    }
}
