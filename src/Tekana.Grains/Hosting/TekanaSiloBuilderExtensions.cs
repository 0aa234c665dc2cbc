using System.Data.Common;
using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using Orleans.Configuration;

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
        return builder;
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
