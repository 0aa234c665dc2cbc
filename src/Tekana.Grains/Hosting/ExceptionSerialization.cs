using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Tekana.Grains.Hosting;

public static class ExceptionSerialization
{
    /// <summary>
    /// Lets PostgreSQL failures cross grain calls as themselves. Orleans serializes only the exceptions of the namespaces
    /// it is told of; an Npgsql exception raised in a transaction (storage away) failed to serialize, so the transaction
    /// was neither retried nor aborted: the caller got a codec error and the locks stayed held until they timed out.
    /// </summary>
    public static IServiceCollection AddTekanaExceptionSerialization(this IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));
}
