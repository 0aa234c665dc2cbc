using Microsoft.AspNetCore.Builder;
using Tekana.ServiceDefaults.Health;
using Tekana.ServiceDefaults.Observability;

namespace Tekana.ServiceDefaults;

public static class OperationsEndpoints
{
    /// <summary>The operational surface every process exposes alike: health probes, <c>/metrics</c>, and the dashboard when enabled.</summary>
    public static WebApplication MapTekanaOperations(this WebApplication app) =>
        app.MapTekanaHealth().MapTekanaMetrics().MapTekanaDashboard();
}
