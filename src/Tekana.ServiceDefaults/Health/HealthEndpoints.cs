using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;

namespace Tekana.ServiceDefaults.Health;

/// <summary>
/// Liveness (the process answers) and readiness (a grain call round-trips through the cluster, and PostgreSQL
/// answers when the product runs on it), the same on every process.
/// </summary>
public static class HealthEndpoints
{
    private const string Ready = "ready";

    public static IServiceCollection AddTekanaHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster", tags: [Ready])
            .AddCheck<PostgresHealthCheck>("postgres", tags: [Ready]);
        return services;
    }

    public static WebApplication MapTekanaHealth(this WebApplication app)
    {
        // Probes are never shed by admission control: a busy process is still alive.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).DisableRateLimiting();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(Ready) }).DisableRateLimiting();
        return app;
    }
}
