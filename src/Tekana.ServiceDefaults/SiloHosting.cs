using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;
using Tekana.ServiceDefaults.Observability;

namespace Tekana.ServiceDefaults;

/// <summary>What a process hosting a silo adds on top of the silo itself.</summary>
public static class SiloHosting
{
    /// <summary>
    /// Trace context flows through grain calls when traces are exported; <c>Dashboard:Enabled</c> adds the Orleans Dashboard;
    /// <c>Orleans:Kubernetes</c> lets the silo take its identity from the pod and retire silos whose pods are gone.
    /// </summary>
    public static ISiloBuilder AddTekanaSiloHosting(this ISiloBuilder silo, IConfiguration configuration)
    {
        if (ObservabilityExtensions.Exported(configuration))
        {
            silo.AddActivityPropagation();
        }
        if (DashboardEnabled(configuration))
        {
            silo.AddDashboard();
        }
        if (configuration.GetValue<bool>("Orleans:Kubernetes"))
        {
            silo.UseKubernetesHosting();
        }
        return silo;
    }

    /// <summary>Maps the dashboard at <c>/dashboard</c> when it is enabled.</summary>
    public static WebApplication MapTekanaDashboard(this WebApplication app)
    {
        if (DashboardEnabled(app.Configuration))
        {
            app.MapOrleansDashboard("/dashboard");
        }
        return app;
    }

    private static bool DashboardEnabled(IConfiguration configuration) => configuration.GetValue<bool>("Dashboard:Enabled");
}
