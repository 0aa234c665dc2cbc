using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Tekana.Api.Errors;

namespace Tekana.Api;

/// <summary>The <c>RateLimiting</c> section.</summary>
public sealed class RateLimitingOptions
{
    public const string Section = "RateLimiting";

    public bool Enabled { get; set; } = true;
    public int SignInPerMinute { get; set; } = 10;
    public int RegistrationsPerMinute { get; set; } = 5;
    /// <summary>Requests served at once; more callers than this lower throughput and raise latency (measured).</summary>
    public int MaxConcurrentRequests { get; set; } = 64;
    /// <summary>Requests allowed to wait for a slot; beyond that the API answers 503 with Retry-After.</summary>
    public int MaxQueuedRequests { get; set; } = 1024;
}

public static class RateLimits
{
    public const string SignIn = "sign-in";
    public const string Registration = "registration";

    public static IServiceCollection AddTekanaRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(RateLimitingOptions.Section).Get<RateLimitingOptions>() ?? new();
        services.AddRateLimiter(limiter =>
        {
            limiter.AddPolicy(SignIn, http => PerClient(http, options.Enabled, options.SignInPerMinute));
            limiter.AddPolicy(Registration, http => PerClient(http, options.Enabled, options.RegistrationsPerMinute));
            if (options.Enabled)
            {
                // Admission control: a bounded number in flight and a bounded queue, never an unbounded backlog.
                limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(_ =>
                    RateLimitPartition.GetConcurrencyLimiter("all", _ => new ConcurrencyLimiterOptions
                    {
                        PermitLimit = options.MaxConcurrentRequests,
                        QueueLimit = options.MaxQueuedRequests,
                        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                    }));
            }
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var http = context.HttpContext;
                var perClient = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>() is not null;
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? (int)Math.Ceiling(wait.TotalSeconds) : 1;
                http.Response.Headers.RetryAfter = retryAfter.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var status = perClient ? StatusCodes.Status429TooManyRequests : StatusCodes.Status503ServiceUnavailable;
                http.Response.StatusCode = status;
                await Results.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
                {
                    Type = Problems.TypeBase + (perClient ? "rate-limited" : "overloaded"),
                    Title = perClient ? "Rate limited" : "Overloaded",
                    Status = status,
                    Detail = $"Try again in {retryAfter} s.",
                }).ExecuteAsync(http);
            };
        });
        return services;
    }

    private static RateLimitPartition<string> PerClient(HttpContext http, bool enabled, int perMinute) => enabled
        ? RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = perMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
        })
        : RateLimitPartition.GetNoLimiter("off");
}
