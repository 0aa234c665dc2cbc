using Microsoft.Extensions.Configuration;
using Orleans.Configuration;

namespace Tekana.Grains.Hosting;

public static class TekanaClientBuilderExtensions
{
    /// <summary>A client of a PostgreSQL-clustered Tekana cluster: finds gateways through the membership table.</summary>
    public static IClientBuilder AddTekanaClient(this IClientBuilder builder, IConfiguration configuration)
    {
        var cluster = configuration.GetSection(TekanaClusterOptions.Section).Get<TekanaClusterOptions>() ?? new();
        var connectionString = configuration.GetConnectionString(TekanaSiloBuilderExtensions.PostgresConnectionStringName)
            ?? throw new InvalidOperationException("A cluster client needs ConnectionStrings:Postgres to find the silos.");
        builder.Configure<ClusterOptions>(o =>
        {
            o.ClusterId = cluster.ClusterId;
            o.ServiceId = cluster.ServiceId;
        });
        builder.UseAdoNetClustering(o =>
        {
            o.Invariant = TekanaSiloBuilderExtensions.NpgsqlInvariant;
            o.ConnectionString = connectionString;
        });
        builder.UseTransactions();
        builder.Services.AddTekanaExceptionSerialization();
        return builder;
    }
}
