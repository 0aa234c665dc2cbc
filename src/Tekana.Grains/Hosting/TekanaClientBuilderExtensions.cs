using Microsoft.Extensions.Configuration;
using Orleans.Configuration;

namespace Tekana.Grains.Hosting;

public static class TekanaClientBuilderExtensions
{
    /// <summary>A client of a PostgreSQL-clustered Tekana cluster: finds gateways through the membership table.</summary>
    public static IClientBuilder AddTekanaClient(this IClientBuilder builder, IConfiguration configuration)
    {
        var cluster = TekanaClusterOptions.From(configuration);
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
        builder.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = cluster.ClientRebalancePeriod);
        builder.UseTransactions();
        builder.Services.AddTekanaExceptionSerialization().AddTekanaReflectionCaches();
        return builder;
    }
}
