using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tekana.Api.Tests.Infrastructure;

namespace Tekana.Api.Tests;

public sealed class ObservabilityTests
{
    [Fact]
    public async Task Metrics_expose_business_http_orleans_and_database_figures_and_logs_carry_no_secrets()
    {
        var logs = new CapturingLoggerProvider();
        await using var api = new ApiFactory(await TestDatabase.CreateAsync("observe"), "obs-" + Guid.NewGuid().ToString("N")[..8],
            settings: new Dictionary<string, string> { ["Logging:LogLevel:Default"] = "Debug" },
            configure: web => web.ConfigureServices(s => s.AddSingleton<ILoggerProvider>(logs)));

        var alice = await api.RegisterAsync();
        var bob = await api.RegisterAsync();
        var token = alice.Http.DefaultRequestHeaders.Authorization!.Parameter!;
        var @operator = await api.Operator();
        Assert.Equal(HttpStatusCode.Created, (await @operator.PostIdempotent("/api/v1/deposits",
            new { toWalletId = alice.WalletId, amount = 5_000, currency = "RWF", externalReference = "momo-1" })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 1_000, currency = "RWF" })).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await alice.Http.PostIdempotent("/api/v1/transfers",
            new { fromWalletId = alice.WalletId, toWalletId = bob.WalletId, amount = 1_000_000, currency = "RWF" })).StatusCode);
        // A wrong password and a forged token are logged as failures, never with what was sent.
        var wrong = await api.CreateClient().PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password", ["username"] = alice.Email, ["password"] = "wrong-password-value",
        }));
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        var forged = api.CreateClient();
        forged.DefaultRequestHeaders.Authorization = new("Bearer", token[..^4] + "AAAA");
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/v1/customers/me")).StatusCode);

        // The metric pipeline exports on scrape; the business counters of this process are cumulative.
        var metrics = await api.CreateClient().GetStringAsync("/metrics");
        Assert.Matches("tekana_movements_total\\{[^}]*outcome=\"completed\"[^}]*type=\"transfer\"", metrics);
        Assert.Matches("tekana_movements_total\\{[^}]*outcome=\"refused\"[^}]*reason=\"insufficient-funds\"", metrics);
        Assert.Contains("tekana_movement_duration_milliseconds_bucket", metrics);
        Assert.Contains("http_server_request_duration_seconds_bucket", metrics);
        // Meters that say per request what the request metrics already say by route and status code are not on.
        Assert.DoesNotContain("aspnetcore_routing_", metrics);
        Assert.DoesNotContain("aspnetcore_authentication_", metrics);
        Assert.DoesNotContain("aspnetcore_authorization_", metrics);
        Assert.DoesNotContain("aspnetcore_memory_pool_", metrics);
        Assert.Contains("orleans_", metrics);
        Assert.Contains("db_client_", metrics);

        var text = logs.Text();
        Assert.NotEmpty(text);
        foreach (var secret in new[] { "correct horse battery", "wrong-password-value", token, token[..^4], "dev-operator-secret", "development-only-signing-key" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_dashboard_is_on_in_the_embedded_default_and_off_in_production_configuration()
    {
        await using var development = new ApiFactory(await TestDatabase.CreateAsync("dash"), "dash-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal(HttpStatusCode.OK, (await development.CreateClient().GetAsync("/dashboard/")).StatusCode);

        await using var production = new ApiFactory(await TestDatabase.CreateAsync("nodash"), "nodash-" + Guid.NewGuid().ToString("N")[..8],
            settings: new Dictionary<string, string> { ["Dashboard:Enabled"] = "false" });
        Assert.Equal(HttpStatusCode.NotFound, (await production.CreateClient().GetAsync("/dashboard/")).StatusCode);
    }

    [Fact]
    public async Task Grain_calls_carry_the_request_trace_only_when_traces_are_exported()
    {
        // Exported (to an endpoint that refuses: the exporter only drops what it cannot send): the customer grain's call
        // joins the trace the HTTP request came with.
        Assert.Contains(await GrainCallsInTrace(exported: true), name => name.Contains("ICustomerGrain", StringComparison.Ordinal));
        // Not exported: no call filter, so no grain call records anything, even with a listener in the process.
        Assert.Empty(await GrainCallsInTrace(exported: false));
    }

    /// <summary>The Orleans activities of one traced request to <c>/customers/me</c>, seen by a listener of this test's own.</summary>
    private static async Task<string[]> GrainCallsInTrace(bool exported)
    {
        var traceId = ActivityTraceId.CreateRandom();
        var seen = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name.StartsWith("Microsoft.Orleans", StringComparison.Ordinal),
            Sample = (ref ActivityCreationOptions<ActivityContext> options) =>
                options.TraceId == traceId ? ActivitySamplingResult.AllDataAndRecorded : ActivitySamplingResult.None,
            ActivityStopped = activity =>
            {
                if (activity.TraceId == traceId)
                {
                    seen.Enqueue(activity.OperationName);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var settings = exported ? new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9" } : [];
        await using var api = new ApiFactory(await TestDatabase.CreateAsync("trace"), "trace-" + Guid.NewGuid().ToString("N")[..8], settings: settings);
        var alice = await api.RegisterAsync();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/customers/me");
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        Assert.Equal(HttpStatusCode.OK, (await alice.Http.SendAsync(request)).StatusCode);
        return [.. seen];
    }

    /// <summary>Keeps every log line, with its scopes and exception, as the JSON formatter would write them.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider, ISupportExternalScope
    {
        private readonly ConcurrentQueue<string> _lines = new();
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public string Text() => string.Join('\n', _lines);

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var line = new System.Text.StringBuilder($"{logLevel} {category}: {formatter(state, exception)} {state} {exception}");
                owner._scopes.ForEachScope((scope, b) => b.Append(" | ").Append(scope), line);
                owner._lines.Enqueue(line.ToString());
            }
        }
    }
}
