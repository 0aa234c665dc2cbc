using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Tekana.Grains.Hosting;

namespace Tekana.ServiceDefaults.Observability;

/// <summary>
/// Logs, metrics and traces, the same in every Tekana process: JSON console logs carrying trace ids, OpenTelemetry
/// metrics (ASP.NET Core, HTTP, runtime, Orleans, Npgsql and Tekana's own) scraped at <c>/metrics</c>, and traces
/// across HTTP, grain calls and SQL, exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
/// </summary>
public static class ObservabilityExtensions
{
    /// <summary>Orleans' own meter and activity sources.</summary>
    private const string OrleansMeter = "Microsoft.Orleans";
    private static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application"];

    /// <summary>
    /// ASP.NET Core's meters that are exported: requests (<c>http_server_*</c>), Kestrel's connections, unhandled
    /// exceptions and rate limiting. OpenTelemetry's ASP.NET Core instrumentation would also turn on routing,
    /// authentication, authorization and memory pool meters, which record on every request (the memory pool's on every
    /// buffer rented) what the request metrics already say by route and status code: about 1.4 % of the API's CPU in the
    /// mixed benchmark.
    /// </summary>
    private static readonly string[] AspNetCoreMeters =
    [
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Diagnostics",
        "Microsoft.AspNetCore.RateLimiting",
    ];

    public static TBuilder AddTekanaObservability<TBuilder>(this TBuilder builder, string serviceName) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        if (builder.Configuration.GetValue("Logging:Json", defaultValue: true))
        {
            // One JSON object per line, scopes (which carry the trace and span ids) included.
            builder.Logging.AddJsonConsole(o =>
            {
                o.IncludeScopes = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }

        var otlp = Exported(builder.Configuration);
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(AspNetCoreMeters)
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddNpgsqlInstrumentation()
                    .AddMeter(OrleansMeter, TekanaMetrics.MeterName)
                    .AddPrometheusExporter();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (otlp)
        {
            // Traces only when they go somewhere: a listener makes every grain call (the transaction protocol's
            // included) and every database command record an activity, at a measured cost in throughput.
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsPlumbing(http.Request.Path))
                .AddHttpClientInstrumentation()
                .AddNpgsql()
                .AddSource(OrleansSources)
                .AddOtlpExporter());
        }
        return builder;
    }

    /// <summary>
    /// Whether traces and metrics leave the process (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set). Only then does anything
    /// listen to activities: without a listener, Orleans' trace propagation starts no activity and carries no context,
    /// so its call filters are left out, and grain calls take Orleans' path without filters.
    /// </summary>
    public static bool Exported(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

    /// <summary>The Prometheus scrape endpoint.</summary>
    public static WebApplication MapTekanaMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint("/metrics").DisableRateLimiting();
        return app;
    }

    private static bool IsPlumbing(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");
}
