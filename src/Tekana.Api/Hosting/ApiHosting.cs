using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.OpenApi;
using Tekana.Abstractions.Transfers;
using Tekana.Api.Auth;
using Tekana.Api.Customers;
using Tekana.Api.Errors;
using Tekana.Api.Transfers;
using Tekana.Api.Wallets;
using Tekana.Grains.Hosting;
using Tekana.ServiceDefaults;
using Tekana.ServiceDefaults.Health;
using Tekana.ServiceDefaults.Observability;

namespace Tekana.Api.Hosting;

public static class ApiHosting
{
    public static WebApplicationBuilder AddTekanaApi(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;

        // Embedded default: no Postgres configured means a silo in this process on in-memory storage.
        var postgres = configuration.GetConnectionString(TekanaSiloBuilderExtensions.PostgresConnectionStringName);
        if (string.IsNullOrWhiteSpace(postgres) || configuration.GetValue<bool>("Api:CoHostSilo"))
        {
            builder.UseOrleans(silo => silo.AddTekana(configuration).AddTekanaSiloHosting(configuration));
        }
        else
        {
            builder.UseOrleansClient(client =>
            {
                client.AddTekanaClient(configuration);
                if (ObservabilityExtensions.Exported(configuration))
                {
                    client.AddActivityPropagation();
                }
            });
        }
        builder.AddTekanaObservability("tekana-api");

        var maxBody = configuration.GetValue<long?>("Api:MaxRequestBodyBytes") ?? 64 * 1024;
        builder.Services.AddTekanaHistory(postgres);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = maxBody);
        builder.Services.Configure<BodySizeOptions>(o => o.MaxBytes = maxBody);
        builder.Services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemExceptionHandler>();
        builder.Services.TryAddTimeProvider();
        var rebalance = TekanaClusterOptions.From(configuration).ClientRebalancePeriod;
        builder.Services.AddSingleton(services => new LedgerEntry(
            services.GetRequiredService<IGrainFactory>(), services.GetRequiredService<TimeProvider>(), rebalance));

        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<TokenIssuer>();
        builder.Services.AddSingleton<WalletOwners>();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>>((jwt, auth) =>
            {
                jwt.MapInboundClaims = false;
                // Nothing reads the token back from the ticket; storing it there cost an allocation per request.
                jwt.SaveToken = false;
                jwt.TokenHandlers.Clear();
                jwt.TokenHandlers.Add(new ValidatedTokens());
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = auth.Value.Issuer,
                    ValidAudience = auth.Value.Audience,
                    IssuerSigningKey = TokenIssuer.KeyFrom(auth.Value),
                    NameClaimType = "sub",
                    RoleClaimType = "role",
                    ClockSkew = TimeSpan.FromSeconds(30),
                };
            });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Customer, p => p.RequireRole(Roles.Customer))
            .AddPolicy(Policies.Operator, p => p.RequireRole(Roles.Operator))
            .AddPolicy(Policies.Admin, p => p.RequireRole(Roles.Admin));
        builder.Services.AddTekanaRateLimits(configuration);
        builder.Services.AddTekanaHealthChecks();
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "Tekana eWallet API",
                Version = "v1",
                Description = "Customers, wallets and money movement. Amounts are integers in the currency's minor unit.",
            });
            swagger.AddSecurityDefinition("oauth2", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.OAuth2,
                Flows = new OpenApiOAuthFlows
                {
                    Password = new OpenApiOAuthFlow { TokenUrl = new Uri("/api/v1/auth/token", UriKind.Relative) },
                    ClientCredentials = new OpenApiOAuthFlow { TokenUrl = new Uri("/api/v1/auth/token", UriKind.Relative) },
                },
            });
            swagger.AddSecurityRequirement(document => new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference("oauth2", document)] = [],
            });
        });
        return builder;
    }

    public static WebApplication UseTekanaApi(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<BodySizeLimit>();
        // Only the documentation's own paths go through Swagger's middleware: it matches every request it sees against
        // its paths with regular expressions and resolves its document provider first, about 3 % of the API's CPU in the
        // mixed benchmark when every API call went through it.
        app.UseWhen(http => IsDocumentation(http.Request.Path), documentation =>
        {
            documentation.UseSwagger(o => o.RouteTemplate = "api/openapi/{documentName}.json");
            documentation.UseSwaggerUI(o =>
            {
                o.RoutePrefix = "api";
                o.SwaggerEndpoint("/api/openapi/v1.json", "Tekana eWallet v1");
                o.DocumentTitle = "Tekana eWallet API";
            });
        });
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseRateLimiter();

        app.MapTekanaOperations();
        app.MapAuthApi();
        app.MapCustomersApi();
        app.MapWalletsApi();
        app.MapMovementsApi();
        app.MapHistoryApi();
        return app;
    }

    /// <summary>The Swagger UI (<c>/api</c> and its files) and the OpenAPI document (<c>/api/openapi/...</c>): under <c>/api</c>, outside <c>/api/v1</c>.</summary>
    internal static bool IsDocumentation(PathString path) =>
        path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) && !path.StartsWithSegments("/api/v1", StringComparison.OrdinalIgnoreCase);

    private static void TryAddTimeProvider(this IServiceCollection services) =>
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton(services, TimeProvider.System);
}
