using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Tekana.Api.Tests.Infrastructure;

namespace Tekana.Api.Tests;

public sealed class RestartAndDocumentTests
{
    [Fact]
    public async Task An_idempotent_replay_after_an_API_and_silo_restart_returns_the_original_result()
    {
        var database = await TestDatabase.CreateAsync("apirestart");
        var clusterId = "restart-" + Guid.NewGuid().ToString("N")[..8];
        string walletId, firstBody;
        var key = "dep-" + ApiClient.Unique();
        object body;
        await using (var api = new ApiFactory(database, clusterId))
        {
            walletId = (await api.RegisterAsync()).WalletId;
            body = new { toWalletId = walletId, amount = 4_200, currency = "RWF", externalReference = "psp-restart" };
            var first = await (await api.Operator()).PostIdempotent("/api/v1/deposits", body, key);
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            firstBody = await first.Content.ReadAsStringAsync();
        }

        await using var restarted = new ApiFactory(database, clusterId);
        var @operator = await restarted.Operator();
        var replay = await @operator.PostIdempotent("/api/v1/deposits", body, key);

        Assert.Equal(HttpStatusCode.Created, replay.StatusCode);
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(firstBody, await replay.Content.ReadAsStringAsync());
        Assert.Equal(4_200, await @operator.Balance(walletId));
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_every_route_with_a_summary()
    {
        await using var api = new ApiFactory(await TestDatabase.CreateAsync("openapi"), "doc-" + Guid.NewGuid().ToString("N")[..8]);
        var document = JsonNode.Parse(await api.CreateClient().GetStringAsync("/api/openapi/v1.json"))!;
        var paths = document["paths"]!.AsObject();

        var routes = api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("api/v1", StringComparison.Ordinal))
            .Select(e => (Path: "/" + e.RoutePattern.RawText!.TrimEnd('/'), Method: e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Single()))
            .ToList();

        Assert.True(routes.Count >= 17, $"only {routes.Count} routes");
        foreach (var (path, method) in routes)
        {
            var operation = paths[path]?[method.ToLowerInvariant()];
            Assert.True(operation is not null, $"{method} {path} is missing from the OpenAPI document");
            Assert.False(string.IsNullOrWhiteSpace(operation!["summary"]?.GetValue<string>()), $"{method} {path} has no summary");
        }
        Assert.NotNull(document["components"]!["securitySchemes"]!["oauth2"]);

        // The Swagger UI is served at /api, pointing at the document.
        var ui = api.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var page = await ui.GetAsync("/api");
        Assert.Equal(HttpStatusCode.MovedPermanently, page.StatusCode);
        Assert.Equal("api/index.html", page.Headers.Location?.OriginalString);
        Assert.Contains("/api/openapi/v1.json", await ui.GetStringAsync("/api/index.js"));
        Assert.Contains("<title>Tekana eWallet API</title>", await ui.GetStringAsync("/api/index.html"));
    }

    [Fact]
    public async Task Registration_and_sign_in_are_rate_limited_with_retry_after()
    {
        await using var api = new ApiFactory(await TestDatabase.CreateAsync("ratelimit"), "rl-" + Guid.NewGuid().ToString("N")[..8], rateLimiting: true);
        var http = api.CreateClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            var response = await http.PostAsync("/api/v1/customers",
                new StringContent(System.Text.Json.JsonSerializer.Serialize(ApiClient.NewCustomer()), System.Text.Encoding.UTF8, "application/json"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(response.Headers.RetryAfter is not null);
                await response.AssertProblem(HttpStatusCode.TooManyRequests, "rate-limited");
            }
        }

        Assert.Equal(5, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(2, statuses.Count(s => s == HttpStatusCode.TooManyRequests));
    }

    [Fact]
    public async Task Beyond_the_admission_limit_the_API_sheds_load_with_503_and_retry_after()
    {
        await using var api = new ApiFactory(await TestDatabase.CreateAsync("shedding"), "shed-" + Guid.NewGuid().ToString("N")[..8], rateLimiting: true,
            new Dictionary<string, string> { ["RateLimiting:MaxConcurrentRequests"] = "1", ["RateLimiting:MaxQueuedRequests"] = "0" });
        var alice = await api.RegisterAsync();

        // Fifty requests at once overlap on a loaded machine; when each happens to finish before the next one arrives, the
        // burst is sent again.
        HttpResponseMessage[] responses = [];
        List<HttpResponseMessage> shed = [];
        for (var burst = 0; burst < 20 && shed.Count == 0; burst++)
        {
            responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => alice.Http.GetAsync($"/api/v1/customers/{alice.Id}/wallets")));
            shed = [.. responses.Where(r => r.StatusCode == HttpStatusCode.ServiceUnavailable)];
        }

        Assert.NotEmpty(shed);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(shed, r => Assert.NotNull(r.Headers.RetryAfter));
        await shed[0].AssertProblem(HttpStatusCode.ServiceUnavailable, "overloaded");
    }
}
