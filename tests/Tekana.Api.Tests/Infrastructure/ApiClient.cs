using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tekana.Api.Tests.Infrastructure;

/// <summary>A tiny HTTP vocabulary for the tests: who is calling and what they send.</summary>
public static class ApiClient
{
    private static int _counter;

    public static string Unique() => $"{Interlocked.Increment(ref _counter)}{Guid.NewGuid():N}"[..12];

    public static object NewCustomer(string currency = "RWF")
    {
        var unique = Unique();
        var digits = string.Concat(unique.Select(c => (char)('0' + c % 10)))[..9];
        return new
        {
            fullName = $"Customer {unique}",
            email = $"c{unique}@example.com",
            phoneNumber = $"+2507{digits}",
            country = "RW",
            currency,
            password = "correct horse battery",
        };
    }

    public sealed record Registered(string Id, string Email, string WalletId, HttpClient Http);

    /// <summary>Registers a customer and returns an HTTP client signed in as them.</summary>
    public static async Task<Registered> RegisterAsync(this ApiFactory factory, string currency = "RWF")
    {
        var anonymous = factory.CreateClient();
        var body = NewCustomer(currency);
        var response = await anonymous.PostAsJsonAsync("/api/v1/customers", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var json = await response.Json();
        var email = json["email"]!.GetValue<string>();
        var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await factory.PasswordToken(email, "correct horse battery"));
        return new Registered(json["id"]!.GetValue<string>(), email, json["wallets"]![0]!["id"]!.GetValue<string>(), http);
    }

    public static async Task<string> PasswordToken(this ApiFactory factory, string username, string password)
    {
        var response = await factory.CreateClient().PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "password",
            ["username"] = username,
            ["password"] = password,
        }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Json())["access_token"]!.GetValue<string>();
    }

    public static async Task<HttpClient> ServiceClient(this ApiFactory factory, string clientId)
    {
        var response = await factory.CreateClient().PostAsync("/api/v1/auth/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = clientId + "-secret",
        }));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var http = factory.CreateClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await response.Json())["access_token"]!.GetValue<string>());
        return http;
    }

    public static Task<HttpClient> Operator(this ApiFactory factory) => factory.ServiceClient("dev-operator");

    public static Task<HttpClient> Admin(this ApiFactory factory) => factory.ServiceClient("dev-admin");

    public static Task<HttpResponseMessage> PostIdempotent(this HttpClient http, string path, object body, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        request.Headers.Add("Idempotency-Key", key ?? Unique());
        return http.SendAsync(request);
    }

    public static async Task<JsonNode> Json(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync()) ?? throw new InvalidOperationException("empty body");

    public static async Task<long> Balance(this HttpClient http, string walletId)
    {
        var response = await http.GetAsync($"/api/v1/wallets/{walletId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Json())["balance"]!.GetValue<long>();
    }

    /// <summary>Asserts an RFC 9457 problem with the given status and stable type.</summary>
    public static async Task<JsonNode> AssertProblem(this HttpResponseMessage response, HttpStatusCode status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var json = JsonNode.Parse(text)!;
        Assert.Equal("https://tekana.dev/problems/" + type, json["type"]!.GetValue<string>());
        Assert.Equal((int)status, json["status"]!.GetValue<int>());
        return json;
    }

    public static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
}
